"""Clean one value of a row exported by another system: names, dates, amounts, statuses.

Each function returns the cleaned value and the *form* it was found in (``"dmy"``,
``"comma_decimal"``...), which the importer counts per rule, or raises :class:`CleanError`
naming the field and a reason. Reasons never repeat the value: they go into reports and logs.
Email addresses and phone numbers are cleaned by :mod:`crm.records.contacts`, the same rules the
assistant applies to what customers type.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone
from decimal import Decimal
from typing import Final, Literal

from crm.records.contacts import normalise_name
from crm.records.errors import CRMError

__all__ = [
    "CURRENCIES",
    "CleanError",
    "DateOrder",
    "clean_name",
    "parse_amount",
    "parse_date",
    "parse_status",
]

DateOrder = Literal["dmy", "mdy"]

# Currencies an imported order may be in; a symbol is read as the first currency using it.
CURRENCIES: Final = ("GBP", "EUR", "USD")
_SYMBOLS: Final = {"£": "GBP", "€": "EUR", "$": "USD"}

_SPACES_RE: Final = re.compile(r"\s+")
_WORD_RE: Final = re.compile(r"[^\W\d_]+")

_MONTHS: Final[dict[str, int]] = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_TIME: Final = r"(?:[ T]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?)?"
_ISO_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ t].*)?")
_YMD_RE: Final = re.compile(rf"(?P<y>\d{{4}})[/.](?P<m>\d{{1,2}})[/.](?P<d>\d{{1,2}}){_TIME}")
_NUMERIC_RE: Final = re.compile(
    rf"(?P<a>\d{{1,2}})(?P<sep>[/.-])(?P<b>\d{{1,2}})(?P=sep)(?P<y>\d{{4}}|\d{{2}}){_TIME}"
)
# "5 Mar 2024", "05-Mar-2024", "5th March, 2024 14:22"
_DAY_MONTH_RE: Final = re.compile(
    rf"(?P<d>\d{{1,2}})(?:st|nd|rd|th)?[ -](?P<mon>[a-z]+)\.?,?[ -](?P<y>\d{{4}}){_TIME}"
)
# "March 5, 2024", "Mar 5th 2024"
_MONTH_DAY_RE: Final = re.compile(
    rf"(?P<mon>[a-z]+)\.? (?P<d>\d{{1,2}})(?:st|nd|rd|th)?,? (?P<y>\d{{4}}){_TIME}"
)

_AMOUNT_FORMS: Final = (
    ("plain", re.compile(r"(?P<int>\d+)(?:\.(?P<dec>\d{1,2}))?")),
    ("thousands", re.compile(r"(?P<int>\d{1,3}(?:,\d{3})+)(?:\.(?P<dec>\d{1,2}))?")),
    ("comma_decimal", re.compile(r"(?P<int>\d+),(?P<dec>\d{1,2})")),
    ("comma_decimal", re.compile(r"(?P<int>\d{1,3}(?:\.\d{3})+)(?:,(?P<dec>\d{1,2}))?")),
)
# An optional three-letter code before or after the number: "GBP 12", "12.50 EUR".
_CODE_RE: Final = re.compile(
    r"(?:(?P<pre>[A-Za-z]{3})\s*)?(?P<num>[^A-Za-z]*?)(?:\s*(?P<post>[A-Za-z]{3}))?"
)

_STATUSES: Final[dict[str, str]] = {
    **dict.fromkeys(("placed", "new", "pending", "open", "received", "ordered"), "placed"),
    **dict.fromkeys(("paid", "processing", "payment received"), "paid"),
    **dict.fromkeys(("shipped", "dispatched", "sent", "in transit"), "shipped"),
    **dict.fromkeys(("delivered", "complete", "completed", "fulfilled"), "delivered"),
    **dict.fromkeys(("cancelled", "canceled", "void", "voided"), "cancelled"),
}


class CleanError(CRMError):
    """A value cannot be used; the row is rejected with ``reason`` (never the value itself)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def clean_name(text: str) -> tuple[str, bool, bool]:
    """Return ``(name, trimmed, recased)`` for a first or last name, or raise :class:`CleanError`.

    Spaces are trimmed and collapsed; a name typed all in capitals or all in lower case gets
    a capital per word ("o'CONNOR" is left, "ANNE-MARIE" -> "Anne-Marie", "de vries" ->
    "De Vries"): a mixed-case name is the customer's own spelling and is kept. An empty
    name is returned empty (the caller flags it).
    """
    tidy = _SPACES_RE.sub(" ", unicodedata.normalize("NFC", text)).strip()
    trimmed = tidy != text
    if not tidy:
        return "", trimmed, False
    recased = False
    if tidy.isupper() or tidy.islower():
        cased = _WORD_RE.sub(lambda match: match[0].capitalize(), tidy)
        recased = cased != tidy
        tidy = cased
    try:
        return normalise_name(tidy), trimmed, recased
    except CRMError as exc:
        raise CleanError("name", str(getattr(exc, "reason", "not a name"))) from None


