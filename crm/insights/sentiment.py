"""How a customer's message feels: VADER's compound score, from -1 (very negative) to +1.

VADER (Hutto & Gilbert, 2014; the `vaderSentiment` package, MIT) is a lexicon with rules for
negation, intensifiers, capitals and punctuation. It runs offline in microseconds and needs no
training; how well it reads support messages, and the threshold below which a message counts as
negative, are measured on our labelled set by `python -m bench.sentiment` (docs/handoff.md).
No Rasa imports.
"""

from __future__ import annotations

from functools import cache
from typing import Any

# Chosen by `bench.sentiment` on bench/data/support_sentiment.csv (docs/handoff.md).
NEGATIVE_THRESHOLD = -0.3


@cache
def _analyzer() -> Any:
    """Loaded on first use: the lexicon is read from the package, never downloaded."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(text: str) -> float:
    """VADER's compound score of `text`, in [-1, 1]; 0.0 for an empty text."""
    if not text.strip():
        return 0.0
    return float(_analyzer().polarity_scores(text)["compound"])


def is_negative(text: str, threshold: float = NEGATIVE_THRESHOLD) -> bool:
    """True if `text` reads clearly negative: its score is at or below `threshold`."""
    return sentiment(text) <= threshold
