"""Conversation transcripts for staff, read from Rasa's tracker store.

Rasa's SQL tracker store keeps every event of every conversation in one `events` table (id,
sender_id, type_name, timestamp, data as JSON). The console reads it directly, read-only,
rather than through Rasa's HTTP API, because it polls for new lines of the conversations staff
have open: one indexed query per poll, and no load on the Rasa process. The schema is Rasa's
(rasa/core/tracker_store.py, `SQLTrackerStore.SQLEvent`), stable across Rasa 3.x.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa

from config.tracker_events import EVENTS

Role = Literal["customer", "bot", "staff", "system"]

# What staff are told when the assistant stops or starts answering (Rasa's pause events).
SYSTEM_EVENTS = {
    "pause": "The assistant is paused: a person is answering.",
    "resume": "The assistant is answering again.",
    "restart": "The conversation was restarted.",
}

# The widget's "a person joined/left" notices, as staff read them in the transcript.
NOTICES = {"agent_joined": "{name} joined the chat.", "agent_left": "{name} left the chat."}


@dataclass(frozen=True)
class Line:
    """One line of a transcript; `id` orders lines and lets a poll ask for newer ones."""

    id: int
    role: Role
    text: str
    at: float  # seconds since the epoch
    name: str | None = None  # the staff member, for staff lines
    buttons: tuple[str, ...] = ()

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


class TranscriptSource:
    """Reads conversation lines from the tracker store's database."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def lines(self, conversation_id: str, *, after: int = 0, limit: int = 500) -> list[Line]:
        """Lines of the conversation with an event id above `after`, oldest first."""
        query = (
            sa.select(EVENTS.c.id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data)
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
        return [line for row in rows if (line := _line(*row)) is not None]


def _line(event_id: int, kind: str, at: float | None, data: str | None) -> Line | None:
    try:
        event = json.loads(data or "{}")
    except ValueError:
        return None
    when = float(at or event.get("timestamp") or 0.0)
    if kind in SYSTEM_EVENTS:
        return Line(event_id, "system", SYSTEM_EVENTS[kind], when)
    text = event.get("text")
    metadata = event.get("metadata") or {}
    if kind == "user":
        if isinstance(metadata, dict) and metadata.get("is_external"):
            return None  # an intent the staff relay triggered, not the customer's words
        return Line(event_id, "customer", str(text or ""), when)
    staff = metadata.get("staff") if isinstance(metadata, dict) else None
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
            return Line(event_id, "system", NOTICES[notice].format(name=staff), when)
        return None
    if isinstance(staff, str) and staff:
        return Line(event_id, "staff", str(text or ""), when, name=staff)
    return Line(event_id, "bot", str(text or ""), when, buttons=buttons)
