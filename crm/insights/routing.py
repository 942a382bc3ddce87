"""Ticket routing: which support team (``STAFF_TEAMS``) a customer's words belong to.

Two kinds of classifier are trained on ``data/routing/train.csv`` and compared on
``data/routing/test.csv`` by ``python -m bench.routing`` (docs/crm.md, "Ticket routing"):

* ``lr``: a logistic regression on the MiniLM sentence vectors of the ONNX encoder
  (``models/encoder``), the vectors the knowledge base already computes. Saved as
  ``weights.npz`` (coefficients and intercepts, loaded with ``allow_pickle=False``).
* ``finetune``: the packaged MiniLM itself, fine-tuned end to end on CPU with a linear head on
  its mean-pooled tokens (the pooling it was trained with). Saved with ``save_pretrained``
  (safetensors) plus ``head.safetensors``.

Both learn on 80% of the training file; the other 20% (stratified, seeded) picks the
confidence threshold below which a message goes to ``general``, the team that takes anything.
So the threshold is never tuned on the test file. A model directory holds a JSON manifest
(kind, teams, threshold, metrics, the training data's hash); a missing or damaged directory
raises :class:`RoutingModelError` when it is loaded, i.e. at the action server's start.
No Rasa imports.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from config.contract import GENERAL_TEAM, STAFF_TEAMS
from crm.records.models import utcnow

if TYPE_CHECKING:
    from encoder.embedding import Embedder

log = logging.getLogger(__name__)

Kind = Literal["lr", "finetune"]
KINDS: Final[tuple[Kind, ...]] = ("lr", "finetune")
# The kind `python -m crm routing-train` trains by default: the measured winner (docs/crm.md).
DEFAULT_KIND: Final[Kind] = "lr"
FALLBACK_TEAM: Final = GENERAL_TEAM
MANIFEST_FILE: Final = "manifest.json"
WEIGHTS_FILE: Final = "weights.npz"
ENCODER_DIR: Final = "encoder"
HEAD_FILE: Final = "head.safetensors"
FORMAT: Final = 1
VALIDATION_SHARE: Final = 0.2
THRESHOLDS: Final = tuple(round(0.05 * step, 2) for step in range(19))  # 0.00 .. 0.90
DEFAULT_SEED: Final = 20251125

Probabilities = NDArray[np.float64]


class RoutingModelError(RuntimeError):
    """The routing model directory is missing, incomplete or damaged: train it again."""


@dataclass(frozen=True)
class Routing:
    """Where a text goes: ``team``, and the classifier's probability for its top team.

    ``predicted`` is that top team; it differs from ``team`` when the confidence was below the
    threshold and the text went to ``general`` instead.
    """

    team: str
    confidence: float
    predicted: str


@dataclass(frozen=True)
class Example:
    """One labelled message of the routing data set."""

    text: str
    team: str


@dataclass(frozen=True)
class FineTuneOptions:
    """How the transformer is fine-tuned; the defaults keep it near a minute on 2 idle cores.

    8 epochs at 1e-4 were chosen on the validation split (macro-F1 0.878, against 0.868 for
    6 epochs at 8e-5 and 0.858 for 8 at 1.5e-4); never on the test file.
    """

    epochs: int = 8
    batch_size: int = 16
    max_length: int = 48
    learning_rate: float = 1e-4
    head_learning_rate: float = 2e-3
    threads: int = 2


class Classifier(Protocol):
    """A trained model: one probability per team (in ``teams`` order) for each text."""

    teams: tuple[str, ...]

    def probabilities(self, texts: Sequence[str]) -> Probabilities:
        """A (len(texts), len(teams)) array whose rows sum to 1."""
        ...


# --- data ------------------------------------------------------------------------------------


def read_examples(path: Path) -> list[Example]:
    """Read a ``text,team`` CSV; an unknown team or an empty text is an error, not skipped."""
    examples: list[Example] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            text, team = (row.get("text") or "").strip(), (row.get("team") or "").strip()
            if not text or team not in STAFF_TEAMS:
                raise ValueError(f"{path}:{line}: needs a text and one of {', '.join(STAFF_TEAMS)}")
            examples.append(Example(text, team))
    return examples


def data_hash(examples: Sequence[Example]) -> str:
    """A short hash of the data a model learnt from, recorded in its manifest."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(f"{example.team}\t{example.text}\n".encode())
    return digest.hexdigest()[:16]


