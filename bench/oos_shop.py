"""Out of scope for the shop: how many off-topic messages start a task, and at what cost.

`bench/nlu_oos.py` compares detectors on Banking77's held-out intents, near neighbours of the
seen ones. The shop's problem is different: a customer asking about another shop's order, a
bank card or the weather, whose message starts one of the 27 tasks. This trains the intent
classifier (`bot.nlu.intent_model`, no Rasa) on data/nlu with each encoder, applies config.yml's
fallback rule and then each detector setting, and reports, side by side:

- the blind set's **tuning half** (tasks: right, fallback, wrong; other intents right; the
  out-of-scope false-task rate, as `make bench-nlu-blind` counts them);
- CLINC150's public out-of-scope utterances (`../shared/data/clinc-oos`, train and val, 200
  messages): the share that starts one of the 27 tasks, and the share the agent treats as out
  of scope (`out_of_scope` or the fallback).

Runs in the actions venv:

    python -m bench.oos_shop --encoder models/encoder [--weight 2] [--data data/nlu]

Only the tuning half: the test half is for `make bench-nlu-blind BLIND_HALF=test`, once.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.nlu_blind import (
    BLIND,
    FALLBACK,
    HALVES,
    OUT_OF_SCOPE,
    TASKS,
    Message,
    read_messages,
    report,
)
from bench.nlu_finetune import decide, fallback_rule
from bot.nlu.intent_model import IntentModel, IntentModelSettings
from bot.nlu.intent_model import encoder_text as digits_as_zero
from encoder.intents import read_examples
from encoder.sentence import SentenceEncoder

CLINC = Path(__file__).resolve().parents[2] / "shared" / "data" / "clinc-oos"
CACHE = Path("var") / "oos-vectors"  # sentence vectors, rebuilt when the texts change


def clinc_messages(folder: Path = CLINC) -> list[str]:
    """CLINC150's out-of-scope training and validation utterances (never its test split)."""
    return [
        line.strip()
        for name in ("train.txt", "val.txt")
        for line in (folder / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def encode(encoder: SentenceEncoder, directory: Path, texts: Sequence[str]) -> np.ndarray:
    """Sentence vectors of `texts` (digits as 0), cached on disk by encoder and texts."""
    key = hashlib.sha256(
        (encoder.info.sha256 + str(directory.resolve()) + "\n".join(texts)).encode()
    ).hexdigest()[:16]
    path = CACHE / f"{key}.npy"
    if path.is_file():
        cached: np.ndarray = np.load(path)
        return cached
    vectors = encoder.encode([digits_as_zero(t) for t in texts])
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def is_task(intent: str) -> bool:
    """Whether an intent (or a two-request intent's first request) is one of the 27 tasks."""
    return intent.split("+")[0] in TASKS


def nearest_by_label(
    vectors: np.ndarray, train: np.ndarray, labels: Sequence[str]
) -> tuple[list[str], np.ndarray]:
    """For each vector, the cosine of the nearest training example of every label."""
    names = sorted(set(labels))
    index = np.array([names.index(label) for label in labels])
    similarity = vectors @ train.T
    best = np.full((len(vectors), len(names)), -1.0)
    for i in range(len(names)):
        best[:, i] = similarity[:, index == i].max(axis=1)
    return names, best


def apply(
    decided: Sequence[str],
    names: list[str],
    nearest: np.ndarray,
    detector: str,
    value: float,
    oos_probability: np.ndarray,
) -> list[str]:
    """Turn a task reading into out_of_scope where the detector says the message is outside.

    - ``task-distance``: the nearest example of the decided task is further than `value`;
    - ``oos-closer``: the nearest out-of-scope example is closer than the nearest example of the
      decided task by more than `value`;
    - ``oos-prob``: the classifier gives out_of_scope at least `value` (it came second).
    """
    oos = names.index(OUT_OF_SCOPE)
    result = []
    for row, intent in enumerate(decided):
        if not is_task(intent) or intent not in names:
            result.append(intent)
            continue
        own = nearest[row, names.index(intent)]
        if detector == "task-distance":
            outside = own < value
        elif detector == "oos-prob":
            outside = oos_probability[row] >= value
        else:
            outside = nearest[row, oos] - own > value
        result.append(OUT_OF_SCOPE if outside else intent)
    return result


def row(name: str, messages: Sequence[Message], decided: list[str], clinc: list[str]) -> str:
    """One Markdown row: tune-half rates and CLINC's."""
    result = report(messages, decided)
    tasks = result["groups"]["tasks"]
    other = result["groups"]["other intents"]
    clinc_task = sum(is_task(p) for p in clinc) / len(clinc)
    clinc_out = sum(p in (OUT_OF_SCOPE, FALLBACK) for p in clinc) / len(clinc)
    return (
        f"| {name} | {tasks['right']:.3f} | {tasks['fallback']:.3f} | {tasks['wrong']:.3f} "
        f"| {other['right']:.3f} | {result['false_task']:.3f} | {clinc_task:.3f} "
        f"| {clinc_out:.3f} |"
    )


def main() -> None:
    """Score each encoder, weight and detector setting; print one Markdown row each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--encoder", type=Path, action="append", required=True)
    parser.add_argument("--weight", type=float, action="append")
    parser.add_argument("--data", type=Path, default=Path("data/nlu"))
    parser.add_argument("--config", type=Path, default=Path("config.yml"))
    parser.add_argument("--task-distance", type=float, action="append", default=[])
    parser.add_argument("--oos-closer", type=float, action="append", default=[])
    parser.add_argument("--oos-prob", type=float, action="append", default=[])
    parser.add_argument("--misses", action="store_true", help="list the OOS messages given a task")
    parser.add_argument("--dump", type=Path, help="write each variant's tune-half readings (JSON)")
    args = parser.parse_args()
    threshold, ambiguity = fallback_rule(args.config)
    examples = read_examples(args.data)
    texts, labels = [e.text for e in examples], [e.label for e in examples]
    messages = read_messages(BLIND / name for name in HALVES["tune"])
    clinc = clinc_messages()
    print(
        "| variant | tasks right | fallback | wrong | other intents right "
        "| tune OOS false task | CLINC false task | CLINC as out of scope |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    dumped: dict[str, list[str]] = {}
    for directory in args.encoder:
        encoder = SentenceEncoder(directory, threads=2)
        train = encode(encoder, directory, texts)
        tune = encode(encoder, directory, [m.text for m in messages])
        outside = encode(encoder, directory, clinc)
        single = [i for i, label in enumerate(labels) if "+" not in label]
        names, tune_near = nearest_by_label(tune, train[single], [labels[i] for i in single])
        _, clinc_near = nearest_by_label(outside, train[single], [labels[i] for i in single])
        for weight in args.weight or [IntentModelSettings().embedding_weight]:
            model = IntentModel.fit(
                texts, labels, train, IntentModelSettings(embedding_weight=weight)
            )
            tune_probabilities = model.probabilities([m.text for m in messages], tune)
            clinc_probabilities = model.probabilities(clinc, outside)
            tune_decided = decide(model.labels, tune_probabilities, threshold, ambiguity)
            clinc_decided = decide(model.labels, clinc_probabilities, threshold, ambiguity)
            column = model.labels.index(OUT_OF_SCOPE)
            base = f"{directory.name} ×{weight:g}"
            dumped[base] = tune_decided
            print(row(base, messages, tune_decided, clinc_decided), flush=True)
            variants = (
                [("task-distance", v) for v in args.task_distance]
                + [("oos-closer", v) for v in args.oos_closer]
                + [("oos-prob", v) for v in args.oos_prob]
            )
            for detector, value in variants:
                print(
                    row(
                        f"{base}, {detector} {value:g}",
                        messages,
                        apply(
                            tune_decided,
                            names,
                            tune_near,
                            detector,
                            value,
                            tune_probabilities[:, column],
                        ),
                        apply(
                            clinc_decided,
                            names,
                            clinc_near,
                            detector,
                            value,
                            clinc_probabilities[:, column],
                        ),
                    ),
                    flush=True,
                )
            if args.misses:
                for m, p in zip(messages, tune_decided, strict=True):
                    if m.label == OUT_OF_SCOPE and is_task(p):
                        print(f"  tune: {p}: {m.text}")
                for text, p in zip(clinc, clinc_decided, strict=True):
                    if is_task(p):
                        print(f"  clinc: {p}: {text}")
    if args.dump:
        args.dump.write_text(json.dumps(dumped))


if __name__ == "__main__":
    main()
