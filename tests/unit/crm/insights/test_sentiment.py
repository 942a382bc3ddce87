"""The sentiment score (crm/insights/sentiment.py) and the measurement that chose its threshold."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.sentiment import DATA, calls, measure
from crm.insights.sentiment import NEGATIVE_THRESHOLD, is_negative, sentiment


@pytest.mark.parametrize(
    "text",
    [
        "This bot is useless, get me a human",
        "Worst customer service I've ever had",
        "I'm really angry, the kettle arrived broken",
    ],
)
def test_clearly_upset_messages_are_negative(text: str) -> None:
    assert is_negative(text)


@pytest.mark.parametrize(
    "text",
    ["where is my order 100103", "ada@example.com", "no", "thanks, that's great", ""],
)
def test_tasks_answers_and_thanks_are_not(text: str) -> None:
    assert not is_negative(text)


def test_scores_run_from_minus_one_to_one() -> None:
    assert sentiment("") == 0.0
    assert -1.0 <= sentiment("awful awful awful") < -0.5
    assert 0.5 < sentiment("wonderful, thank you so much") <= 1.0


def test_the_threshold_in_use_is_the_best_measured_one(tmp_path: Path) -> None:
    table = measure(DATA)
    assert "150 messages (50 negative)" in table
    in_use = next(line for line in table.splitlines() if "(in use)" in line)
    assert "(best F1)" in in_use
    assert f"{NEGATIVE_THRESHOLD:+.2f}" in in_use


def test_f1_counts_hits_against_both_calls_and_truths() -> None:
    scores, negative = [-0.9, -0.5, 0.0, 0.4], [True, False, True, False]
    assert calls(scores, negative, -0.4)[2] == pytest.approx(0.5)
    assert calls(scores, negative, -0.95)[2] == 0.0
