"""The blind conversations end to end: pass rate per half and per pattern (issue 29, goal 95%).

Starts the agent as `make run` does (both servers, `models/larkspur.tar.gz`, the knowledge index
of `var/`) on free ports with fresh demo records, plays every conversation of a half through the
REST channel with `bench/conversation_exam.py`, restoring the demo records before each, and
writes a table between markers into docs/nlu.md:

    python -m bench.blind_conversations [--half tune|test|both|dev] [--write docs/nlu.md]
                                        [--only ca-10,cb-2] [--transcripts var/blind-transcripts]

A conversation passes when every check of every turn holds
(`tests/conversations/blind/checks-<half>.yml`). The rate is a benchmark, never an assert;
`tests/conversations/test_blind_conversations.py` keeps each conversation as a test. The test
half is for measuring only (bench/data/blind/README.md). `--half dev` plays our own
development conversations instead (bench/data/dev/, checks beside them), which are not tests.
"""

from __future__ import annotations

import argparse
import re
import socket
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from bench.conversation_exam import (
    DEV_SET,
    FAILING,
    HALVES,
    Conversation,
    RestAgent,
    Result,
    copy_database,
    load_half,
    play,
    sqlite_path,
    transcript,
)
from bench.report import write_block
from config.settings import ROOT, Settings
from crm.records.db import make_engine, make_session_factory
from crm.records.migrate import upgrade
from crm.tools.demo import seed
from serve.run import Stack

# The writers named their patterns in their own words; these are the brief's seven kinds
# (bench/data/blind/conversation-brief.md), matched in this order.
PATTERN_GROUPS: tuple[tuple[str, str], ...] = (
    ("question mid-task", r"question (?:in the middle|mid)"),
    ("correction", r"correction"),
    ("early detail kept", r"early|before verification|said early"),
    ("task switch", r"task switch"),
    ("bare detail", r"bare"),
    ("elliptical follow-up", r"ellip"),
    ("pronoun/reference", r"pronoun|reference|'|\bthat\b|\bthose\b|\bit\b|\bsame\b|follow-up"),
)


def pattern_group(pattern: str) -> str:
    """The brief's kind of follow-up a writer's pattern description names."""
    for group, words in PATTERN_GROUPS:
        if re.search(words, pattern, re.IGNORECASE):
            return group
    return "other"


def free_port() -> int:
    """A port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Exam:
    """A running agent with demo records that can be put back before each conversation."""

    agent: RestAgent
    sessions: sessionmaker[Session]
    records: Path
    snapshot: Path

    def run(self, conversation: Conversation) -> Result:
        """The demo records as seeded, then the conversation."""
        copy_database(self.snapshot, self.records)
        return play(self.agent, conversation, self.sessions)


@contextmanager
def running_exam(scratch: Path) -> Iterator[Exam]:
    """Both servers on fresh demo records, as the conversation tests start them."""
    settings = Settings(
        var_dir=scratch,
        rasa_port=free_port(),
        action_server_port=free_port(),
        knowledge_index_dir=ROOT / "var" / "knowledge",
        rasa_token=SecretStr(uuid.uuid4().hex),
        max_message_chars=2000,
        # Handoffs must not depend on the hour of the run, nor on an open console.
        support_hours="Mon-Sun 00:00-24:00",
        staff_presence_seconds=0,
    )
    upgrade(settings.database_url)
    sessions = make_session_factory(make_engine(settings.database_url))
    seed(sessions)
    records = sqlite_path(settings.database_url)
    snapshot = scratch / "demo-records.db"
    copy_database(records, snapshot)
    logs = scratch / "logs"
    logs.mkdir(exist_ok=True)
    with Stack(settings, log_dir=logs) as stack, httpx.Client(timeout=120) as client:
        agent = RestAgent(rasa_url=stack.rasa_url, token=stack.token, client=client)
        yield Exam(agent=agent, sessions=sessions, records=records, snapshot=snapshot)


def _rate(passed: int, total: int) -> str:
    return f"{passed}/{total} ({passed / total:.0%})" if total else "0/0"


def report(half: str, results: Sequence[Result], seconds: float) -> str:
    """The Markdown table of one half: overall, per pattern, and each failure's first check."""
    passed = sum(r.passed for r in results)
    title = "Dev conversations" if half == DEV_SET else f"Blind conversations, {half} half"
    lines = [
        f"{title} (`make bench-blind-conversations BLIND_HALF={half}`): "
        f"**{_rate(passed, len(results))} pass** end to end through the REST channel "
        f"({sum(len(r.turns) for r in results)} customer turns; {seconds:.0f} s).",
        "",
        "| pattern | passed |",
        "|---|---:|",
    ]
    totals: Counter[str] = Counter()
    wins: Counter[str] = Counter()
    for result in results:
        group = pattern_group(result.conversation.pattern)
        totals[group] += 1
        wins[group] += result.passed
    for group, total in sorted(totals.items()):
        lines.append(f"| {group} | {_rate(wins[group], total)} |")
    failed = [r for r in results if r.failure is not None]
    if failed:
        lines += ["", "| conversation | pattern | first failing check |", "|---|---|---|"]
        for result in failed:
            cell = str(result.failure).replace("|", "\\|")
            lines.append(
                f"| {result.conversation.id} | {pattern_group(result.conversation.pattern)} "
                f"| {cell[:220]} |"
            )
    return "\n".join(lines)


