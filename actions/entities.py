"""What the date and amount entities mean: a period of time, and an amount in pence.

The NLU's regular expressions (`data/nlu/lookups.yml`) only mark where a date or an amount is
("October", "last month", "since 1 March", "£54.90"); these functions say what it means, against
today's date, so the answer can use it.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_MONTHS = {
    name: number
    for number in range(1, 13)
    for name in (calendar.month_name[number].lower(), calendar.month_abbr[number].lower())
}
_MONTHS["sept"] = 9
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_MONTH = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})\b\.?(?:\s+(\d{{4}}))?", re.I
)
_MONTH_YEAR = re.compile(rf"\b({_MONTH})\b\.?(?:\s+(\d{{4}}))?", re.I)
_NUMERIC = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_YEAR = re.compile(r"\b(20\d{2})\b")
_RELATIVE = re.compile(r"\b(last|this|past|previous)\s+(week|month|year)\b", re.I)
_LAST_DAYS = re.compile(r"\b(?:last|past)\s+(\d{1,3})\s+days\b", re.I)
_SINCE = re.compile(r"\b(since|from|after)\b", re.I)
_AMOUNT = re.compile(
    r"(?:£|€)\s?(\d{1,6}(?:[.,]\d{2})?)|(\d{1,6}(?:[.,]\d{2})?)\s?(?:gbp|pounds?|quid|eur|euros?)",
    re.I,
)


@dataclass(frozen=True)
class Period:
    """Inclusive UK dates, and how to name the period to the customer."""

    start: date
    end: date

    @property
    def label(self) -> str:
        """How the period reads: "October 2026", "2026", or "3 Mar 2026 to 23 Nov 2026"."""
        last_day = calendar.monthrange(self.end.year, self.end.month)[1]
        if self.start.day == 1 and self.end.day == last_day:
            if (self.start.year, self.start.month) == (self.end.year, self.end.month):
                return self.start.strftime("%B %Y")
            if (self.start.month, self.end.month) == (1, 12) and self.start.year == self.end.year:
                return str(self.start.year)
        if self.start == self.end:
            return _day(self.start)
        return f"{_day(self.start)} to {_day(self.end)}"


def _day(value: date) -> str:
    return value.strftime("%-d %b %Y")


def _month(year: int, month: int) -> Period:
    return Period(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))


def _recent(month: int, today: date) -> int:
    """The year of the latest `month` that has begun: in November, "December" is last year's."""
    return today.year if month <= today.month else today.year - 1


def _one_date(text: str, today: date) -> tuple[date, bool] | None:
    """A single day named in `text`, and whether it was a whole month rather than a day."""
    for match in _ISO.finditer(text):
        try:
            return date(int(match[1]), int(match[2]), int(match[3])), False
        except ValueError:
            continue
    for match in _NUMERIC.finditer(text):
        year = int(match[3]) + (2000 if len(match[3]) == 2 else 0)
        try:
            return date(year, int(match[2]), int(match[1])), False  # UK order: day/month
        except ValueError:
            continue
    for match in _DAY_MONTH.finditer(text):
        month = _MONTHS[match[2].lower()]
        year = int(match[3]) if match[3] else _recent(month, today)
        try:
            return date(year, month, int(match[1])), False
        except ValueError:
            continue
    named = _MONTH_YEAR.search(text)
    if named and (named[2] or named[1].lower() != "may"):
        month = _MONTHS[named[1].lower()]
        year = int(named[2]) if named[2] else _recent(month, today)
        return date(year, month, 1), True
    return None


def parse_period(text: str, today: date) -> Period | None:
    """The period a customer means: "October", "last month", "since 1 March", "2025", ...

    Months and days without a year are the latest ones that have begun. Returns None when the
    text names no period, or one that has not begun yet.
    """
    words = text.strip()
    if not words:
        return None
    period = _relative(words, today)
    if period is None:
        found = _one_date(words, today)
        if found is not None:
            day, whole_month = found
            if _SINCE.search(words):
                period = Period(day, today)
            elif whole_month:
                period = _month(day.year, day.month)
            else:
                period = Period(day, day)
        elif _NUMERIC.search(words) or _ISO.search(words):
            return None  # a date that does not exist ("31/02/2026"), not its year
        elif year := _YEAR.search(words):
            period = Period(date(int(year[1]), 1, 1), date(int(year[1]), 12, 31))
    if period is None or period.start > today:
        return None
    return period


def _relative(text: str, today: date) -> Period | None:
    lowered = text.lower()
    if "yesterday" in lowered:
        day = today - timedelta(days=1)
        return Period(day, day)
    if re.search(r"\btoday\b", lowered):
        return Period(today, today)
    days = _LAST_DAYS.search(text)
    if days:
        return Period(today - timedelta(days=int(days[1])), today)
    match = _RELATIVE.search(text)
    if match is None:
        return None
    which, unit = match[1].lower(), match[2].lower()
    if unit == "week":
        monday = today - timedelta(days=today.weekday())
        if which == "this":
            return Period(monday, today)
        return Period(monday - timedelta(days=7), monday - timedelta(days=1))
    if unit == "month":
        if which == "this":
            return Period(today.replace(day=1), today)
        previous = today.replace(day=1) - timedelta(days=1)
        return _month(previous.year, previous.month)
    if which == "this":
        return Period(date(today.year, 1, 1), today)
    return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))


def parse_amount(text: str) -> int | None:
    """An amount of money in pence: "£54.90" -> 5490, "20 pounds" -> 2000; None if none."""
    match = _AMOUNT.search(text)
    if match is None:
        return None
    number = (match[1] or match[2]).replace(",", ".")
    pounds, _, pence = number.partition(".")
    return int(pounds) * 100 + int(pence or 0)


_CEILING = re.compile(
    r"\b(?:under|below|less than|no more than|not more than|at most|max(?:imum)?|up to|"
    r"within|budget(?: of| is|'s)?|cheaper than|for less than|no dearer than)\s*"
    r"(?:(?:£|€)\s?\d{1,6}(?:[.,]\d{2})?|"
    r"\d{1,6}(?:[.,]\d{2})?(?:\s?(?:gbp|pounds?|quid|eur|euros?)\b|(?!\s?[a-z\d])))"
    r"|(?:(?:£|€)\s?\d{1,6}(?:[.,]\d{2})?|\d{1,6}(?:[.,]\d{2})?\s?(?:gbp|pounds?|quid|eur|euros?))"
    r"\s*(?:or (?:less|under|below)|max(?:imum)?|tops|at most|budget)\b",
    re.I,
)
_BARE_NUMBER = re.compile(r"\d{1,6}(?:[.,]\d{2})?")


def price_ceiling(text: str) -> int | None:
    """The most a customer wants to spend, in pence: "under 40 quid" -> 4000, "£25 max" -> 2500.

    Only an amount said as a limit counts ("under", "below", "no more than", "max", "budget"),
    so "a present for my 40th" or "for 2 people" is none.
    """
    found = _CEILING.search(text)
    if found is None:
        return None
    said = found.group(0)
    amount = parse_amount(said)
    if amount is not None:
        return amount
    number = _BARE_NUMBER.search(said)
    return round(float(number.group(0).replace(",", ".")) * 100) if number else None
