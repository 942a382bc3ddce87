"""The agent's intent encoder: MiniLM fine-tuned on our intents, exported to ONNX.

The stock MiniLM was trained on the web's sentence pairs, not on our intents. Fine-tuning it on
data/nlu with a ranking loss (each message's same-intent partner ranked above the other intents'
messages of its batch) reshapes the space around our intents before the intent classifier's
logistic regression reads it: on the blind set it moved more customers' own wordings to the
right task than the stock encoder (docs/nlu.md, "A fine-tuned encoder"). SetFit's cosine pairs
were measured too and did not help; they stay as an option for the benchmark.

`make intent-encoder` runs this in the actions venv (torch) whenever data/nlu changes, and
`make train` trains the Rasa model on what it built (config.yml's `model_dir`):

    python -m encoder.intents --data data/nlu --out models/intent-encoder [--loss cosine]

`--data` is Rasa's YAML (a file or a folder: `- intent:` blocks, entity markup stripped) or a
CSV with `text` and `label` (or `category`, as Banking77 has it). Two-request intents
(`track_order+get_invoice`) are left out: as pairs they would push apart messages that share
half their meaning. Every digit is read as 0, as the classifier reads it
(`bot.nlu.intent_model.encoder_text`). The result is exported by `encoder.export` (the ONNX
graph, tokenizer and agreement check of `make encoder`), with `fine_tuned.json` beside it saying
how it was made; when that record already names the same data, options and base model, nothing
is done. Seeded: the same data, options and seed give the same pairs and the same model on the
same machine.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import random
import re
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from encoder.export import export
from encoder.sentence import MANIFEST_FILE

log = logging.getLogger(__name__)

Loss = Literal["cosine", "mnrl"]
LOSSES: tuple[Loss, ...] = ("cosine", "mnrl")
MULTI_INTENT = "+"
DETAILS_FILE = "fine_tuned.json"
_ENTITY = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Example:
    """One labelled message."""

    text: str
    label: str


@dataclass(frozen=True)
class FineTuneOptions:
    """How the encoder is fine-tuned; the variants measured are in docs/nlu.md.

    `loss`: ``cosine`` is SetFit's (pairs of the same intent towards cosine 1, of different
    intents towards 0); ``mnrl`` ranks each message's same-intent partner above the other
    messages of its batch, every batch holding one pair per intent at most.
    `pairs_per_example`: pairs drawn for each example per epoch (for ``cosine`` half positive,
    half negative, so SetFit's recipe is 2; for ``mnrl`` positives, the negatives coming from
    the batch: 1, as measured).
    """

    loss: Loss = "mnrl"
    pairs_per_example: int = 1
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 2e-5
    warmup_share: float = 0.1
    max_seq_length: int = 64
    seed: int = 20251207
    # One thread: on a busy 2-core machine two torch threads spin-wait for each other, and a
    # step took five times as long as with one (measured while choosing, docs/nlu.md).
    threads: int = 1


def strip_entities(text: str) -> str:
    """Rasa's entity markup ``[kettle](product)`` read as the words the customer typed."""
    return _ENTITY.sub(r"\1", text)


def encoder_text(text: str) -> str:
    """Every digit a 0: what the intent classifier gives the encoder (an order number's shape)."""
    return _DIGIT.sub("0", text)