def _year(text: str) -> int:
    year = int(text)
    return 2000 + year if len(text) == 2 else year


def _at(year: int, month: int, day: int, match: re.Match[str]) -> datetime:
    hour = int(match["h"] or 0)
    minute = int(match["mi"] or 0)
    second = int(match["s"] or 0)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:
        raise CleanError("date", "no such date or time") from None


def parse_date(text: str, date_order: DateOrder = "dmy") -> tuple[datetime, str]:
    """Return ``(aware UTC datetime, form)`` for a date typed in a common format.

    Forms: ``iso`` (``2024-03-05``, ``2024-03-05 14:22``, ``2024-03-05T14:22:00+01:00``),
    ``ymd`` (``2024/03/05``), ``dmy`` / ``mdy`` (``05/03/2024``, ``5.3.24``, ``05-03-2024``:
    read day first when the first number is above 12, month first when the second is, else in
    ``date_order``), ``text`` (``5 Mar 2024``, ``05-Mar-2024``, ``March 5, 2024``). Times
    without a zone are taken as UTC.
    """
    value = _SPACES_RE.sub(" ", text.strip()).lower()
    if not value:
        raise CleanError("date", "missing")
    if _ISO_RE.fullmatch(value):
        try:
            parsed = datetime.fromisoformat(value.upper())
        except ValueError:
            raise CleanError("date", "not a valid ISO date") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc), "iso"
    if match := _YMD_RE.fullmatch(value):
        return _at(int(match["y"]), int(match["m"]), int(match["d"]), match), "ymd"
    if match := _NUMERIC_RE.fullmatch(value):
        first, second = int(match["a"]), int(match["b"])
        if first > 12 >= second:
            order: str = "dmy"
        elif second > 12 >= first:
            order = "mdy"
        elif first > 12 and second > 12:
            raise CleanError("date", "neither number can be the month")
        else:
            order = date_order
        day, month = (first, second) if order == "dmy" else (second, first)
        return _at(_year(match["y"]), month, day, match), order
    for pattern in (_DAY_MONTH_RE, _MONTH_DAY_RE):
        if (match := pattern.fullmatch(value)) and match["mon"] in _MONTHS:
            return _at(int(match["y"]), _MONTHS[match["mon"]], int(match["d"]), match), "text"
    raise CleanError("date", "not a date in a known format")


def parse_amount(text: str) -> tuple[int, str | None, str]:
    """Return ``(pence, currency or None, form)`` for a money amount.

    ``"£1,234.50"`` -> ``(123450, "GBP", "thousands")``; ``"1234.5"`` -> ``(123450, None,
    "plain")``; ``"1.234,50 €"`` and ``"12,50"`` -> ``comma_decimal``; ``"GBP 12"`` ->
    ``(1200, "GBP", "plain")``. A separator followed by exactly three digits is a thousands
    separator (``"1,234"`` and ``"1.234"`` are both 1234). Negative amounts are refused.
    """
    value = text.strip().replace("\u00a0", " ")
    if not value:
        raise CleanError("amount", "missing")
    currency: str | None = None
    for symbol, code in _SYMBOLS.items():
        if symbol in value:
            currency = code
            value = value.replace(symbol, " ").strip()
    match = _CODE_RE.fullmatch(value)
    if match is None:
        raise CleanError("amount", "not an amount in a known format")
    number = match["num"].replace(" ", "")
    if not number:
        raise CleanError("amount", "not an amount in a known format")
    for code in (match["pre"], match["post"]):
        if code is None:
            continue
        code = code.upper()
        if code not in CURRENCIES:
            raise CleanError("currency", "not a currency we take")
        if currency is not None and currency != code:
            raise CleanError("currency", "two different currencies")
        currency = code
    if number.startswith("-") or (number.startswith("(") and number.endswith(")")):
        raise CleanError("amount", "negative")
    for form, pattern in _AMOUNT_FORMS:
        if found := pattern.fullmatch(number):
            whole = found["int"].replace(",", "").replace(".", "")
            pence = Decimal(f"{whole}.{found['dec'] or '0'}") * 100
            return int(pence), currency, form
    raise CleanError("amount", "not an amount in a known format")


def parse_status(text: str) -> str | None:
    """Map another system's order status onto ours (``"Dispatched"`` -> ``"shipped"``).

    Returns ``None`` for an empty value; raises :class:`CleanError` for an unknown one.
    """
    value = _SPACES_RE.sub(" ", text.strip()).casefold()
    if not value:
        return None
    status = _STATUSES.get(value)
    if status is None:
        raise CleanError("status", "not an order status we know")
    return status
