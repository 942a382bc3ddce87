from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm.desk.handoff_requests import HandoffService
from crm.desk.transcripts import TranscriptRecord
from crm.records.errors import UnknownTeam
from crm.records.models import AuditLog, HandoffRequest

TRANSCRIPT: list[TranscriptRecord] = [
    {"role": "customer", "text": "Where is my parcel?", "at": "2025-06-02T09:58:00+00:00"},
    {"role": "agent", "text": "Let me check order 100103.", "at": "2025-06-02T09:58:05+00:00"},
    {"role": "customer", "text": "I want to talk to a person", "at": "2025-06-02T09:59:00+00:00"},
]


@pytest.fixture
def handoffs(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> HandoffService:
    return HandoffService(sessions, clock=clock)


def _requests(sessions: sessionmaker[Session]) -> list[HandoffRequest]:
    with sessions() as session:
        rows = list(session.scalars(select(HandoffRequest).order_by(HandoffRequest.id)))
        session.expunge_all()
        return rows


def test_request_handoff_stores_request_and_audit(
    handoffs: HandoffService,
    sessions: sessionmaker[Session],
    audit_rows: Callable[[], list[AuditLog]],
    clock_now: datetime,
) -> None:
    ref = handoffs.request_handoff(
        conversation_id="conv-1",
        channel="web",
        reason="customer asked for a person",
        customer_id=None,
        transcript=TRANSCRIPT,
    )
    assert re.fullmatch(r"HO-[A-HJ-NP-Z2-9]{6}", ref.reference)
    assert ref.created_at == clock_now

    [stored] = _requests(sessions)
    assert (stored.id, stored.reference, stored.status) == (ref.id, ref.reference, "waiting")
    assert (stored.conversation_id, stored.channel) == ("conv-1", "web")
    assert stored.transcript == TRANSCRIPT

    [audit] = audit_rows()
    assert audit.action == "handoff.request"
    assert (audit.entity, audit.entity_id) == ("handoff_request", ref.reference)
    assert audit.conversation_id == "conv-1"
    assert audit.before is None
    assert audit.after is not None and audit.after["status"] == "waiting"


def test_second_request_for_waiting_conversation_returns_the_first(
    handoffs: HandoffService,
    sessions: sessionmaker[Session],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    first = handoffs.request_handoff(
        conversation_id="conv-1", channel="web", reason="r", customer_id=None, transcript=[]
    )
    again = handoffs.request_handoff(
        conversation_id="conv-1", channel="web", reason="again", customer_id=None, transcript=[]
    )
    assert again == first
    assert len(_requests(sessions)) == 1
    assert len(audit_rows()) == 1


def test_other_conversations_get_their_own_request(
    handoffs: HandoffService, sessions: sessionmaker[Session]
) -> None:
    one = handoffs.request_handoff(
        conversation_id="conv-1", channel="web", reason="r", customer_id=None, transcript=[]
    )
    two = handoffs.request_handoff(
        conversation_id="conv-2", channel="web", reason="r", customer_id=None, transcript=[]
    )
    assert one.id != two.id
    assert one.reference != two.reference
    assert len(_requests(sessions)) == 2


def test_request_while_a_person_has_the_conversation_returns_theirs(
    handoffs: HandoffService, sessions: sessionmaker[Session]
) -> None:
    first = handoffs.request_handoff(
        conversation_id="conv-1", channel="web", reason="r", customer_id=None, transcript=[]
    )
    with sessions.begin() as session:
        session.execute(
            update(HandoffRequest).where(HandoffRequest.id == first.id).values(status="claimed")
        )
    second = handoffs.request_handoff(
        conversation_id="conv-1", channel="web", reason="r", customer_id=None, transcript=[]
    )
    assert second.id == first.id
    assert [row.status for row in _requests(sessions)] == ["claimed"]


def test_new_request_once_the_previous_one_was_closed(
    handoffs: HandoffService, sessions: sessionmaker[Session]
) -> None:
    first = handoffs.request_handoff(
        conversation_id="conv-1", channel="web", reason="r", customer_id=None, transcript=[]
    )
    with sessions.begin() as session:
        session.execute(
            update(HandoffRequest)
            .where(HandoffRequest.id == first.id)
            .values(status="closed", closed_at=datetime(2025, 6, 2, 11, tzinfo=timezone.utc))
        )
    second = handoffs.request_handoff(
        conversation_id="conv-1",
        channel="web",
        reason="negative_sentiment",
        customer_id=None,
        transcript=[],
    )
    assert second.id != first.id
    assert [(row.status, row.priority) for row in _requests(sessions)] == [
        ("closed", 2),
        ("waiting", 1),
    ]


def test_request_keeps_the_customer(
    handoffs: HandoffService,
    sessions: sessionmaker[Session],
    seeded: object,
    customer_id: Callable[[str], int],
) -> None:
    ada = customer_id("ada@example.com")
    handoffs.request_handoff(
        conversation_id="conv-1", channel="web", reason="r", customer_id=ada, transcript=[]
    )
    assert _requests(sessions)[0].customer_id == ada


def test_database_allows_one_waiting_request_per_conversation(
    sessions: sessionmaker[Session], clock_now: datetime
) -> None:
    def row(reference: str) -> HandoffRequest:
        return HandoffRequest(
            reference=reference,
            conversation_id="conv-1",
            channel="web",
            reason="r",
            transcript=[],
            status="waiting",
            created_at=clock_now,
        )

    with sessions.begin() as session:
        session.add(row("HO-AAAAAA"))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(row("HO-BBBBBB"))


def test_reference_collision_is_retried(
    sessions: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    references: Iterator[str] = iter(["HO-AAAAAA", "HO-AAAAAA", "HO-BBBBBB"])
    handoffs = HandoffService(sessions, clock=clock, new_reference=lambda: next(references))
    first = handoffs.request_handoff(
        conversation_id="conv-1", channel="web", reason="r", customer_id=None, transcript=[]
    )
    second = handoffs.request_handoff(
        conversation_id="conv-2", channel="web", reason="r", customer_id=None, transcript=[]
    )
    assert (first.reference, second.reference) == ("HO-AAAAAA", "HO-BBBBBB")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditLog)) == 2


@pytest.mark.parametrize(
    "line",
    [
        {"role": "bot", "text": "hi", "at": "2025-06-02T09:58:00+00:00"},
        {"role": "customer", "text": 3, "at": "2025-06-02T09:58:00+00:00"},
        {"role": "customer", "text": "hi", "at": "yesterday"},
        {"role": "customer", "text": "hi"},
    ],
)
def test_malformed_transcript_is_refused(
    handoffs: HandoffService, sessions: sessionmaker[Session], line: dict[str, object]
) -> None:
    with pytest.raises(ValueError, match="transcript"):
        handoffs.request_handoff(
            conversation_id="conv-1",
            channel="web",
            reason="r",
            customer_id=None,
            transcript=[line],  # type: ignore[list-item]
        )
    assert _requests(sessions) == []


def test_a_transcript_keeps_every_role_and_who_of_the_staff_spoke(
    handoffs: HandoffService, sessions: sessionmaker[Session]
) -> None:
    # The roles of crm/desk/transcripts.py, as the console shows them.
    lines: list[TranscriptRecord] = [
        *TRANSCRIPT,
        {"role": "system", "text": "Priya joined the chat.", "at": "2025-06-02T10:00:00+00:00"},
        {"role": "staff", "text": "Hello!", "at": "2025-06-02T10:00:01+00:00", "name": "Priya"},
        {"role": "agent", "text": "", "at": "2025-06-02T10:05:00+00:00", "buttons": ["5", "4"]},
    ]
    handoffs.request_handoff(
        conversation_id="conv-1", channel="web", reason="r", customer_id=None, transcript=lines
    )
    assert _requests(sessions)[0].transcript == lines


def test_handoff_timestamps_are_utc(
    handoffs: HandoffService, sessions: sessionmaker[Session]
) -> None:
    handoffs.request_handoff(
        conversation_id="conv-1", channel="web", reason="r", customer_id=None, transcript=[]
    )
    assert _requests(sessions)[0].created_at.tzinfo == timezone.utc


def test_a_request_waits_in_the_team_it_was_routed_to(
    handoffs: HandoffService,
    sessions: sessionmaker[Session],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    ref = handoffs.request_handoff(
        conversation_id="conv-1",
        channel="web",
        reason="r",
        customer_id=None,
        transcript=TRANSCRIPT,
        team="shipping",
    )
    assert ref.team == "shipping"
    assert [row.team for row in _requests(sessions)] == ["shipping"]
    [audit] = audit_rows()
    assert audit.after is not None and audit.after["team"] == "shipping"


def test_without_a_team_a_request_waits_in_general(
    handoffs: HandoffService, sessions: sessionmaker[Session]
) -> None:
    handoffs.request_handoff(
        conversation_id="conv-1", channel="web", reason="r", customer_id=None, transcript=[]
    )
    assert [row.team for row in _requests(sessions)] == ["general"]


def test_an_open_request_keeps_its_team(
    handoffs: HandoffService, sessions: sessionmaker[Session]
) -> None:
    first = handoffs.request_handoff(
        conversation_id="conv-1",
        channel="web",
        reason="r",
        customer_id=None,
        transcript=[],
        team="billing",
    )
    again = handoffs.request_handoff(
        conversation_id="conv-1",
        channel="web",
        reason="r",
        customer_id=None,
        transcript=[],
        team="technical",
    )
    assert (again.id, again.team) == (first.id, "billing")
    assert [row.team for row in _requests(sessions)] == ["billing"]


def test_an_unknown_team_is_refused(
    handoffs: HandoffService, sessions: sessionmaker[Session]
) -> None:
    with pytest.raises(UnknownTeam):
        handoffs.request_handoff(
            conversation_id="conv-1",
            channel="web",
            reason="r",
            customer_id=None,
            transcript=[],
            team="sales",
        )
    assert _requests(sessions) == []