def split_validation(
    examples: Sequence[Example], *, share: float = VALIDATION_SHARE, seed: int = DEFAULT_SEED
) -> tuple[list[Example], list[Example]]:
    """(learn, validation): ``share`` of each team held out, chosen with ``seed``."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible split, not a secret
    learn: list[Example] = []
    validation: list[Example] = []
    for team in STAFF_TEAMS:
        group = [e for e in examples if e.team == team]
        rng.shuffle(group)
        held = round(len(group) * share)
        validation += group[:held]
        learn += group[held:]
    return learn, validation


# --- metrics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    """Accuracy, macro-F1 and each team's F1 of predicted against true teams."""

    accuracy: float
    macro_f1: float
    team_f1: dict[str, float]


def scores(truth: Sequence[str], predicted: Sequence[str]) -> Scores:
    """Compare two equally long lists of teams; a team absent from both counts as F1 = 0."""
    if len(truth) != len(predicted) or not truth:
        raise ValueError("need two non-empty lists of the same length")
    team_f1: dict[str, float] = {}
    for team in STAFF_TEAMS:
        hits = sum(t == p == team for t, p in zip(truth, predicted, strict=True))
        said = sum(p == team for p in predicted)
        real = sum(t == team for t in truth)
        team_f1[team] = 2 * hits / (said + real) if said + real else 0.0
    accuracy = sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth)
    return Scores(accuracy, sum(team_f1.values()) / len(team_f1), team_f1)


def decide(probabilities: Probabilities, teams: Sequence[str], threshold: float) -> list[Routing]:
    """The team of each row: the most probable one, or ``general`` below ``threshold``."""
    routings = []
    for row in probabilities:
        best = int(np.argmax(row))
        confidence = float(row[best])
        team = teams[best] if confidence >= threshold else FALLBACK_TEAM
        routings.append(Routing(team, confidence, teams[best]))
    return routings


def choose_threshold(
    probabilities: Probabilities, teams: Sequence[str], truth: Sequence[str]
) -> float:
    """The threshold in :data:`THRESHOLDS` with the best macro-F1 on held-out examples.

    On a tie the higher one wins: sending a doubtful case to ``general`` (which takes anything)
    costs less than sending it to the wrong specialists, who must pass it on.
    """
    best, best_f1 = 0.0, -1.0
    for threshold in THRESHOLDS:
        predicted = [r.team for r in decide(probabilities, teams, threshold)]
        f1 = scores(truth, predicted).macro_f1
        if f1 >= best_f1 - 1e-12:
            best, best_f1 = threshold, f1
    return best


# --- logistic regression on sentence vectors -------------------------------------------------


class LogisticModel:
    """Softmax over ``vector @ coef.T + intercept``: the fitted scikit-learn model, unpickled."""

    def __init__(
        self,
        embedder: Embedder,
        teams: Sequence[str],
        coef: NDArray[np.float64],
        intercept: NDArray[np.float64],
    ) -> None:
        if coef.shape != (len(teams), embedder.dimension) or intercept.shape != (len(teams),):
            raise RoutingModelError(
                f"routing weights of shape {coef.shape} do not fit {len(teams)} teams and "
                f"{embedder.dimension}-dimensional vectors"
            )
        self.teams = tuple(teams)
        self._embedder = embedder
        self._coef = coef
        self._intercept = intercept

    def probabilities(self, texts: Sequence[str]) -> Probabilities:
        """Embed the texts once, as a batch, and apply the regression."""
        vectors = self._embedder.encode(list(texts)).astype(np.float64)
        return _softmax(vectors @ self._coef.T + self._intercept)

    def save(self, directory: Path) -> None:
        """Coefficients and intercepts as plain arrays (no pickle)."""
        np.savez(directory / WEIGHTS_FILE, coef=self._coef, intercept=self._intercept)


def train_logistic(
    examples: Sequence[Example], embedder: Embedder, *, seed: int = DEFAULT_SEED, c: float = 10.0
) -> LogisticModel:
    """Fit the regression on the examples' sentence vectors (multinomial, L2, ``C=c``).

    The vectors are unit length, so a weak penalty (a large ``C``) is needed for the
    probabilities to reach useful confidence: on the validation split macro-F1 was 0.835 at
    ``C=1``, 0.845 at 3 and 0.868 at 10, 30 and 100.
    """
    from sklearn.linear_model import LogisticRegression

    vectors = embedder.encode([e.text for e in examples]).astype(np.float64)
    model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    model.fit(vectors, [e.team for e in examples])
    teams = [str(team) for team in model.classes_]
    return LogisticModel(embedder, teams, model.coef_, model.intercept_)