def update_failing(half: str, results: Sequence[Result]) -> None:
    """Put this half's failures, with their first failing check, into the xfail list."""
    known = yaml.safe_load(FAILING.read_text("utf-8")) if FAILING.exists() else None
    ids = {r.conversation.id for r in results}
    failing = {k: v for k, v in (known or {}).items() if k not in ids}
    failing.update(
        {
            r.conversation.id: f"turn {r.failure.turn}: {r.failure.check}"
            for r in results
            if r.failure is not None
        }
    )
    header = (
        "# The blind conversations the agent does not pass yet, with the first failing check:\n"
        "# strict xfails in tests/conversations/test_blind_conversations.py. Rewritten by\n"
        "# `make bench-blind-conversations BLIND_HALF=both UPDATE_FAILING=1`; remove an entry\n"
        "# when a fix makes its conversation pass.\n"
    )
    body = yaml.safe_dump(dict(sorted(failing.items())), allow_unicode=True, width=100)
    FAILING.write_text(header + body, "utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    """Play a half (or both) and print or write the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=(*HALVES, "both", DEV_SET), default="test")
    parser.add_argument("--write", type=Path, help="Markdown file to write the table into")
    parser.add_argument("--only", default="", help="comma-separated conversation ids")
    parser.add_argument("--transcripts", type=Path, help="folder for each failure's transcript")
    parser.add_argument(
        "--update-failing",
        action="store_true",
        help=f"rewrite {FAILING.relative_to(ROOT)} (the tests' strict xfails) for the halves run",
    )
    args = parser.parse_args(argv)
    halves = HALVES if args.half == "both" else (args.half,)
    only = {c for c in args.only.split(",") if c}
    with (
        tempfile.TemporaryDirectory(prefix="blind-conv-") as scratch,
        running_exam(Path(scratch)) as exam,
    ):
        for half in halves:
            conversations = [c for c in load_half(half) if not only or c.id in only]
            started = time.monotonic()
            results = []
            for conversation in conversations:  # printed as they go: a hang names its culprit
                result = exam.run(conversation)
                results.append(result)
                print(f"{result.conversation.id}: {result.failure or 'pass'}", flush=True)
                if args.transcripts and not result.passed:
                    args.transcripts.mkdir(parents=True, exist_ok=True)
                    (args.transcripts / f"{result.conversation.id}.txt").write_text(
                        f"{transcript(result)}\nfirst failure: {result.failure}\n", "utf-8"
                    )
            table = report(half, results, time.monotonic() - started)
            print(table)
            if args.write and not only:
                name = "dev-conversations" if half == DEV_SET else f"blind-conversations-{half}"
                write_block(args.write, name, table)
            if args.update_failing and not only and half in HALVES:
                update_failing(half, results)


if __name__ == "__main__":
    main()
