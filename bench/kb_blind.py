"""The knowledge base on the blind set's knowledge questions (bench/data/kb_blind.csv).

    python -m bench.kb_blind [--half tune|test|both] [--nlu] [--write docs/knowledge.md]
                             [--misses N]

The questions are the blind set's messages (bench/data/blind/, written by people who never saw
our data) that the agent answers from the help centre: those labelled ``ask_question`` and the
policy intents of ``TOPICS`` in actions/clarify.py (``delivery_period`` and
``check_cancellation_fee`` only where no order number is named; with one, a form answers). Each
is annotated with the article that answers it, or ``none`` (docs/knowledge.md says how).

Each question goes the agent's way: the index `make index` builds (``KNOWLEDGE_INDEX_DIR``), the
query encoder and the retrieval settings of the action server (``KB_MIN_SCORE`` and all), and
``KnowledgeBase.answer`` with the topic hint the agent passes for the intent. The intent is the
message's label, i.e. the NLU is assumed right: this measures the knowledge base, not the NLU
(``make bench-nlu-blind`` measures that). For an answerable question the outcome is **right**
(the article quoted is one that answers it), **abstained**, or **wrong** (a confident answer
from another article); for one the help centre cannot answer, **abstained** is right and any
answer is wrong. The test half is for the report only: nothing is tuned on it.

With ``--nlu`` the agent's own model (``models/larkspur.tar.gz``, parsed in the Rasa venv by
``bench.parse_texts``) decides instead, as in the running agent: a message whose top intent
is not one the knowledge base answers (``KNOWLEDGE_INTENTS``) goes **elsewhere** (a task, a
chit-chat reply) and is answered by no article; the others get their predicted intent's topic
hint. That row is written under the label's table.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from actions.clarify import TOPICS
from actions.services import query_embedder
from bench.report import write_block
from config.settings import ROOT, get_settings
from knowledge.configured import knowledge_base
from knowledge.index import load_index
from knowledge.retrieve import KnowledgeBase

ANNOTATION = ROOT / "bench" / "data" / "kb_blind.csv"
NONE = "none"
HALVES = {"tune": ("tune",), "test": ("test",), "both": ("tune", "test")}
# The intents data/rules send to action_answer_from_knowledge (delivery_period and
# check_cancellation_fee without an order number; the annotated questions name none).
KNOWLEDGE_INTENTS = frozenset({"ask_question", "nlu_fallback", *TOPICS})
ELSEWHERE = "elsewhere"
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"
MODEL = ROOT / "models" / "larkspur.tar.gz"


@dataclass(frozen=True)
class Question:
    """One annotated blind message."""

    text: str
    half: str
    label: str
    articles: tuple[str, ...]  # the articles that answer it; empty when none does
    section: str  # the section of the first article that answers it, if one does
    note: str

    @property
    def answerable(self) -> bool:
        """Whether the help centre answers it."""
        return bool(self.articles)


@dataclass(frozen=True)
class Outcome:
    """What the agent did with one question."""

    question: Question
    article: str | None  # the article quoted, None when it abstained
    section: str  # the quoted passage's heading ("" for an introduction or an overview)
    score: float
    top_article: str  # the best ranked article, threshold and topic hint aside
    intent: str = ""  # the intent that decided, when the agent's NLU did (``--nlu``)

    @property
    def kind(self) -> str:
        """``right``, ``abstained``, ``wrong`` or ``elsewhere`` (see the module docstring)."""
        if self.intent and self.intent not in KNOWLEDGE_INTENTS:
            return ELSEWHERE
        if self.article is None:
            return "abstained"
        return "right" if self.article in self.question.articles else "wrong"


def read_questions(path: Path, halves: Sequence[str]) -> list[Question]:
    """The annotated questions of the chosen halves."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Question(
            text=row["text"],
            half=row["half"],
            label=row["label"],
            articles=() if row["article"] == NONE else tuple(row["article"].split("|")),
            section=row["section"],
            note=row["note"],
        )
        for row in rows
        if row["half"] in halves
    ]


