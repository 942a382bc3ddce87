"""The blind-set report (bench/nlu_blind.py): outcomes, rates, false tasks, F1, the frozen files."""

import csv

import pytest

from bench.nlu_blind import BLIND, HALVES, TASKS, Message, f1_by_label, outcome, report


def msg(text: str, label: str) -> Message:
    return Message(text, label, persona="1", writer="w")


@pytest.mark.parametrize(
    ("label", "predicted", "expected"),
    [
        ("track_order", "track_order", "right"),
        ("track_order", "track_order+get_invoice", "right"),
        ("get_invoice", "track_order+get_invoice", "wrong"),
        ("track_order", "nlu_fallback", "fallback"),
        ("track_order", "delivery_period", "wrong"),
        ("out_of_scope", "out_of_scope", "right"),
        ("out_of_scope", "nlu_fallback", "right"),
        ("out_of_scope", "greet", "wrong"),
        ("greet", "greet", "right"),
    ],
)
def test_outcome(label: str, predicted: str, expected: str) -> None:
    assert outcome(label, predicted) == expected


def test_report_rates_per_group_and_false_tasks() -> None:
    messages = [
        msg("where's my parcel", "track_order"),
        msg("when does it come", "delivery_period"),
        msg("hm", "delivery_period"),
        msg("hi", "greet"),
        msg("weather?", "out_of_scope"),
        msg("book me a flight", "out_of_scope"),
    ]
    predicted = [
        "track_order",
        "track_order",
        "nlu_fallback",
        "greet",
        "nlu_fallback",
        "place_order",
    ]
    result = report(messages, predicted)
    tasks = result["groups"]["tasks"]
    assert tasks == {"messages": 3, "right": 1 / 3, "fallback": 1 / 3, "wrong": 1 / 3}
    assert result["groups"]["other intents"]["right"] == 1.0
    assert result["groups"]["out of scope"] == {
        "messages": 2,
        "right": 0.5,
        "fallback": 0.0,
        "wrong": 0.5,
    }
    assert result["false_task"] == 0.5
    assert ("delivery_period", "track_order") in dict(result["confusions"])


def test_f1_counts_the_first_request_of_a_multi_intent() -> None:
    scores = f1_by_label(["track_order", "get_invoice"], ["track_order+get_invoice", "get_invoice"])
    assert scores == {"get_invoice": 1.0, "track_order": 1.0}
    assert f1_by_label(["a", "a", "b"], ["a", "b", "b"]) == {"a": 2 / 3, "b": 2 / 3}


def test_there_are_27_tasks() -> None:
    assert len(TASKS) == 27


@pytest.mark.parametrize("half", ["tune", "test"])
def test_the_frozen_halves_are_labelled_with_known_intents(half: str) -> None:
    import yaml

    domain = yaml.safe_load((BLIND.parents[2] / "domain.yml").read_text())
    intents = set(domain["intents"])
    (name,) = HALVES[half]
    with (BLIND / name).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 1000
    assert {row["label"] for row in rows} <= intents
    assert {row["label"] for row in rows} >= TASKS
    assert all(row["text"].strip() for row in rows)


def test_the_halves_share_no_writer_and_no_message() -> None:
    halves = {}
    for half in ("tune", "test"):
        (name,) = HALVES[half]
        with (BLIND / name).open(newline="", encoding="utf-8") as handle:
            halves[half] = list(csv.DictReader(handle))
    writers = {half: {row["writer"] for row in rows} for half, rows in halves.items()}
    assert not writers["tune"] & writers["test"]
    texts = {half: {row["text"].strip().lower() for row in rows} for half, rows in halves.items()}
    assert not texts["tune"] & texts["test"]


def test_the_report_asks_as_the_agent_does() -> None:
    import actions.clarify as agent
    from bench import nlu_blind

    assert (nlu_blind.CHOICE, nlu_blind.FLOOR, nlu_blind.FEWEST, nlu_blind.MOST) == (
        agent.CHOICE,
        agent.FLOOR,
        agent.FEWEST,
        agent.MOST,
    )
    assert nlu_blind.offered_choices() >= TASKS


def test_buttons_only_when_the_best_reading_is_a_task() -> None:
    from bench.nlu_blind import choices

    offered = frozenset({"cancel_order", "change_order", "get_refund", "track_order"})
    ranking = [("cancel_order", 0.45), ("change_order", 0.3), ("greet", 0.2), ("get_refund", 0.05)]
    assert choices(ranking, offered) == ["cancel_order", "change_order"]
    assert choices([("track_order+get_invoice", 0.4), ("get_refund", 0.3)], offered) == [
        "track_order",
        "get_refund",
    ]
    assert choices([("track_order", 0.38), ("out_of_scope", 0.35)], offered) == []
    assert choices([("ask_question", 0.38), ("get_refund", 0.3)], offered) == []
    assert choices([], offered) == []


def test_right_after_one_clarification_counts_a_task_among_the_buttons() -> None:
    messages = [
        msg("cancel or change?", "cancel_order"),
        msg("refund?", "get_refund"),
        msg("where", "track_order"),
        msg("a flight", "out_of_scope"),
    ]
    predicted = ["nlu_fallback", "nlu_fallback", "track_order", "nlu_fallback"]
    offered = [["change_order", "cancel_order"], ["track_refund"], [], ["place_order"]]
    result = report(messages, predicted, offered)
    assert result["clarified"] == 2 / 3
    assert result["right_after_clarifying"] == 2 / 3
    assert result["outside_clarified"] == 1.0
