"""Conversation transcripts: Rasa's events as the lines staff read, with one set of roles.

Rasa's events are plain dicts in both places we meet them: the action server gets them with a
tracker (rasa-sdk's `Tracker.events`) and the SQL tracker store keeps the same dict as JSON in
its `events` table. `transcript_lines` turns either into `TranscriptLine`s, once for everyone:
the actions queue a handoff with them (actions/base.py), the console shows them and scores the
customer's mood from them (console/conversations.py, console/panel.py), and a handoff request
stores them as `TranscriptRecord`s (crm/desk/handoff_requests.py), checked by `checked_record`.

The roles: ``customer`` (the customer's own words), ``agent`` (the assistant), ``staff`` (a
person, through Rasa's staff relay; ``name`` says who) and ``system`` (the assistant paused or
resumed, the conversation restarted, someone joined or left). Left out: an intent the staff
relay triggered (``metadata.is_external``: not the customer's words), a clause of a split
message the action server replayed (``metadata.replayed``: the message is there already), a
message with nothing to read, and every other event (actions, slots, session starts).

`TranscriptSource` reads the lines from the tracker store's database directly, read-only,
rather than through Rasa's HTTP API, because the console polls for new lines of the
conversations staff have open: one indexed query per poll, and no load on the Rasa process.
No Rasa imports.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, NotRequired, TypedDict, get_args

import sqlalchemy as sa

from config.tracker_events import EVENTS

Role = Literal["customer", "agent", "staff", "system"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)

# What staff are told when the assistant stops or starts answering (Rasa's pause events).
SYSTEM_EVENTS: Final = {
    "pause": "The assistant is paused: a person is answering.",
    "resume": "The assistant is answering again.",
    "restart": "The conversation was restarted.",
}

# The widget's "a person joined/left" notices, as staff read them in the transcript.
NOTICES: Final = {"agent_joined": "{name} joined the chat.", "agent_left": "{name} left the chat."}


class TranscriptRecord(TypedDict):
    """A transcript line as a handoff request keeps it (JSON), for the person taking over."""

    role: Role
    text: str
    at: str  # ISO 8601 timestamp
    name: NotRequired[str]  # who of the staff wrote a staff line
    buttons: NotRequired[list[str]]  # the buttons the assistant offered


@dataclass(frozen=True)
class TranscriptLine:
    """One line of a transcript; `id` orders lines and lets a poll ask for newer ones.

    `id` is the event's row in the tracker store; 0 for a line of a tracker's events, which
    carry no row id.
    """

    id: int
    role: Role
    text: str
    at: float  # seconds since the epoch
    name: str | None = None  # the staff member, for staff lines
    buttons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _checked_role(self.role)

    def as_json(self) -> dict[str, Any]:
        """For the console's live updates."""
        return {
            "id": self.id,
            "role": self.role,
            "text": self.text,
            "at": self.at,
            "name": self.name,
            "buttons": list(self.buttons),
        }

    def as_record(self) -> TranscriptRecord:
        """The line as a handoff request stores it."""
        record = TranscriptRecord(
            role=self.role, text=self.text, at=datetime.fromtimestamp(self.at, tz=UTC).isoformat()
        )
        if self.name is not None:
            record["name"] = self.name
        if self.buttons:
            record["buttons"] = list(self.buttons)
        return record


def transcript_lines(events: Iterable[Mapping[str, Any]]) -> list[TranscriptLine]:
    """The lines of Rasa events (a tracker's, in order), for staff and handoff records."""
    return [line for event in events if (line := line_of(event)) is not None]


def line_of(
    event: Mapping[str, Any], *, event_id: int = 0, at: float | None = None
) -> TranscriptLine | None:
    """The line one Rasa event shows staff, or None for an event that is not one.

    `event_id` and `at` are the tracker store's row id and timestamp column, when it is read
    from there; the event's own timestamp is used otherwise.
    """
    kind = event.get("event")
    when = float(at or event.get("timestamp") or time.time())
    if kind in SYSTEM_EVENTS:
        return TranscriptLine(event_id, "system", SYSTEM_EVENTS[kind], when)
    if kind not in ("user", "bot"):
        return None
    text = event.get("text")
    metadata = event.get("metadata") or {}
    if not isinstance(metadata, dict):
        metadata = {}
    if metadata.get("replayed"):
        return None  # a clause of a message already in the transcript
    if kind == "user":
        if metadata.get("is_external") or not text:
            return None  # an intent the staff relay triggered, not the customer's words
        return TranscriptLine(event_id, "customer", str(text), when)
    staff = metadata.get("staff")
    extra = event.get("data") or {}
    buttons = tuple(
        str(button.get("title", ""))
        for button in (extra.get("buttons") or [])
        if isinstance(button, dict)
    )
    if not text and not buttons:
        custom = extra.get("custom")
        notice = custom.get("notice") if isinstance(custom, dict) else None
        if notice in NOTICES and isinstance(staff, str):
            return TranscriptLine(event_id, "system", NOTICES[notice].format(name=staff), when)
        return None
    if isinstance(staff, str) and staff:
        return TranscriptLine(event_id, "staff", str(text or ""), when, name=staff)
    return TranscriptLine(event_id, "agent", str(text or ""), when, buttons=buttons)


def checked_record(line: Mapping[str, Any]) -> TranscriptRecord:
    """A transcript line to store, checked at runtime: TypedDicts are not checked by Python."""
    role = _checked_role(line.get("role"))
    if not isinstance(line.get("text"), str) or not isinstance(line.get("at"), str):
        raise ValueError("transcript lines need text and at (ISO 8601) strings")
    try:
        datetime.fromisoformat(line["at"])
    except ValueError:
        raise ValueError("transcript 'at' must be an ISO 8601 timestamp") from None
    record = TranscriptRecord(role=role, text=line["text"], at=line["at"])
    if "name" in line:
        if not isinstance(line["name"], str):
            raise ValueError("a transcript line's name must be a string")
        record["name"] = line["name"]
    if "buttons" in line:
        buttons = line["buttons"]
        if not isinstance(buttons, list) or not all(isinstance(b, str) for b in buttons):
            raise ValueError("a transcript line's buttons must be a list of strings")
        record["buttons"] = list(buttons)
    return record


def _checked_role(role: object) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise ValueError(f"transcript role must be one of {', '.join(ROLES)}")


class TranscriptSource:
    """Reads conversation lines from the tracker store's database."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def lines(
        self, conversation_id: str, *, after: int = 0, limit: int = 500
    ) -> list[TranscriptLine]:
        """Lines of the conversation with an event id above `after`, oldest first."""
        query = (
            sa.select(EVENTS.c.id, EVENTS.c.timestamp, EVENTS.c.data)
            .where(EVENTS.c.sender_id == conversation_id, EVENTS.c.id > after)
            .where(EVENTS.c.type_name.in_(("user", "bot", *SYSTEM_EVENTS)))
            .order_by(EVENTS.c.id)
            .limit(limit)
        )
        try:
            with self._engine.connect() as connection:
                rows = connection.execute(query).all()
        except sa.exc.OperationalError:
            return []  # no conversation was stored yet: Rasa creates the table on first save
        return [line for row in rows if (line := _stored_line(*row)) is not None]


def _stored_line(event_id: int, at: float | None, data: str | None) -> TranscriptLine | None:
    try:
        event = json.loads(data or "{}")
    except ValueError:
        return None
    return line_of(event, event_id=event_id, at=at) if isinstance(event, dict) else None
