"""Find products from what a customer typed: "enamel kettel", "2 tea towels", "the casserole".

Matching is word by word, which suits short product names better than comparing whole
strings: the text and each name are folded (case, accents, "chef's" -> "chef"), filler words and
quantities are dropped ("the", "2", "two", "set of"), and simple plurals are made singular
("towels" -> "towel", "dishes" -> "dish"). Each remaining word of the text is matched to the
closest word of the name, allowing typos in proportion to its length (none up to three letters,
one up to five, two beyond: "kettel" finds "kettle", "pan" does not find "can"). A word that is
itself in the catalogue is taken as meant, so "towel" does not also find "trowel". Two
neighbouring words of a name also match as one ("firepit", "teatowels").

The score (0 to 1) is 0.8 x the share of the text, weighted by word length, that the name
matches (a near miss counts less than an exact word) + 0.2 x the share of the name's words that
were matched, so "tea towels" prefers "Linen Tea Towels" to "Cotton Bath Towel". Results need
:data:`MIN_SCORE` and must be within :data:`RELATIVE_CUT` of the best, so a clear winner is not
followed by weak alternatives. A SKU typed exactly ("KIT-005") matches with score 1.

The catalogue is a few dozen rows, so each search reads it whole; nothing is cached, so price
changes show at once.

Questions about a product ("is the casserole dishwasher safe?", "what is the throw made of?")
are answered from its facts, one sentence per aspect as the product page states it
(:data:`ASPECTS`, the ``facts`` column); :func:`aspects_asked` reads which aspects a question
asks about, and :meth:`CatalogueService.details` gives a product with its facts, price and stock.
An aspect a product's facts leave out is unknown: the caller says so, it never guesses.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm.records.errors import ProductNotFound
from crm.records.models import Product

MIN_SCORE: Final = 0.5
RELATIVE_CUT: Final = 0.75
_TEXT_WEIGHT: Final = 0.8
_NAME_WEIGHT: Final = 0.2
_PREFIX_SIMILARITY: Final = 0.85

_SKU_RE: Final = re.compile(r"[A-Z]{3}-\d{3}")
_WORD_RE: Final = re.compile(r"[a-z0-9]+")
_POSSESSIVE_RE: Final = re.compile(r"['’]s\b")
_FILLER: Final = frozenset({
    "a", "an", "the", "some", "my", "me", "i", "of", "set", "and", "for", "with", "please",
    "want", "would", "like", "need", "to", "add", "another", "more", "x", "pcs", "piece",
    "pieces", "pair", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "ten", "dozen",
})  # fmt: skip
_IRREGULAR_PLURALS: Final = {"knives": "knife"}
# Words of product names that customers also use in other senses ("can I...", "does the
# warranty cover...", "garden furniture"): in a whole question they name no product on their
# own ("watering can" still names one, by "watering").
_EVERYDAY: Final = frozenset({
    "can", "cover", "throw", "kit", "frame", "garden", "table", "wall", "fire", "glass",
    "storage", "folding", "cast", "bed", "leaf", "wild", "loose", "steel", "cotton", "oak",
})  # fmt: skip


# The aspects a product's facts may state, in the order an answer gives them. `suits` is what
# the product is good for (recommendations read it too).
ASPECTS: Final = (
    "material", "care", "dishwasher", "hob", "oven", "outdoor", "size", "included", "suits",
)  # fmt: skip
# Aspects answered from columns rather than facts, and one no product page states.
PRICE: Final = "price"
AVAILABILITY: Final = "availability"
GUARANTEE: Final = "guarantee"
GIFT_WRAP: Final = "gift_wrap"
# The words that ask about each aspect. A question may ask about several ("what is it made of,
# and may it be washed?"); one that asks about none is a plain "tell me about it".
_ASPECT_WORDS: Final = {
    "material": r"made (?:of|from|out of|with)|material|fabric|what(?:'s| is) it made|"
    r"real (?:wool|wood|linen|cotton|copper)|plastic|metal|what wood",
    "care": r"wash|clean|care|look after|laundr|tumble|dry.?clean|iron(?:ed|ing)?\b|stain|"
    r"maintain|maintenance|descal|season(?:ing)?\b|oil (?:it|the)",
    "dishwasher": r"dish ?washer|dishwash",
    "hob": r"induction|\bhobs?\b|stove|\bgas\b|\baga\b|cooker|campfire|camping stove",
    "oven": r"\boven|microwave",
    "outdoor": r"waterproof|water.?proof|water.?resistant|weather|\brain|outdoors?|outside|"
    r"\bfrost|\bwet\b|splash|garden all year|left out",
    "size": r"\bsize|dimension|how (?:big|large|small|long|wide|tall|high|heavy|deep)|capacity|"
    r"measure|\bfit\b|\bfits\b|\bcm\b|litre|weigh|how many (?:cups|people)",
    "included": r"includ|come with|comes with|in the box|batter(?:y|ies)|bulb|\bpad\b|"
    r"what do (?:i|you) get",
    "suits": r"what (?:is|'s) (?:it|that|this) (?:for|good for)|(?:good|ideal|meant) for what|"
    r"what (?:would|could|can) (?:i|you) use (?:it|that|this) for",
    PRICE: r"how much|price|\bcost|expensive|\bcheap",
    AVAILABILITY: r"in stock|still (?:sell|have|do|got|stock|available|make)|available|"
    r"sold out|out of stock|do you (?:have|sell|stock|do)|have you got|got any left|"
    r"back in stock|can i (?:still )?(?:buy|get|order)",
    GUARANTEE: r"guarantee|warrant|durab|last(?:s|ing)? (?:long|years)|how long will it last|"
    r"sturd|robust|hard.?wearing",
    GIFT_WRAP: r"gift.?wrap|wrap (?:it|them|this|that)|wrapping|gift box|gift message|gift note",
}
_ASPECT_RES: Final = {aspect: re.compile(words, re.I) for aspect, words in _ASPECT_WORDS.items()}
# An aspect a product may not state whose neighbour says much the same: a question about the
# dishwasher is answered by the care instructions when there is no dishwasher line.
_RELATED: Final = {"dishwasher": "care", "care": "dishwasher"}


def aspects_asked(text: str) -> list[str]:
    """The aspects a question asks about, in the order of :data:`ASPECTS` then the others."""
    order = [*ASPECTS, GUARANTEE, PRICE, AVAILABILITY, GIFT_WRAP]
    found = [aspect for aspect in order if _ASPECT_RES[aspect].search(text)]
    if (
        "dishwasher" in found
        and "care" in found
        and not re.search(
            r"\bwash(?:ed|ing)?\b(?! ?(?:up|er))|clean|care", _without(text, "dishwasher"), re.I
        )
    ):
        found.remove("care")  # "dishwasher" also contains "wash"
    return found


def _without(text: str, aspect: str) -> str:
    return _ASPECT_RES[aspect].sub(" ", text)


@dataclass(frozen=True)
class ProductDetails:
    """A product with what its page states: price, stock and the facts by aspect."""

    sku: str
    name: str
    category: str
    price_pence: int
    stock: int | None  # None: not tracked, always available
    facts: Mapping[str, str] = field(default_factory=dict)
    guarantee_years: int | None = None

    @property
    def available(self) -> bool:
        """Whether it can be ordered now."""
        return self.stock != 0

    def fact(self, aspect: str) -> str | None:
        """What the page says about `aspect` (or its close neighbour); None when it is silent."""
        said = self.facts.get(aspect)
        if said is None and aspect in _RELATED:
            said = self.facts.get(_RELATED[aspect])
        return said


@dataclass(frozen=True)
class ProductMatch:
    """A product that matches the customer's words; ``score`` is 1 for an exact match."""

    sku: str
    name: str
    price_pence: int
    score: float


