"""Turn Rasa's cross-validation report into the per-intent table of docs/nlu.md.

`make bench-nlu-cv` runs `rasa test nlu --cross-validation` on `data/nlu` with the project's
`config.yml` and then this script, which reads `intent_report.json` (the test folds' predictions
pooled) and writes the summary, every intent's precision, recall and F1, and the confusions.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.report import write_block

SUMMARY_KEYS = ("accuracy", "macro avg", "weighted avg", "micro avg")
GOAL_F1 = 0.9


def report_tables(report: dict[str, Any], *, folds: int, config: str = "config.yml") -> str:
    """Markdown for the summary, the per-intent scores (worst first) and the top confusions."""
    intents = {name: row for name, row in report.items() if name not in SUMMARY_KEYS}
    total = sum(int(row["support"]) for row in intents.values())
    macro = report.get("macro avg", {})
    weighted = report.get("weighted avg", {})
    accuracy = report.get("accuracy")
    below = sorted(name for name, row in intents.items() if row["f1-score"] < GOAL_F1)
    path, _, variant = config.partition(" ")  # "config.yml with the stock encoder"
    lines = [
        f"{folds}-fold cross-validation of `{path}`{' ' + variant if variant else ''} over "
        f"{total} examples of "
        f"{len(intents)} intents.",
        "",
        "| accuracy | macro F1 | weighted F1 | intents below F1 0.90 |",
        "|---|---|---|---|",
        f"| {_num(accuracy)} | {_num(macro.get('f1-score'))} | "
        f"{_num(weighted.get('f1-score'))} | {len(below)} |",
        "",
        "| intent | precision | recall | F1 | examples | most often confused with |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in sorted(intents.items(), key=lambda item: (item[1]["f1-score"], item[0])):
        confused = row.get("confused_with") or {}
        top = ", ".join(f"{other} ({count})" for other, count in list(confused.items())[:2])
        lines.append(
            f"| `{name}` | {_num(row['precision'])} | {_num(row['recall'])} | "
            f"{_num(row['f1-score'])} | {int(row['support'])} | {top or '–'} |"
        )
    return "\n".join(lines)


def _num(value: Any) -> str:
    return "–" if value is None else f"{float(value):.3f}"


def main() -> None:
    """Read the report and write the tables into the document."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, default=Path("var/results/nlu-cv"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--config", default="config.yml", help="The pipeline that was measured")
    parser.add_argument("--block", default="nlu-cv", help="Marker name of the table's block")
    parser.add_argument("--write", type=Path, help="Markdown file to update (else print)")
    args = parser.parse_args()
    report = json.loads((args.results / "intent_report.json").read_text(encoding="utf-8"))
    tables = report_tables(report, folds=args.folds, config=args.config)
    if args.write:
        write_block(args.write, args.block, tables)
    else:
        print(tables)


if __name__ == "__main__":
    main()
