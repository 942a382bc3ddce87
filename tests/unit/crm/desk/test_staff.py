from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from crm.__main__ import main
from crm.desk.handoff_requests import HandoffService
from crm.desk.staff import SignedIn, StaffMember, StaffService, hash_session_token
from crm.records.db import make_engine, make_session_factory
from crm.records.errors import (
    InvalidCredentials,
    InvalidStaffDetails,
    StaffError,
    StaffExists,
    TooManyAttempts,
)
from crm.records.models import AuditLog, StaffLoginAttempt, StaffSession, StaffUser

# Cheap Argon2id parameters keep the tests fast; production uses the library's defaults.
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse battery"
EMAIL = "ada@larkspur.example"
CLIENT = "203.0.113.7"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(clock_now: datetime) -> Clock:
    return Clock(clock_now)


@pytest.fixture
def staff(sessions: sessionmaker[Session], clock: Clock) -> StaffService:
    return StaffService(sessions, clock=clock, hasher=CHEAP)


@pytest.fixture
def ada(staff: StaffService) -> StaffMember:
    return staff.create_member(
        email=" Ada@Larkspur.EXAMPLE ",
        name="Ada Lovelace",
        password=PASSWORD,
        role="agent",
        actor="test",
    )


def _stored_hash(sessions: sessionmaker[Session], member_id: int) -> str:
    with sessions() as session:
        return session.get_one(StaffUser, member_id).password_hash


def _attempts(sessions: sessionmaker[Session]) -> list[tuple[str, str, bool]]:
    with sessions() as session:
        rows = session.execute(
            select(
                StaffLoginAttempt.email, StaffLoginAttempt.client, StaffLoginAttempt.succeeded
            ).order_by(StaffLoginAttempt.id)
        )
        return [(row.email, row.client, row.succeeded) for row in rows]


def _fail(staff: StaffService, *, email: str = EMAIL, client: str = CLIENT) -> None:
    with pytest.raises(InvalidCredentials):
        staff.sign_in(email=email, password="not the password", client=client)


def _sign_in(staff: StaffService, *, client: str = CLIENT) -> SignedIn:
    return staff.sign_in(email=EMAIL, password=PASSWORD, client=client)


# --- members ------------------------------------------------------------------------------


def test_create_member_stores_an_argon2id_hash_and_audits_without_it(
    staff: StaffService, ada: StaffMember, sessions: sessionmaker[Session], audit_rows
) -> None:
    assert ada == StaffMember(ada.id, EMAIL, "Ada Lovelace", "agent", "general")
    stored = _stored_hash(sessions, ada.id)
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)

    [row] = audit_rows()
    assert (row.action, row.entity, row.entity_id, row.actor) == (
        "staff.create",
        "staff_user",
        str(ada.id),
        "test",
    )
    assert row.after == {
        "email": EMAIL,
        "name": "Ada Lovelace",
        "role": "agent",
        "team": "general",
        "active": True,
    }
    assert PASSWORD not in str(row.after)
    assert "argon2" not in str(row.after)


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"email": "not an email"}, "email"),
        ({"email": ""}, "email"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Ada\x00"}, "name"),
        ({"password": "a" * 11}, "password"),
        ({"password": "a" * 257}, "password"),
        ({"role": "owner"}, "role"),
        ({"team": "marketing"}, "team"),
    ],
)
def test_create_member_refuses_bad_details(
    staff: StaffService, sessions: sessionmaker[Session], details: dict[str, str], field: str
) -> None:
    given = {"email": "bo@larkspur.example", "name": "Bo", "password": PASSWORD, "role": "agent"}
    given.update(details)
    with pytest.raises(InvalidStaffDetails, match=f"^{field}:") as raised:
        staff.create_member(**given, actor="test")
    assert PASSWORD not in str(raised.value)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(StaffUser)) == 0


