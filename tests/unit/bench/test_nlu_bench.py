"""The NLU benchmark's data reading and scoring (`make bench-nlu` runs the Rasa training)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.nlu import (
    Example,
    Parsed,
    holdout_labels,
    in_scope_report,
    latency_report,
    markdown,
    out_of_scope_report,
    read_examples,
    with_encoder,
    write_rasa_yaml,
)


def _parsed(label: str, top: str, confidence: float) -> Parsed:
    return Parsed(label=label, top=top, confidence=confidence)


def test_a_csv_needs_text_and_a_label_column(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text('text,category\n"hi, there",greet\n  ,greet\nbye,goodbye\n')
    assert read_examples(good) == [Example("hi, there", "greet"), Example("bye", "goodbye")]
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,label\nhi,greet\n")
    with pytest.raises(SystemExit, match="text"):
        read_examples(bad)


def test_held_out_intents_are_fixed_by_the_seed() -> None:
    examples = [Example(str(i), f"intent{i % 20}") for i in range(100)]
    first = holdout_labels(examples, 5, seed=7)
    assert len(first) == 5 and first == holdout_labels(examples, 5, seed=7)
    assert first != holdout_labels(examples, 5, seed=8)
    assert holdout_labels(examples, 0, seed=7) == set()


def test_brackets_in_texts_do_not_become_entities(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    write_rasa_yaml([Example("card [visa](bank) stuck", "card"), Example("hi", "greet")], path)
    text = path.read_text()
    assert "[" not in text and "- card (visa)(bank) stuck" in text
    assert "  - intent: greet" in text


def test_scores_count_the_fallback_both_ways() -> None:
    test = [Example("a", "x"), Example("b", "x"), Example("c", "y"), Example("d", "y")]
    parsed = [
        _parsed("x", "x", 0.9),
        _parsed("nlu_fallback", "x", 0.2),
        _parsed("x", "x", 0.8),  # a y read as x
        _parsed("y", "y", 0.95),
    ]
    report = in_scope_report(test, parsed)
    assert report["accuracy"] == 0.75
    assert report["accuracy_fallback_wrong"] == 0.5
    assert report["fallback_rate"] == 0.25
    assert report["confusions"] == [(("y", "x"), 1)]
    assert report["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)


def test_latency_is_the_median_of_the_passes_with_their_spread() -> None:
    passes = [[5.0, 7.0, 9.0, 30.0], [4.0, 6.0, 8.0, 20.0], [6.0, 8.0, 10.0, 40.0]]
    report = latency_report(passes)
    assert report["p50_ms"] == [8.0, 7.0, 9.0]
    assert report["p95_ms"] == [30.0, 20.0, 40.0]


def test_out_of_scope_recall_and_in_scope_accuracy_trade_off() -> None:
    test = [Example("a", "x"), Example("b", "x"), Example("c", "new"), Example("d", "new")]
    parsed = [
        _parsed("x", "x", 0.9),
        _parsed("nlu_fallback", "x", 0.45),  # ambiguous: the fallback won above the threshold
        _parsed("nlu_fallback", "x", 0.3),
        _parsed("x", "x", 0.6),
    ]
    report = out_of_scope_report(test, parsed, {"new"}, threshold=0.4)
    assert report["as_configured"] == (0.5, 0.5)
    sweep = {cut: (accuracy, recall) for cut, accuracy, recall in report["sweep"]}
    assert sweep[0.1] == (1.0, 0.0)
    assert sweep[0.4] == (1.0, 0.5)
    assert sweep[0.7] == (0.5, 1.0)
    table = markdown(
        "toy",
        Path("config.yml"),
        {
            "train_examples": 2,
            "train_seconds": 60.0,
            "repeats": 3,
            "latency": latency_report([[10.0, 12.0], [11.0, 13.0], [9.0, 30.0]]),
            "in_scope": in_scope_report(test[:2], parsed[:2]),
            "out_of_scope": report,
        },
    )
    assert "| the config (0.4, with its ambiguity rule) | 0.5000 | 0.5000 |" in table
    assert "1.0 min" in table
    assert "| 12.0 ms (11.0–19.5) | 13.0 ms (12.0–30.0) |" in table


def test_another_encoder_replaces_every_model_dir_and_nothing_else(tmp_path: Path) -> None:
    copied = with_encoder(Path("config.yml"), Path("models/intent-encoder-banking77"), tmp_path)
    original = yaml.safe_load(Path("config.yml").read_text())
    document = yaml.safe_load(copied.read_text())
    dirs = [c.get("model_dir") for c in document["pipeline"] if "model_dir" in c]
    assert dirs == ["models/intent-encoder-banking77"]
    for component in document["pipeline"]:
        component.pop("model_dir", None)
    for component in original["pipeline"]:
        component.pop("model_dir", None)
    assert document == original
    bare = tmp_path / "bare.yml"
    bare.write_text("pipeline:\n  - name: WhitespaceTokenizer\n")
    with pytest.raises(SystemExit, match="no pipeline component has a model_dir"):
        with_encoder(bare, Path("x"), tmp_path)