# --- fine-tuned MiniLM -----------------------------------------------------------------------


class FineTunedModel:
    """MiniLM with a linear head on its mean-pooled tokens, run with torch on the CPU."""

    def __init__(
        self, encoder: Any, tokenizer: Any, head: Any, teams: Sequence[str], max_length: int
    ) -> None:
        self.teams = tuple(teams)
        self._encoder = encoder.eval()
        self._tokenizer = tokenizer
        self._head = head.eval()
        self._max_length = max_length

    def logits(self, texts: Sequence[str]) -> Any:
        """The head's scores for a batch, as a torch tensor (with gradients when training)."""
        batch = self._tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self._max_length,
            return_tensors="pt",
        )
        hidden = self._encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return self._head(pooled)

    def probabilities(self, texts: Sequence[str]) -> Probabilities:
        """Softmax of the head's scores, without gradients."""
        import torch

        with torch.inference_mode():
            logits = self.logits(texts)
        return _softmax(logits.double().numpy())

    def train_mode(self) -> tuple[Any, Any]:
        """Switch to training; returns (encoder, head) for the optimiser."""
        return self._encoder.train(), self._head.train()

    def eval_mode(self) -> None:
        """Back to inference (dropout off)."""
        self._encoder.eval()
        self._head.eval()

    def save(self, directory: Path) -> None:
        """The encoder and tokenizer through ``save_pretrained``, the head as safetensors."""
        from safetensors.torch import save_file

        self._encoder.save_pretrained(directory / ENCODER_DIR, safe_serialization=True)
        self._tokenizer.save_pretrained(directory / ENCODER_DIR)
        save_file(
            {name: t.contiguous() for name, t in self._head.state_dict().items()},
            str(directory / HEAD_FILE),
        )


def train_finetune(
    examples: Sequence[Example],
    base_model: Path,
    *,
    seed: int = DEFAULT_SEED,
    options: FineTuneOptions | None = None,
) -> FineTunedModel:
    """Fine-tune the local MiniLM (a sentence-transformers folder) on the examples, seeded.

    AdamW with a linear decay, a larger learning rate for the new head than for the
    pretrained encoder. Offline: the model and tokenizer come from ``base_model`` only.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

    options = options or FineTuneOptions()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    threads = torch.get_num_threads()
    torch.set_num_threads(options.threads)
    try:
        torch.manual_seed(seed)
        rng = random.Random(seed)  # noqa: S311 - reproducible shuffling, not a secret
        teams = sorted({e.team for e in examples})
        encoder = AutoModel.from_pretrained(str(base_model), local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(str(base_model), local_files_only=True)
        head = torch.nn.Linear(encoder.config.hidden_size, len(teams))
        model = FineTunedModel(encoder, tokenizer, head, teams, options.max_length)
        optimiser = torch.optim.AdamW(
            [
                {"params": encoder.parameters(), "lr": options.learning_rate},
                {"params": head.parameters(), "lr": options.head_learning_rate},
            ],
            weight_decay=0.01,
        )
        order = list(examples)
        steps = options.epochs * -(-len(order) // options.batch_size)
        warmup = max(1, steps // 10)
        schedule = get_linear_schedule_with_warmup(optimiser, warmup, steps)  # type: ignore[no-untyped-call]
        index = {team: i for i, team in enumerate(teams)}
        model.train_mode()
        for _ in range(options.epochs):
            rng.shuffle(order)
            for start in range(0, len(order), options.batch_size):
                batch = order[start : start + options.batch_size]
                labels = torch.tensor([index[e.team] for e in batch])
                loss = torch.nn.functional.cross_entropy(
                    model.logits([e.text for e in batch]), labels
                )
                loss.backward()  # type: ignore[no-untyped-call]
                optimiser.step()
                schedule.step()
                optimiser.zero_grad()
        model.eval_mode()
        return model
    finally:
        torch.set_num_threads(threads)


def _load_finetune(directory: Path, teams: Sequence[str], max_length: int) -> FineTunedModel:
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    encoder = AutoModel.from_pretrained(str(directory / ENCODER_DIR), local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(directory / ENCODER_DIR), local_files_only=True)
    head = torch.nn.Linear(encoder.config.hidden_size, len(teams))
    head.load_state_dict(load_file(str(directory / HEAD_FILE)))
    return FineTunedModel(encoder, tokenizer, head, teams, max_length)


# --- the router ------------------------------------------------------------------------------


class TeamRouter:
    """Routes a customer's words to a team; thread-safe for reading once built."""

    def __init__(self, model: Classifier, *, threshold: float, manifest: dict[str, Any]) -> None:
        unknown = set(model.teams) - set(STAFF_TEAMS)
        if unknown or FALLBACK_TEAM not in model.teams:
            raise RoutingModelError(f"the routing model's teams {model.teams} are not ours")
        self.model = model
        self.threshold = threshold
        self.manifest = manifest

    @property
    def kind(self) -> str:
        """``lr`` or ``finetune``, from the manifest."""
        return str(self.manifest.get("kind", "?"))

    def route(self, text: str) -> Routing:
        """The team of one message; an empty one goes to ``general`` with no confidence."""
        if not text.strip():
            return Routing(FALLBACK_TEAM, 0.0, FALLBACK_TEAM)
        return self.route_many([text])[0]

    def route_many(self, texts: Sequence[str]) -> list[Routing]:
        """Route several messages in one batch (one model call)."""
        if not texts:
            return []
        return decide(self.model.probabilities(texts), self.model.teams, self.threshold)

    def team_for(self, said: Sequence[str]) -> str:
        """The team of `route_conversation`, logged with the model's confidence.

        The log never holds the customer's words.
        """
        routing = self.route_conversation(said)
        log.info(
            "routed to %s (%s model: %s at %.2f, threshold %.2f)",
            routing.team,
            self.kind,
            routing.predicted,
            routing.confidence,
            self.threshold,
        )
        return routing.team

    def route_conversation(self, said: Sequence[str]) -> Routing:
        """The team of a conversation from the customer's recent messages, oldest first.

        The newest message a specialist team confidently owns decides. ``general`` is what is
        left: "a person, please" on its own says nothing about the topic, so the words before
        it count; with nothing a specialist owns, the conversation goes to ``general``.
        """
        texts = [text for text in said if text.strip()]
        routings = self.route_many(texts)
        for routing in reversed(routings):
            if routing.team != FALLBACK_TEAM:
                return routing
        if routings:
            return routings[-1]
        return Routing(FALLBACK_TEAM, 0.0, FALLBACK_TEAM)


