"""Train the project's NLU pipeline on a labelled data set and measure it on a test set.

Runs in the Rasa venv (it trains and loads a real Rasa model with the given config, the
project's `config.yml` by default, so what is measured is what the agent runs):

    python -m bench.nlu --train train.csv --test test.csv [--config config.yml]
                        [--encoder DIR] [--name banking77] [--holdout 10] [--write docs/nlu.md]

`--encoder` replaces the intent classifier's `model_dir`: config.yml's encoder is fine-tuned on
the shop's intents, so another data set is measured with one fine-tuned on its own training
messages (`python -m encoder.intents --data train.csv --out DIR`, as `make bench-nlu` does) or,
when intents are held out, the stock encoder, which has seen none of them.

Data: a CSV file with a text column and a label column (`text` and `label`, `category` or
`intent`), or Rasa YAML (a file or a folder). Reports accuracy and macro F1 (the top intent;
and again counting the FallbackClassifier's `nlu_fallback` as wrong), the worst intents, the
most frequent confusions, the training time and the parse latency p50/p95 (one message at a
time, as a conversation sends them; median of `--repeats` passes with the spread).

`--holdout N` is the out-of-scope protocol: N intents (drawn with a fixed seed) are left out of
training, and their test messages must end as `nlu_fallback`. It reports in-scope accuracy and
out-of-scope recall at the config's threshold, and the trade-off at other thresholds.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import write_block

FALLBACK = "nlu_fallback"
LABEL_COLUMNS = ("label", "category", "intent")


@dataclass(frozen=True)
class Example:
    """One labelled message."""

    text: str
    label: str


@dataclass(frozen=True)
class Parsed:
    """What the pipeline said about one test message."""

    label: str
    top: str  # the best real intent, even when the fallback won
    confidence: float  # of `top`


def read_examples(path: Path) -> list[Example]:
    """CSV with text and label columns, or Rasa YAML training data (a file or a folder)."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            fields = reader.fieldnames or []
            label = next((name for name in LABEL_COLUMNS if name in fields), None)
            if "text" not in fields or label is None:
                raise SystemExit(f"{path}: needs a 'text' column and one of {LABEL_COLUMNS}")
            return [Example(row["text"], row[label]) for row in reader if row["text"].strip()]
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [Example(str(m.get("text")), str(m.get("intent"))) for m in data.intent_examples]


def holdout_labels(examples: list[Example], count: int, seed: int) -> set[str]:
    """The intents left out of training for the out-of-scope protocol."""
    labels = sorted({example.label for example in examples})
    return set(random.Random(seed).sample(labels, count)) if count else set()


def write_rasa_yaml(examples: list[Example], path: Path) -> None:
    """Training data in Rasa's format, one block of examples per intent."""
    by_label: dict[str, list[str]] = {}
    for example in examples:
        by_label.setdefault(example.label, []).append(example.text)
    lines = ['version: "3.1"', "nlu:"]
    for label, texts in by_label.items():
        lines += [f"  - intent: {label}", "    examples: |"]
        # Rasa reads entity markup ([text](entity)) inside examples: keep brackets literal.
        lines += [
            "      - " + text.replace("\n", " ").replace("[", "(").replace("]", ")")
            for text in texts
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def train(config: Path, examples: list[Example], workdir: Path) -> tuple[Path, float]:
    """Train the NLU part of `config` on the examples; the model path and the seconds it took."""
    from rasa.model_training import train_nlu

    data = workdir / "nlu.yml"
    write_rasa_yaml(examples, data)
    started = time.perf_counter()
    model = train_nlu(str(config), str(data), str(workdir), fixed_model_name="bench-nlu")
    elapsed = time.perf_counter() - started
    if not model:
        raise SystemExit("Rasa did not train a model")
    return Path(model), elapsed


async def parse_all(
    model: Path, examples: list[Example], repeats: int
) -> tuple[list[Parsed], list[list[float]]]:
    """Parse one message at a time; the first pass's answers and every pass's milliseconds."""
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # as a server at its default level: no per-message log
    agent = Agent.load(str(model))
    await agent.parse_message("hello")  # warm up
    parsed: list[Parsed] = []
    passes: list[list[float]] = []
    for _ in range(repeats):
        timings = []
        for example in examples:
            started = time.perf_counter()
            result = await agent.parse_message(example.text)
            timings.append((time.perf_counter() - started) * 1000)
            if len(passes) == 0:
                ranking = [r for r in result.get("intent_ranking", []) if r["name"] != FALLBACK]
                top = ranking[0] if ranking else {"name": FALLBACK, "confidence": 0.0}
                parsed.append(
                    Parsed(
                        label=str(result["intent"]["name"]),
                        top=str(top["name"]),
                        confidence=float(top["confidence"]),
                    )
                )
        passes.append(timings)
    return parsed, passes


def _f1_by_label(truth: list[str], predicted: list[str]) -> dict[str, float]:
    labels = sorted(set(truth))
    scores = {}
    for label in labels:
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p == label)
        fp = sum(1 for t, p in zip(truth, predicted, strict=True) if p == label and t != label)
        fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label and p != label)
        scores[label] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return scores


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def in_scope_report(test: list[Example], parsed: list[Parsed]) -> dict[str, Any]:
    """Accuracy, macro F1, worst intents, confusions and latency."""
    truth = [e.label for e in test]
    top = [p.top for p in parsed]
    with_fallback = [p.label for p in parsed]
    f1 = _f1_by_label(truth, top)
    confusions = Counter((t, p) for t, p in zip(truth, top, strict=True) if t != p)
    return {
        "examples": len(test),
        "intents": len(f1),
        "accuracy": sum(t == p for t, p in zip(truth, top, strict=True)) / len(test),
        "macro_f1": statistics.fmean(f1.values()),
        "accuracy_fallback_wrong": sum(t == p for t, p in zip(truth, with_fallback, strict=True))
        / len(test),
        "fallback_rate": sum(p == FALLBACK for p in with_fallback) / len(test),
        "worst": sorted(f1.items(), key=lambda item: (item[1], item[0]))[:5],
        "confusions": confusions.most_common(5),
    }


