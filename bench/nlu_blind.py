"""The agent's NLU on the blind set: customers' messages we did not write (bench/data/blind/).

Runs in the Rasa venv with the agent's own trained model (`models/larkspur.tar.gz`, what
`make train` builds), one message at a time as a conversation sends them:

    python -m bench.nlu_blind [--half tune|test|both] [--model models/larkspur.tar.gz]
                              [--write docs/nlu.md]

For each message the top intent decides, as Rasa's policies see it:
- **right task**: the intent is the message's label (a multi-intent such as
  ``track_order+get_invoice`` counts when its first request is the label);
- **fallback**: ``nlu_fallback`` (the agent would answer from the help centre or say it did not
  understand);
- **wrong task**: any other intent.
Out-of-scope messages are right when they end as ``out_of_scope`` or ``nlu_fallback``; their
**false-task rate** is the share that starts one of the 27 tasks. Reported per group (the 27
tasks, our other intents, out of scope), with per-label F1 and the most frequent confusions.

A fallback whose best reading is a task is not a guess but a question: the agent asks "Do you
mean ...?" with a button per task it hesitated between (actions/clarify.py, same rule here).
The report counts those **clarified** messages, and a task message as **right after one
clarification** when it was right at once or its task was among the buttons. A fallback whose
best reading is not a task, or that has one task reading only, goes to the help centre first,
which offers the buttons only when it has no answer; this report does not run the help centre,
so those count as not clarified.

The test half is for measuring only: nothing is trained or tuned on it (bench/data/blind/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import write_block

BLIND = Path(__file__).resolve().parent / "data" / "blind"
HALVES: dict[str, tuple[str, ...]] = {
    "tune": ("messages-tune.csv",),
    "test": ("messages-test.csv",),
    "both": ("messages-tune.csv", "messages-test.csv"),
}
FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
DOMAIN = Path(__file__).resolve().parents[1] / "domain.yml"
# actions/clarify.py's rule (tests/unit/bench/test_nlu_blind.py keeps the two equal).
CHOICE = "utter_choice_"
FLOOR = 0.1
FEWEST = 2
MOST = 3
# The 27 customer-service tasks the agent is checked on from outside (README's skill table).
TASKS = frozenset(
    {
        "cancel_order",
        "change_order",
        "change_shipping_address",
        "check_cancellation_fee",
        "check_invoice",
        "check_payment_methods",
        "check_refund_policy",
        "complaint",
        "contact_customer_service",
        "contact_human_agent",
        "create_account",
        "delete_account",
        "delivery_options",
        "delivery_period",
        "edit_account",
        "get_invoice",
        "get_refund",
        "newsletter_subscription",
        "payment_issue",
        "place_order",
        "recover_password",
        "registration_problems",
        "review",
        "set_up_shipping_address",
        "switch_account",
        "track_order",
        "track_refund",
    }
)


@dataclass(frozen=True)
class Message:
    """One blind message: what the customer wrote and what they wanted."""

    text: str
    label: str
    persona: str
    writer: str


def read_messages(paths: Iterable[Path]) -> list[Message]:
    """The blind messages of the given CSV files (text, label, persona, writer)."""
    messages = []
    for path in paths:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                messages.append(Message(row["text"], row["label"], row["persona"], row["writer"]))
    return messages


def group(label: str) -> str:
    """Which of the three groups a label is reported in."""
    if label in TASKS:
        return "tasks"
    return "out of scope" if label == OUT_OF_SCOPE else "other intents"


def outcome(label: str, predicted: str) -> str:
    """``right``, ``fallback`` or ``wrong`` for one message (see the module docstring)."""
    first = predicted.split("+")[0]
    if label == OUT_OF_SCOPE:
        return "right" if predicted in (OUT_OF_SCOPE, FALLBACK) else "wrong"
    if first == label:
        return "right"
    return "fallback" if predicted == FALLBACK else "wrong"


def offered_choices(domain_file: Path = DOMAIN) -> frozenset[str]:
    """The intents the agent can offer as a "Do you mean ...?" button (`utter_choice_<intent>`)."""
    import yaml

    responses = yaml.safe_load(domain_file.read_text())["responses"]
    return frozenset(name.removeprefix(CHOICE) for name in responses if name.startswith(CHOICE))


def choices(ranking: Sequence[tuple[str, float]], offered: frozenset[str]) -> list[str]:
    """The buttons asked before the help centre, or [] (best reading not a task, or one task).

    `ranking` is the classifier's, without the fallback: at most `MOST` offered intents of at
    least `FLOOR` confidence, a two-request reading counting as its first request.
    """
    found: list[str] = []
    for name, confidence in ranking:
        first = name.split("+")[0]
        if confidence < FLOOR:
            break
        if first in offered and first not in found:
            found.append(first)
        if len(found) == MOST:
            break
    best = ranking[0][0].split("+")[0] if ranking else None
    return found if best in found and len(found) >= FEWEST else []


def f1_by_label(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """F1 of each true label, the first request of a multi-intent counting as the prediction."""
    first = [p.split("+")[0] for p in predicted]
    scores = {}
    for label in sorted(set(truth)):
        tp = sum(1 for t, p in zip(truth, first, strict=True) if t == p == label)
        fp = sum(1 for t, p in zip(truth, first, strict=True) if p == label and t != label)
        fn = sum(1 for t, p in zip(truth, first, strict=True) if t == label and p != label)
        scores[label] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return scores


def report(
    messages: Sequence[Message],
    predicted: Sequence[str],
    offered: Sequence[Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Rates per group, out-of-scope false tasks, F1 per label and the confusions.

    `offered` are the "Do you mean ...?" buttons each message got (empty when none).
    """
    offered = offered if offered is not None else [[] for _ in messages]
    outcomes = [outcome(m.label, p) for m, p in zip(messages, predicted, strict=True)]
    tasks = [
        (m, o, c) for m, o, c in zip(messages, outcomes, offered, strict=True) if m.label in TASKS
    ]
    groups: dict[str, dict[str, float]] = {}
    for name in ("tasks", "other intents", "out of scope"):
        chosen = [o for m, o in zip(messages, outcomes, strict=True) if group(m.label) == name]
        if chosen:
            groups[name] = {
                "messages": len(chosen),
                "right": chosen.count("right") / len(chosen),
                "fallback": chosen.count("fallback") / len(chosen),
                "wrong": chosen.count("wrong") / len(chosen),
            }
    outside = [p for m, p in zip(messages, predicted, strict=True) if m.label == OUT_OF_SCOPE]
    f1 = f1_by_label([m.label for m in messages], predicted)
    confusions = Counter(
        (m.label, p) for m, p, o in zip(messages, predicted, outcomes, strict=True) if o != "right"
    )
    return {
        "groups": groups,
        "false_task": (
            sum(p.split("+")[0] in TASKS for p in outside) / len(outside) if outside else 0.0
        ),
        "clarified": sum(1 for _, _, c in tasks if c) / len(tasks) if tasks else 0.0,
        "right_after_clarifying": (
            sum(1 for m, o, c in tasks if o == "right" or m.label in c) / len(tasks)
            if tasks
            else 0.0
        ),
        "outside_clarified": (
            sum(1 for m, c in zip(messages, offered, strict=True) if m.label == OUT_OF_SCOPE and c)
            / len(outside)
            if outside
            else 0.0
        ),
        "f1": f1,
        "task_macro_f1": statistics.fmean(v for k, v in f1.items() if k in TASKS),
        "confusions": confusions.most_common(12),
    }