def test_create_member_accepts_the_boundaries(staff: StaffService) -> None:
    member = staff.create_member(
        email="bo@larkspur.example",
        name="  Bo   van  Dijk ",
        password="a" * 12,
        role="admin",
        team="billing",
        actor="test",
    )
    assert (member.name, member.role, member.team) == ("Bo van Dijk", "admin", "billing")
    staff.create_member(
        email="cy@larkspur.example",
        name="C" * 100,
        password="b" * 256,
        role="agent",
        actor="test",
    )


def test_duplicate_email_is_refused_whatever_its_case(
    staff: StaffService, ada: StaffMember, audit_rows
) -> None:
    with pytest.raises(StaffExists):
        staff.create_member(
            email="ADA@larkspur.example",
            name="Other Ada",
            password=PASSWORD,
            role="admin",
            actor="test",
        )
    assert [row.action for row in audit_rows()] == ["staff.create"]


def test_members_lists_the_active_ones_by_name(
    staff: StaffService, ada: StaffMember, sessions: sessionmaker[Session]
) -> None:
    zoe = staff.create_member(
        email="zoe@larkspur.example",
        name="zoe Adams",
        password=PASSWORD,
        role="supervisor",
        actor="test",
    )
    bo = staff.create_member(
        email="bo@larkspur.example",
        name="Bo Brown",
        password=PASSWORD,
        role="admin",
        actor="test",
    )
    with sessions.begin() as session:
        session.get_one(StaffUser, bo.id).active = False

    assert staff.members() == [ada, zoe]
    assert staff.member(zoe.id) == zoe
    assert staff.member(bo.id) is None
    assert staff.member(9999) is None


@pytest.mark.parametrize(
    ("role", "agent", "supervisor", "admin"),
    [("agent", True, True, True), ("supervisor", False, True, True), ("admin", False, False, True)],
)
def test_can_ranks_agent_below_supervisor_below_admin(
    role: str, agent: bool, supervisor: bool, admin: bool
) -> None:
    assert StaffMember(1, "a@b.example", "A", "agent", "general").can(role) is agent
    assert StaffMember(1, "a@b.example", "A", "supervisor", "general").can(role) is supervisor
    assert StaffMember(1, "a@b.example", "A", "admin", "general").can(role) is admin


def test_can_refuses_an_unknown_role() -> None:
    with pytest.raises(ValueError, match="unknown staff role"):
        StaffMember(1, "a@b.example", "A", "admin", "general").can("root")


def test_service_refuses_a_hasher_that_is_not_argon2id(sessions: sessionmaker[Session]) -> None:
    from argon2 import Type

    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.I)
    with pytest.raises(ValueError, match="Argon2id"):
        StaffService(sessions, hasher=weak)


# --- signing in ---------------------------------------------------------------------------


def test_sign_in_opens_a_session(
    staff: StaffService,
    ada: StaffMember,
    sessions: sessionmaker[Session],
    clock: Clock,
    audit_rows,
) -> None:
    signed = staff.sign_in(email="  ADA@larkspur.example", password=PASSWORD, client=CLIENT)

    assert signed.member == ada
    assert signed.expires_at == clock.now + timedelta(hours=8)
    with sessions() as session:
        [row] = session.scalars(select(StaffSession)).all()
    # Only the token's SHA-256 is stored; the raw token is nowhere in the database.
    assert row.token_hash == hash_session_token(signed.token) != signed.token
    assert row.csrf_token == signed.csrf_token
    assert (row.user_id, row.expires_at, row.revoked_at) == (ada.id, signed.expires_at, None)
    assert _attempts(sessions) == [(EMAIL, CLIENT, True)]
    sign_in = audit_rows()[-1]
    assert (sign_in.action, sign_in.actor, sign_in.entity_id) == (
        "staff.sign_in",
        f"staff:{ada.id}",
        str(ada.id),
    )
    assert signed.token not in str(sign_in.after)
    assert staff.session(signed.token) == (ada, signed.csrf_token)


