"""The blind-conversation exam (bench/conversation_exam.py): the checks file, each check kind on
real demo records, and restoring the records under an open connection."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bench.blind_conversations import pattern_group, report
from bench.conversation_exam import (
    BLIND,
    DEV,
    DEV_SET,
    FAILING,
    HALVES,
    IDENTITIES,
    Context,
    Failure,
    Result,
    TurnRecord,
    baseline,
    copy_database,
    first_failure,
    load_half,
    validate_checks,
)
from crm.records.db import make_engine, make_session_factory
from crm.records.migrate import upgrade
from crm.records.models import Customer, Order
from crm.records.orders import OrderService
from crm.tools.demo import seed
from tests.conftest import DEFAULTS

SENDER = "exam-unit"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo records, seeded once; each test works on its own copy."""
    path = tmp_path_factory.mktemp("exam") / "demo.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    seed(make_session_factory(make_engine(url)))
    return path


@pytest.fixture
def records(seeded: Path, tmp_path: Path) -> Iterator[tuple[Path, sessionmaker[Session]]]:
    path = tmp_path / "records.db"
    copy_database(seeded, path)
    engine = make_engine(f"sqlite:///{path}")
    yield path, make_session_factory(engine)
    engine.dispose()


def turn(
    *,
    text: str = "",
    uttered: list[str] | None = None,
    form: str | None = None,
    audit: list[str] | None = None,
    index: int = 0,
) -> TurnRecord:
    return TurnRecord(
        index=index,
        say="",
        replies=[{"text": text}],
        uttered=uttered or [],
        active_form=form,
        audit=audit or [],
    )


def verdict(
    sessions: sessionmaker[Session], customer: str, record: TurnRecord, checks: list[Any]
) -> tuple[str, str] | None:
    start = baseline(sessions, customer)
    ctx = Context(sender=SENDER, turn=record, sessions=sessions, baseline=start)
    return first_failure(ctx, list(validate_checks("unit", checks)))


