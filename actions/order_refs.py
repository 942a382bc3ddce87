"""Which order the customer means when they describe it instead of giving its number.

Customers rarely have the number at hand: "the £54.90 one", "the one I haven't paid for yet",
"my parcel went out with DPD", "the other one that hasn't been posted", "the bits that came
last week". `describe` reads such words into an `OrderDescription`; `resolve` picks the orders
of the verified customer that fit it. What the description says for certain (an amount, a
state, a carrier, a product) must hold; what is only a hint (a rough date, "the other one",
what the task can act on) narrows the choice only when something still fits, so a hint never
leaves the customer with no order at all.

No Rasa imports: the forms (actions/verification.py) feed it the customer's words and orders.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from actions.entities import parse_amount, parse_period
from crm.records.views import OrderView

# What the customer's words say about an order's state. Negated forms come first and win:
# "hasn't arrived" is not "arrived". Each maps to the statuses an order in that state has.
_NOT_PAID = re.compile(
    r"\b(?:(?:have|has)n'?t|have not|has not|not|never|yet to|still to)\s+"
    r"(?:been\s+|yet\s+)?pa(?:id|y)\b"
    r"|\bunpaid\b|\bwaiting (?:for|on) (?:the )?payment\b",
    re.I,
)
_NOT_SHIPPED = re.compile(
    r"\b(?:(?:has|have|is|was)n'?t|has not|have not|is not|was not|not|never|yet to)\s+"
    r"(?:been\s+|yet\s+)?(?:posted|shipped|sent|dispatched|gone out|left|go out|ship|post|send)\b"
    r"|\bnot (?:yet )?(?:posted|shipped|sent|dispatched)\b|\bunshipped\b",
    re.I,
)
_NOT_ARRIVED = re.compile(
    r"\b(?:(?:has|have|is|did|does)n'?t|has not|have not|did not|never|not|still not|yet to)\s+"
    r"(?:yet\s+)?(?:arrived?|turned up|turn up|come|came|got|get|received?|here|shown up|show up)\b"
    r"|\bstill waiting\b|\b(?:is|are|running|so|very) late\b|\blate\b|\bmissing\b|\bnowhere\b",
    re.I,
)
_IN_TRANSIT = re.compile(
    r"\bwent out\b|\bon (?:its|the|their) way\b|\bin transit\b|\bout for delivery\b"
    r"|\bdriver\b|\bcourier\b|\btracking\b",
    re.I,
)
# A parcel or a package is most often one on its way ("my parcel is late"), but the word yields
# to any other state named ("it says my parcel was delivered but there's nothing here").
_PARCEL = re.compile(r"\bparcels?\b|\bpackages?\b", re.I)
_ARRIVED = re.compile(
    r"\b(?:came|arrived|delivered|turned up|showed up|received|got it|got them)\b", re.I
)
_CANCELLED = re.compile(r"\bcancell?ed\b", re.I)
_CARRIERS = re.compile(r"\b(dpd|royal mail|evri|hermes|dhl|ups|parcelforce|an post|yodel)\b", re.I)
# "the other one": not the order the conversation was just about.
_OTHER = re.compile(r"\bother (?:one|order|parcel|package|thing)s?\b", re.I)
# "the other week", "a couple of weeks ago": a vague memory, so anything from the last month.
_FEW_WEEKS = re.compile(r"\bthe other week\b|\b(?:a )?(?:couple|few) (?:of )?weeks ago\b", re.I)
_LATEST = re.compile(
    r"\b(?:my )?(?:last|latest|most recent|newest|recent) (?:order|one|parcel)\b", re.I
)
# Words in a product's name too common to name the product by ("set", "large").
_PLAIN_WORDS = frozenset({"with", "pack", "large", "small", "medium", "each", "from", "sets"})
# A date named by the customer is a day or two out as often as not.
_SLACK = timedelta(days=3)

# The words the patterns above turn on that customers often misspell.
_CUE_WORDS = [
    "parcel",
    "package",
    "arrived",
    "delivered",
    "cancelled",
    "posted",
    "shipped",
    "dispatched",
    "driver",
    "courier",
    "received",
    "turned",
    "unpaid",
]

ALL_STATUSES = frozenset({"placed", "paid", "shipped", "delivered", "cancelled"})


@dataclass(frozen=True)
class OrderDescription:
    """What the customer's words say about the order they mean.

    `statuses`, `amount_pence`, `carrier` and `product_words` must hold of the order; `period`,
    `other` and `latest` are hints.
    """

    statuses: frozenset[str] | None = None
    amount_pence: int | None = None
    carrier: str | None = None
    product_words: frozenset[str] = frozenset()
    period: tuple[date, date] | None = None
    other: bool = False
    latest: bool = False

    @property
    def says_anything(self) -> bool:
        """True if the words describe an order at all."""
        return (
            self.statuses is not None
            or self.amount_pence is not None
            or self.carrier is not None
            or bool(self.product_words)
            or self.period is not None
            or self.other
            or self.latest
        )


def describe(text: str, today: date, products: Collection[str] = ()) -> OrderDescription:
    """Read what `text` says about an order; `products` are the shop's product names."""
    words = _spelled(text or "")
    return OrderDescription(
        statuses=_statuses(words),
        amount_pence=parse_amount(words),
        carrier=_carrier(words),
        product_words=_product_words(words, products),
        period=_period(words, today),
        other=bool(_OTHER.search(words)),
        latest=bool(_LATEST.search(words)),
    )