def _softmax(scores: NDArray[np.float64]) -> Probabilities:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    result: Probabilities = shifted / shifted.sum(axis=1, keepdims=True)
    return result


# --- training, saving and loading ------------------------------------------------------------


@dataclass(frozen=True)
class Trained:
    """A trained router and what it cost: training seconds (fit plus threshold choice)."""

    router: TeamRouter
    seconds: float


def train_router(
    kind: Kind,
    examples: Sequence[Example],
    *,
    embedder: Embedder | None = None,
    base_model: Path | None = None,
    seed: int = DEFAULT_SEED,
    options: FineTuneOptions | None = None,
) -> Trained:
    """Learn on 80% of ``examples``, choose the threshold on the other 20%.

    ``lr`` needs the ``embedder`` (the ONNX encoder), ``finetune`` the ``base_model`` folder.
    """
    learn, validation = split_validation(examples, seed=seed)
    if not learn or not validation:
        raise ValueError("too few examples to hold some out for the threshold")
    started = time.perf_counter()
    model: LogisticModel | FineTunedModel
    details: dict[str, Any]
    if kind == "lr":
        if embedder is None:
            raise ValueError("the lr router needs an embedder")
        model = train_logistic(learn, embedder, seed=seed)
        details = {"encoder": embedder.name, "dimension": embedder.dimension}
    elif kind == "finetune":
        if base_model is None:
            raise ValueError("the finetune router needs the base model's folder")
        options = options or FineTuneOptions()
        model = train_finetune(learn, base_model, seed=seed, options=options)
        details = {"base_model": base_model.parent.name, **options.__dict__}
    else:
        raise ValueError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    probabilities = model.probabilities([e.text for e in validation])
    truth = [e.team for e in validation]
    threshold = choose_threshold(probabilities, model.teams, truth)
    seconds = time.perf_counter() - started
    predicted = [r.team for r in decide(probabilities, model.teams, threshold)]
    validated = scores(truth, predicted)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "kind": kind,
        "teams": list(model.teams),
        "threshold": threshold,
        "seed": seed,
        "data": {
            "sha256": data_hash(examples),
            "rows": len(examples),
            "learn_rows": len(learn),
            "validation_rows": len(validation),
        },
        "metrics": {"validation": {"accuracy": validated.accuracy, "macro_f1": validated.macro_f1}},
        "training_seconds": round(seconds, 2),
        "trained_at": utcnow().isoformat(),
        **details,
    }
    return Trained(TeamRouter(model, threshold=threshold, manifest=manifest), seconds)


