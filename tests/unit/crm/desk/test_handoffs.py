"""The staff side of handoffs: queues, claims, hand-backs, closing, transfers, notes, customers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from crm.desk.handoff_requests import HandoffService
from crm.desk.handoffs import MAX_NOTE_CHARS, HandoffDesk, Placement
from crm.desk.staff import StaffMember, StaffService
from crm.records.errors import (
    HandoffClosed,
    HandoffNotFound,
    HandoffNotYours,
    HandoffTaken,
    HandoffUnchanged,
    InvalidNote,
    InvalidOutcome,
    StaffNotAvailable,
    UnknownTeam,
)
from crm.records.models import AuditLog, HandoffNote, HandoffRequest, StaffUser

PASSWORD = "a long enough password"


@pytest.fixture
def desk(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> HandoffDesk:
    return HandoffDesk(sessions, clock=clock)


@pytest.fixture
def member(sessions: sessionmaker[Session]) -> Callable[[str, str, str], StaffMember]:
    staff = StaffService(sessions, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))

    def create(name: str, role: str = "agent", team: str = "general") -> StaffMember:
        return staff.create_member(
            email=f"{name.lower()}@larkspur.test",
            name=name,
            password=PASSWORD,
            role=role,
            team=team,
            actor="test",
        )

    return create


def queue_for(
    sessions: sessionmaker[Session],
    conversation: str,
    *,
    team: str = "general",
    reason: str = "customer_request",
    customer_id: int | None = None,
    minutes_ago: int = 0,
) -> str:
    base = datetime(2025, 6, 2, 10, 0).astimezone()
    reference = HandoffService(
        sessions, clock=lambda: base - timedelta(minutes=minutes_ago)
    ).request_handoff(
        conversation_id=conversation,
        channel="web",
        reason=reason,
        customer_id=customer_id,
        transcript=[],
    )
    if team != "general":
        with sessions.begin() as session:
            request = session.get(HandoffRequest, reference.id)
            assert request is not None
            request.team = team
    return reference.reference


def test_agents_see_their_teams_queue_supervisors_see_all(
    desk: HandoffDesk, sessions: sessionmaker[Session], member: Callable[..., StaffMember]
) -> None:
    general = queue_for(sessions, "c-general")
    billing = queue_for(sessions, "c-billing", team="billing")
    priya, tom = member("Priya"), member("Tom", team="billing")
    boss = member("Sue", role="supervisor", team="billing")
    assert [e.reference for e in desk.queue(priya)] == [general]
    assert [e.reference for e in desk.queue(tom)] == [billing]
    assert {e.reference for e in desk.queue(boss)} == {general, billing}
    with pytest.raises(HandoffNotFound):
        desk.entry(billing, priya)
    with pytest.raises(HandoffNotFound):
        desk.claim(billing, priya)
    with pytest.raises(HandoffNotFound):
        desk.entry("HO-NOSUCH", boss)


def test_the_queue_puts_upset_customers_first_then_the_longest_waiting(
    desk: HandoffDesk, sessions: sessionmaker[Session], member: Callable[..., StaffMember]
) -> None:
    recent = queue_for(sessions, "c-1", minutes_ago=1)
    older = queue_for(sessions, "c-2", minutes_ago=30)
    upset = queue_for(sessions, "c-3", reason="negative_sentiment", minutes_ago=0)
    assert [e.reference for e in desk.queue(member("Priya"))] == [upset, older, recent]


def test_a_conversation_is_claimed_once_and_handed_back_by_its_holder(
    desk: HandoffDesk,
    sessions: sessionmaker[Session],
    member: Callable[..., StaffMember],
    audit_rows: Callable[[], list[AuditLog]],
    clock_now: datetime,
) -> None:
    reference = queue_for(sessions, "c-1")
    priya, ravi = member("Priya"), member("Ravi")
    held = desk.claim(reference, priya)
    assert (held.status, held.assignee_name, held.claimed_at) == ("claimed", "Priya", clock_now)
    assert held.held_by(priya) and not held.held_by(ravi)
    with pytest.raises(HandoffTaken):
        desk.claim(reference, ravi)
    with pytest.raises(HandoffNotYours):
        desk.holding(reference, ravi)
    with pytest.raises(HandoffNotYours):
        desk.hand_back(reference, ravi)
    # What an agent holds stays in their queue.
    assert [e.reference for e in desk.queue(priya)] == [reference]

    closed = desk.hand_back(reference, priya)
    assert (closed.status, closed.reference) == ("closed", reference)
    assert desk.queue(priya) == []
    with sessions() as session:
        request = session.query(HandoffRequest).one()
        assert (request.outcome, request.closed_at) == ("handed_back", clock_now)
    actions = [row.action for row in audit_rows()]
    assert actions[-2:] == ["handoff.claim", "handoff.hand_back"]
    assert all(row.actor == f"staff:{priya.id}" for row in audit_rows()[-2:])


def test_a_claim_that_could_not_start_is_released(
    desk: HandoffDesk, sessions: sessionmaker[Session], member: Callable[..., StaffMember]
) -> None:
    reference = queue_for(sessions, "c-1")
    priya = member("Priya")
    desk.claim(reference, priya)
    with pytest.raises(HandoffNotYours):
        desk.release(reference, member("Ravi"))
    waiting = desk.release(reference, priya)
    assert (waiting.status, waiting.assignee_id, waiting.claimed_at) == ("waiting", None, None)
    assert desk.claim(reference, priya).status == "claimed"


def test_the_customer_panel_shows_the_verified_customers_records(
    desk: HandoffDesk,
    sessions: sessionmaker[Session],
    member: Callable[..., StaffMember],
    seeded: object,
    customer_id: Callable[[str], int],
) -> None:
    ada = customer_id("ada@example.com")
    verified = queue_for(sessions, "c-ada", customer_id=ada)
    anonymous = queue_for(sessions, "c-anon")
    priya = member("Priya")
    panel = desk.customer_panel(verified, priya)
    assert panel is not None
    assert (panel.name, panel.email) == ("Ada Lovelace", "ada@example.com")
    assert "100103" in {order.number for order in panel.orders}
    assert all(order.total.startswith("£") for order in panel.orders)
    assert desk.queue(priya)[0].customer_name == "Ada Lovelace"
    assert desk.customer_panel(anonymous, priya) is None


# --- closing, transferring and assigning, private notes --------------------------------------


def ticking(start: datetime) -> Callable[[], datetime]:
    """A clock one minute later at every reading, so the order of steps shows in their times."""
    now = [start]

    def read() -> datetime:
        now[0] += timedelta(minutes=1)
        return now[0]

    return read


def stored(sessions: sessionmaker[Session], reference: str) -> HandoffRequest:
    with sessions() as session:
        request = session.query(HandoffRequest).filter_by(reference=reference).one()
        session.expunge(request)
        return request


def test_the_holder_closes_a_conversation_with_an_outcome(
    desk: HandoffDesk,
    sessions: sessionmaker[Session],
    member: Callable[..., StaffMember],
    audit_rows: Callable[[], list[AuditLog]],
    clock_now: datetime,
) -> None:
    solved, unsolved = queue_for(sessions, "c-1"), queue_for(sessions, "c-2")
    priya, ravi = member("Priya"), member("Ravi")
    boss = member("Sue", role="supervisor")
    with pytest.raises(HandoffNotYours):
        desk.close(solved, priya, "resolved")  # waiting: nobody holds it yet
    desk.claim(solved, priya)
    desk.claim(unsolved, priya)
    for stranger in (ravi, boss):  # not even a supervisor closes someone else's chat
        with pytest.raises(HandoffNotYours):
            desk.close(solved, stranger, "resolved")
    for outcome in ("handed_back", "fixed", ""):
        with pytest.raises(InvalidOutcome):
            desk.close(solved, priya, outcome)
    assert stored(sessions, solved).status == "claimed"

    closed = desk.close(solved, priya, "resolved")
    assert (closed.status, closed.reference) == ("closed", solved)
    desk.close(unsolved, priya, "not_resolved")
    first, second = stored(sessions, solved), stored(sessions, unsolved)
    assert (first.status, first.outcome, first.closed_at) == ("closed", "resolved", clock_now)
    assert (second.status, second.outcome) == ("closed", "not_resolved")
    assert desk.queue(priya) == []
    with pytest.raises(HandoffNotYours):
        desk.close(solved, priya, "not_resolved")  # closed once, for good
    assert stored(sessions, solved).outcome == "resolved"
    closes = [row for row in audit_rows() if row.action == "handoff.close"]
    assert [(row.entity_id, row.actor, row.after) for row in closes] == [
        (solved, f"staff:{priya.id}", {"status": "closed", "outcome": "resolved"}),
        (unsolved, f"staff:{priya.id}", {"status": "closed", "outcome": "not_resolved"}),
    ]


def test_the_holder_transfers_to_a_colleague_who_then_holds_it(
    sessions: sessionmaker[Session],
    member: Callable[..., StaffMember],
    audit_rows: Callable[[], list[AuditLog]],
    clock_now: datetime,
) -> None:
    desk = HandoffDesk(sessions, clock=ticking(clock_now))
    reference = queue_for(sessions, "c-1")
    priya, ravi = member("Priya"), member("Ravi")
    claimed_at = desk.claim(reference, priya).claimed_at

    moved = desk.transfer(reference, priya, to_member=ravi.id)
    assert (moved.relay_kind, moved.relay_name) == ("join", "Ravi")
    assert (moved.action, moved.conversation_id) == ("handoff.transfer", "c-1")
    assert moved.before == Placement("claimed", "general", priya.id, claimed_at)
    now = desk.entry(reference, ravi)
    assert (now.status, now.assignee_name) == ("claimed", "Ravi")
    assert now.claimed_at is not None and claimed_at is not None and now.claimed_at > claimed_at
    assert now.held_by(ravi) and not now.held_by(priya)
    desk.holding(reference, ravi)
    with pytest.raises(HandoffNotYours):
        desk.holding(reference, priya)
    with pytest.raises(HandoffNotYours):
        desk.transfer(reference, priya, to_member=priya.id)  # Priya no longer holds it
    row = audit_rows()[-1]
    assert (row.action, row.actor, row.entity_id) == (
        "handoff.transfer",
        f"staff:{priya.id}",
        reference,
    )
    assert row.before == {"status": "claimed", "team": "general", "assignee_id": priya.id}
    assert row.after == {"status": "claimed", "team": "general", "assignee_id": ravi.id}


def test_transfers_are_refused_to_anyone_who_cannot_take_the_conversation(
    desk: HandoffDesk, sessions: sessionmaker[Session], member: Callable[..., StaffMember]
) -> None:
    reference = queue_for(sessions, "c-1")
    priya, ravi, gone = member("Priya"), member("Ravi"), member("Gone")
    tom = member("Tom", team="billing")
    billing_boss = member("Bea", role="supervisor", team="billing")
    with pytest.raises(HandoffNotYours):
        desk.transfer(reference, ravi, to_member=priya.id)  # an agent cannot assign a waiting one
    desk.claim(reference, priya)
    with pytest.raises(HandoffNotYours):
        desk.transfer(reference, ravi, to_member=ravi.id)  # nor take what a colleague holds
    with pytest.raises(HandoffNotYours):
        desk.transfer(reference, ravi, to_team="billing")
    with sessions.begin() as session:
        user = session.get(StaffUser, gone.id)
        assert user is not None
        user.active = False
    for colleague in (gone.id, 999_999, tom.id):  # inactive, unknown, another team's agent
        with pytest.raises(StaffNotAvailable):
            desk.transfer(reference, priya, to_member=colleague)
    with pytest.raises(HandoffUnchanged):
        desk.transfer(reference, priya, to_member=priya.id)
    with pytest.raises(UnknownTeam):
        desk.transfer(reference, priya, to_team="sales")
    with pytest.raises(ValueError):
        desk.transfer(reference, priya)
    with pytest.raises(ValueError):
        desk.transfer(reference, priya, to_member=ravi.id, to_team="billing")
    after = stored(sessions, reference)
    assert (after.status, after.assignee_id, after.team) == ("claimed", priya.id, "general")
    # A supervisor of another team can take it: supervisors work every queue.
    assert desk.transfer(reference, priya, to_member=billing_boss.id).relay_name == "Bea"
    assert stored(sessions, reference).assignee_id == billing_boss.id


def test_the_holder_transfers_to_a_team_whose_queue_then_has_it(
    desk: HandoffDesk,
    sessions: sessionmaker[Session],
    member: Callable[..., StaffMember],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    reference = queue_for(sessions, "c-1", reason="negative_sentiment")
    priya, tom = member("Priya"), member("Tom", team="billing")
    desk.claim(reference, priya)
    moved = desk.transfer(reference, priya, to_team="billing")
    assert (moved.relay_kind, moved.relay_name, moved.relay_text) == (
        "transfer",
        "Priya",
        "billing",
    )
    after = stored(sessions, reference)
    assert (after.status, after.team, after.assignee_id, after.claimed_at) == (
        "waiting",
        "billing",
        None,
        None,
    )
    assert after.priority == 1  # an upset customer stays at the front of the new queue
    assert [e.reference for e in desk.queue(tom)] == [reference]
    with pytest.raises(HandoffNotFound):
        desk.entry(reference, priya)  # another team's waiting conversation now
    assert desk.claim(reference, tom).held_by(tom)
    row = audit_rows()[-2]
    assert (row.action, row.before, row.after) == (
        "handoff.transfer",
        {"status": "claimed", "team": "general", "assignee_id": priya.id},
        {"status": "waiting", "team": "billing", "assignee_id": None},
    )


def test_supervisors_assign_any_open_conversation(
    desk: HandoffDesk,
    sessions: sessionmaker[Session],
    member: Callable[..., StaffMember],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    reference = queue_for(sessions, "c-1")
    ravi, boss = member("Ravi"), member("Sue", role="admin", team="billing")
    assigned = desk.transfer(reference, boss, to_member=ravi.id)  # waiting: Ravi takes it
    assert (assigned.action, assigned.relay_kind, assigned.relay_name) == (
        "handoff.assign",
        "join",
        "Ravi",
    )
    assert desk.holding(reference, ravi).status == "claimed"
    # Held by Ravi: the supervisor sends it to the shipping queue, and the customer is told.
    queued = desk.transfer(reference, boss, to_team="shipping")
    assert (queued.relay_kind, queued.relay_name, queued.relay_text) == (
        "transfer",
        "Sue",
        "shipping",
    )
    with pytest.raises(HandoffUnchanged):
        desk.transfer(reference, boss, to_team="shipping")
    # Waiting, nobody joined: a move between queues is not announced to the customer.
    assert desk.transfer(reference, boss, to_team="general").relay_kind is None
    assert [row.action for row in audit_rows()[-3:]] == ["handoff.assign"] * 3
    assert all(row.actor == f"staff:{boss.id}" for row in audit_rows()[-3:])
    desk.claim(reference, ravi)
    desk.close(reference, ravi, "resolved")
    with pytest.raises(HandoffClosed):
        desk.transfer(reference, boss, to_member=ravi.id)


def test_a_transfer_the_customer_could_not_be_told_of_is_undone(
    sessions: sessionmaker[Session],
    member: Callable[..., StaffMember],
    audit_rows: Callable[[], list[AuditLog]],
    clock_now: datetime,
) -> None:
    desk = HandoffDesk(sessions, clock=ticking(clock_now))
    reference = queue_for(sessions, "c-1")
    priya, ravi = member("Priya"), member("Ravi")
    claimed_at = desk.claim(reference, priya).claimed_at
    moved = desk.transfer(reference, priya, to_team="billing")
    with pytest.raises(HandoffNotYours):
        desk.revert_transfer(moved, ravi)  # only the one who made it
    assert desk.revert_transfer(moved, priya)
    back = stored(sessions, reference)
    assert (back.status, back.team, back.assignee_id, back.claimed_at) == (
        "claimed",
        "general",
        priya.id,
        claimed_at,
    )
    row = audit_rows()[-1]
    assert (row.action, row.after) == (
        "handoff.transfer_undone",
        {"status": "claimed", "team": "general", "assignee_id": priya.id},
    )
    # Once someone has acted on it since, their step stands.
    handed = desk.transfer(reference, priya, to_member=ravi.id)
    desk.close(reference, ravi, "resolved")
    assert not desk.revert_transfer(handed, priya)
    assert (stored(sessions, reference).status, stored(sessions, reference).outcome) == (
        "closed",
        "resolved",
    )


def test_private_notes_are_kept_per_conversation_for_those_who_may_see_it(
    sessions: sessionmaker[Session],
    member: Callable[..., StaffMember],
    audit_rows: Callable[[], list[AuditLog]],
    clock_now: datetime,
) -> None:
    desk = HandoffDesk(sessions, clock=ticking(clock_now))
    first = queue_for(sessions, "c-1")
    priya, tom = member("Priya"), member("Tom", team="billing")
    boss = member("Sue", role="supervisor", team="billing")
    before = len(audit_rows())
    waiting = desk.add_note(first, priya, "  Asked twice about <b>order</b> 100103.\n")
    assert (waiting.author, waiting.text) == ("Priya", "Asked twice about <b>order</b> 100103.")
    for text in ("", "   ", "x" * (MAX_NOTE_CHARS + 1)):
        with pytest.raises(InvalidNote):
            desk.add_note(first, priya, text)
    desk.add_note(first, priya, "x" * MAX_NOTE_CHARS)
    with pytest.raises(HandoffNotFound):
        desk.add_note(first, tom, "a billing agent cannot see a general conversation")
    with pytest.raises(HandoffNotFound):
        desk.notes(first, tom)
    desk.claim(first, priya)
    desk.hand_back(first, priya)
    # The customer asks again later in the same conversation: a new handoff, in billing.
    second = queue_for(sessions, "c-1", team="billing")
    desk.add_note(second, boss, "Refund already approved on Monday.")
    unrelated = queue_for(sessions, "c-2")
    desk.add_note(unrelated, priya, "Another customer.")

    notes = desk.notes(second, tom)
    assert [(note.reference, note.author, note.text[:20]) for note in notes] == [
        (first, "Priya", "Asked twice about <b"),
        (first, "Priya", "x" * 20),
        (second, "Sue", "Refund already appro"),
    ]
    assert [note.at for note in notes] == sorted(note.at for note in notes)
    assert desk.notes(first, priya) == notes
    with sessions() as session:
        assert session.query(HandoffNote).count() == 4
    # Notes are not changes to the records: claim and hand-back are the only staff audit rows.
    staff_rows = [row for row in audit_rows()[before:] if row.actor.startswith("staff:")]
    assert [row.action for row in staff_rows] == ["handoff.claim", "handoff.hand_back"]
