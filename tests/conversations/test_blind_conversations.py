"""The blind conversations (bench/data/blind/), each one end to end through the REST channel.

Every turn is marked by the checks in `tests/conversations/blind/checks-<half>.yml`, written
from the writers' `expect` (bench/conversation_exam.py). The conversations the agent does not
pass yet are listed once, in `tests/conversations/blind/failing.yml`, with their first failing
check, and are strict xfails: a fix makes its test pass unexpectedly, which fails the run until
the list is brought up to date (`make bench-blind-conversations BLIND_HALF=both` rewrites it).
The pass rate is a benchmark (docs/nlu.md), never asserted here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bench.conversation_exam import (
    FAILING,
    HALVES,
    Conversation,
    copy_database,
    load_half,
    play,
    sqlite_path,
    transcript,
)
from crm.records.db import make_engine, make_session_factory
from crm.records.migrate import upgrade
from crm.tools.demo import seed
from tests.conversations.conftest import Agent

pytestmark = pytest.mark.conversation

KNOWN_FAILURES: dict[str, str] = yaml.safe_load(FAILING.read_text("utf-8")) or {}


def _cases() -> list[object]:
    cases: list[object] = []
    for half in HALVES:
        for conversation in load_half(half):
            reason = KNOWN_FAILURES.get(conversation.id)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            cases.append(pytest.param(conversation, id=conversation.id, marks=marks))
    return cases


@pytest.fixture(scope="module")
def demo_records(agent: Agent, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the demo records as seeded; the agent's records are put back afterwards.

    Tests before this module may have changed the agent's records (cancelled 100102...); each
    blind conversation starts from the seeded demo data instead, and the module leaves the
    records as it found them for the tests after it.
    """
    live = sqlite_path(agent.stack.settings.database_url)
    scratch = tmp_path_factory.mktemp("blind-records")
    before = scratch / "before.db"
    copy_database(live, before)
    demo = scratch / "demo.db"
    url = f"sqlite:///{demo}"
    upgrade(url)
    seed(make_session_factory(make_engine(url)))
    yield demo
    copy_database(before, live)


def test_known_failures_name_real_conversations() -> None:
    ids = {c.id for half in HALVES for c in load_half(half)}
    assert set(KNOWN_FAILURES) <= ids


@pytest.mark.parametrize("conversation", _cases())
def test_blind_conversation(agent: Agent, demo_records: Path, conversation: Conversation) -> None:
    copy_database(demo_records, sqlite_path(agent.stack.settings.database_url))
    result = play(agent, conversation, agent.sessions)
    assert result.passed, f"{result.failure}\n{transcript(result)}"
