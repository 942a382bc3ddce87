"""How well the sentiment model reads support messages, and where "negative" starts.

    python -m bench.sentiment [--data bench/data/support_sentiment.csv] [--write docs/handoff.md]

The data are 150 customer messages written for this project in the shop's domain (50 negative:
angry, frustrated or complaining; 70 neutral: tasks, questions, answers to the agent's
questions; 30 positive), labelled by hand. For each threshold on VADER's compound score, a
message at or below it is called negative; the table gives precision, recall and F1 of that call,
and the threshold with the best F1 is the one `crm.insights.sentiment` uses.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from bench.report import write_block
from crm.insights.sentiment import NEGATIVE_THRESHOLD, sentiment

DATA = Path(__file__).parent / "data" / "support_sentiment.csv"
THRESHOLDS = (-0.05, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6)


def measure(path: Path) -> str:
    """The table for the data at `path`."""
    with path.open(encoding="utf-8") as file:
        rows = [(row["text"], row["label"]) for row in csv.DictReader(file)]
    sentiment("warm up")  # the lexicon is read on first use
    started = time.perf_counter()
    scores = [sentiment(text) for text, _ in rows]
    per_message_us = (time.perf_counter() - started) / len(rows) * 1e6
    negative = [label == "negative" for _, label in rows]
    lines = [
        f"{len(rows)} messages ({sum(negative)} negative); VADER {per_message_us:.0f} µs a "
        "message on this machine.",
        "",
        "| negative at or below | precision | recall | F1 | neutral called negative | "
        "positive called negative |",
        "|---|---|---|---|---|---|",
    ]
    best = max(THRESHOLDS, key=lambda t: calls(scores, negative, t)[2])
    for threshold in THRESHOLDS:
        precision, recall, f1_score = calls(scores, negative, threshold)
        called = [score <= threshold for score in scores]
        wrong = {
            label: sum(c for c, (_, lab) in zip(called, rows, strict=True) if lab == label)
            for label in ("neutral", "positive")
        }
        mark = " (best F1)" if threshold == best else ""
        mark += " (in use)" if threshold == NEGATIVE_THRESHOLD else ""
        lines.append(
            f"| {threshold:+.2f}{mark} | {precision:.2f} | {recall:.2f} | {f1_score:.2f} | "
            f"{wrong['neutral']} | {wrong['positive']} |"
        )
    missed = [
        text
        for (text, _), n, s in zip(rows, negative, scores, strict=True)
        if n and s > NEGATIVE_THRESHOLD
    ]
    lines += ["", f"Negative messages missed at {NEGATIVE_THRESHOLD:+.2f}, for example:"]
    lines += [f"- “{text}”" for text in missed[:6]]
    return "\n".join(lines)


def calls(scores: list[float], negative: list[bool], threshold: float) -> tuple[float, ...]:
    """Precision, recall and F1 of calling a message negative at `threshold`."""
    called = [score <= threshold for score in scores]
    hits = sum(c and n for c, n in zip(called, negative, strict=True))
    precision, recall = hits / max(1, sum(called)), hits / max(1, sum(negative))
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return precision, recall, f1


def main() -> None:
    """Print the table, and write it into a Markdown file if asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    table = measure(args.data)
    print(table)
    if args.write:
        write_block(args.write, "sentiment", table)


if __name__ == "__main__":
    main()
