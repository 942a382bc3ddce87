"""Finding products from what customers type: typos, plurals, filler words, SKUs."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from crm.records.catalogue import (
    MIN_SCORE,
    CatalogueService,
    ProductMatch,
    aspects_asked,
    edit_distance,
    singular,
    word_similarity,
    words_of,
)
from crm.records.errors import ProductNotFound
from crm.records.models import Product
from crm.tools.demo import SeedReport, seed


@pytest.fixture
def catalogue(sessions: sessionmaker[Session], seeded: SeedReport) -> CatalogueService:
    return CatalogueService(sessions)


def _skus(matches: list[ProductMatch]) -> list[str]:
    return [match.sku for match in matches]


# --- pure pieces ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2 tea towels", ["tea", "towel"]),
        ("the casserole dish", ["casserole", "dish"]),
        ("Chef's knives", ["chef", "knife"]),
        ("Linen Tea Towels (set of 3)", ["linen", "tea", "towel"]),
        ("two Glass Storage Jars", ["glass", "storage", "jar"]),
        ("Café crème", ["cafe", "creme"]),
        ("Insulated Flask 750ml", ["insulated", "flask", "750ml"]),
        ("the 2", []),
    ],
)
def test_words_of(text: str, words: list[str]) -> None:
    assert words_of(text) == words


@pytest.mark.parametrize(
    ("plural", "single"),
    [("towels", "towel"), ("dishes", "dish"), ("boxes", "box"), ("berries", "berry"),
     ("glass", "glass"), ("cactus", "cactus"), ("mugs", "mug"), ("knives", "knife"),
     ("bus", "bus"), ("gas", "gas")],
)  # fmt: skip
def test_singular(plural: str, single: str) -> None:
    assert singular(plural) == single


def test_edit_distance_counts_a_swap_as_one() -> None:
    assert edit_distance("kettel", "kettle") == 1
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3
    assert edit_distance("same", "same") == 0


def test_word_similarity_typo_budget() -> None:
    assert word_similarity("kettle", "kettle") == 1.0
    assert word_similarity("kettel", "kettle") == pytest.approx(5 / 6)
    assert word_similarity("pan", "can") == 0.0  # no typos in words of three letters
    assert word_similarity("secat", "secateur") == 0.85  # the start of a word
    assert word_similarity("towel", "trowel", typos=False) == 0.0


# --- searching the catalogue -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sku", "name", "price"),
    [
        ("enamel kettel", "KIT-005", "Enamel Kettle", 3995),
        ("kettle", "KIT-005", "Enamel Kettle", 3995),
        ("2 tea towels", "KIT-006", "Linen Tea Towels (set of 3)", 1600),
        ("the casserole dish", "KIT-001", "Cast Iron Casserole 24cm", 7900),
        ("chopin bord", "KIT-003", "Bamboo Chopping Board", 1850),
        ("a hamock please", "OUT-006", "Hammock", 5900),
        ("teatowels", "KIT-006", "Linen Tea Towels (set of 3)", 1600),
        ("firepit", "OUT-005", "Fire Pit Bowl", 12900),
        ("WOOL THROWS", "HOM-001", "Wool Throw", 6500),
        ("chef's knives", "KIT-002", "Chef's Knife 20cm", 4500),
        ("picnic blankett", "OUT-003", "Picnic Blanket", 3500),
    ],
)
def test_find_products_best_match(
    catalogue: CatalogueService, text: str, sku: str, name: str, price: int
) -> None:
    [best, *rest] = catalogue.find_products(text)
    assert (best.sku, best.name, best.price_pence) == (sku, name, price)
    assert best.score >= MIN_SCORE
    assert all(other.score <= best.score for other in rest)


def test_clear_winner_has_no_weak_runners_up(catalogue: CatalogueService) -> None:
    # "Enamel Camping Mug" shares "enamel" but not the kettle: not offered.
    assert catalogue.find_products("enamel kettel") == [
        ProductMatch("KIT-005", "Enamel Kettle", 3995, 0.933)
    ]
    assert _skus(catalogue.find_products("2 tea towels")) == ["KIT-006"]


def test_ambiguous_words_offer_each_candidate(catalogue: CatalogueService) -> None:
    # Two towels match equally; the garden trowel is a real word, not a typo of "towel".
    assert _skus(catalogue.find_products("towel")) == ["HOM-007", "KIT-006"]
    assert _skus(catalogue.find_products("enamel")) == ["KIT-005", "OUT-004"]
    assert _skus(catalogue.find_products("enamel", limit=1)) == ["KIT-005"]


@pytest.mark.parametrize("text", ["pan", "xyz qwerty", "", "   ", "the 2", "gift card"])
def test_nothing_close_enough(catalogue: CatalogueService, text: str) -> None:
    assert catalogue.find_products(text) == []


def test_sku_typed_exactly(catalogue: CatalogueService) -> None:
    assert catalogue.find_products(" kit-005 ") == [
        ProductMatch("KIT-005", "Enamel Kettle", 3995, 1.0)
    ]
    assert catalogue.find_products("KIT-999") == []


def test_find_products_sees_current_prices(
    catalogue: CatalogueService, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        session.execute(update(Product).where(Product.sku == "KIT-005").values(price_pence=3500))
    assert catalogue.find_products("kettle")[0].price_pence == 3500


def test_limit_must_be_positive(catalogue: CatalogueService) -> None:
    with pytest.raises(ValueError, match="limit"):
        catalogue.find_products("kettle", limit=0)


def test_get_product(catalogue: CatalogueService) -> None:
    assert catalogue.get_product(" gar-005") == ProductMatch(
        "GAR-005", "Raised Bed Kit", 11900, 1.0
    )
    with pytest.raises(ProductNotFound) as caught:
        catalogue.get_product("gar-999")
    assert caught.value.sku == "GAR-999"


# --- the product a whole question is about ---------------------------------------------------


@pytest.mark.parametrize(
    ("question", "sku"),
    [
        ("does the casserole work on an induction hob?", "KIT-001"),
        ("do your hammocks hold two people", "OUT-006"),  # a plural
        ("how do I look after my bamboo chopping board?", "KIT-003"),  # two words, one product
        ("how long does delivery to Ireland take?", None),
        ("is the enamel dishwasher safe?", None),  # "enamel": the kettle and the camping mug
        ("should I buy the kettle or the casserole?", None),  # two products
        ("can I get a kettel", None),  # only exact words; "can" is not the watering can
        ("does the warranty cover garden furniture?", None),  # everyday words
        ("is your watering can galvanised?", "GAR-003"),
        ("is the 24cm one heavy?", None),  # sizes name nothing
    ],
)
def test_product_mentioned(catalogue: CatalogueService, question: str, sku: str | None) -> None:
    found = catalogue.product_mentioned(question)
    assert (found.sku if found else None) == sku


# --- what a product page states ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "aspects"),
    [
        ("can the casserole go in the dishwasher?", ["dishwasher"]),
        ("What is the throw made of, and may it be washed?", ["material", "care"]),
        ("the lantern. waterproof?", ["outdoor"]),
        ("does it work on an induction hob", ["hob"]),
        ("how big is the picnic blanket", ["size"]),
        ("do you still have the wool throw?", ["availability"]),
        ("would you gift-wrap it?", ["gift_wrap"]),
        ("is there a warranty on the kettle", ["guarantee"]),
        ("how do I get to your shop", []),
    ],
)
def test_the_aspects_a_question_asks_about(question: str, aspects: list[str]) -> None:
    assert aspects_asked(question) == aspects


def test_details_give_the_page_facts_price_and_stock(catalogue: CatalogueService) -> None:
    casserole = catalogue.details("kit-001")
    assert casserole.name == "Cast Iron Casserole 24cm"
    assert casserole.price_pence == 7900 and casserole.available
    assert "induction" in (casserole.fact("hob") or "")
    assert casserole.guarantee_years == 5
    assert catalogue.details("OUT-001").available is False  # sold out in the demo


def test_an_aspect_a_page_leaves_out_is_unknown_or_its_neighbour(
    catalogue: CatalogueService,
) -> None:
    throw = catalogue.details("HOM-001")
    assert throw.fact("hob") is None
    assert throw.fact("dishwasher") == throw.fact("care")  # no dishwasher line: the care one


def test_details_of_keeps_the_order_given_and_drops_unknown_skus(
    catalogue: CatalogueService,
) -> None:
    found = catalogue.details_of(["OUT-002", "NOPE-999", "KIT-003"])
    assert [p.sku for p in found] == ["OUT-002", "KIT-003"]
    with pytest.raises(ProductNotFound):
        catalogue.details("NOPE-999")


def test_seeding_again_fills_in_the_facts_of_a_catalogue_seeded_before_them(
    sessions: sessionmaker[Session], catalogue: CatalogueService
) -> None:
    with sessions.begin() as session:
        session.execute(update(Product).values(facts={}, guarantee_years=None))
    assert catalogue.details("KIT-003").facts == {}
    seed(sessions)
    assert "bamboo" in (catalogue.details("KIT-003").fact("material") or "")
    assert catalogue.details("KIT-003").guarantee_years == 2