class CatalogueService:
    """Look products up by name or SKU for the assistant."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def find_products(self, text: str, *, limit: int = 3) -> list[ProductMatch]:
        """Products whose names match ``text``, best first; empty when nothing is close enough."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        with self._sessions.begin() as session:
            products = session.execute(
                select(Product.sku, Product.name, Product.price_pence).order_by(Product.sku)
            ).all()

        typed = text.strip().upper()
        if _SKU_RE.fullmatch(typed):
            exact = [ProductMatch(sku, name, price, 1.0) for sku, name, price in products]
            return [match for match in exact if match.sku == typed]

        words = words_of(text)
        if not words:
            return []
        names = {sku: words_of(name) for sku, name, _ in products}
        vocabulary = frozenset(word for name_words in names.values() for word in name_words)
        scored = [
            ProductMatch(sku, name, price, score)
            for sku, name, price in products
            if (score := match_score(words, names[sku], vocabulary)) >= MIN_SCORE
        ]
        if not scored:
            return []
        best = max(match.score for match in scored)
        kept = [match for match in scored if match.score >= best * RELATIVE_CUT]
        kept.sort(key=lambda match: (-match.score, match.name))
        return kept[:limit]

    def product_mentioned(self, text: str) -> ProductMatch | None:
        """The one product a whole question is about, or None ("does the casserole suit gas?").

        Unlike :meth:`find_products`, which reads a short answer to "which product?", this reads
        any sentence, so only exact words count, and only words that belong to one product's
        name: "casserole" names the Cast Iron Casserole, "enamel" (a kettle and a mug) names
        none, and neither do sizes nor everyday words (:data:`_EVERYDAY`). Words of two
        different products, or none, give None.
        """
        with self._sessions.begin() as session:
            products = session.execute(
                select(Product.sku, Product.name, Product.price_pence).order_by(Product.sku)
            ).all()
        owners: dict[str, set[str]] = {}
        for sku, name, _ in products:
            for word in words_of(name):
                owners.setdefault(word, set()).add(sku)
        named = {
            sku
            for word in words_of(text)
            if len(word) > 2
            and word not in _EVERYDAY
            and not any(ch.isdigit() for ch in word)
            and len(skus := owners.get(word, set())) == 1
            for sku in skus
        }
        if len(named) != 1:
            return None
        [sku] = named
        return next(ProductMatch(sku, name, price, 1.0) for s, name, price in products if s == sku)

    def details(self, sku: str) -> ProductDetails:
        """The product with ``sku`` and all its page states; ``ProductNotFound`` otherwise."""
        found = self.details_of([sku])
        if not found:
            raise ProductNotFound(sku.strip().upper())
        return found[0]

    def details_of(self, skus: Sequence[str]) -> list[ProductDetails]:
        """The products with these SKUs, in the order given; unknown SKUs are left out."""
        wanted = [sku.strip().upper() for sku in skus]
        with self._sessions.begin() as session:
            rows = {
                product.sku: ProductDetails(
                    sku=product.sku,
                    name=product.name,
                    category=product.category,
                    price_pence=product.price_pence,
                    stock=product.stock,
                    facts=dict(product.facts or {}),
                    guarantee_years=product.guarantee_years,
                )
                for product in session.scalars(select(Product).where(Product.sku.in_(wanted)))
            }
        return [rows[sku] for sku in dict.fromkeys(wanted) if sku in rows]

    def stock(self, sku: str) -> int | None:
        """Units of ``sku`` in stock; None when the shop does not track it (always available)."""
        with self._sessions.begin() as session:
            product = session.scalars(
                select(Product).where(Product.sku == sku.strip().upper())
            ).one_or_none()
            if product is None:
                raise ProductNotFound(sku)
            return product.stock

    def get_product(self, sku: str) -> ProductMatch:
        """The product with ``sku`` (any case, spaces ignored); ``ProductNotFound`` otherwise."""
        wanted = sku.strip().upper()
        with self._sessions.begin() as session:
            row = session.execute(
                select(Product.sku, Product.name, Product.price_pence).where(Product.sku == wanted)
            ).one_or_none()
        if row is None:
            raise ProductNotFound(wanted)
        return ProductMatch(row.sku, row.name, row.price_pence, 1.0)


