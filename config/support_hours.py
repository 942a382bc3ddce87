"""When people staff the support team: `SUPPORT_HOURS` in `SUPPORT_TIMEZONE`. No Rasa imports.

The setting is written the way a shop states its hours, and customers are shown it as written:
``Mon-Fri 08:00-20:00, Sat 09:00-17:00`` (days ``Mon`` .. ``Sun``, a single day or a range;
times on the hour or minute, ``24:00`` for midnight at the end of a day). An empty setting
means nobody is ever on duty: every handoff becomes a ticket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(
    r"^(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+"
    r"(?P<open>\d{1,2}:\d{2})\s*-\s*(?P<close>\d{1,2}:\d{2})$"
)


def _minutes(text: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{text!r} is not a time of day")
    return hours * 60 + minutes


@dataclass(frozen=True)
class SupportHours:
    """Weekly opening spans: (weekday 0 = Monday, opening minute, closing minute)."""

    spans: tuple[tuple[int, int, int], ...]
    zone: ZoneInfo
    text: str

    @classmethod
    def parse(cls, text: str, timezone: str) -> SupportHours:
        """Read the setting; a `ValueError` says which part is wrong."""
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"SUPPORT_TIMEZONE {timezone!r} is not a time zone") from error
        spans: list[tuple[int, int, int]] = []
        for part in filter(None, (p.strip().lower() for p in text.split(","))):
            match = _SPAN.match(part)
            if not match or match["first"] not in DAYS or (match["last"] or "mon") not in DAYS:
                raise ValueError(
                    f"SUPPORT_HOURS: cannot read {part!r} (e.g. 'Mon-Fri 08:00-20:00')"
                )
            first = DAYS.index(match["first"])
            last = DAYS.index(match["last"]) if match["last"] else first
            opens, closes = _minutes(match["open"]), _minutes(match["close"])
            if opens >= closes or last < first:
                raise ValueError(f"SUPPORT_HOURS: {part!r} ends before it starts")
            spans.extend((day, opens, closes) for day in range(first, last + 1))
        return cls(tuple(sorted(spans)), zone, text.strip())

    def is_open(self, moment: datetime) -> bool:
        """True if `moment` (timezone-aware) falls in a staffed span."""
        local = moment.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(
            day == local.weekday() and opens <= minute < closes for day, opens, closes in self.spans
        )

    def next_opening(self, moment: datetime) -> datetime | None:
        """The next time staff come on duty after `moment`, in the support time zone."""
        local = moment.astimezone(self.zone)
        for ahead in range(8):
            date = (local + timedelta(days=ahead)).date()
            for day, opens, _ in self.spans:
                if day != date.weekday():
                    continue
                start = datetime.combine(date, time(opens // 60, opens % 60), self.zone)
                if start > local:
                    return start
        return None


@cache
def support_hours(text: str, timezone: str) -> SupportHours:
    """The parsed setting, read once per value."""
    return SupportHours.parse(text, timezone)