def ask(kb: KnowledgeBase, question: Question, intent: str = "") -> Outcome:
    """Ask as `action_answer_from_knowledge` does, with the topic hint of `intent` (or the label).

    A message the NLU sends elsewhere is not asked: no article answers it.
    """
    if intent and intent not in KNOWLEDGE_INTENTS:
        return Outcome(question, None, "", 0.0, "", intent)
    answer = kb.answer(question.text, topics=TOPICS.get(intent or question.label, ()))
    top = kb.search(question.text, k=1)
    top_article = top[0].chunk.article_id if top else ""
    if answer is None:
        return Outcome(question, None, "", 0.0, top_article, intent)
    chunk = next(c for c in kb.index.chunks if c.chunk_id == answer.chunk_id)
    section = chunk.headings[-1] if chunk.headings else ""
    return Outcome(question, answer.article_id, section, answer.score, top_article, intent)


def parse(texts: Sequence[str], model: Path) -> list[str]:
    """The agent's top intent of each text, from the Rasa venv (`bench.parse_texts`)."""
    with tempfile.TemporaryDirectory() as folder:
        given, out = Path(folder) / "texts.json", Path(folder) / "intents.json"
        given.write_text(json.dumps(list(texts)), encoding="utf-8")
        command = [str(RASA_PYTHON), "-m", "bench.parse_texts", "--model", str(model)]
        command += ["--texts", str(given), "--out", str(out)]
        # Our own module and the paths made above (hence the noqa).
        subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)  # noqa: S603
        return [str(intent) for intent in json.loads(out.read_text(encoding="utf-8"))]


def rates(outcomes: Sequence[Outcome]) -> dict[str, float]:
    """The shares the goals are stated in (docs/knowledge.md)."""
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]
    kinds = Counter(o.kind for o in answerable)
    confident_wrong = kinds["wrong"] + sum(o.article is not None for o in unanswerable)
    elsewhere = sum(o.kind == ELSEWHERE for o in outcomes)
    with_section = [o for o in answerable if o.kind == "right" and o.question.section]
    return {
        "questions": len(outcomes),
        "answerable": len(answerable),
        "right": kinds["right"] / max(1, len(answerable)),
        "abstained": kinds["abstained"] / max(1, len(answerable)),
        "wrong": kinds["wrong"] / max(1, len(answerable)),
        "top1": sum(o.top_article in o.question.articles for o in answerable)
        / max(1, len(answerable)),
        "unanswerable": len(unanswerable),
        "none_abstained": sum(o.article is None for o in unanswerable) / max(1, len(unanswerable)),
        "confident_wrong": confident_wrong / max(1, len(outcomes)),
        "section": sum(o.section == o.question.section for o in with_section)
        / max(1, len(with_section)),
        "elsewhere": elsewhere / max(1, len(outcomes)),
    }


