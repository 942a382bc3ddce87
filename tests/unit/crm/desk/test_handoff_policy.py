"""The handoff policy (crm/desk/handoff_policy.py): hours, overflow, presence, routing, ticket.

Real databases (SQLite and PostgreSQL), real staff sessions for presence; the router is a plain
function, as the composition root gives it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from config.support_hours import SupportHours
from crm.desk.handoff_policy import ROUTING_WINDOW, HandoffPolicy
from crm.desk.staff import StaffService
from crm.desk.transcripts import TranscriptRecord
from crm.records.models import AuditLog, HandoffRequest, SupportTicket

# CLOCK_NOW of conftest.py is Monday 2 June 2025, 11:00 in London.
WEEKDAYS = SupportHours.parse("Mon-Fri 08:00-20:00", "Europe/London")
NEVER = SupportHours.parse("", "Europe/London")
NIGHT_SHIFT_ONLY = SupportHours.parse("Mon-Fri 22:00-23:00", "Europe/London")
PRESENCE = timedelta(minutes=5)
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse battery"


def said(*texts: str) -> list[TranscriptRecord]:
    return [{"role": "customer", "text": text, "at": "2025-06-02T09:59:00+00:00"} for text in texts]


def by_words(words: Sequence[str]) -> str:
    """A router that sends anything about a charge to billing, the rest to general."""
    return "billing" if any("charged" in text for text in words) else "general"


@pytest.fixture
def staff(sessions: sessionmaker[Session], clock_now: datetime) -> StaffService:
    return StaffService(sessions, clock=lambda: clock_now, hasher=CHEAP)


def at_console(staff: StaffService, team: str) -> None:
    """A member of `team` signed in now: the console page is open."""
    email = f"{team}@larkspur.example"
    staff.create_member(
        email=email, name=team, password=PASSWORD, role="agent", team=team, actor="test"
    )
    staff.sign_in(email=email, password=PASSWORD, client="203.0.113.7")


def policy(
    sessions: sessionmaker[Session],
    clock_now: datetime,
    *,
    hours: SupportHours = WEEKDAYS,
    presence: timedelta | None = PRESENCE,
    **options: object,
) -> HandoffPolicy:
    return HandoffPolicy(
        sessions,
        hours=hours,
        presence=presence,
        route=by_words,
        clock=lambda: clock_now,
        **options,  # type: ignore[arg-type]
    )


def hand_off(service: HandoffPolicy, *texts: str, conversation: str = "c1"):
    return service.hand_off(
        conversation_id=conversation,
        channel="rest",
        reason="customer_request",
        customer_id=None,
        transcript=said(*texts),
    )


def tickets(sessions: sessionmaker[Session]) -> list[SupportTicket]:
    with sessions() as session:
        return list(session.scalars(select(SupportTicket).order_by(SupportTicket.id)))


def requests(sessions: sessionmaker[Session]) -> list[HandoffRequest]:
    with sessions() as session:
        return list(session.scalars(select(HandoffRequest).order_by(HandoffRequest.id)))


def test_someone_of_the_team_at_the_console_takes_it_without_a_ticket(
    sessions, staff, clock_now
) -> None:
    at_console(staff, "billing")
    handoff = hand_off(policy(sessions, clock_now), "I was charged twice", "a person please")
    assert (handoff.team, handoff.ticket, handoff.opens) == ("billing", None, None)
    assert [r.team for r in requests(sessions)] == ["billing"]
    assert tickets(sessions) == []


def test_a_team_with_nobody_there_overflows_to_a_generalist(sessions, staff, clock_now) -> None:
    at_console(staff, "general")
    handoff = hand_off(policy(sessions, clock_now), "I was charged twice")
    assert (handoff.team, handoff.ticket) == ("general", None)
    assert [r.team for r in requests(sessions)] == ["general"]


def test_within_hours_with_nobody_there_a_ticket_goes_to_the_team(
    sessions, staff, clock_now
) -> None:
    handoff = hand_off(policy(sessions, clock_now), "I was charged twice", "a person please")
    [ticket] = tickets(sessions)
    assert (handoff.team, handoff.ticket, handoff.opens) == ("billing", ticket.reference, None)
    assert ticket.team == "billing" and ticket.category == "service"
    assert ticket.subject == f"Handoff {handoff.reference}, nobody on duty (customer_request)"
    assert ticket.description == "I was charged twice\na person please"


def test_outside_hours_a_ticket_says_when_support_opens(sessions, staff, clock_now) -> None:
    at_console(staff, "billing")  # someone there, but not on duty now
    handoff = hand_off(policy(sessions, clock_now, hours=NIGHT_SHIFT_ONLY), "charged twice")
    assert handoff.ticket == tickets(sessions)[0].reference
    assert handoff.opens == NIGHT_SHIFT_ONLY.next_opening(clock_now)
    assert handoff.opens is not None and handoff.opens > clock_now


def test_with_no_support_hours_every_handoff_is_a_ticket_that_names_no_opening(
    sessions, clock_now
) -> None:
    handoff = hand_off(policy(sessions, clock_now, hours=NEVER), "a person please")
    assert handoff.ticket is not None and handoff.opens is None


def test_without_a_presence_check_staff_count_as_there(sessions, clock_now) -> None:
    handoff = hand_off(policy(sessions, clock_now, presence=None), "I was charged twice")
    assert (handoff.team, handoff.ticket) == ("billing", None)


def test_an_open_request_keeps_its_reference_and_team(sessions, staff, clock_now) -> None:
    at_console(staff, "billing")
    service = policy(sessions, clock_now)
    first = hand_off(service, "I was charged twice")
    again = hand_off(service, "something else now")
    assert (again.reference, again.team) == (first.reference, "billing")
    assert len(requests(sessions)) == 1


def test_only_the_last_messages_decide_the_team(sessions, clock_now) -> None:
    seen: list[Sequence[str]] = []
    texts = [f"message {n}" for n in range(ROUTING_WINDOW + 3)]
    HandoffPolicy(
        sessions, hours=WEEKDAYS, presence=None, route=lambda w: seen.append(w) or "general"
    ).hand_off(
        conversation_id="c1",
        channel="rest",
        reason="customer_request",
        customer_id=None,
        transcript=said(*texts),
    )
    assert seen == [texts[-ROUTING_WINDOW:]]


def test_a_failing_router_sends_the_handoff_to_general_and_logs_it(
    sessions, clock_now, caplog
) -> None:
    def broken(words: Sequence[str]) -> str:
        raise RuntimeError("model file damaged")

    service = policy(sessions, clock_now, presence=None)
    service._route = broken
    with caplog.at_level(logging.ERROR, logger="crm.desk.handoff_policy"):
        handoff = hand_off(service, "I was charged twice", conversation="conv-77")
    assert handoff.team == "general"
    assert "could not route conv-77" in caplog.text
    assert "charged" not in caplog.text


def test_without_a_router_everything_goes_to_general(sessions, clock_now) -> None:
    service = HandoffPolicy(sessions, hours=WEEKDAYS, presence=None, clock=lambda: clock_now)
    assert hand_off(service, "I was charged twice").team == "general"


def test_the_request_and_its_ticket_land_together_or_not_at_all(sessions, clock_now) -> None:
    # A ticket reference that is already taken makes the ticket's INSERT fail on every try.
    taken = "TK-TAKEN1"
    hand_off(policy(sessions, clock_now, new_ticket=lambda: taken), "first", conversation="c0")
    service = policy(sessions, clock_now, new_ticket=lambda: taken)
    with pytest.raises(IntegrityError):
        hand_off(service, "I was charged twice", conversation="c1")
    assert [r.conversation_id for r in requests(sessions)] == ["c0"]
    with sessions() as session:
        audited = session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.conversation_id == "c1")
        )
    assert audited == 0


def test_both_writes_are_audited_with_the_conversation(sessions, clock_now) -> None:
    handoff = hand_off(policy(sessions, clock_now), "a person please", conversation="c9")
    with sessions() as session:
        actions = session.scalars(
            select(AuditLog.action).where(AuditLog.conversation_id == "c9").order_by(AuditLog.id)
        ).all()
    assert actions == ["handoff.request", "ticket.open"]
    assert handoff.ticket is not None


def test_clock_now_is_within_the_weekday_hours(clock_now) -> None:
    # The tests above rely on it; the fixture's time is fixed in conftest.py.
    assert WEEKDAYS.is_open(clock_now)
    assert not NIGHT_SHIFT_ONLY.is_open(clock_now)
    assert clock_now.tzinfo == timezone.utc
