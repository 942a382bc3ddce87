"""Order numbers and references: what customers read out, type and are told."""

from __future__ import annotations

import re
import secrets
from typing import Final

_ORDER_NUMBER_RE: Final = re.compile(r"#?\s*(\d{6})")
# The letters of references (handoffs, tickets): no 0/O or 1/I, so they can be read aloud.
REFERENCE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def clean_order_number(number: str) -> str | None:
    """Accept "100101", " #100101 "; anything else cannot name an order."""
    match = _ORDER_NUMBER_RE.fullmatch(number.strip())
    return match.group(1) if match else None


def random_order_number() -> str:
    """A random order number from 100000 to 999999 (never a leading zero)."""
    return str(100000 + secrets.randbelow(900000))


def random_reference(prefix: str) -> str:
    """Return e.g. ``HO-7F3K2Q``: short enough to read out, hard to guess, never misread."""
    return prefix + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
