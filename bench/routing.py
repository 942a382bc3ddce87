"""Ticket routing: logistic regression on MiniLM vectors against fine-tuned MiniLM (docs/crm.md).

`make bench-routing` trains both kinds (crm/insights/routing.py) on data/routing/train.csv with
several seeds, in one run, and tests each on data/routing/test.csv: accuracy, macro-F1, each team's
F1, training time, and the latency of routing one message (p50/p95 over the test messages, one at a
time, as the action server does). Medians over the seeds, with the spread (min-max). The table goes
between the ``routing`` markers of --write; `--model-out` saves the winner's router of the first
seed (the CLI, ``python -m crm routing-train``, is what `make setup` runs).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.report import write_block
from config.contract import STAFF_TEAMS
from config.settings import Settings
from crm.insights.routing import (
    DEFAULT_KIND,
    KINDS,
    Example,
    FineTuneOptions,
    Kind,
    TeamRouter,
    read_examples,
    save_router,
    scores,
    train_router,
)
from encoder.embedding import OnnxEmbedder

log = logging.getLogger("bench.routing")
SEEDS = (20251125, 7, 42)


@dataclass
class Run:
    """One kind trained and tested with one seed."""

    kind: str
    seed: int
    threshold: float
    accuracy: float
    macro_f1: float
    team_f1: dict[str, float]
    train_s: float
    p50_ms: float
    p95_ms: float
    router: TeamRouter


def run_once(
    kind: Kind, seed: int, train: Sequence[Example], test: Sequence[Example], settings: Settings
) -> Run:
    """Train one router and measure it on the test messages."""
    embedder = OnnxEmbedder(settings.encoder_dir) if kind == "lr" else None
    trained = train_router(
        kind,
        train,
        embedder=embedder,
        base_model=settings.model_path,
        seed=seed,
        options=FineTuneOptions(),
    )
    router = trained.router
    routed = router.route_many([e.text for e in test])
    result = scores([e.team for e in test], [r.team for r in routed])
    latencies = []
    for example in test:
        started = time.perf_counter()
        router.route(example.text)
        latencies.append((time.perf_counter() - started) * 1000)
    return Run(
        kind=kind,
        seed=seed,
        threshold=router.threshold,
        accuracy=result.accuracy,
        macro_f1=result.macro_f1,
        team_f1=result.team_f1,
        train_s=trained.seconds,
        p50_ms=float(np.percentile(latencies, 50)),
        p95_ms=float(np.percentile(latencies, 95)),
        router=router,
    )


def _cell(values: Sequence[float], digits: int = 3) -> str:
    """Median (min-max) of the seeds' values."""
    median = statistics.median(values)
    return f"{median:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def winner(runs: Sequence[Run]) -> tuple[str, str]:
    """The kind that runs, and why: the higher median macro-F1, unless the gap is within the
    seeds' spread, in which case the cheaper one (logistic regression: no torch at run time,
    faster to train and to route)."""
    f1 = {k: [r.macro_f1 for r in runs if r.kind == k] for k in KINDS}
    medians = {k: statistics.median(v) for k, v in f1.items()}
    spread = max(max(v) - min(v) for v in f1.values())
    best = max(medians, key=lambda k: medians[k])
    gap = abs(medians["lr"] - medians["finetune"])
    if gap <= spread:
        return "lr", (
            f"macro-F1 medians differ by {gap:.3f}, within the seeds' spread of {spread:.3f}: "
            "the cheaper logistic regression runs"
        )
    return best, f"{best} has the higher median macro-F1 by {gap:.3f} (spread {spread:.3f})"


def table(runs: Sequence[Run], train: int, test: int) -> str:
    """The Markdown table and the decision."""
    seeds = sorted({r.seed for r in runs})
    lines = [
        f"Trained on {train} messages (80% learn, 20% choose the threshold), tested on {test}; "
        f"seeds {', '.join(map(str, seeds))}; median (min-max) over the seeds. "
        "Latency: one message routed at a time, on this machine's 2 shared cores.",
        "",
        "| | logistic regression on MiniLM vectors | fine-tuned MiniLM |",
        "|---|---|---|",
    ]
    by_kind: dict[str, list[Run]] = {k: [r for r in runs if r.kind == k] for k in KINDS}

    def row(name: str, values: dict[str, list[float]], digits: int = 3) -> str:
        return f"| {name} | " + " | ".join(_cell(values[k], digits) for k in KINDS) + " |"

    def pick(attr: str) -> dict[str, list[float]]:
        return {k: [float(getattr(r, attr)) for r in rs] for k, rs in by_kind.items()}

    lines.append(row("accuracy", pick("accuracy")))
    lines.append(row("macro-F1", pick("macro_f1")))
    for team in STAFF_TEAMS:
        values = {k: [r.team_f1[team] for r in rs] for k, rs in by_kind.items()}
        lines.append(row(f"F1 {team}", values))
    lines.append(row("threshold (chosen on validation)", pick("threshold"), 2))
    lines.append(row("training time, s", pick("train_s"), 1))
    lines.append(row("latency p50, ms", pick("p50_ms"), 1))
    lines.append(row("latency p95, ms", pick("p95_ms"), 1))
    kind, why = winner(runs)
    lines += ["", f"Winner: **{kind}**: {why}."]
    if kind != DEFAULT_KIND:
        lines.append(
            f"(crm/insights/routing.py's DEFAULT_KIND is still {DEFAULT_KIND}: change it.)"
        )
    return "\n".join(lines)


def main() -> int:
    """Train and test both kinds with each seed, write the table, maybe save the winner."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=Path, default=Path("data/routing/train.csv"))
    parser.add_argument("--test", type=Path, default=Path("data/routing/test.csv"))
    parser.add_argument("--seeds", type=int, default=len(SEEDS), help="how many of the seeds")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--write", type=Path, help="Markdown file to write the table into")
    parser.add_argument("--model-out", type=Path, help="save the winner's first router here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    import torch

    torch.set_num_threads(2)
    settings = Settings()
    train, test = read_examples(args.train), read_examples(args.test)
    runs = []
    # Seeds outside, kinds inside: both kinds see the same machine load as far as possible.
    for seed in SEEDS[: args.seeds]:
        for kind in args.kinds:
            run = run_once(kind, seed, train, test, settings)
            log.info(
                "%s seed %d: accuracy %.3f, macro-F1 %.3f, threshold %.2f, %.1f s, p50 %.1f ms",
                kind,
                seed,
                run.accuracy,
                run.macro_f1,
                run.threshold,
                run.train_s,
                run.p50_ms,
            )
            runs.append(run)
    if set(args.kinds) != set(KINDS):
        return 0
    text = table(runs, len(train), len(test))
    print(text)
    if args.write:
        write_block(args.write, "routing", text)
    if args.model_out:
        kind, _ = winner(runs)
        first = next(r for r in runs if r.kind == kind)
        save_router(first.router, args.model_out)
        log.info("saved the %s router in %s", kind, args.model_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
