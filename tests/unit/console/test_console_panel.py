"""The customer panel's mood trend, read from what Rasa's tracker store wrote, and refusals."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from statistics import fmean
from typing import get_args

import pytest

from config.sql import pooled_engine
from console.panel import REFUND_REFUSALS, mood_trend, refund_refusal
from crm.desk.transcripts import TranscriptSource
from crm.insights.sentiment import NEGATIVE_THRESHOLD, sentiment
from crm.records.errors import OrderNotFound, RefundNotAllowed
from crm.records.history import PastConversation
from crm.records.money import RefundReason
from tests.unit.bot.rasa_side import run_in_rasa

WRITER = Path(__file__).parents[1] / "bot" / "rasa_side" / "write_customer_messages.py"
FIRST = ["where is my order", "Thanks, that is great!"]
SECOND = ["This is terrible, I hate it!", "I am so angry, this is awful", "where is my order"]
NOW = datetime(2025, 6, 2, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> TranscriptSource:
    db = tmp_path_factory.mktemp("tracker") / "tracker.db"
    conversations = {"c-first": FIRST, "c-second": SECOND, "c-now": []}
    run_in_rasa(str(WRITER), str(db), json.dumps(conversations))
    return TranscriptSource(pooled_engine(f"sqlite:///{db}"))


def past(conversation_id: str, days_ago: int, *, current: bool = False) -> PastConversation:
    return PastConversation(conversation_id, "web", NOW - timedelta(days=days_ago), current, ())


@pytest.mark.slow  # its tracker store is written by Rasa, in the Rasa venv
def test_the_mood_of_each_conversation_is_its_customers_words_oldest_first(
    source: TranscriptSource,
) -> None:
    newest_first = [
        past("c-now", 0, current=True),
        past("c-gone", 1),  # not in the tracker store (any more): nothing to read
        past("c-second", 2),
        past("c-first", 3),
    ]
    points = mood_trend(source, newest_first)
    assert [(p.conversation_id, p.current, p.messages) for p in points] == [
        ("c-first", False, 2),
        ("c-second", False, 3),
        ("c-gone", False, 0),
        ("c-now", True, 0),  # a button press is not the customer's words
    ]
    first, second, gone, now = points
    # The assistant's replies (slightly negative to VADER) and "/affirm" are left out.
    assert first.mean == pytest.approx(fmean(sentiment(text) for text in FIRST))
    assert first.mean is not None and first.mean > 0.3
    assert (first.negative_share, first.negative_percent) == (0.0, "0 %")
    assert second.mean == pytest.approx(fmean(sentiment(text) for text in SECOND))
    assert second.mean is not None and second.mean < NEGATIVE_THRESHOLD
    assert (second.negative_share, second.negative_percent) == (2 / 3, "67 %")
    assert (gone.mean, gone.negative_share, gone.negative_percent) == (None, None, "–")
    assert (now.mean, now.started_at) == (None, NOW)


def test_every_refusal_of_the_refund_rule_has_a_message_for_staff() -> None:
    reasons = set(get_args(RefundReason)) - {"ok"}
    assert set(REFUND_REFUSALS) == reasons
    for reason in reasons:
        assert refund_refusal(RefundNotAllowed(reason)) == (409, REFUND_REFUSALS[reason])
    assert refund_refusal(OrderNotFound())[0] == 404
