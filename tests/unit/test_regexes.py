"""The entity regexes of data/nlu/lookups.yml, as Rasa's RegexEntityExtractor applies them."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import yaml

LOOKUPS = Path(__file__).resolve().parents[2] / "data" / "nlu" / "lookups.yml"


@cache
def _patterns(name: str) -> list[str]:
    data = yaml.safe_load(LOOKUPS.read_text())
    [block] = [item for item in data["nlu"] if item.get("regex") == name]
    return [line[2:] for line in block["examples"].splitlines() if line.startswith("- ")]


def _found(name: str, text: str) -> list[str]:
    # Rasa's extractor: every pattern, case-insensitive, all matches.
    return [m.group(0) for p in _patterns(name) for m in re.finditer(p, text, flags=re.IGNORECASE)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where is order 100102?", ["100102"]),
        ("#100102 please", ["100102"]),
        ("it's 100102.", ["100102"]),
        ("orders 100102 and 100104", ["100102", "100104"]),
        ("shopper-100102@example.com", []),
        ("call 07700900123", []),
        ("ref 1001024", []),
        ("version 100102.5", []),
    ],
)
def test_order_numbers(text: str, expected: list[str]) -> None:
    assert _found("order_number", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my number is 07700 900123.", ["07700 900123"]),
        ("call +44 7700 900123", ["+44 7700 900123"]),
        ("new phone: 0161-496-0000", ["0161-496-0000"]),
        ("shopper-0776983314@example.com", []),
        ("me.07700900123@example.org", []),
        ("order 100102", []),
    ],
)
def test_phone_numbers_but_not_digits_inside_an_email(text: str, expected: list[str]) -> None:
    assert _found("phone", text) == expected
