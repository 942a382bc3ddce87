"""Ticket routing (crm/insights/routing.py): data, both kinds, decisions, saving, loading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from config.contract import STAFF_TEAMS
from config.settings import ROOT, Settings
from crm.insights.routing import (
    FALLBACK_TEAM,
    MANIFEST_FILE,
    WEIGHTS_FILE,
    Example,
    FineTuneOptions,
    RoutingModelError,
    TeamRouter,
    choose_threshold,
    data_hash,
    decide,
    load_router,
    read_examples,
    save_router,
    scores,
    train_router,
)
from encoder.embedding import OnnxEmbedder

TRAIN = ROOT / "data" / "routing" / "train.csv"
TEST = ROOT / "data" / "routing" / "test.csv"


@pytest.fixture(scope="module")
def onnx() -> OnnxEmbedder:
    return OnnxEmbedder(Settings().encoder_dir)


@pytest.fixture(scope="module")
def router(onnx: OnnxEmbedder) -> TeamRouter:
    """The logistic regression on the whole training file (a few seconds)."""
    return train_router("lr", read_examples(TRAIN), embedder=onnx).router


def _tiny(per_team: int) -> list[Example]:
    examples = read_examples(TRAIN)
    return [e for team in STAFF_TEAMS for e in [x for x in examples if x.team == team][:per_team]]


# --- the data set ----------------------------------------------------------------------------


def test_the_data_set_covers_every_team_in_both_files() -> None:
    for path, least in ((TRAIN, 90), (TEST, 30)):
        examples = read_examples(path)
        for team in STAFF_TEAMS:
            assert sum(e.team == team for e in examples) >= least, (path.name, team)
        texts = [e.text.lower() for e in examples]
        assert len(set(texts)) == len(texts), f"{path.name} repeats a message"


@pytest.mark.slow  # encodes both files (seconds); matters when the data changes
def test_no_test_message_is_a_near_duplicate_of_a_training_one(onnx: OnnxEmbedder) -> None:
    train, test = read_examples(TRAIN), read_examples(TEST)
    similarity = onnx.encode([e.text for e in test]) @ onnx.encode([e.text for e in train]).T
    worst = np.unravel_index(int(np.argmax(similarity)), similarity.shape)
    assert similarity.max() < 0.78, (test[worst[0]].text, train[worst[1]].text)


def test_a_bad_row_is_an_error_not_skipped(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("text,team\nwhere is my parcel,shipping\nmy invoice,sales\n")
    with pytest.raises(ValueError, match=r"bad.csv:3"):
        read_examples(path)


# --- decisions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "team"),
    [
        ("I was charged twice for my order", "billing"),
        ("you took the payment two times, I want one refunded", "billing"),
        ("my parcel still hasn't turned up, the tracking hasn't moved since Monday", "shipping"),
        ("the courier left my sofa in the street", "shipping"),
        ("I can't sign in, the password reset email never comes", "account"),
        ("please delete my account and everything you hold about me", "account"),
        ("the basket page shows an error and I can't pay", "technical"),
        ("what are the dimensions of the oak bookcase", "general"),
    ],
)
def test_obvious_messages_reach_their_team(router: TeamRouter, text: str, team: str) -> None:
    routing = router.route(text)
    assert routing.team == team, routing
    assert 0 < routing.confidence <= 1


def test_below_the_threshold_a_message_goes_to_general(router: TeamRouter) -> None:
    routing = router.route("I was charged twice for my order")
    assert routing.team == "billing"
    doubtful = TeamRouter(router.model, threshold=routing.confidence + 0.01, manifest={})
    again = doubtful.route("I was charged twice for my order")
    assert (again.team, again.predicted) == (FALLBACK_TEAM, "billing")
    assert again.confidence == pytest.approx(routing.confidence)


def test_decide_uses_the_threshold() -> None:
    teams = ("account", "billing", "general", "shipping", "technical")
    rows = np.array([[0.1, 0.6, 0.1, 0.1, 0.1], [0.3, 0.35, 0.05, 0.2, 0.1]])
    assert [r.team for r in decide(rows, teams, 0.5)] == ["billing", "general"]
    assert [r.predicted for r in decide(rows, teams, 0.5)] == ["billing", "billing"]
    assert [r.team for r in decide(rows, teams, 0.3)] == ["billing", "billing"]


def test_the_threshold_is_the_best_on_held_out_examples_and_the_higher_on_a_tie() -> None:
    teams = ("billing", "general")
    # A doubtful billing guess that is really general: any threshold above 0.55 gets it right,
    # the sure one stays billing below 0.9; so 0.6 .. 0.9 tie, and the highest is chosen.
    rows = np.array([[0.55, 0.45], [0.95, 0.05]])
    assert choose_threshold(rows, teams, ["general", "billing"]) == 0.9
    # When every guess is right, nothing is gained by a threshold above the lowest confidence.
    assert choose_threshold(rows, teams, ["billing", "billing"]) == 0.55


def test_scores_count_each_team() -> None:
    result = scores(["billing", "billing", "shipping"], ["billing", "shipping", "shipping"])
    assert result.accuracy == pytest.approx(2 / 3)
    assert result.team_f1["billing"] == pytest.approx(2 / 3)
    assert result.team_f1["shipping"] == pytest.approx(2 / 3)
    assert result.team_f1["account"] == 0.0
    assert result.macro_f1 == pytest.approx((2 / 3 + 2 / 3) / len(STAFF_TEAMS))


def test_a_bare_request_for_a_person_takes_the_team_of_the_words_before(
    router: TeamRouter,
) -> None:
    said = ["hi", "my parcel never came, the tracking says delivered", "I want to talk to a person"]
    assert router.route_conversation(said).team == "shipping"
    assert router.route_conversation(["I was charged twice", "a human please"]).team == "billing"


def test_with_nothing_to_go_on_a_conversation_goes_to_general(router: TeamRouter) -> None:
    assert router.route_conversation(["I want to talk to a person"]).team == "general"
    assert router.route_conversation([]).team == "general"
    assert router.route_conversation(["", "   "]).team == "general"
    assert router.route("").team == "general"


def test_the_newest_topic_decides(router: TeamRouter) -> None:
    said = ["I can't log in to my account", "sorted that, but I was charged twice for my order"]
    assert router.route_conversation(said).team == "billing"


# --- saving and loading ----------------------------------------------------------------------


def test_an_lr_router_survives_saving_and_loading(
    router: TeamRouter, onnx: OnnxEmbedder, tmp_path: Path
) -> None:
    save_router(router, tmp_path / "routing")
    loaded = load_router(tmp_path / "routing", embedder=onnx)
    manifest = json.loads((tmp_path / "routing" / MANIFEST_FILE).read_text())
    assert manifest["kind"] == loaded.kind == "lr"
    assert manifest["teams"] == sorted(STAFF_TEAMS)
    assert manifest["data"]["sha256"] == data_hash(read_examples(TRAIN))
    assert manifest["data"]["rows"] == len(read_examples(TRAIN))
    assert 0.0 <= manifest["threshold"] < 1.0 and loaded.threshold == router.threshold
    assert set(manifest["metrics"]["validation"]) == {"accuracy", "macro_f1"}
    texts = ["I was charged twice", "where is my sofa", "reset my password"]
    np.testing.assert_allclose(
        loaded.model.probabilities(texts), router.model.probabilities(texts), rtol=1e-9
    )
    # Nothing pickled: the weights are plain arrays.
    with np.load(tmp_path / "routing" / WEIGHTS_FILE, allow_pickle=False) as weights:
        assert set(weights.files) == {"coef", "intercept"}


def test_saving_again_replaces_the_model_whole(router: TeamRouter, tmp_path: Path) -> None:
    target = tmp_path / "routing"
    save_router(router, target)
    (target / "stale.txt").write_text("from the old model")
    save_router(router, target)
    assert sorted(p.name for p in target.iterdir()) == [MANIFEST_FILE, WEIGHTS_FILE]
    assert [p.name for p in tmp_path.iterdir()] == ["routing"]


def test_a_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RoutingModelError, match=r"no routing model.*routing-train"):
        load_router(tmp_path / "nowhere", encoder_dir=Settings().encoder_dir)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / MANIFEST_FILE).write_text("{not json"),
        lambda d: (d / WEIGHTS_FILE).write_bytes((d / WEIGHTS_FILE).read_bytes()[:200]),
        lambda d: (d / WEIGHTS_FILE).unlink(),
        lambda d: _edit_manifest(d, kind="forest"),
        lambda d: _edit_manifest(d, encoder="another-model"),
        lambda d: _edit_manifest(d, teams=["general", "billing", "sales"]),
        lambda d: _edit_manifest(d, format=99),
    ],
    ids=["bad json", "truncated", "no weights", "kind", "encoder", "teams", "format"],
)
def test_a_damaged_model_is_a_clear_error(
    router: TeamRouter, onnx: OnnxEmbedder, tmp_path: Path, damage
) -> None:
    target = tmp_path / "routing"
    save_router(router, target)
    damage(target)
    with pytest.raises(RoutingModelError, match=r"routing model in .*routing-train"):
        load_router(target, embedder=onnx)


def _edit_manifest(directory: Path, **changes: object) -> None:
    manifest = json.loads((directory / MANIFEST_FILE).read_text())
    manifest.update(changes)
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest))


@pytest.mark.slow  # trains a router again from the command line (seconds)
def test_the_cli_trains_and_saves_a_router(tmp_path: Path) -> None:
    from crm.__main__ import main

    out = tmp_path / "out"
    assert (
        main(["routing-train", "--kind", "lr", "--data", str(TRAIN), "--model-out", str(out)]) == 0
    )
    assert load_router(out, encoder_dir=Settings().encoder_dir).kind == "lr"


# --- fine-tuning -----------------------------------------------------------------------------


@pytest.mark.slow  # fine-tunes MiniLM for an epoch
def test_a_fine_tuned_router_learns_and_survives_saving_and_loading(tmp_path: Path) -> None:
    """One epoch on 40 examples, 32 tokens: a smoke test of the whole path, not of quality."""
    import torch

    torch.set_num_threads(2)
    trained = train_router(
        "finetune",
        _tiny(8),
        base_model=Settings().model_path,
        options=FineTuneOptions(epochs=1, max_length=32, batch_size=8),
    )
    router = trained.router
    assert router.kind == "finetune" and router.manifest["max_length"] == 32
    assert router.manifest["data"]["rows"] == 40
    texts = ["I was charged twice", "where is my parcel"]
    before = router.model.probabilities(texts)
    assert before.shape == (2, len(STAFF_TEAMS))
    np.testing.assert_allclose(before.sum(axis=1), 1.0)
    save_router(router, tmp_path / "routing")
    assert (tmp_path / "routing" / "encoder" / "model.safetensors").is_file()
    loaded = load_router(tmp_path / "routing")
    np.testing.assert_allclose(loaded.model.probabilities(texts), before, atol=1e-5)
    (tmp_path / "routing" / "head.safetensors").write_bytes(b"not a tensor file")
    with pytest.raises(RoutingModelError, match="damaged"):
        load_router(tmp_path / "routing")
