"""Validate and normalise the contact details customers type: email addresses, phone numbers.

Normalised forms are what is stored and compared: emails trimmed and lower-cased (Larkspur
treats the whole address case-insensitively, as every mail provider we deliver to does), phone
numbers in E.164 (``+447700900123``). Errors are :class:`InvalidContact` naming the field and a
reason that never repeats what was typed, because exception messages end up in logs.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final, Literal

import phonenumbers

from crm.records.errors import CRMError

__all__ = [
    "ContactField",
    "InvalidContact",
    "find_phone",
    "normalise_email",
    "normalise_name",
    "normalise_phone",
]

ContactField = Literal["email", "phone", "name"]

MAX_EMAIL_LENGTH: Final = 254  # RFC 5321's limit on a forward path, less the angle brackets
MAX_NAME_LENGTH: Final = 60

# The dot-atom form of RFC 5322 for the local part (no quoted strings, no comments), and a
# host name of at least two labels ending in a letter-only or punycode top-level domain. This
# refuses a few addresses the RFC allows but no shop customer uses, and accepts nothing a mail
# server would reject for its syntax.
_ATOM: Final = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL: Final = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL_RE: Final = re.compile(
    rf"(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?P<domain>(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}}))"
)
_MAX_LOCAL_LENGTH: Final = 64

# Letters of any script, single spaces, hyphens and apostrophes: "Siobhán", "O'Connor",
# "de Vries", "Anne-Marie", "D’Arcy". It must start with a letter.
_NAME_RE: Final = re.compile(r"[^\W\d_](?:[^\W\d_]|[ '’-])*")
_SPACES_RE: Final = re.compile(r"\s+")

# Ofcom reserves these UK ranges for drama and documentation; libphonenumber (rightly) calls
# them unassigned. The demo data and tests use them, so a demo can never ring a real person.
_FICTIONAL_GB_RE: Final = re.compile(r"\+44(?:7700900|1632960|1154960)[0-9]{3}")
_MAX_PHONE_INPUT: Final = 40


class InvalidContact(CRMError):
    """A contact detail cannot be used; ``field`` says which one to ask for again."""

    def __init__(self, field: ContactField, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field: ContactField = field
        self.reason = reason


def normalise_email(text: str) -> str:
    """Return ``text`` as a trimmed, lower-case email address, or raise :class:`InvalidContact`.

    ``"  Ada@Example.COM "`` -> ``"ada@example.com"``.
    """
    email = text.strip().lower()
    if not email:
        raise InvalidContact("email", "empty")
    if len(email) > MAX_EMAIL_LENGTH:
        raise InvalidContact("email", f"longer than {MAX_EMAIL_LENGTH} characters")
    match = _EMAIL_RE.fullmatch(email)
    if match is None:
        raise InvalidContact("email", "not a valid email address")
    if len(match["local"]) > _MAX_LOCAL_LENGTH:
        raise InvalidContact("email", "the part before @ is too long")
    return email


def normalise_phone(text: str, default_region: str = "GB") -> str:
    """Return ``text`` as an E.164 phone number, or raise :class:`InvalidContact`.

    National numbers are read in ``default_region`` (ISO 3166 code): ``"07700 900123"`` ->
    ``"+447700900123"``; international ones keep their country: ``"+49 30 1234567"`` ->
    ``"+49301234567"``. The number must be valid (a real range of its country's numbering
    plan), not merely the right length, except for Ofcom's ranges reserved for fiction.
    """
    cleaned = text.strip()
    if not cleaned:
        raise InvalidContact("phone", "empty")
    if len(cleaned) > _MAX_PHONE_INPUT:
        raise InvalidContact("phone", "too long to be a phone number")
    try:
        number = phonenumbers.parse(cleaned, default_region.upper())
    except phonenumbers.NumberParseException:
        raise InvalidContact("phone", "not a phone number") from None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_valid_number(number) and not _FICTIONAL_GB_RE.fullmatch(e164):
        raise InvalidContact("phone", "not a valid phone number")
    return e164


def display_phone(e164: str, default_region: str = "GB") -> str:
    """A stored (E.164) number as its owner writes it, so a read-back shows what they typed.

    "07700 900123" at home, "+49 30 1234567" from abroad.
    """
    try:
        number = phonenumbers.parse(e164, default_region.upper())
    except phonenumbers.NumberParseException:
        return e164
    home = number.country_code == phonenumbers.country_code_for_region(default_region.upper())
    formats = phonenumbers.PhoneNumberFormat
    return phonenumbers.format_number(number, formats.NATIONAL if home else formats.INTERNATIONAL)


def find_phone(text: str, default_region: str = "GB") -> str | None:
    """The first valid phone number written inside a sentence, as E.164, or ``None``.

    "change my number to 07700 900456 please" holds one. Candidates are what libphonenumber
    finds possible, then checked by :func:`normalise_phone` (which also knows Ofcom's fiction
    ranges), so six-digit order numbers and dates are not taken for phone numbers.
    """
    matcher = phonenumbers.PhoneNumberMatcher(
        text, default_region.upper(), leniency=phonenumbers.Leniency.POSSIBLE
    )
    for match in matcher:
        try:
            return normalise_phone(match.raw_string, default_region)
        except InvalidContact:
            continue
    return None


def normalise_name(text: str) -> str:
    """Return a first or last name with spaces tidied, or raise :class:`InvalidContact`.

    1 to 60 letters, spaces, hyphens and apostrophes, starting with a letter.
    """
    name = _SPACES_RE.sub(" ", unicodedata.normalize("NFC", text)).strip()
    if not name:
        raise InvalidContact("name", "empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidContact("name", f"longer than {MAX_NAME_LENGTH} characters")
    if not _NAME_RE.fullmatch(name):
        raise InvalidContact("name", "only letters, spaces, hyphens and apostrophes")
    return name
