"""The knowledge-gap list with the real ONNX MiniLM: meanings grouped, ranked, sourced, placed."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from config.settings import ROOT, Settings
from crm.desk.supervision import Period
from crm.insights.gaps import (
    Gap,
    GapCache,
    GapReport,
    IndexArticles,
    KnowledgeGaps,
    Unanswered,
    cluster,
    gaps_of,
    normalise,
)
from crm.records.errors import SupervisorsOnly
from encoder.embedding import OnnxEmbedder
from knowledge.index import ingest, load_index
from tests.conftest import DEFAULTS
from tests.unit.crm.insights.test_analytics import (
    DAY_A,
    DAY_B,
    NOW,
    PRIYA,
    SUE,
    answer,
    tracker_store,
)

WRAP = ["Do you offer gift wrapping?", "can you gift wrap my order", "Is gift wrap available?"]
JOBS = ["Are you hiring?", "How do I apply for a job at Larkspur?"]
CANDLE = ["How long should I burn a candle the first time?"]


@pytest.fixture(scope="module")
def encoder() -> OnnxEmbedder:
    directory = Settings().encoder_dir
    if not (directory / "model.onnx").exists():
        pytest.fail("run `make encoder` (part of `make setup`): the gap tests need models/encoder")
    return OnnxEmbedder(directory)


def asked(texts: list[str], source: str = "abstained", start: datetime = DAY_A) -> list[Unanswered]:
    return [
        Unanswered(text, source, start + timedelta(minutes=n), f"c-{n}")  # type: ignore[arg-type]
        for n, text in enumerate(texts)
    ]


def labels_of(gaps: list[Gap]) -> list[set[str]]:
    return [set(gap.examples) for gap in gaps]


def test_paraphrases_group_together_and_topics_apart_ranked_by_count(
    encoder: OnnxEmbedder,
) -> None:
    questions = asked(CANDLE, start=DAY_B) + asked(JOBS) + asked(WRAP)
    gaps, distinct, capped = gaps_of(questions, encoder)
    assert (distinct, capped) == (6, False)
    assert labels_of(gaps) == [set(WRAP), set(JOBS), set(CANDLE)]  # 3, 2, 1 questions
    assert [gap.count for gap in gaps] == [3, 2, 1]
    assert gaps[0].label in WRAP and gaps[0].examples[0] == gaps[0].label
    assert gaps[2].last_asked == DAY_B


def test_equal_counts_rank_the_most_recent_first(encoder: OnnxEmbedder) -> None:
    questions = asked(JOBS[:1], start=DAY_A) + asked(CANDLE, start=DAY_B)
    gaps, _, _ = gaps_of(questions, encoder)
    assert [gap.label for gap in gaps] == [CANDLE[0], JOBS[0]]  # not alphabetical


def test_repeats_count_without_being_embedded_again_and_sources_are_counted(
    encoder: OnnxEmbedder,
) -> None:
    questions = [
        *asked(["Do you offer gift wrapping?", "do you offer gift wrapping"], "abstained"),
        *asked(["DO YOU OFFER GIFT WRAPPING!!"], "fallback"),
        *asked(["can you gift wrap my order"], "not_helpful"),
    ]
    gaps, distinct, _ = gaps_of(questions, encoder)
    assert distinct == 2  # three spellings of one question, and another wording
    assert len(gaps) == 1
    gap = gaps[0]
    assert gap.count == 4
    assert gap.sources == {"abstained": 2, "fallback": 1, "not_helpful": 1}
    assert len(gap.examples) == 2  # one example per distinct wording
    assert normalise("  Do you   offer gift wrapping?? ") == "do you offer gift wrapping"


def test_at_most_five_examples_and_a_cap_on_distinct_questions(encoder: OnnxEmbedder) -> None:
    many = [f"do you gift wrap item number {n}" for n in range(8)]
    gaps, distinct, capped = gaps_of(asked(many), encoder, max_questions=6)
    assert (distinct, capped) == (6, True)
    assert sum(gap.count for gap in gaps) == 6
    assert all(len(gap.examples) <= 5 for gap in gaps)
    assert max(len(gap.examples) for gap in gaps) == 5


def test_clustering_edge_cases() -> None:
    assert cluster(np.zeros((0, 384), dtype=np.float32)).tolist() == []
    assert cluster(np.ones((1, 384), dtype=np.float32)).tolist() == [0]
    assert gaps_of([], encoder=None) == ([], 0, False)  # type: ignore[arg-type]


def test_the_nearest_article_is_named_when_close(encoder: OnnxEmbedder, tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    for name in ("products-assembly-instructions", "payments-price-drop-refund"):
        shutil.copy(ROOT / "data" / "knowledge" / f"{name}.md", sources)
    ingest([sources], encoder, tmp_path / "index", exact_limit=DEFAULTS.kb_exact_limit)
    index = load_index(tmp_path / "index", model_name=encoder.name, dimension=encoder.dimension)
    articles = IndexArticles(index)
    price = ["Do you price match?", "Will you match a competitor's lower price?"]
    gaps, _, _ = gaps_of(asked(price) + asked(CANDLE), encoder, articles=articles)
    by_label = {gap.label: gap for gap in gaps}
    matched = next(gap for gap in gaps if gap.label in price)
    assert matched.article is not None
    assert matched.article.article_id == "payments-price-drop-refund"
    assert matched.article.score >= 0.55 and matched.article.url.startswith("https://")
    assert by_label[CANDLE[0]].article is None  # nothing about candles is close


def test_the_report_reads_records_and_the_tracker(
    encoder: OnnxEmbedder, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    tracker = tracker_store(tmp_path / "tracker.db")
    tracker.user("web-9", DAY_B, "can you gift wrap my order", "out_of_scope")
    tracker.action("web-9", DAY_B + timedelta(seconds=1), "utter_out_of_scope")
    tracker.user("web-9", DAY_B + timedelta(seconds=2), "hello", "greet")  # answered: no gap
    answer(sessions, "web-1", DAY_A, "Do you offer gift wrapping?")
    answer(sessions, "web-2", DAY_A, "Is gift wrap available?", "returns-exchanges", False)
    answer(sessions, "web-3", DAY_A, "How do I return?", "returns-how-to-return-uk", True)
    answer(sessions, "web-4", NOW - timedelta(days=9), "Are you hiring?")  # before the 7 days
    loads: list[str] = []

    def load() -> OnnxEmbedder:
        loads.append("encoder")
        return encoder

    gaps = KnowledgeGaps(sessions, tracker.engine, load, clock=lambda: NOW)
    with pytest.raises(SupervisorsOnly):
        gaps.report(PRIYA, "7d")
    assert loads == []  # refused before any model is loaded
    report = gaps.report(SUE, "7d")
    assert (report.questions, report.distinct) == (3, 3)
    assert len(report.gaps) == 1
    assert report.gaps[0].sources == {"abstained": 1, "fallback": 1, "not_helpful": 1}
    assert report.gaps[0].article is None  # no index was given
    assert gaps.report(SUE, "30d").questions == 4
    assert loads == ["encoder"]  # loaded once, on first use


def test_a_report_is_kept_per_period_until_it_is_stale() -> None:
    now = [100.0]
    computed: list[str] = []

    def compute(period: Period) -> Callable[[], GapReport]:
        def run() -> GapReport:
            computed.append(period)
            return GapReport(period, NOW, NOW, questions=len(computed), distinct=0, gaps=())

        return run

    cache = GapCache(ttl_s=60, clock=lambda: now[0])
    first = cache.get("7d", compute("7d"))
    now[0] += 59
    assert cache.get("7d", compute("7d")) is first  # fresh: not computed again
    other = cache.get("30d", compute("30d"))  # each period has its own
    assert other is not first and other.period == "30d"
    now[0] += 1
    again = cache.get("7d", compute("7d"))  # stale after the time to live
    assert again is not first and again.questions == 3
    assert computed == ["7d", "30d", "7d"]
