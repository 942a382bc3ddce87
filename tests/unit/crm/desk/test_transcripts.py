"""Transcripts: the one mapper from Rasa events to lines, and the lines read from the store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from config.sql import pooled_engine
from config.tracker_events import EVENTS
from crm.desk.transcripts import (
    ROLES,
    TranscriptLine,
    TranscriptSource,
    checked_record,
    line_of,
    transcript_lines,
)
from tests.unit.bot.rasa_side import run_in_rasa

WRITER = Path(__file__).parents[2] / "bot" / "rasa_side" / "write_conversation.py"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> TranscriptSource:
    db = tmp_path_factory.mktemp("tracker") / "tracker.db"
    run_in_rasa(str(WRITER), str(db), "web-abc")
    run_in_rasa(str(WRITER), str(db), "someone-else")
    return TranscriptSource(pooled_engine(f"sqlite:///{db}"))


@pytest.mark.slow  # the tracker store is written by Rasa, in the Rasa venv
def test_a_transcript_has_every_voice_in_order(source: TranscriptSource) -> None:
    lines = source.lines("web-abc")
    assert [(line.role, line.text, line.name) for line in lines] == [
        ("customer", "I want a <b>person</b>", None),
        ("agent", "Shall I pass you on?", None),
        ("system", "Priya joined the chat.", None),
        ("system", "The assistant is paused: a person is answering.", None),
        ("customer", "hello?", None),
        ("staff", "Hi, I'm Priya.", "Priya"),
        ("system", "The assistant is answering again.", None),
    ]
    assert lines[1].buttons == ("Yes",)
    assert [line.id for line in lines] == sorted(line.id for line in lines)
    assert all(line.at > 0 for line in lines)


@pytest.mark.slow  # the tracker store is written by Rasa, in the Rasa venv
def test_a_poll_gets_only_newer_lines_of_that_conversation(source: TranscriptSource) -> None:
    lines = source.lines("web-abc")
    newer = source.lines("web-abc", after=lines[3].id)
    assert [line.text for line in newer] == [line.text for line in lines[4:]]
    assert source.lines("web-abc", after=lines[-1].id) == []
    assert source.lines("nobody") == []
    assert lines[0].as_json()["role"] == "customer"


def test_before_rasa_stored_anything_there_is_no_transcript(tmp_path: Path) -> None:
    empty = TranscriptSource(pooled_engine(f"sqlite:///{tmp_path / 'new.db'}"))
    assert empty.lines("web-abc") == []


@pytest.mark.slow  # the tracker store is written by Rasa, in the Rasa venv
def test_the_store_and_a_tracker_give_the_same_lines(source: TranscriptSource) -> None:
    # A tracker's events are the same dicts the store keeps as JSON: one mapper for both.
    query = sa.select(EVENTS.c.data).where(EVENTS.c.sender_id == "web-abc").order_by(EVENTS.c.id)
    with source._engine.connect() as connection:
        events = [json.loads(data) for (data,) in connection.execute(query)]
    from_tracker = transcript_lines(events)
    from_store = source.lines("web-abc")
    assert [(x.role, x.text, x.name, x.buttons, x.at) for x in from_tracker] == [
        (x.role, x.text, x.name, x.buttons, x.at) for x in from_store
    ]
    assert {line.id for line in from_tracker} == {0}  # a tracker's events carry no row id


# --- the mapper ----------------------------------------------------------------------------


def user(text: str | None, **metadata: object) -> dict[str, Any]:
    return {"event": "user", "text": text, "timestamp": 10.0, "metadata": metadata}


def bot(text: str | None, data: dict[str, Any] | None = None, **metadata: object) -> dict[str, Any]:
    return {"event": "bot", "text": text, "timestamp": 11.0, "data": data, "metadata": metadata}


def test_each_role_has_its_events() -> None:
    lines = transcript_lines(
        [
            user("where is my order?"),
            bot("Which order?", {"buttons": [{"title": "100103", "payload": "/inform"}]}),
            bot(None, {"buttons": [{"title": "Yes"}, {"title": "No"}]}),
            bot(None, {"custom": {"notice": "agent_joined"}}, staff="Priya"),
            {"event": "pause", "timestamp": 12.0},
            bot("Hi, I'm Priya.", staff="Priya"),
            bot(None, {"custom": {"notice": "agent_left"}}, staff="Priya"),
            {"event": "resume", "timestamp": 13.0},
            {"event": "restart", "timestamp": 14.0},
        ]
    )
    assert [(line.role, line.text, line.name, line.buttons) for line in lines] == [
        ("customer", "where is my order?", None, ()),
        ("agent", "Which order?", None, ("100103",)),
        ("agent", "", None, ("Yes", "No")),
        ("system", "Priya joined the chat.", None, ()),
        ("system", "The assistant is paused: a person is answering.", None, ()),
        ("staff", "Hi, I'm Priya.", "Priya", ()),
        ("system", "Priya left the chat.", None, ()),
        ("system", "The assistant is answering again.", None, ()),
        ("system", "The conversation was restarted.", None, ()),
    ]
    assert [line.at for line in lines] == [10.0, 11.0, 11.0, 11.0, 12.0, 11.0, 11.0, 13.0, 14.0]


def test_what_is_no_line_is_left_out() -> None:
    said = user("where is my order and can i have the invoice")
    skipped = [
        user("where is my order", replayed=True),  # a clause of `said`, replayed
        user("/EXTERNAL_staff_closed", is_external=True),  # the staff relay's intent
        user(""),
        user(None),
        bot(None),  # nothing to read
        bot(None, {"custom": {"notice": "agent_joined"}}),  # a notice without a name
        bot(None, {"custom": {"notice": "something_else"}}, staff="Priya"),
        {"event": "action", "name": "action_listen", "timestamp": 1.0},
        {"event": "slot", "name": "order_number", "value": "100103", "timestamp": 1.0},
        {"event": "session_started", "timestamp": 1.0},
    ]
    assert [line.text for line in transcript_lines([said, *skipped])] == [said["text"]]


def test_malformed_events_do_not_break_a_transcript() -> None:
    lines = transcript_lines(
        [
            {"event": "user", "text": "hi", "metadata": "not a dict", "timestamp": 1.0},
            {"event": "bot", "text": "hello", "data": {"buttons": ["not a dict"]}},
        ]
    )
    assert [(line.role, line.text, line.buttons) for line in lines] == [
        ("customer", "hi", ()),
        ("agent", "hello", ()),
    ]


def test_the_store_s_row_id_and_timestamp_are_the_line_s() -> None:
    line = line_of(user("hi"), event_id=42, at=99.5)
    assert line is not None and (line.id, line.at) == (42, 99.5)
    plain = line_of(user("hi"))
    assert plain is not None and (plain.id, plain.at) == (0, 10.0)


def test_a_line_with_another_role_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="transcript role"):
        TranscriptLine(1, "bot", "hi", 1.0)  # type: ignore[arg-type]


def test_a_line_as_a_handoff_request_keeps_it() -> None:
    staff = TranscriptLine(7, "staff", "Hi, I'm Priya.", 1_748_858_280.0, name="Priya")
    offer = TranscriptLine(8, "agent", "", 1_748_858_281.5, buttons=("Yes", "No"))
    assert staff.as_record() == {
        "role": "staff",
        "text": "Hi, I'm Priya.",
        "at": "2025-06-02T09:58:00+00:00",
        "name": "Priya",
    }
    assert offer.as_record() == {
        "role": "agent",
        "text": "",
        "at": "2025-06-02T09:58:01.500000+00:00",
        "buttons": ["Yes", "No"],
    }
    assert TranscriptLine(9, "customer", "hi", 0.0).as_record() == {
        "role": "customer",
        "text": "hi",
        "at": "1970-01-01T00:00:00+00:00",
    }
    for line in (staff, offer):
        assert checked_record(line.as_record()) == line.as_record()


@pytest.mark.parametrize("role", ROLES)
def test_records_of_every_role_are_accepted(role: str) -> None:
    # Rows stored before the roles were one set (customer, agent, staff) stay valid as they are.
    record = {"role": role, "text": "hi", "at": "2025-06-02T09:58:00+00:00"}
    assert checked_record(record) == record


def test_a_record_keeps_only_what_a_line_has() -> None:
    record = {"role": "customer", "text": "hi", "at": "2025-06-02T09:58:00+00:00", "x": 1}
    assert checked_record(record) == {k: v for k, v in record.items() if k != "x"}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ({"role": "bot", "text": "hi", "at": "2025-06-02T09:58:00+00:00"}, "role"),
        ({"text": "hi", "at": "2025-06-02T09:58:00+00:00"}, "role"),
        ({"role": "customer", "text": None, "at": "2025-06-02T09:58:00+00:00"}, "text"),
        ({"role": "customer", "text": "hi", "at": 1.0}, "at"),
        ({"role": "customer", "text": "hi", "at": "soon"}, "ISO 8601"),
        ({"role": "staff", "text": "hi", "at": "2025-06-02", "name": 3}, "name"),
        ({"role": "agent", "text": "", "at": "2025-06-02", "buttons": "Yes"}, "buttons"),
        ({"role": "agent", "text": "", "at": "2025-06-02", "buttons": [1]}, "buttons"),
    ],
)
def test_malformed_records_are_refused(line: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        checked_record(line)