def ada_id(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        found = session.scalar(select(Customer.id).where(Customer.email == "ada@example.com"))
    assert found is not None
    return found


# --- the checks files --------------------------------------------------------------------


@pytest.mark.parametrize("half", [*HALVES, DEV_SET])
def test_every_turn_of_every_conversation_has_checks(half: str) -> None:
    conversations = load_half(half)
    folder = DEV if half == DEV_SET else BLIND
    lines = (folder / f"conversations-{half}.jsonl").read_text("utf-8").split("\n")
    assert len(conversations) == len([line for line in lines if line.strip()])
    for conversation in conversations:
        assert all(conversation.checks), f"{conversation.id} has a turn without checks"
        assert len(conversation.checks) == len(conversation.says)


@pytest.mark.parametrize("half", [*HALVES, DEV_SET])
def test_checks_name_only_responses_and_forms_of_the_domain(half: str) -> None:
    domain = yaml.safe_load((BLIND.parent.parent.parent / "domain.yml").read_text("utf-8"))
    responses, forms = set(domain["responses"]), set(domain["forms"])

    def names(checks: Any) -> Iterator[tuple[str, str]]:
        for check in checks:
            kind, value = next(iter(check.items()))
            if kind == "any_of":
                for alternative in value:
                    yield from names(alternative)
            elif kind in ("says", "says_not", "form") and value != "none":
                for name in [value] if isinstance(value, str) else value:
                    yield kind, name

    for conversation in load_half(half):
        for checks in conversation.checks:
            for kind, name in names(checks):
                known = forms if kind == "form" else responses
                assert name in known, f"{conversation.id}: {kind} {name} is not in domain.yml"


@pytest.mark.parametrize("half", HALVES)
def test_changes_name_audit_actions_the_records_write(half: str) -> None:
    crm = BLIND.parent.parent.parent / "crm"
    written = {
        match.group(1)
        for source in crm.rglob("*.py")
        for match in re.finditer(r'"([a-z_]+\.[a-z_]+)"', source.read_text("utf-8"))
    }

    def actions(checks: Any) -> Iterator[str]:
        for check in checks:
            kind, value = next(iter(check.items()))
            if kind == "any_of":
                for alternative in value:
                    yield from actions(alternative)
            elif kind == "changes" and value != "none":
                yield from value

    for conversation in load_half(half):
        for checks in conversation.checks:
            for action in actions(checks):
                assert action in written, f"{conversation.id}: no audit action {action}"


def test_the_known_failures_are_blind_conversations() -> None:
    known = yaml.safe_load(FAILING.read_text("utf-8")) or {}
    ids = {c.id for half in HALVES for c in load_half(half)}
    assert set(known) <= ids


def test_an_unknown_check_or_a_bad_regex_is_refused_when_read() -> None:
    with pytest.raises(ValueError, match="unknown check"):
        list(validate_checks("x", [{"sayz": "utter_greet"}]))
    with pytest.raises(re.error):
        list(validate_checks("x", [{"mentions": "(unclosed"}]))
    with pytest.raises(ValueError, match="unknown check"):
        list(validate_checks("x", [{"any_of": [[{"nope": 1}]]}]))


def test_the_runner_answers_verification_as_the_demo_customers() -> None:
    assert IDENTITIES["ada"].email == "ada@example.com"
    assert IDENTITIES["grace"].postcode == "75001"
    assert "guest" not in IDENTITIES


# --- what the agent said -----------------------------------------------------------------


def test_says_mentions_and_form(records: tuple[Path, sessionmaker[Session]]) -> None:
    _, sessions = records
    record = turn(
        text="Order 100102 hasn't shipped yet, so I can cancel it free of charge.",
        uttered=["utter_verified", "utter_ask_confirm_cancel"],
        form="cancel_order_form",
    )
    holds = [
        {"says": "utter_ask_confirm_cancel"},
        {"says": ["utter_order_cancelled", "utter_ask_confirm_cancel"]},
        {"says_not": ["utter_ask_order_number"]},
        {"mentions": ["100102", "FREE OF CHARGE"]},
        {"mentions_not": "100101"},
        {"form": "cancel_order_form"},
        {"changes": "none"},
    ]
    assert verdict(sessions, "ada", record, holds) is None
    for failing in (
        {"says": "utter_order_cancelled"},
        {"says_not": ["utter_verified"]},
        {"mentions": ["100102", "100101"]},
        {"mentions_not": "shipped"},
        {"form": "none"},
        {"form": ["change_order_form"]},
        {"changes": ["order.cancel"]},
    ):
        assert verdict(sessions, "ada", record, [failing]) is not None, failing


def test_any_of_holds_when_one_alternative_does(
    records: tuple[Path, sessionmaker[Session]],
) -> None:
    _, sessions = records
    record = turn(uttered=["utter_ask_order_number"])
    paid = [{"says": "utter_order_status_paid"}]
    either = {"any_of": [paid, [{"says": "utter_ask_order_number"}]]}
    neither = {"any_of": [paid, [{"mentions": "100102"}]]}
    assert verdict(sessions, "ada", record, [either]) is None
    failed = verdict(sessions, "ada", record, [neither])
    assert failed is not None and "|" in failed[1]


def test_repeats_looks_for_what_an_earlier_turn_said(
    records: tuple[Path, sessionmaker[Session]],
) -> None:
    _, sessions = records
    earlier = [turn(text="I've passed this on (reference HO-7F3K2Q).")]
    again = turn(text="Your reference is HO-7F3K2Q.", index=1)
    other = turn(text="Your reference is HO-AAAAAA.", index=1)
    start = baseline(sessions, "ada")
    check = [{"repeats": "HO-[A-Z0-9]{6}"}]
    for record, holds in ((again, True), (other, False)):
        ctx = Context(SENDER, record, sessions, start, earlier=earlier)
        assert (first_failure(ctx, check) is None) is holds
    assert first_failure(Context(SENDER, again, sessions, start), check) is not None


def test_the_first_failing_check_is_reported() -> None:
    result = Result(conversation=load_half("tune")[0], sender="s")
    assert result.passed
    result.failure = Failure(turn=1, check='says: "utter_x"', detail="uttered []")
    assert not result.passed
    assert str(result.failure) == 'turn 1: says: "utter_x" (uttered [])'


# --- the records after the turn ----------------------------------------------------------


def test_order_state_checks_read_the_records(records: tuple[Path, sessionmaker[Session]]) -> None:
    _, sessions = records
    record = turn()
    assert (
        verdict(sessions, "ada", record, [{"order": {"number": 100102, "status": "paid"}}]) is None
    )
    assert verdict(
        sessions, "ada", record, [{"order": {"number": 100102, "status": "cancelled"}}]
    ) == ('order: {"number": 100102, "status": "cancelled"}', "order 100102 is paid")
    assert (
        verdict(
            sessions,
            "ada",
            record,
            [{"order": {"number": 100102, "item": {"product": "Enamel Kettle", "quantity": 1}}}],
        )
        is None
    )
    assert verdict(
        sessions,
        "ada",
        record,
        [{"order": {"number": 100102, "item": {"product": "Glass Storage Jars", "quantity": 3}}}],
    )
    assert verdict(
        sessions, "ada", record, [{"order": {"number": 100102, "address": "7 Beech Road"}}]
    )


def test_changes_made_in_the_conversation_are_seen(
    records: tuple[Path, sessionmaker[Session]],
) -> None:
    _, sessions = records
    start = baseline(sessions, "ada")
    shop = OrderService(sessions, site_url=DEFAULTS.site_url)
    shop.cancel_order("100102", ada_id(sessions), actor="test", conversation_id=SENDER)
    shop.place_order(ada_id(sessions), [("OUT-002", 2)], actor="test", conversation_id=SENDER)
    ctx = Context(SENDER, turn(), sessions, start)
    assert first_failure(ctx, [{"order": {"number": 100102, "status": "cancelled"}}]) is None
    assert first_failure(ctx, [{"new_order": {"product": "Solar Lantern", "quantity": 2}}]) is None
    assert first_failure(ctx, [{"new_order": {"product": ".", "quantity": 2}}]) is None
    assert first_failure(ctx, [{"new_order": {"product": "Solar Lantern", "quantity": 1}}])
    assert first_failure(ctx, [{"refund": 100102}]) is None  # a paid order's cancellation
    assert first_failure(ctx, [{"refund": 100104}])
    # An order of the records' own, placed before the conversation, is no new order.
    fresh = Context(SENDER, turn(), sessions, baseline(sessions, "ada"))
    assert first_failure(fresh, [{"new_order": {"product": "Solar Lantern", "quantity": 2}}])
    assert first_failure(fresh, [{"refund": 100102}])


def test_account_ticket_handoff_and_address_checks(
    records: tuple[Path, sessionmaker[Session]],
) -> None:
    _, sessions = records
    record = turn()
    assert verdict(sessions, "ada", record, [{"account": {"email": "ada@example.com"}}]) is None
    assert verdict(sessions, "ada", record, [{"account": {"last_name": "King"}}])
    assert verdict(sessions, "ada", record, [{"ticket": False}, {"handoff": False}]) is None
    assert verdict(sessions, "ada", record, [{"ticket": True}])
    assert verdict(sessions, "ada", record, [{"handoff": True}])
    assert verdict(sessions, "ada", record, [{"address_saved": {"address": "M4 6AB"}}]) is None
    assert verdict(sessions, "ada", record, [{"address_saved": {"address": "CB2 1RX"}}])
    subscribed = {"newsletter": {"email": "ada@example.com", "subscribed": True}}
    assert verdict(sessions, "ada", record, [subscribed]) is None
    assert verdict(sessions, "ada", record, [{"email_sent": {"to": "ada@example.com"}}])


def test_a_handoff_is_not_a_change_to_the_records(
    records: tuple[Path, sessionmaker[Session]],
) -> None:
    _, sessions = records
    record = turn(audit=["handoff.request", "ticket.open"])
    assert verdict(sessions, "ada", record, [{"changes": "none"}]) is None
    assert verdict(sessions, "ada", turn(audit=["order.cancel"]), [{"changes": "none"}])


# --- restoring the records -----------------------------------------------------------------


def test_restoring_reaches_a_connection_that_is_already_open(
    records: tuple[Path, sessionmaker[Session]], seeded: Path
) -> None:
    path, sessions = records
    with sessions() as session:  # a pooled connection, open before and after the restore
        assert session.scalar(select(Order.status).where(Order.number == "100102")) == "paid"
    shop = OrderService(sessions, site_url=DEFAULTS.site_url)
    shop.cancel_order("100102", ada_id(sessions), actor="test", conversation_id=SENDER)
    with sessions() as session:
        assert session.scalar(select(Order.status).where(Order.number == "100102")) == "cancelled"
    copy_database(seeded, path)
    with sessions() as session:
        assert session.scalar(select(Order.status).where(Order.number == "100102")) == "paid"


# --- the benchmark's table ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "group"),
    [
        ("elliptical follow-up", "elliptical follow-up"),
        ("question in the middle of an order, then back to it", "question mid-task"),
        ("quantity said before verification must still count", "early detail kept"),
        ("correction of the new phone number", "correction"),
        ("recommendation, then 'which one's the cheapest'", "pronoun/reference"),
        ("tracking, then task switch to returning it", "task switch"),
        ("something else entirely", "other"),
    ],
)
def test_pattern_groups(pattern: str, group: str) -> None:
    assert pattern_group(pattern) == group


def test_report_counts_per_pattern_and_names_the_first_failure() -> None:
    conversations = load_half("tune")[:2]
    passed = Result(conversation=conversations[0], sender="a")
    failed = Result(conversation=conversations[1], sender="b")
    failed.failure = Failure(turn=0, check='mentions: "a|b"', detail="no match")
    table = report("tune", [passed, failed], 3.0)
    assert "**1/2 (50%) pass**" in table
    assert f"| {conversations[1].id} |" in table
    assert 'mentions: "a\\|b"' in table  # a pipe inside a cell is escaped
