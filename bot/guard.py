"""Checks on what a customer sends, shared by every channel; no Rasa imports.

Rasa treats a message that starts with `/` as an intent with slot values
(`/track_order{"customer_id": 1}`), skipping NLU. Customers must never be able to do that, so
every channel passes text through `neutralise` before it reaches Rasa.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

INTENT_PREFIX = "/"
_SENDER = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")


class RejectedMessage(ValueError):
    """A request a channel refuses; `status` is the HTTP code to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class IncomingMessage:
    """A validated customer message."""

    sender: str
    text: str


def printable(text: str) -> str:
    """The text without lone UTF-16 surrogates and control characters (newlines and tabs stay).

    JSON may carry a lone surrogate (an escaped D800); Python keeps it in a str, and the first
    write as UTF-8 (the tracker store, a log line) fails: that was an HTTP 500. Control
    characters are never meant by a customer and only hide text from the people who read it.
    """
    return "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cs", "Cc")
    )


def neutralise(text: str) -> str:
    """Printable text without leading slashes, so Rasa reads it with NLU, never as a command."""
    cleaned = printable(text).strip()
    while cleaned.startswith(INTENT_PREFIX):
        cleaned = cleaned[len(INTENT_PREFIX) :].strip()
    return cleaned


def parse_rest_body(body: object, *, max_chars: int) -> IncomingMessage:
    """Validate a decoded REST body: an object with a string `sender` and `message`."""
    if not isinstance(body, dict):
        raise RejectedMessage(400, "the body must be a JSON object")
    sender, text = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not _SENDER.match(sender):
        raise RejectedMessage(
            400, "'sender' must be a string of 1-128 letters, digits or _ . : @ -"
        )
    if not isinstance(text, str):
        raise RejectedMessage(400, "'message' must be a string")
    if len(text) > max_chars:
        raise RejectedMessage(413, f"'message' is longer than {max_chars} characters")
    cleaned = neutralise(text)
    if not cleaned:
        raise RejectedMessage(400, "'message' is empty")
    return IncomingMessage(sender=sender, text=cleaned)


def max_body_bytes(max_chars: int) -> int:
    """Largest body worth decoding: the message in 4-byte UTF-8 plus room for the envelope."""
    return max_chars * 4 + 1024