def markdown(
    half: str,
    outcomes: Sequence[Outcome],
    min_score: float,
    nlu: Sequence[Outcome] = (),
    *,
    thresholds: str = "",
) -> str:
    """The tables written into docs/knowledge.md (and the NLU's row, when it was asked)."""
    overall = rates(outcomes)
    lines = [
        f"Blind set, {half} half (`make bench-kb-blind BLIND_HALF={half}`): "
        f"{overall['questions']:.0f} questions, {overall['answerable']:.0f} with an answer in "
        f"the help centre; `KB_MIN_SCORE` {min_score:.2f}{thresholds}; topic hint from the "
        "message's label.",
        "",
        f"**Right article quoted {overall['right']:.3f}** of answerable questions (goal ≥ 0.90); "
        f"**confident wrong {overall['confident_wrong']:.3f}** of all questions (goal ≤ 0.05: "
        "an answer from a wrong article, or any answer where the help centre has none).",
        "",
        "| intent | questions | answerable | right article | abstained | wrong article "
        "| top-1 right, no threshold | none: abstained | confident wrong |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    groups = sorted({o.question.label for o in outcomes})
    for name in [*groups, "all"]:
        chosen = [o for o in outcomes if name in ("all", o.question.label)]
        r = rates(chosen)
        none = f"{r['none_abstained']:.2f} of {r['unanswerable']:.0f}" if r["unanswerable"] else "–"
        label = "**all**" if name == "all" else name
        lines.append(
            f"| {label} | {r['questions']:.0f} | {r['answerable']:.0f} | {r['right']:.3f} "
            f"| {r['abstained']:.3f} | {r['wrong']:.3f} | {r['top1']:.3f} | {none} "
            f"| {r['confident_wrong']:.3f} |"
        )
    lines += [
        "",
        f"Right answers quoting the annotated section: {overall['section']:.3f}.",
    ]
    if nlu:
        r = rates(nlu)
        lines += [
            "",
            "Through the agent's own NLU instead of the label (`--nlu`): "
            f"{r['elsewhere']:.3f} of the questions go elsewhere (a task or another reply, "
            f"never the help centre); right article {r['right']:.3f} of answerable questions, "
            f"abstained {r['abstained']:.3f}, wrong article {r['wrong']:.3f}; none: abstained "
            f"{r['none_abstained']:.2f} of {r['unanswerable']:.0f}; confident wrong "
            f"{r['confident_wrong']:.3f}.",
        ]
    return "\n".join(lines)


def misses(outcomes: Sequence[Outcome], limit: int) -> str:
    """The questions not handled right, for reading (never written into the docs)."""
    lines = []
    for o in outcomes:
        expected = "|".join(o.question.articles) or NONE
        handled = o.kind == "right" or (not o.question.answerable and o.article is None)
        if not handled:
            lines.append(
                f"[{o.kind}] {o.question.label}: {o.question.text!r}\n"
                f"    expected {expected}; quoted {o.article} ({o.section!r}, {o.score:.3f}); "
                f"top {o.top_article}"
            )
    return "\n".join(lines[:limit])


def main() -> None:
    """Ask every annotated question of the chosen half the agent's way and report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--half", choices=sorted(HALVES), default="test")
    parser.add_argument("--annotation", type=Path, default=ANNOTATION)
    parser.add_argument("--write", type=Path, help="Markdown file to write the table into")
    parser.add_argument("--misses", type=int, default=0, help="print up to N mishandled questions")
    parser.add_argument("--nlu", action="store_true", help="also route by the agent's own NLU")
    parser.add_argument("--model", type=Path, default=MODEL, help="the Rasa model for --nlu")
    args = parser.parse_args()
    settings = get_settings()
    embedder = query_embedder(settings)
    index = load_index(
        settings.knowledge_index_dir, model_name=embedder.name, dimension=embedder.dimension
    )
    kb = knowledge_base(index, embedder, settings)
    questions = read_questions(args.annotation, HALVES[args.half])
    outcomes = [ask(kb, q) for q in questions]
    routed: list[Outcome] = []
    if args.nlu:
        intents = parse([q.text for q in questions], args.model)
        routed = [ask(kb, q, intent) for q, intent in zip(questions, intents, strict=True)]
    own = ", ".join(f"{t} {v:.2f}" for t, v in sorted(settings.kb_topic_min_scores.items()))
    thresholds = f" ({settings.kb_hinted_min_score:.2f} for the hinted topic" + (
        f"; {own})" if own else ")"
    )
    table = markdown(args.half, outcomes, settings.kb_min_score, routed, thresholds=thresholds)
    print(table)
    if args.misses:
        print(misses(outcomes, args.misses))
    if args.write:
        write_block(args.write, f"kb-blind-{args.half}", table)


if __name__ == "__main__":
    main()
