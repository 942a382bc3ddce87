"""Freeze the blind set: the writers' files, checked, split once into a tuning and a test half.

Run once, when the set was made (bench/data/blind/README.md says how); kept so that anyone can
see how the halves came to be. Not part of any build.

    python -m bench.blind_split --from DIR [--out bench/data/blind]

Messages are split by writer (writers 1-3 tune, 4-6 test), so the test half measures phrasing
of people the tuning never saw; a test message that is also in the tuning half (a bare "yes")
is dropped from the test half. Conversations are split in two per writer with a fixed seed.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

from bench.nlu_blind import BLIND

TUNE_WRITERS = ("1", "2", "3")
TEST_WRITERS = ("4", "5", "6")
SEED = 29


def read_writer(path: Path, writer: str, labels: set[str]) -> list[dict[str, str]]:
    """A writer's rows, with their writer; an unknown label or an empty text stops the freeze."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [
            {"text": row["text"].strip(), "label": row["label"].strip(), "persona": row["persona"]}
            for row in csv.DictReader(handle)
        ]
    seen: set[str] = set()
    kept = []
    for row in rows:
        if row["label"] not in labels or not row["text"]:
            raise SystemExit(f"{path}: bad row {row}")
        key = row["text"].lower()
        if key not in seen:
            seen.add(key)
            kept.append({**row, "writer": writer})
    return kept


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    """The rows with the columns `text,label,persona,writer`."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "label", "persona", "writer"])
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    """Check, split and write the halves."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--from", dest="source", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=BLIND)
    parser.add_argument("--labels", type=Path, default=BLIND / "labels.md")
    args = parser.parse_args()
    labels = {
        line.split("|")[0].strip()
        for line in args.labels.read_text(encoding="utf-8").splitlines()
        if "|" in line and not line.startswith(("Label", "---"))
    }
    tune = [
        row for w in TUNE_WRITERS for row in read_writer(args.source / f"writer-{w}.csv", w, labels)
    ]
    tuned = {row["text"].lower() for row in tune}
    test = [
        row
        for w in TEST_WRITERS
        for row in read_writer(args.source / f"writer-{w}.csv", w, labels)
        if row["text"].lower() not in tuned
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "messages-tune.csv", tune)
    write_csv(args.out / "messages-test.csv", test)

    halves: dict[str, list[str]] = {"tune": [], "test": []}
    for path in sorted(args.source.glob("conversations-*.jsonl")):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for line in lines:
            json.loads(line)  # a broken line stops the freeze
        random.Random(f"{SEED}-{path.name}").shuffle(lines)
        half = len(lines) // 2
        halves["tune"] += lines[:half]
        halves["test"] += lines[half:]
    for name, lines in halves.items():
        (args.out / f"conversations-{name}.jsonl").write_text(
            "\n".join(sorted(lines, key=lambda line: json.loads(line)["id"])) + "\n",
            encoding="utf-8",
        )
    print(
        f"messages: tune {len(tune)}, test {len(test)}; conversations: "
        f"tune {len(halves['tune'])}, test {len(halves['test'])}"
    )


if __name__ == "__main__":
    main()