def latency_report(passes: list[list[float]]) -> dict[str, list[float]]:
    """p50 and p95 of each pass over the test set: median, lowest and highest of the passes."""
    p50 = [statistics.median(times) for times in passes]
    p95 = [_percentile(times, 0.95) for times in passes]
    return {
        "p50_ms": [statistics.median(p50), min(p50), max(p50)],
        "p95_ms": [statistics.median(p95), min(p95), max(p95)],
    }


def out_of_scope_report(
    test: list[Example], parsed: list[Parsed], unseen: set[str], threshold: float | None
) -> dict[str, Any]:
    """In-scope accuracy and out-of-scope recall, at the config's threshold and others."""

    inside = [(e, p) for e, p in zip(test, parsed, strict=True) if e.label not in unseen]
    outside = [p for e, p in zip(test, parsed, strict=True) if e.label in unseen]

    def at(cut: float) -> tuple[float, float]:
        accuracy = sum(p.top == e.label and p.confidence >= cut for e, p in inside) / len(inside)
        return accuracy, sum(p.confidence < cut for p in outside) / len(outside)

    # What the pipeline itself said, with the FallbackClassifier's ambiguity rule as well.
    as_configured = (
        sum(p.label == e.label for e, p in inside) / len(inside),
        sum(p.label == FALLBACK for p in outside) / len(outside),
    )

    sweep = [round(0.1 * i, 1) for i in range(1, 10)]
    return {
        "unseen": sorted(unseen),
        "threshold": threshold,
        "as_configured": as_configured,
        "sweep": [(cut, *at(cut)) for cut in sweep],
    }


def with_encoder(config: Path, encoder: Path, workdir: Path) -> Path:
    """A copy of `config` in `workdir` whose sentence components read `encoder`."""
    import yaml

    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    replaced = 0
    for component in document.get("pipeline") or []:
        if "model_dir" in component:
            component["model_dir"] = str(encoder)
            replaced += 1
    if not replaced:
        raise SystemExit(f"{config}: no pipeline component has a model_dir to replace")
    path = workdir / config.name
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def fallback_threshold(config: Path) -> float | None:
    """The FallbackClassifier threshold of the config, if it has one."""
    from rasa.shared.utils.io import read_config_file

    for component in read_config_file(str(config)).get("pipeline", []):
        if str(component.get("name")) == "FallbackClassifier":
            return float(component.get("threshold", 0.3))
    return None


