"""Pick the knowledge base's abstention threshold from labelled questions, and report it.

Questions (bench/data/kb_questions.jsonl) are either answerable (with the article that answers
them) or not. The set is split in two by a fixed hash: the threshold is chosen on the tuning half
to maximise the share of questions handled right (answered from the right article, or
abstained when there is no answer), and the result is reported on the held-out half.

    python -m bench.kb_calibrate [--write docs/knowledge.md]
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.report import write_block
from config.settings import ROOT, get_settings
from encoder.embedding import SentenceTransformerEmbedder
from knowledge.configured import open_knowledge_base
from knowledge.index import ingest

QUESTIONS = ROOT / "bench" / "data" / "kb_questions.jsonl"


@dataclass
class Scored:
    question: str
    expected: str | None
    top_article: str
    score: float
    own_threshold: float | None  # the article's topic's own KB_MIN_SCORE, if it has one

    def answered(self, threshold: float) -> bool:
        """Whether the agent quotes it at the global `threshold`."""
        return self.score >= (threshold if self.own_threshold is None else self.own_threshold)


def held_out(question: str) -> bool:
    return int(hashlib.sha256(question.encode()).hexdigest(), 16) % 2 == 1


def outcome(rows: list[Scored], threshold: float) -> dict[str, float]:
    answered = [r for r in rows if r.answered(threshold)]
    right = [r for r in answered if r.expected == r.top_article]
    answerable = [r for r in rows if r.expected is not None]
    unanswerable = [r for r in rows if r.expected is None]
    handled = len(right) + sum(1 for r in unanswerable if not r.answered(threshold))
    return {
        "threshold": threshold,
        "handled_right": handled / len(rows),
        "precision_answered": len(right) / len(answered) if answered else 1.0,
        "answered_rate": len(answered) / len(rows),
        "answerable_answered_right": len(right) / len(answerable),
        "unanswerable_abstained": sum(1 for r in unanswerable if not r.answered(threshold))
        / max(1, len(unanswerable)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    settings = get_settings()
    embedder = SentenceTransformerEmbedder(settings.model_path)
    index_dir = settings.var_dir / "bench" / "kb-calibration"
    ingest([settings.knowledge_sources], embedder, index_dir, exact_limit=settings.kb_exact_limit)
    # The retrieval the agent runs (KB_MODE and the fusion settings); the threshold applies to
    # the cosine of the passage it would quote (a topic with its own threshold keeps it).
    kb = open_knowledge_base(index_dir, embedder, settings)
    rows = []
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        hit = kb.search(item["question"], k=1)[0]
        own = kb.topic_min_scores.get(hit.chunk.topic)
        rows.append(Scored(item["question"], item["article"], hit.chunk.article_id, hit.dense, own))
    tune = [r for r in rows if not held_out(r.question)]
    test = [r for r in rows if held_out(r.question)]
    grid = [round(t, 2) for t in np.arange(0.20, 0.71, 0.01)]
    best = max(grid, key=lambda t: (outcome(tune, t)["handled_right"], -t))
    top1 = sum(r.expected == r.top_article for r in test if r.expected) / sum(
        1 for r in test if r.expected
    )
    lines = [
        f"Questions: {len(rows)} ({sum(1 for r in rows if r.expected)} answerable); "
        f"tuning half {len(tune)}, held-out half {len(test)}.",
        f"Top-1 article accuracy on answerable held-out questions (no threshold): {top1:.3f}.",
        f"Chosen threshold (best share handled right on the tuning half): **{best:.2f}**.",
        "",
        "| threshold | handled right | precision of answers | answered | answerable answered right"
        " | unanswerable abstained |",
        "|---|---|---|---|---|---|",
    ]
    for t in sorted({best, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60}):
        o = outcome(test, t)
        mark = " (chosen)" if t == best else ""
        lines.append(
            f"| {t:.2f}{mark} | {o['handled_right']:.3f} | {o['precision_answered']:.3f} | "
            f"{o['answered_rate']:.3f} | {o['answerable_answered_right']:.3f} | "
            f"{o['unanswerable_abstained']:.3f} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.write:
        write_block(args.write, "kb-calibration", table)


if __name__ == "__main__":
    main()
