"""The blind knowledge benchmark (bench/kb_blind.py): outcomes, rates and the annotation file."""

import csv
import re

import pytest

from bench.kb_blind import (
    ANNOTATION,
    KNOWLEDGE_INTENTS,
    NONE,
    Outcome,
    Question,
    rates,
    read_questions,
)
from bench.nlu_blind import BLIND, HALVES
from config.settings import ROOT

ARTICLES = ROOT / "data" / "knowledge"
ORDER_NUMBER = re.compile(r"(?<![\w.@-])\d{6}(?![\w@]|\.\w)")  # data/nlu/lookups.yml
KNOWLEDGE_LABELS = KNOWLEDGE_INTENTS - {"nlu_fallback"}
FORM_WITH_ORDER = {"delivery_period", "check_cancellation_fee"}


def question(articles: tuple[str, ...], label: str = "ask_question") -> Question:
    return Question("q", "tune", label, articles, section="", note="")


def outcome(q: Question, article: str | None) -> Outcome:
    return Outcome(q, article, section="", score=0.5, top_article=article or "x")


@pytest.mark.parametrize(
    ("articles", "quoted", "kind"),
    [
        (("a", "b"), "a", "right"),
        (("a", "b"), "b", "right"),  # an alternative that answers as well
        (("a",), "c", "wrong"),
        (("a",), None, "abstained"),
        ((), "a", "wrong"),  # the help centre has no answer: any answer is wrong
        ((), None, "abstained"),
    ],
)
def test_outcome_kind(articles: tuple[str, ...], quoted: str | None, kind: str) -> None:
    assert outcome(question(articles), quoted).kind == kind


def test_a_message_the_nlu_sends_to_a_task_is_answered_elsewhere() -> None:
    routed = Outcome(question(("a",)), None, "", 0.0, "", intent="get_refund")
    assert routed.kind == "elsewhere"
    assert Outcome(question(("a",)), "a", "", 0.5, "a", intent="nlu_fallback").kind == "right"
    assert rates([routed, outcome(question(("a",)), "a")])["elsewhere"] == 0.5


def test_rates_count_answers_to_unanswerable_questions_as_confident_wrong() -> None:
    outcomes = [
        outcome(question(("a",)), "a"),
        outcome(question(("a",)), "b"),
        outcome(question(("a",)), None),
        outcome(question(()), None),
        outcome(question(()), "a"),
    ]
    r = rates(outcomes)
    assert (r["answerable"], r["unanswerable"]) == (3, 2)
    assert r["right"] == r["wrong"] == r["abstained"] == pytest.approx(1 / 3)
    assert r["none_abstained"] == 0.5
    assert r["confident_wrong"] == pytest.approx(2 / 5)


def test_annotation_covers_the_blind_knowledge_questions_and_names_real_articles() -> None:
    """Every blind message the knowledge base answers is annotated, with articles that exist."""
    ids = {path.stem for path in ARTICLES.glob("*.md")}
    with ANNOTATION.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for article in row["article"].split("|"):
            assert article == NONE or article in ids, article
        if row["section"]:
            first = row["article"].split("|")[0]
            text = (ARTICLES / f"{first}.md").read_text(encoding="utf-8")
            assert f"\n## {row['section']}\n" in text, (first, row["section"])
    for half in ("tune", "test"):
        (name,) = HALVES[half]
        with (BLIND / name).open(newline="", encoding="utf-8") as handle:
            expected = {
                (m["text"], m["label"])
                for m in csv.DictReader(handle)
                if m["label"] in KNOWLEDGE_LABELS
                and not (m["label"] in FORM_WITH_ORDER and ORDER_NUMBER.search(m["text"]))
            }
        annotated = {(q.text, q.label) for q in read_questions(ANNOTATION, (half,))}
        assert annotated == expected