def test_wrong_password_and_unknown_email_fail_alike(
    staff: StaffService, ada: StaffMember, sessions: sessionmaker[Session]
) -> None:
    with pytest.raises(InvalidCredentials) as wrong:
        staff.sign_in(email=EMAIL, password="not the password", client=CLIENT)
    with pytest.raises(InvalidCredentials) as unknown:
        staff.sign_in(email="nobody@larkspur.example", password=PASSWORD, client=CLIENT)

    assert str(wrong.value) == str(unknown.value)
    # Both failures were committed although the call raised.
    assert _attempts(sessions) == [
        (EMAIL, CLIENT, False),
        ("nobody@larkspur.example", CLIENT, False),
    ]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(StaffSession)) == 0


class CountingHasher(PasswordHasher):
    """The cheap hasher, remembering which hashes it verified against."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verified.append(str(hash))
        return super().verify(hash, password)


def test_unknown_email_still_spends_an_argon2_verification(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    hasher = CountingHasher()
    staff = StaffService(sessions, clock=clock, hasher=hasher)
    with pytest.raises(InvalidCredentials):
        staff.sign_in(email="nobody@larkspur.example", password=PASSWORD, client=CLIENT)
    # One verification, against a hash as costly as a real member's would be.
    [dummy] = hasher.verified
    assert dummy.startswith("$argon2id$v=19$m=8,t=1,p=1$")


def test_inactive_member_cannot_sign_in(
    staff: StaffService, ada: StaffMember, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        session.get_one(StaffUser, ada.id).active = False
    with pytest.raises(InvalidCredentials):
        _sign_in(staff)
    assert _attempts(sessions) == [(EMAIL, CLIENT, False)]


def test_five_failures_for_an_email_lock_it_for_the_window(
    staff: StaffService, ada: StaffMember, sessions: sessionmaker[Session], clock: Clock
) -> None:
    for minute in range(5):
        _fail(staff, client=f"198.51.100.{minute}")  # from different clients
        clock.advance(minutes=1)

    # 5 minutes after the first failure, which leaves the window 10 minutes from now. The
    # right password is refused too: it is not even checked.
    with pytest.raises(TooManyAttempts) as raised:
        _sign_in(staff)
    assert raised.value.retry_after_s == 10 * 60
    assert len(_attempts(sessions)) == 5  # the refused request guessed nothing: not recorded

    clock.advance(minutes=10, seconds=-1)
    with pytest.raises(TooManyAttempts) as raised:
        _sign_in(staff)
    assert raised.value.retry_after_s == 1

    clock.advance(seconds=1)  # the first failure has left the window
    assert _sign_in(staff).member == ada


def test_failures_for_one_email_do_not_lock_another(staff: StaffService, ada: StaffMember) -> None:
    for number in range(5):
        _fail(staff, email="someone@larkspur.example", client=f"198.51.100.{number}")
    assert _sign_in(staff).member == ada


def test_twenty_failures_from_a_client_lock_it(
    staff: StaffService, ada: StaffMember, clock: Clock
) -> None:
    for number in range(20):
        _fail(staff, email=f"guess{number}@larkspur.example")
    with pytest.raises(TooManyAttempts) as raised:
        _sign_in(staff)
    assert raised.value.retry_after_s == 15 * 60

    assert _sign_in(staff, client="192.0.2.1").member == ada  # another client is not locked
    clock.advance(minutes=15)
    assert _sign_in(staff).member == ada


def test_parallel_guesses_cannot_exceed_the_limit(
    staff: StaffService, ada: StaffMember, sessions: sessionmaker[Session]
) -> None:
    threads = 8
    barrier = threading.Barrier(threads)
    outcomes: list[type[BaseException]] = []
    lock = threading.Lock()

    def guess(number: int) -> None:
        barrier.wait()
        try:
            staff.sign_in(email=EMAIL, password="not the password", client=f"198.51.100.{number}")
        except StaffError as exc:
            with lock:
                outcomes.append(type(exc))

    workers = [threading.Thread(target=guess, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)

    assert (
        sorted(o.__name__ for o in outcomes) == ["InvalidCredentials"] * 5 + ["TooManyAttempts"] * 3
    )
    assert len(_attempts(sessions)) == 5


def test_sign_in_rehashes_when_the_parameters_changed(
    ada: StaffMember, sessions: sessionmaker[Session], clock: Clock, audit_rows
) -> None:
    old = _stored_hash(sessions, ada.id)
    assert "m=8,t=1,p=1" in old
    stronger = StaffService(
        sessions, clock=clock, hasher=PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    )
    assert stronger.sign_in(email=EMAIL, password=PASSWORD, client=CLIENT).member == ada

    new = _stored_hash(sessions, ada.id)
    assert new.startswith("$argon2id$") and "m=16,t=2,p=1" in new
    assert PasswordHasher().verify(new, PASSWORD)
    assert audit_rows()[-1].after["password_rehashed"] is True
    # Same parameters again: nothing to redo.
    stronger.sign_in(email=EMAIL, password=PASSWORD, client=CLIENT)
    assert _stored_hash(sessions, ada.id) == new
    assert audit_rows()[-1].after["password_rehashed"] is False


# --- sessions -----------------------------------------------------------------------------


def test_session_expires_after_its_ttl(
    sessions: sessionmaker[Session], clock: Clock, ada: StaffMember
) -> None:
    staff = StaffService(sessions, clock=clock, session_ttl=timedelta(hours=1), hasher=CHEAP)
    signed = _sign_in(staff)
    assert signed.expires_at == clock.now + timedelta(hours=1)

    clock.advance(minutes=59, seconds=59)
    assert staff.session(signed.token) == (ada, signed.csrf_token)
    clock.advance(seconds=1)
    assert staff.session(signed.token) is None


def test_sign_out_revokes_the_session_once(
    staff: StaffService, ada: StaffMember, audit_rows
) -> None:
    signed = _sign_in(staff)
    other = _sign_in(staff)

    staff.sign_out(signed.token)
    staff.sign_out(signed.token)  # idempotent
    staff.sign_out("no-such-token")

    assert staff.session(signed.token) is None
    assert staff.session(other.token) == (ada, other.csrf_token)
    assert [row.action for row in audit_rows()].count("staff.sign_out") == 1


def test_session_of_a_deactivated_member_is_dead(
    staff: StaffService, ada: StaffMember, sessions: sessionmaker[Session]
) -> None:
    signed = _sign_in(staff)
    with sessions.begin() as session:
        session.execute(update(StaffUser).values(active=False))
    assert staff.session(signed.token) is None


@pytest.mark.parametrize("token", ["", "garbage", "é" * 43, "x" * 10_000, "\x00"])
def test_garbage_tokens_have_no_session(staff: StaffService, ada: StaffMember, token: str) -> None:
    _sign_in(staff)
    assert staff.session(token) is None
    staff.sign_out(token)  # and signing them out is harmless


def test_each_session_has_its_own_tokens(staff: StaffService, ada: StaffMember) -> None:
    first, second = _sign_in(staff), _sign_in(staff)
    assert first.token != second.token
    assert first.csrf_token != second.csrf_token
    assert len(first.token) >= 43 and len(first.csrf_token) >= 43  # 32 random bytes
    assert staff.session(first.token) == (ada, first.csrf_token)
    assert staff.session(second.token) == (ada, second.csrf_token)


# --- command line -------------------------------------------------------------------------


@pytest.fixture
def cli_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[sessionmaker[Session]]:
    """A migrated SQLite file that ``python -m crm`` finds through DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["migrate"]) == 0
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