def words_of(text: str) -> list[str]:
    """The meaningful words of ``text``: folded, singular, without filler and numbers."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = _POSSESSIVE_RE.sub("", folded).replace("'", "").replace("’", "")
    return [
        singular(word)
        for word in _WORD_RE.findall(folded)
        if word not in _FILLER and not word.isdigit() and len(word) > 1
    ]


def singular(word: str) -> str:
    """A simple singular for English plurals: towels, dishes, boxes, berries, knives."""
    if word in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[word]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def match_score(
    text_words: Sequence[str],
    name_words: Sequence[str],
    vocabulary: frozenset[str] = frozenset(),
) -> float:
    """How well a product name matches the customer's words, from 0 to 1 (see module doc).

    Words in ``vocabulary`` (all the catalogue's name words) are not read as typos.
    """
    if not text_words or not name_words:
        return 0.0
    candidates: list[tuple[str, tuple[int, ...]]] = [
        (word, (index,)) for index, word in enumerate(name_words)
    ] + [
        (first + second, (index, index + 1))
        for index, (first, second) in enumerate(pairwise(name_words))
    ]
    matched_name_words: set[int] = set()
    weighted = 0.0
    total_weight = 0
    for word in text_words:
        total_weight += len(word)
        typos = word not in vocabulary
        best = 0.0
        best_indexes: tuple[int, ...] = ()
        for candidate, indexes in candidates:
            similarity = word_similarity(word, candidate, typos=typos)
            if similarity > best:
                best, best_indexes = similarity, indexes
        weighted += best * len(word)
        matched_name_words.update(best_indexes)
    text_part = weighted / total_weight
    name_part = len(matched_name_words) / len(name_words)
    return round(_TEXT_WEIGHT * text_part + _NAME_WEIGHT * name_part, 3)


def word_similarity(typed: str, candidate: str, *, typos: bool = True) -> float:
    """1 for the same word, less for a near miss, 0 if the typo budget is exceeded.

    The budget depends on the typed word's length: no typo up to three letters, one up to
    five, two beyond; none at all with ``typos=False``. A typed word of four letters or more
    that starts a longer name word ("secat" for "secateurs") also counts.
    """
    if typed == candidate:
        return 1.0
    if len(typed) >= 4 and candidate.startswith(typed):
        return _PREFIX_SIMILARITY
    budget = 0 if not typos or len(typed) <= 3 else 1 if len(typed) <= 5 else 2
    if budget == 0 or abs(len(typed) - len(candidate)) > budget:
        return 0.0
    distance = edit_distance(typed, candidate)
    if distance > budget:
        return 0.0
    return 1.0 - distance / max(len(typed), len(candidate))


def edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) turning ``a`` into ``b``.

    The optimal-string-alignment form of the Damerau–Levenshtein distance, so the common typo
    "kettel" for "kettle" costs one edit, not two.
    """
    previous_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        previous_previous, previous = previous, current
    return previous[-1]