def markdown(name: str, config: Path, result: dict[str, Any]) -> str:
    """The tables for docs/nlu.md."""
    scope = result["in_scope"]
    latency = result["latency"]
    encoder = f" with the encoder `{result['encoder']}`" if result.get("encoder") else ""
    lines = [
        f"`{config}`{encoder} trained on {result['train_examples']} examples of {name}, "
        f"tested on {scope['examples']} ({scope['intents']} intents).",
        "",
        "| accuracy | macro F1 | accuracy, fallback counted wrong | training | "
        "parse p50 | parse p95 |",
        "|---|---|---|---|---|---|",
        f"| {scope['accuracy']:.4f} | {scope['macro_f1']:.4f} | "
        f"{scope['accuracy_fallback_wrong']:.4f} | {result['train_seconds'] / 60:.1f} min | "
        f"{_spread(latency['p50_ms'])} | {_spread(latency['p95_ms'])} |",
        "",
        f"Parse latency: one message at a time, median of {result['repeats']} passes over the "
        "test set (lowest–highest).",
        "",
        "Worst intents (F1): "
        + ", ".join(f"`{label}` {score:.3f}" for label, score in scope["worst"])
        + ".",
        "Most frequent confusions (true → predicted): "
        + ", ".join(f"`{t}` → `{p}` ({n})" for (t, p), n in scope["confusions"])
        + ".",
    ]
    oos = result.get("out_of_scope")
    if oos:
        lines += [
            "",
            f"Out of scope: {len(oos['unseen'])} intents left out of training "
            f"({', '.join(oos['unseen'])}).",
            "",
            "| confidence threshold | in-scope accuracy | out-of-scope recall |",
            "|---|---|---|",
        ]
        for cut, accuracy, recall in oos["sweep"]:
            lines.append(f"| {cut:.1f} | {accuracy:.4f} | {recall:.4f} |")
        accuracy, recall = oos["as_configured"]
        lines.append(
            f"| the config ({oos['threshold']}, with its ambiguity rule) | {accuracy:.4f} | "
            f"{recall:.4f} |"
        )
    return "\n".join(lines)


def _spread(values: list[float]) -> str:
    middle, low, high = values
    return f"{middle:.1f} ms ({low:.1f}–{high:.1f})"


def main() -> None:
    """Train, parse the test set, report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--config", type=Path, default=Path("config.yml"))
    parser.add_argument("--encoder", type=Path, help="the intent classifier's model_dir instead")
    parser.add_argument("--name", default="the data set")
    parser.add_argument("--holdout", type=int, default=0, help="intents left out as OOS")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3, help="passes over the test set")
    parser.add_argument("--block", help="marker name in --write (default from name and config)")
    parser.add_argument("--write", type=Path, help="Markdown file to write the tables into")
    parser.add_argument("--out", type=Path, default=Path("var/results/nlu-bench"))
    args = parser.parse_args()

    training = read_examples(args.train)
    test = read_examples(args.test)
    unseen = holdout_labels(training, args.holdout, args.seed)
    training = [e for e in training if e.label not in unseen]
    with tempfile.TemporaryDirectory(prefix="nlu-bench-") as scratch:
        # A cache of its own: Rasa would otherwise restore a repeated run's training from it.
        os.environ["RASA_CACHE_DIRECTORY"] = str(Path(scratch) / "cache")
        config = args.config
        if args.encoder:
            config = with_encoder(args.config, args.encoder, Path(scratch))
        model, seconds = train(config, training, Path(scratch))
        parsed, passes = asyncio.run(parse_all(model, test, args.repeats))
    in_scope = [(e, p) for e, p in zip(test, parsed, strict=True) if e.label not in unseen]
    result: dict[str, Any] = {
        "train_examples": len(training),
        "encoder": str(args.encoder) if args.encoder else None,
        "train_seconds": seconds,
        "repeats": args.repeats,
        "latency": latency_report(passes),
        "in_scope": in_scope_report([e for e, _ in in_scope], [p for _, p in in_scope]),
    }
    if unseen:
        result["out_of_scope"] = out_of_scope_report(
            test, parsed, unseen, fallback_threshold(args.config)
        )
    args.out.mkdir(parents=True, exist_ok=True)
    block = args.block or f"nlu-bench-{args.name}-{args.config.stem}" + (
        f"-holdout{args.holdout}" if args.holdout else ""
    )
    (args.out / f"{block}.json").write_text(json.dumps(result, indent=2))
    table = markdown(args.name, args.config, result)
    print(table)
    if args.write:
        write_block(args.write, block, table)


if __name__ == "__main__":
    main()