def test_cli_adds_a_member_who_can_sign_in(
    cli_database: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    capsys.readouterr()
    code = main(
        [
            "staff",
            "add",
            "--email",
            "Root@Larkspur.example",
            "--name",
            "Root",
            "--role",
            "admin",
            "--password-stdin",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "root@larkspur.example" in out and "admin" in out
    assert PASSWORD not in out

    staff = StaffService(cli_database, hasher=CHEAP)
    signed = staff.sign_in(email="root@larkspur.example", password=PASSWORD, client=CLIENT)
    assert (signed.member.role, signed.member.team) == ("admin", "general")
    assert f"created staff member {signed.member.id}:" in out
    with cli_database() as session:
        actor = session.scalars(select(AuditLog.actor).where(AuditLog.action == "staff.create"))
        assert actor.one().startswith("cli")

    assert main(["staff", "list"]) == 0
    listed = capsys.readouterr().out
    assert "root@larkspur.example" in listed and "Root" in listed


def test_cli_prompts_twice_and_refuses_a_mismatch(
    cli_database: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code = main(["staff", "add", "--email", "a@larkspur.example", "--name", "A", "--role", "agent"])
    err = capsys.readouterr().err
    assert code == 1
    assert err == "error: the passwords do not match\n"

    same = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(same))
    code = main(["staff", "add", "--email", "a@larkspur.example", "--name", "A", "--role", "agent"])
    assert code == 0
    with cli_database() as session:
        assert session.scalar(select(func.count()).select_from(StaffUser)) == 1


@pytest.mark.parametrize(
    ("stdin", "email", "message"),
    [
        ("short\n", "a@larkspur.example", "error: password: must be 12 to 256 characters\n"),
        ("", "a@larkspur.example", "error: no password on standard input\n"),
        (PASSWORD + "\n", "not-an-email", "error: email: not a valid email address\n"),
    ],
)
def test_cli_reports_bad_input_in_one_line(
    cli_database: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: str,
    email: str,
    message: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    capsys.readouterr()
    code = main(
        ["staff", "add", "--email", email, "--name", "A", "--role", "agent", "--password-stdin"]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err == message
    assert captured.out == ""
    with cli_database() as session:
        assert session.scalar(select(func.count()).select_from(StaffUser)) == 0


def test_cli_refuses_a_duplicate(
    cli_database: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    command = [
        "staff",
        "add",
        "--email",
        "a@larkspur.example",
        "--name",
        "A",
        "--role",
        "agent",
        "--password-stdin",
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(command) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    capsys.readouterr()
    assert main(command) == 1
    assert capsys.readouterr().err == (
        "error: a staff member with this email address already exists\n"
    )


# --- presence -----------------------------------------------------------------------------


def test_presence_counts_live_console_sessions_of_the_team_and_supervisors(
    sessions: sessionmaker[Session], staff: StaffService, clock: Clock, ada: StaffMember
) -> None:
    handoffs = HandoffService(sessions, clock=clock)
    window = timedelta(minutes=5)
    assert handoffs.staff_online("general", window) == 0  # a member, but never signed in
    signed = _sign_in(staff)
    assert handoffs.staff_online("general", window) == 1
    assert handoffs.staff_online("billing", window) == 0  # an agent of another team

    clock.advance(minutes=4)
    assert staff.session(signed.token) is not None  # the open page refreshes presence
    clock.advance(minutes=4)
    assert handoffs.staff_online("general", window) == 1
    clock.advance(minutes=2)
    assert handoffs.staff_online("general", window) == 0  # page closed 6 minutes ago

    assert staff.session(signed.token) is not None
    clock.advance(seconds=10)
    assert staff.session(signed.token) is not None  # within 30 s: no second write
    with sessions() as session:
        seen = session.scalars(select(StaffSession.last_seen_at)).one()
    assert seen == clock.now - timedelta(seconds=10)

    staff.sign_out(signed.token)
    assert handoffs.staff_online("general", window) == 0  # signed out: gone at once

    staff.create_member(
        email="sup@larkspur.example",
        name="Sup",
        password=PASSWORD,
        role="supervisor",
        team="account",
        actor="test",
    )
    staff.sign_in(email="sup@larkspur.example", password=PASSWORD, client=CLIENT)
    assert handoffs.staff_online("billing", window) == 1  # supervisors see every queue
    with sessions.begin() as session:
        session.execute(update(StaffUser).values(active=False))
    assert handoffs.staff_online("billing", window) == 0  # deactivated members do not count
