"""Values that actions pass into `domain.yml` responses."""

from __future__ import annotations

from datetime import date, datetime


def literal(text: str) -> str:
    """Text from a customer or an article, safe as a response value.

    Rasa fills `{name}` placeholders in a response once more after our values are in, so braces
    inside a value would be read as template variables; they are shown as parentheses instead.
    """
    return text.replace("{", "(").replace("}", ")")


def day(value: date | datetime | None) -> str:
    """A date as customers read it, e.g. 'Tue 24 Nov 2026'."""
    return value.strftime("%a %-d %b %Y") if value else ""
