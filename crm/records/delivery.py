"""The shop's parcel rules as data and pure functions: delivery methods, working days, returns.

Sources are the help-centre articles in ``data/knowledge`` (``shipping-*``, ``returns-*``):

* UK Standard (Royal Mail) 3–5 working days, £3.95, free when the goods total is *over* £50
  (``shipping-uk-delivery-options``: "free on orders over £50"); UK Express (DPD) next working
  day, £7.95, never free; EU Standard (DPD) 5–8 working days, £9.95; EU Express (DPD) 2–4
  working days, £19.95; Large item courier (Panther) 5–10 working days, £29, UK only.
* A working day is Monday to Friday except bank holidays in England
  (``shipping-delivery-days-and-cutoffs``). All times are UK time; an order placed at 14:00 or
  later, or on a day that is not a working day, counts from the next working day.
* Returns: 30 days from the day of delivery; free from the UK, £6.95 (deducted from the
  refund) from Ireland, Germany, France and the Netherlands (``returns-return-policy``).

Orders store the method's name; the demo data and older orders say ``standard`` or ``express``,
which mean the UK or EU service depending on the destination, so :func:`method_for` resolves a
stored name with the order's country.

Bank holidays are listed for :data:`BANK_HOLIDAY_YEARS` only; for other years only weekends
are skipped, so extend :data:`ENGLAND_BANK_HOLIDAYS` each year (GOV.UK publishes them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from crm.records.addresses import CITY_COUNTRIES, SHIPPING_COUNTRIES, country_code
from crm.records.errors import DeliveryMethodUnavailable, UnknownDeliveryMethod

UK_TIME: Final = ZoneInfo("Europe/London")
# "Before 2 pm": an order at 14:00:00 UK time is already after the cut-off.
CUTOFF: Final = time(14, 0)

UK_STANDARD: Final = "UK Standard"
UK_EXPRESS: Final = "UK Express"
EU_STANDARD: Final = "EU Standard"
EU_EXPRESS: Final = "EU Express"
LARGE_ITEM_COURIER: Final = "Large item courier"

# UK Standard is free when the goods total is strictly more than this ("over £50").
FREE_UK_STANDARD_OVER_PENCE: Final = 5000

RETURN_WINDOW_DAYS: Final = 30
EU_RETURN_CHARGE_PENCE: Final = 695

_UK: Final = frozenset({"GB"})
_EU: Final = frozenset(SHIPPING_COUNTRIES) - _UK


@dataclass(frozen=True)
class DeliveryMethod:
    """One delivery service: who carries it, how long it takes, what it costs, where it goes."""

    name: str
    carrier: str
    min_days: int
    max_days: int
    price_pence: int
    free_over_pence: int | None
    countries: frozenset[str]

    def cost_pence(self, goods_pence: int) -> int:
        """Delivery charge for an order whose goods total ``goods_pence``."""
        if goods_pence < 0:
            raise ValueError("goods total cannot be negative")
        if self.free_over_pence is not None and goods_pence > self.free_over_pence:
            return 0
        return self.price_pence


METHODS: Final[dict[str, DeliveryMethod]] = {
    method.name: method
    for method in (
        DeliveryMethod(UK_STANDARD, "Royal Mail", 3, 5, 395, FREE_UK_STANDARD_OVER_PENCE, _UK),
        DeliveryMethod(UK_EXPRESS, "DPD", 1, 1, 795, None, _UK),
        DeliveryMethod(EU_STANDARD, "DPD", 5, 8, 995, None, _EU),
        DeliveryMethod(EU_EXPRESS, "DPD", 2, 4, 1995, None, _EU),
        DeliveryMethod(LARGE_ITEM_COURIER, "Panther", 5, 10, 2900, None, _UK),
    )
}

# Names stored on older orders (and the demo data): the service depends on the destination.
_ALIASES: Final[dict[str, tuple[str, str]]] = {
    "standard": (UK_STANDARD, EU_STANDARD),
    "express": (UK_EXPRESS, EU_EXPRESS),
}
_BY_FOLDED_NAME: Final = {name.casefold(): method for name, method in METHODS.items()}

# Bank holidays in England (and Wales), including substitute days.
ENGLAND_BANK_HOLIDAYS: Final = frozenset(
    date.fromisoformat(day)
    for day in (
        "2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05",
        "2025-05-26", "2025-08-25", "2025-12-25", "2025-12-26",
        "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04",
        "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28",
        "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03",
        "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28",
    )
)  # fmt: skip
BANK_HOLIDAY_YEARS: Final = range(2025, 2028)


def method_for(name: str, country: str | None = None) -> DeliveryMethod:
    """Resolve a stored or canonical method name, checking it serves ``country`` if given.

    Canonical names match case-insensitively. ``standard`` and ``express`` need the country to
    choose between the UK and the EU service. Raises :class:`UnknownDeliveryMethod` or
    :class:`DeliveryMethodUnavailable`.
    """
    folded = name.strip().casefold()
    method = _BY_FOLDED_NAME.get(folded)
    if method is None:
        alias = _ALIASES.get(folded)
        if alias is None or country is None:
            raise UnknownDeliveryMethod(name)
        method = METHODS[alias[0] if country == "GB" else alias[1]]
    if country is not None and country not in method.countries:
        raise DeliveryMethodUnavailable(method.name, country)
    return method


def default_method(country: str) -> str:
    """The method a new order gets: UK Standard in the UK, EU Standard elsewhere we deliver."""
    if country == "GB":
        return UK_STANDARD
    if country in _EU:
        return EU_STANDARD
    raise DeliveryMethodUnavailable(EU_STANDARD, country)


def delivery_cost_pence(
    method: str | DeliveryMethod, goods_pence: int, *, country: str | None = None
) -> int:
    """Delivery charge of ``method`` for a goods total of ``goods_pence``."""
    return _method(method, country).cost_pence(goods_pence)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a bank holiday in England."""
    return day.weekday() < 5 and day not in ENGLAND_BANK_HOLIDAYS