Parsed = tuple[str, list[tuple[str, float]]]
"""The intent Rasa chose, and the classifier's ranking without the fallback."""


async def parse_all(model: Path, texts: Sequence[str]) -> tuple[list[Parsed], list[float]]:
    """The intent and ranking of each text, parsed one at a time, and each parse's time (ms)."""
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    agent = Agent.load(str(model))
    await agent.parse_message("hello")  # warm up
    predicted, timings = [], []
    for text in texts:
        started = time.perf_counter()
        result = await agent.parse_message(text)
        timings.append((time.perf_counter() - started) * 1000)
        ranking = [
            (str(entry["name"]), float(entry["confidence"]))
            for entry in result.get("intent_ranking") or []
            if entry["name"] != FALLBACK
        ]
        predicted.append((str(result["intent"]["name"]), ranking))
    return predicted, timings


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile `q` (0..1) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def markdown(half: str, result: dict[str, Any], timings: Sequence[float]) -> str:
    """The tables written into docs/nlu.md."""
    count = sum(g["messages"] for g in result["groups"].values())
    p50, p95 = percentile(timings, 0.5), percentile(timings, 0.95)
    lines = [
        f"Blind set, {half} half (`make bench-nlu-blind BLIND_HALF={half}`): {count:.0f} "
        f"messages; parse p50 {p50:.1f} ms, p95 {p95:.1f} ms.",
        "",
        "| group | messages | right task | fallback | wrong task |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, g in result["groups"].items():
        lines.append(
            f"| {name} | {g['messages']:.0f} | {g['right']:.3f} | {g['fallback']:.3f} "
            f"| {g['wrong']:.3f} |"
        )
    lines += [
        "",
        f"Out of scope starting one of the 27 tasks (false task): {result['false_task']:.3f}. "
        f"Macro F1 over the 27 tasks: {result['task_macro_f1']:.3f}.",
        "",
        f"Ask, don't guess: {result['clarified']:.3f} of the task messages get \"Do you mean "
        f'...?" buttons; right task at once or after one clarification: '
        f"{result['right_after_clarifying']:.3f}. Out of scope getting buttons: "
        f"{result['outside_clarified']:.3f}.",
        "",
        "| task | F1 |",
        "|---|---:|",
    ]
    tasks = sorted(((k, v) for k, v in result["f1"].items() if k in TASKS), key=lambda kv: kv[1])
    lines += [f"| {label} | {score:.2f} |" for label, score in tasks]
    lines += ["", "Most frequent misses (label → what the agent understood):", ""]
    lines += [
        f"- {label} → {predicted}: {count}" for (label, predicted), count in result["confusions"]
    ]
    return "\n".join(lines)


def main() -> None:
    """Parse the chosen half with the agent's model and report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--half", choices=sorted(HALVES), default="test")
    parser.add_argument("--model", type=Path, default=Path("models/larkspur.tar.gz"))
    parser.add_argument("--write", type=Path, help="Markdown file to write the table into")
    args = parser.parse_args()
    messages = read_messages(BLIND / name for name in HALVES[args.half])
    parsed, timings = asyncio.run(parse_all(args.model, [m.text for m in messages]))
    offered = offered_choices()
    predicted = [intent for intent, _ in parsed]
    buttons = [
        choices(ranking, offered) if intent == FALLBACK else [] for intent, ranking in parsed
    ]
    result = report(messages, predicted, buttons)
    table = markdown(args.half, result, timings)
    print(table)
    if args.write:
        write_block(args.write, f"nlu-blind-{args.half}", table)


if __name__ == "__main__":
    main()
