"""Out-of-scope detectors compared on one protocol: which score tells an unseen intent apart?

The intent model's softmax is what the FallbackClassifier thresholds. Distance-based detectors
(how close a message is to the nearest training example in the MiniLM space, Mahalanobis
distance to the intents' centres) are the usual alternatives; this measures them side by side
with the features the agent runs (`bot.nlu.intent_model` over the ONNX encoder):

    python -m bench.nlu_oos --train train.csv --test test.csv [--holdout 10] [--write docs/nlu.md]

Protocol: `--holdout` intents (the same seeded draw as `bench.nlu`) are left out; the model is
fitted on 80 % of the remaining training messages, each detector's threshold is set on the other
20 % so that it keeps 99, 97 or 95 % of those in-scope messages, and the test set is scored:
in-scope accuracy (right intent and not rejected) and out-of-scope recall (unseen intents
rejected). AUROC ranks the detectors independently of any threshold.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.nlu import Example, holdout_labels, read_examples
from bench.report import write_block
from bot.nlu.intent_model import IntentModel
from encoder.sentence import SentenceEncoder

KEEP = (0.99, 0.97, 0.95)
Scores = dict[str, np.ndarray]


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Probability that a random in-scope message scores above a random out-of-scope one."""
    scores = np.concatenate([positive, negative])
    ranks = np.empty(len(scores))
    ranks[np.argsort(scores, kind="stable")] = np.arange(1, len(scores) + 1)
    above = ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2
    return float(above / (len(positive) * len(negative)))


class Detectors:
    """Each detector's in-scope score (higher = more in scope) for a batch of messages."""

    def __init__(self, model: IntentModel, vectors: np.ndarray, labels: list[str]) -> None:
        """`vectors` and `labels`: the training messages' embeddings and intents."""
        self.model = model
        self.vectors = vectors
        names = sorted(set(labels))
        index = np.array([names.index(label) for label in labels])
        self.centres = np.stack([vectors[index == i].mean(axis=0) for i in range(len(names))])
        within = vectors - self.centres[index]
        ridge = 1e-3 * np.eye(vectors.shape[1])
        self.precision = np.linalg.inv(within.T @ within / len(vectors) + ridge)
        self.mean = vectors.mean(axis=0)
        spread = vectors - self.mean
        self.background = np.linalg.inv(spread.T @ spread / len(vectors) + ridge)

    def score(self, texts: list[str], vectors: np.ndarray) -> tuple[Scores, list[str]]:
        """The scores and the predicted intents."""
        probabilities = self.model.probabilities(texts, vectors)
        predicted = [self.model.labels[i] for i in probabilities.argmax(axis=1)]
        nearest = (vectors @ self.vectors.T).max(axis=1)
        to_centres = np.stack(
            [
                np.einsum("ij,jk,ik->i", vectors - c, self.precision, vectors - c)
                for c in self.centres
            ],
            axis=1,
        ).min(axis=1)
        centred = vectors - self.mean
        to_all = np.einsum("ij,jk,ik->i", centred, self.background, centred)
        softmax = probabilities.max(axis=1)
        return {
            "softmax (the agent's)": softmax,
            "nearest training example (cosine)": nearest,
            "Mahalanobis to the closest intent": -to_centres,
            "relative Mahalanobis": -(to_centres - to_all),
            "softmax + 2 × nearest example": softmax + 2 * nearest,
        }, predicted


def split(examples: list[Example], share: float, seed: int) -> tuple[list[Example], ...]:
    """A seeded random split: (fit, validation)."""
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    cut = int(len(order) * (1 - share))
    return [examples[i] for i in order[:cut]], [examples[i] for i in order[cut:]]


def compare(
    fit: list[Example],
    validation: list[Example],
    test: list[Example],
    unseen: set[str],
    encode: Callable[[list[str]], np.ndarray],
) -> list[tuple[str, float, list[tuple[float, float]]]]:
    """Per detector: AUROC and (in-scope accuracy, out-of-scope recall) at each KEEP."""
    fit_vectors = encode([e.text for e in fit])
    model = IntentModel.fit([e.text for e in fit], [e.label for e in fit], fit_vectors)
    detectors = Detectors(model, fit_vectors, [e.label for e in fit])
    held, _ = detectors.score([e.text for e in validation], encode([e.text for e in validation]))
    scored, predicted = detectors.score([e.text for e in test], encode([e.text for e in test]))
    outside = np.array([e.label in unseen for e in test])
    right = np.array([p == e.label for p, e in zip(predicted, test, strict=True)])
    rows = []
    for name, scores in scored.items():
        points = []
        for keep in KEEP:
            cut = float(np.quantile(held[name], 1 - keep))
            kept = scores >= cut
            points.append((float((right & kept)[~outside].mean()), float((~kept)[outside].mean())))
        rows.append((name, auroc(scores[~outside], scores[outside]), points))
    return rows


def markdown(
    rows: list[tuple[str, float, list[tuple[float, float]]]], unseen: set[str], fit: int
) -> str:
    """The table for docs/nlu.md."""
    head = " | ".join(f"kept {k:.0%} of in-scope: accuracy / OOS recall" for k in KEEP)
    lines = [
        f"{len(unseen)} intents unseen; model fitted on {fit} messages, thresholds set on a "
        "20 % validation split of the in-scope training messages.",
        "",
        f"| detector | AUROC | {head} |",
        "|---|---|" + "---|" * len(KEEP),
    ]
    for name, area, points in rows:
        cells = " | ".join(f"{accuracy:.4f} / {recall:.3f}" for accuracy, recall in points)
        lines.append(f"| {name} | {area:.3f} | {cells} |")
    return "\n".join(lines)


def main() -> None:
    """Encode, fit, score, report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--holdout", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--encoder", type=Path, default=Path("models/encoder"))
    parser.add_argument("--block", default="nlu-oos")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()

    training = read_examples(args.train)
    test = read_examples(args.test)
    unseen = holdout_labels(training, args.holdout, args.seed)
    fit, validation = split([e for e in training if e.label not in unseen], 0.2, args.seed)
    encoder = SentenceEncoder(args.encoder, threads=2)
    rows = compare(fit, validation, test, unseen, encoder.encode)
    table = markdown(rows, unseen, len(fit))
    print(table)
    if args.write:
        write_block(args.write, args.block, table)


if __name__ == "__main__":
    main()