def next_working_day(day: date) -> date:
    """The first working day after ``day``."""
    return add_working_days(day, 1)


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (``start`` itself is not counted).

    Weekends and bank holidays in England are skipped, so Thursday + 3 is the next Tuesday,
    and Thursday 17 April 2025 + 1 is Tuesday 22 April (Good Friday and Easter Monday).
    ``days=0`` returns ``start`` unchanged.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    remaining = days
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def uk_date(moment: datetime) -> date:
    """The calendar date in the UK at ``moment`` (an aware datetime)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime")
    return moment.astimezone(UK_TIME).date()


def dispatch_day(ordered_at: datetime) -> date:
    """The working day an order counts from: its own day if a working day before 14:00 UK time."""
    if ordered_at.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime")
    local = ordered_at.astimezone(UK_TIME)
    if is_working_day(local.date()) and local.time() < CUTOFF:
        return local.date()
    return next_working_day(local.date())


def transit_window(
    method: str | DeliveryMethod, shipped_on: date, *, country: str | None = None
) -> tuple[date, date]:
    """Earliest and latest delivery dates for a parcel that left the warehouse on ``shipped_on``."""
    resolved = _method(method, country)
    return (
        add_working_days(shipped_on, resolved.min_days),
        add_working_days(shipped_on, resolved.max_days),
    )


def delivery_window(
    method: str | DeliveryMethod, ordered_at: datetime, *, country: str | None = None
) -> tuple[date, date]:
    """Earliest and latest delivery dates for an order placed at ``ordered_at``.

    The order counts from :func:`dispatch_day`, so UK Express placed at 13:30 on a Wednesday
    arrives on Thursday, at 14:30 on Friday, and any time at the weekend on Tuesday. It assumes
    the order ships on the day it counts from, as the articles' examples do.
    """
    return transit_window(method, dispatch_day(ordered_at), country=country)


def return_cost_pence(country: str) -> int:
    """What a change-of-mind return costs the customer: free from the UK, £6.95 from the EU."""
    if country == "GB":
        return 0
    if country in _EU:
        return EU_RETURN_CHARGE_PENCE
    raise DeliveryMethodUnavailable("returns", country)


def return_deadline(delivered_at: datetime) -> date:
    """Last day a delivered order can be returned: 30 days after the UK date of delivery."""
    return uk_date(delivered_at) + timedelta(days=RETURN_WINDOW_DAYS)


def _method(method: str | DeliveryMethod, country: str | None) -> DeliveryMethod:
    if isinstance(method, DeliveryMethod):
        if country is not None and country not in method.countries:
            raise DeliveryMethodUnavailable(method.name, country)
        return method
    return method_for(method, country)


def methods_to(country: str) -> list[DeliveryMethod]:
    """The services that deliver to ``country``, standard first; none where we don't deliver."""
    return [method for method in METHODS.values() if country in method.countries]


@dataclass(frozen=True)
class Destination:
    """A place a customer asks about, as the shop's delivery rules see it.

    ``name`` is how to call it back to the customer ("Dublin, Ireland", "the United States");
    ``country`` is the code of one of :data:`SHIPPING_COUNTRIES`, or ``None`` for a place we
    know we don't deliver to.
    """

    name: str
    country: str | None


_COUNTRY_DISPLAY: Final = {
    "GB": "the UK",
    "IE": "Ireland",
    "DE": "Germany",
    "FR": "France",
    "NL": "the Netherlands",
}
# Places we know we don't deliver to (shipping-countries-we-ship-to), by the words customers use.
_ELSEWHERE: Final = {
    "spain": "Spain", "madrid": "Spain", "italy": "Italy", "portugal": "Portugal",
    "belgium": "Belgium", "luxembourg": "Luxembourg", "austria": "Austria",
    "switzerland": "Switzerland", "norway": "Norway", "sweden": "Sweden", "denmark": "Denmark",
    "finland": "Finland", "poland": "Poland", "greece": "Greece", "us": "the United States",
    "usa": "the United States", "u.s.": "the United States", "u.s.a.": "the United States",
    "the us": "the United States", "the usa": "the United States",
    "the states": "the United States", "united states": "the United States",
    "the united states": "the United States", "america": "the United States",
    "canada": "Canada", "australia": "Australia", "new zealand": "New Zealand", "japan": "Japan",
}  # fmt: skip


def destination(place: str) -> Destination | None:
    """The destination a customer's words name, or ``None`` for a place we cannot place.

    A country we deliver to, a part of the UK or a city in one of our countries is served; a
    country we know we don't deliver to is not; anything else (the Channel Islands, "Europe")
    is left to the help centre rather than guessed.
    """
    words = " ".join(place.split()).casefold().rstrip("?!,")
    words = words if country_code(words) or words in _ELSEWHERE else words.removeprefix("the ")
    code = country_code(words)
    if code is not None:
        named = _COUNTRY_DISPLAY[code]
        if code == "GB" and words in ("england", "scotland", "wales", "northern ireland"):
            named = words.title()
        return Destination(name=named, country=code)
    city = CITY_COUNTRIES.get(words)
    if city is not None:
        return Destination(name=f"{words.title()}, {_COUNTRY_DISPLAY[city]}", country=city)
    elsewhere = _ELSEWHERE.get(words)
    return Destination(name=elsewhere, country=None) if elsewhere else None