def save_router(router: TeamRouter, directory: Path) -> None:
    """Write the model and its manifest beside ``directory`` and swap it in whole.

    A reader never sees half a model: the old directory is replaced only after the new one is
    complete (rename, then delete the old one).
    """
    if not isinstance(router.model, LogisticModel | FineTunedModel):
        raise TypeError("only routers trained here can be saved")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        staging.chmod(0o755)  # mkdtemp's 0700 would hide the model from a service account
        router.model.save(staging)
        (staging / MANIFEST_FILE).write_text(json.dumps(router.manifest, indent=2) + "\n")
        old = directory.with_name(f".{directory.name}-old")
        if old.exists():
            shutil.rmtree(old)
        if directory.exists():
            directory.rename(old)
        staging.rename(directory)
        if old.exists():
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def load_router(
    directory: Path,
    *,
    embedder: Embedder | None = None,
    encoder_dir: Path | None = None,
) -> TeamRouter:
    """Load a saved router; raises :class:`RoutingModelError` if it is missing or damaged.

    An ``lr`` router embeds with ``embedder`` (shared with the knowledge base) or, if none is
    given, with the ONNX encoder in ``encoder_dir``; it must be the model it was trained with.
    """
    hint = "train it with `python -m crm routing-train`"
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.is_file():
        raise RoutingModelError(f"no routing model in {directory}: {hint}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        kind, teams = manifest["kind"], tuple(str(t) for t in manifest["teams"])
        threshold = float(manifest["threshold"])
        if manifest.get("format") != FORMAT:
            raise RoutingModelError(f"routing model format {manifest.get('format')} unknown")
        model: Classifier
        if kind == "lr":
            model = _load_logistic(directory, teams, manifest, embedder, encoder_dir)
        elif kind == "finetune":
            model = _load_finetune(directory, teams, int(manifest["max_length"]))
        else:
            raise RoutingModelError(f"unknown routing model kind {kind!r}")
    except RoutingModelError as exc:
        raise RoutingModelError(f"routing model in {directory} unusable: {exc}; {hint}") from exc
    except Exception as exc:  # any damage: bad JSON, missing keys or files, truncated weights
        raise RoutingModelError(
            f"routing model in {directory} is damaged ({type(exc).__name__}: {exc}); {hint}"
        ) from exc
    return TeamRouter(model, threshold=threshold, manifest=manifest)


def _load_logistic(
    directory: Path,
    teams: Sequence[str],
    manifest: dict[str, Any],
    embedder: Embedder | None,
    encoder_dir: Path | None,
) -> LogisticModel:
    if embedder is None:
        if encoder_dir is None:
            raise RoutingModelError("an lr routing model needs the sentence encoder")
        from encoder.embedding import OnnxEmbedder

        embedder = OnnxEmbedder(encoder_dir)
    if embedder.name != manifest["encoder"]:
        raise RoutingModelError(
            f"trained on vectors of {manifest['encoder']}, but the encoder is {embedder.name}"
        )
    with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as weights:
        coef = np.asarray(weights["coef"], dtype=np.float64)
        intercept = np.asarray(weights["intercept"], dtype=np.float64)
    return LogisticModel(embedder, teams, coef, intercept)


def train_and_save(
    kind: Kind,
    data: Path,
    model_out: Path,
    *,
    encoder_dir: Path,
    base_model: Path,
    test: Path | None = None,
    seed: int = DEFAULT_SEED,
) -> TeamRouter:
    """``python -m crm routing-train``: train ``kind`` on the CSV ``data``, save in ``model_out``.

    It learns on 80% of the file and picks its threshold on the rest (:func:`train_router`);
    with a ``test`` file, the manifest also records how it does there.
    """
    examples = read_examples(data)
    embedder = None
    if kind == "lr":
        from encoder.embedding import OnnxEmbedder

        embedder = OnnxEmbedder(encoder_dir)
    trained = train_router(kind, examples, embedder=embedder, base_model=base_model, seed=seed)
    if test is not None:
        held = read_examples(test)
        routed = trained.router.route_many([e.text for e in held])
        result = scores([e.team for e in held], [r.team for r in routed])
        trained.router.manifest["metrics"]["test"] = {
            "rows": len(held),
            "sha256": data_hash(held),
            "accuracy": result.accuracy,
            "macro_f1": result.macro_f1,
            "team_f1": result.team_f1,
        }
    save_router(trained.router, model_out)
    return trained.router