def _statuses(text: str) -> frozenset[str] | None:
    """The statuses the words allow, or None when they say nothing about the order's state."""
    allowed = set(ALL_STATUSES)
    said = False
    rest = text
    # Each negated phrase is taken out once read, so its verb is not read again as a positive.
    for pattern, statuses in (
        (_NOT_PAID, {"placed"}),
        (_NOT_SHIPPED, {"placed", "paid"}),
        (_NOT_ARRIVED, {"placed", "paid", "shipped"}),
    ):
        if pattern.search(rest):
            allowed &= statuses
            said = True
            rest = pattern.sub(" ", rest)
    for pattern, statuses in (
        (_IN_TRANSIT, {"shipped"}),
        (_ARRIVED, {"delivered"}),
        (_CANCELLED, {"cancelled"}),
        (_PARCEL, {"shipped"}),
    ):
        if pattern.search(rest) and allowed & statuses:
            allowed &= statuses
            said = True
    return frozenset(allowed) if said else None


def _carrier(text: str) -> str | None:
    match = _CARRIERS.search(text)
    return match.group(1).lower() if match else None


def _tokens(text: str) -> list[str]:
    return [word.rstrip("s") for word in re.findall(r"[a-z]+", text.lower())]


def _product_words(text: str, products: Collection[str]) -> frozenset[str]:
    """The words of product names the customer used ("the kettle" -> {"kettle"})."""
    said = set(_tokens(text))
    found = set()
    for product in products:
        for word in _tokens(product):
            if len(word) >= 4 and word not in _PLAIN_WORDS and word in said:
                found.add(word)
    return frozenset(found)


def _period(text: str, today: date) -> tuple[date, date] | None:
    if _FEW_WEEKS.search(text):
        return today - timedelta(days=28), today
    period = parse_period(text, today)
    return None if period is None else (period.start, period.end)


def _fits_period(order: OrderView, period: tuple[date, date]) -> bool:
    start, end = period[0] - _SLACK, period[1] + _SLACK
    days = [moment.date() for moment in (order.placed_at, order.delivered_at) if moment]
    return any(start <= day <= end for day in days)


def _has_product(order: OrderView, words: frozenset[str]) -> bool:
    names = set()
    for item in order.items:
        names.update(_tokens(item.name))
    return words <= names


def resolve(
    description: OrderDescription,
    orders: Sequence[OrderView],
    *,
    current: str | None = None,
    task_statuses: Collection[str] | None = None,
) -> list[OrderView]:
    """The customer's orders that fit the description, best first (newest first otherwise).

    `current` is the order the conversation was about ("the other one" is not it);
    `task_statuses` are the statuses the task can act on, a hint like the others.
    """
    must: list[Callable[[OrderView], bool]] = []
    if description.statuses is not None:
        statuses = description.statuses
        must.append(lambda order: order.status in statuses)
    if description.amount_pence is not None:
        amount = description.amount_pence
        must.append(lambda order: order.total_pence == amount)
    if description.carrier is not None:
        carrier = description.carrier
        must.append(lambda order: (order.carrier or "").lower() == carrier)
    if description.product_words:
        words = description.product_words
        must.append(lambda order: _has_product(order, words))
    found = [order for order in orders if all(test(order) for test in must)]
    hints: list[Callable[[OrderView], bool]] = []
    if description.other and current:
        hints.append(lambda order: order.number != current)
    if description.period is not None:
        period = description.period
        hints.append(lambda order: _fits_period(order, period))
    if task_statuses is not None:
        task = frozenset(task_statuses)
        hints.append(lambda order: order.status in task)
    for hint in hints:
        narrowed = [order for order in found if hint(order)]
        if narrowed:
            found = narrowed
    if description.latest and found:
        found = [max(found, key=lambda order: order.placed_at)]
    return found


def _spelled(text: str) -> str:
    """`text` with misspelt words about an order's state put right ("parcle" -> "parcel").

    Only the slips of a hurried typist count, two letters swapped or one left out, so that
    real words near a cue ("cancel", "delivery", "poster") are never changed.
    """

    def right(match: re.Match[str]) -> str:
        word = match.group(0)
        lowered = word.lower()
        if len(word) < 5 or lowered in _CUE_WORDS:
            return word
        return next((cue for cue in _CUE_WORDS if one_slip(lowered, cue)), word)

    return re.sub(r"[A-Za-z]+", right, text)


def one_slip(word: str, cue: str) -> bool:
    """True if `word` is `cue` with two neighbouring letters swapped or one letter left out."""
    if len(word) == len(cue):
        differ = [i for i, (a, b) in enumerate(zip(word, cue, strict=True)) if a != b]
        return (
            len(differ) == 2
            and differ[1] == differ[0] + 1
            and word[differ[0]] == cue[differ[1]]
            and word[differ[1]] == cue[differ[0]]
        )
    if len(word) == len(cue) - 1:
        return any(cue[:i] + cue[i + 1 :] == word for i in range(len(cue)))
    return False
