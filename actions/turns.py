"""Reading a conversation back: what the agent said last, and what the customer answered it.

Rasa keeps the domain response a bot message came from in the event's metadata
(`utter_action`), so an action can tell which question a customer's message replies to.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker


def previous_turn(tracker: Tracker) -> list[str | None]:
    """The domain responses of the agent's turn before the customer's latest message, in order."""
    replies: list[str | None] = []
    seen_latest = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            if seen_latest:
                break
            seen_latest = True
        elif kind == "bot" and seen_latest:
            replies.append(uttered(event))
    return replies[::-1]


def last_reply(tracker: Tracker) -> str | None:
    """The domain response of the agent's last message before the customer's latest one."""
    replies = previous_turn(tracker)
    return replies[-1] if replies else None


def uttered(event: dict[str, Any]) -> str | None:
    """The domain response a bot message came from (Rasa keeps it in the event's metadata)."""
    response = (event.get("metadata") or {}).get("utter_action")
    return str(response) if response else None


def user_texts(tracker: Tracker) -> list[str]:
    """The customer's messages so far, oldest first."""
    return [str(e.get("text") or "") for e in tracker.events if e.get("event") == "user"]
