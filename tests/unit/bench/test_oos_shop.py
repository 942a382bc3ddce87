"""The shop's out-of-scope bench: which readings it counts as tasks and what each detector turns."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.oos_shop import CLINC, apply, clinc_messages, is_task, nearest_by_label


def test_a_task_is_one_of_the_27_or_a_two_request_reading_that_starts_with_one() -> None:
    assert is_task("track_order")
    assert is_task("track_order+get_invoice")
    assert not is_task("out_of_scope")
    assert not is_task("nlu_fallback")
    assert not is_task("ask_question")


def test_clinc_is_read_from_its_train_and_val_splits_only(tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text("what is the weather\n\nwho won the match\n")
    (tmp_path / "val.txt").write_text("book me a flight\n")
    (tmp_path / "test.txt").write_text("must never be read\n")
    assert clinc_messages(tmp_path) == [
        "what is the weather",
        "who won the match",
        "book me a flight",
    ]


def test_the_shared_clinc_folder_has_its_two_hundred_utterances() -> None:
    if not CLINC.is_dir():  # the shared data sets live outside the repository
        return
    assert len(clinc_messages()) == 200


def unit(*rows: list[float]) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float64)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_the_nearest_example_of_each_label_is_its_cosine() -> None:
    train = unit([1, 0], [0.8, 0.6], [0, 1])
    names, nearest = nearest_by_label(unit([1, 0]), train, ["a", "a", "b"])
    assert names == ["a", "b"]
    assert nearest[0].tolist() == [1.0, 0.0]


NAMES = ["out_of_scope", "track_order"]
NEAREST = np.array([[0.9, 0.5], [0.2, 0.8], [0.9, 0.5]])
DECIDED = ["track_order", "track_order", "greet"]
OOS_PROBABILITY = np.array([0.25, 0.05, 0.9])


def test_only_task_readings_are_turned_into_out_of_scope() -> None:
    for detector, value in (("task-distance", 0.6), ("oos-closer", 0.1), ("oos-prob", 0.2)):
        assert apply(DECIDED, NAMES, NEAREST, detector, value, OOS_PROBABILITY) == [
            "out_of_scope",
            "track_order",
            "greet",
        ]


def test_a_detector_at_its_loosest_changes_nothing() -> None:
    assert apply(DECIDED, NAMES, NEAREST, "task-distance", 0.0, OOS_PROBABILITY) == DECIDED
    assert apply(DECIDED, NAMES, NEAREST, "oos-closer", 1.0, OOS_PROBABILITY) == DECIDED
    assert apply(DECIDED, NAMES, NEAREST, "oos-prob", 1.0, OOS_PROBABILITY) == DECIDED