def read_examples(path: Path) -> list[Example]:
    """Labelled messages from Rasa YAML (a file or the files of a folder) or a text,label CSV."""
    if path.is_dir():
        return [e for file in sorted(path.glob("*.yml")) for e in read_examples(file)]
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            column = next(
                c for c in ("label", "category", "intent") if c in (reader.fieldnames or [])
            )
            return [
                Example(row["text"].strip(), row[column]) for row in reader if row["text"].strip()
            ]
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples = []
    for block in document.get("nlu") or []:
        if "intent" not in block:
            continue  # regexes, lookup tables, synonyms
        for line in str(block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- ") and line[2:].strip():
                examples.append(Example(strip_entities(line[2:].strip()), str(block["intent"])))
    return examples


def training_examples(examples: Sequence[Example]) -> list[Example]:
    """The examples the encoder learns from: single intents, digits as 0, no duplicates."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for example in examples:
        if MULTI_INTENT in example.label:
            continue
        item = Example(encoder_text(example.text), example.label)
        if (item.text, item.label) not in seen:
            seen.add((item.text, item.label))
            kept.append(item)
    return kept


def data_digest(examples: Sequence[Example]) -> str:
    """A short hash of the training examples, recorded in the manifest."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(f"{example.label}\t{example.text}\n".encode())
    return digest.hexdigest()[:16]


def cosine_pairs(
    examples: Sequence[Example], pairs_per_example: int, rng: random.Random
) -> list[tuple[str, str, float]]:
    """SetFit's pairs: for each example, same-intent partners (1.0) and other-intent ones (0.0)."""
    by_label = _by_label(examples)
    labels = sorted(by_label)
    pairs = []
    for _ in range(max(1, pairs_per_example // 2)):
        for example in examples:
            same = by_label[example.label]
            if len(same) > 1:
                partner = example.text
                while partner == example.text:
                    partner = rng.choice(same)
                pairs.append((example.text, partner, 1.0))
            other = example.label
            while other == example.label:
                other = rng.choice(labels)
            pairs.append((example.text, rng.choice(by_label[other]), 0.0))
    rng.shuffle(pairs)
    return pairs


def ranking_batches(
    examples: Sequence[Example], pairs_per_example: int, batch_size: int, rng: random.Random
) -> list[list[tuple[str, str]]]:
    """Anchor-positive pairs in batches with one pair per intent at most.

    In-batch negatives must be of other intents, or the loss pushes apart what it should pull
    together. Intents are drawn in proportion to the pairs they have left, so the big intents
    do not all end up in the last, nearly single-intent batches.
    """
    by_label = _by_label(examples)
    queues: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for _ in range(pairs_per_example):
        for example in examples:
            same = by_label[example.label]
            if len(same) > 1:
                partner = example.text
                while partner == example.text:
                    partner = rng.choice(same)
                queues[example.label].append((example.text, partner))
    for queue in queues.values():
        rng.shuffle(queue)
    batches = []
    while True:
        left = sorted(label for label, queue in queues.items() if queue)
        if len(left) < 2:
            break
        chosen: list[str] = []
        weights = [len(queues[label]) for label in left]
        while left and len(chosen) < batch_size:
            label = rng.choices(left, weights)[0]
            index = left.index(label)
            del left[index], weights[index]
            chosen.append(label)
        batches.append([queues[label].pop() for label in chosen])
    return batches


def _by_label(examples: Sequence[Example]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for example in examples:
        grouped[example.label].append(example.text)
    return dict(grouped)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def fine_tune(
    examples: Sequence[Example], source: Path, target: Path, options: FineTuneOptions
) -> dict[str, Any]:
    """Fine-tune the sentence-transformers model in `source` into `target`; what was done.

    A plain loop over sentence-transformers' own losses: no trainer, no extra packages, and
    every random draw (pairs, batches, dropout, the new weights) comes from `options.seed`.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(options.threads)
    try:
        return _fine_tune(examples, source, target, options)
    finally:
        torch.set_num_threads(threads)


def _fine_tune(
    examples: Sequence[Example], source: Path, target: Path, options: FineTuneOptions
) -> dict[str, Any]:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import losses
    from transformers import get_linear_schedule_with_warmup

    torch.manual_seed(options.seed)
    rng = random.Random(options.seed)  # noqa: S311 - reproducible pairs, not a secret
    model = SentenceTransformer(str(source), device="cpu")
    served_length = model.max_seq_length
    model.max_seq_length = options.max_seq_length
    if options.loss == "cosine":
        loss: torch.nn.Module = losses.CosineSimilarityLoss(model)
        epochs = [
            [
                list(batch)
                for batch in _chunks(
                    cosine_pairs(examples, options.pairs_per_example, rng), options.batch_size
                )
            ]
            for _ in range(options.epochs)
        ]
    else:
        loss = losses.MultipleNegativesRankingLoss(model)
        epochs = [
            [
                list(b)
                for b in ranking_batches(
                    examples, options.pairs_per_example, options.batch_size, rng
                )
            ]
            for _ in range(options.epochs)
        ]
    steps = sum(len(batches) for batches in epochs)
    optimiser = torch.optim.AdamW(model.parameters(), lr=options.learning_rate, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(  # type: ignore[no-untyped-call]
        optimiser, int(steps * options.warmup_share), steps
    )
    started = time.perf_counter()
    model.train()
    step = 0
    for batches in epochs:
        for batch in batches:
            features = [
                model.preprocess([pair[0] for pair in batch]),
                model.preprocess([pair[1] for pair in batch]),
            ]
            if options.loss == "cosine":
                value = loss(
                    features, torch.tensor([pair[2] for pair in batch], dtype=torch.float32)
                )
            else:
                value = loss(features, None)
            value.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            if step % 20 == 0 or step == steps:
                log.info(
                    "step %d/%d, loss %.4f, %.0f s",
                    step,
                    steps,
                    float(value.detach()),
                    time.perf_counter() - started,
                )
    model.eval()
    model.max_seq_length = served_length
    model.save(str(target))
    return {
        "options": asdict(options),
        "examples": len(examples),
        "intents": len({e.label for e in examples}),
        "steps": steps,
        "train_seconds": round(time.perf_counter() - started, 1),
        "data": data_digest(examples),
    }


def current_details(
    out: Path, examples: Sequence[Example], source: Path, options: FineTuneOptions
) -> dict[str, Any] | None:
    """What `out` records, when it was built from these examples, base model and options."""
    try:
        details = json.loads((out / DETAILS_FILE).read_text())
        exported = (out / MANIFEST_FILE).is_file()
    except (OSError, ValueError):
        return None
    same = (
        exported
        and isinstance(details, dict)
        and details.get("data") == data_digest(examples)
        and details.get("base") == model_name(source)
        and details.get("options") == asdict(options)
    )
    return details if same else None


def build(
    data: Path, source: Path, out: Path, options: FineTuneOptions, *, force: bool = False
) -> dict[str, Any]:
    """Read `data`, fine-tune `source` on it, export the result to `out` (checked, swapped in).

    Skipped, returning the existing record, when `out` was built from the same examples, base
    model and options (unless `force`): a fine-tune takes minutes and `make` asks often.
    """
    examples = training_examples(read_examples(data))
    if len({e.label for e in examples}) < 2:
        raise ValueError(f"{data}: fine-tuning needs examples of at least two intents")
    if not force and (details := current_details(out, examples, source, options)) is not None:
        log.info("%s is up to date (data %s)", out, details["data"])
        return details
    work = Path(tempfile.mkdtemp(prefix="finetune-"))
    try:
        # The folder's name is the manifest's `source`: it says this is not the stock model.
        tuned = work / f"{model_name(source)}-intents"
        details = fine_tune(examples, source, tuned, options)
        details["base"] = model_name(source)
        export(tuned, out)
        (out / DETAILS_FILE).write_text(json.dumps(details, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return details


def model_name(source: Path) -> str:
    """The base model's name (its package's, for a package's `model/` folder)."""
    return source.name if source.name != "model" else source.parent.name


def main() -> None:
    """Command line: `python -m encoder.intents --data DATA --out DIR [options]`."""
    from config.settings import Settings

    defaults = FineTuneOptions()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="Rasa YAML file or folder, or CSV")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--source", type=Path, help="MiniLM directory (default: the settings')")
    parser.add_argument("--loss", choices=LOSSES, default=defaults.loss)
    parser.add_argument("--pairs-per-example", type=int, default=defaults.pairs_per_example)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--max-seq-length", type=int, default=defaults.max_seq_length)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument("--force", action="store_true", help="fine-tune even if up to date")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    options = FineTuneOptions(
        loss=args.loss,
        pairs_per_example=args.pairs_per_example,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_seq_length=args.max_seq_length,
        seed=args.seed,
        threads=args.threads,
    )
    details = build(
        args.data, args.source or Settings().model_path, args.out, options, force=args.force
    )
    print(json.dumps(details, indent=2))


if __name__ == "__main__":
    main()
