"""A fine-tuned intent encoder against the stock one, on the blind set's tuning half, quickly.

`make bench-nlu-blind` trains and loads a whole Rasa model for each variant; this trains only the
intent classifier (`bot.nlu.intent_model`, no Rasa) on data/nlu with each exported encoder and
applies the FallbackClassifier's rule of config.yml (top confidence under the threshold, or the
first two closer than the ambiguity threshold), so a grid of encoders and embedding weights is
read in seconds. Runs in the actions venv:

    python -m bench.nlu_finetune --encoder models/encoder --encoder models/intent-encoder \\
        [--weight 2 --weight 3] [--embedding-only]

The numbers are the bench's (bench.nlu_blind.report): right, fallback and wrong task over the
27 tasks, the out-of-scope false-task rate and the tasks' macro F1. Only the tuning half: the
test half is for `make bench-nlu-blind BLIND_HALF=test`, once.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import yaml

from bench.nlu_blind import BLIND, FALLBACK, HALVES, read_messages, report
from bot.nlu.intent_model import IntentModel, IntentModelSettings
from bot.nlu.intent_model import encoder_text as digits_as_zero
from encoder.intents import read_examples
from encoder.sentence import SentenceEncoder


def fallback_rule(config: Path) -> tuple[float, float]:
    """The FallbackClassifier's threshold and ambiguity threshold in `config`."""
    pipeline = yaml.safe_load(config.read_text())["pipeline"]
    step = next(s for s in pipeline if s["name"] == "FallbackClassifier")
    return float(step["threshold"]), float(step["ambiguity_threshold"])


def decide(
    labels: list[str], probabilities: np.ndarray, threshold: float, ambiguity: float
) -> list[str]:
    """The intent Rasa's policies would see for each row of probabilities."""
    decided = []
    for row in probabilities:
        first, second = np.argsort(-row, kind="stable")[:2]
        if row[first] < threshold or row[first] - row[second] < ambiguity:
            decided.append(FALLBACK)
        else:
            decided.append(labels[first])
    return decided


def embedding_only(
    vectors: np.ndarray, labels: list[str], test_vectors: np.ndarray, c: float
) -> tuple[list[str], np.ndarray]:
    """Logistic regression on the sentence vectors alone (no n-grams)."""
    from sklearn.linear_model import LogisticRegression

    regression = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    regression.fit(vectors, np.asarray(labels))
    return [str(c) for c in regression.classes_], regression.predict_proba(test_vectors)


def main() -> None:
    """Score each encoder and weight on the tuning half; print one Markdown row each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--encoder", type=Path, action="append", required=True)
    parser.add_argument("--weight", type=float, action="append")
    parser.add_argument("--embedding-only", action="store_true")
    parser.add_argument("--data", type=Path, default=Path("data/nlu"))
    parser.add_argument("--config", type=Path, default=Path("config.yml"))
    args = parser.parse_args()
    threshold, ambiguity = fallback_rule(args.config)
    examples = read_examples(args.data)
    texts, labels = [e.text for e in examples], [e.label for e in examples]
    messages = read_messages(BLIND / name for name in HALVES["tune"])
    tune = [m.text for m in messages]
    print("| encoder | features | right | fallback | wrong | OOS false task | macro F1 |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for directory in args.encoder:
        encoder = SentenceEncoder(directory, threads=2)
        train_vectors = encoder.encode([digits_as_zero(t) for t in texts])
        tune_vectors = encoder.encode([digits_as_zero(t) for t in tune])
        runs: list[tuple[str, list[str], np.ndarray]] = []
        for weight in args.weight or [IntentModelSettings().embedding_weight]:
            started = time.perf_counter()
            model = IntentModel.fit(
                texts, labels, train_vectors, IntentModelSettings(embedding_weight=weight)
            )
            runs.append(
                (
                    f"n-grams + embedding ×{weight:g} ({time.perf_counter() - started:.0f} s)",
                    model.labels,
                    model.probabilities(tune, tune_vectors),
                )
            )
        if args.embedding_only:
            names, probabilities = embedding_only(
                train_vectors, labels, tune_vectors, IntentModelSettings().c
            )
            runs.append(("embedding alone", names, probabilities))
        for features, names, probabilities in runs:
            result = report(messages, decide(names, probabilities, threshold, ambiguity))
            tasks = result["groups"]["tasks"]
            print(
                f"| {directory} | {features} | {tasks['right']:.3f} | {tasks['fallback']:.3f} "
                f"| {tasks['wrong']:.3f} | {result['false_task']:.3f} "
                f"| {result['task_macro_f1']:.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
