"""The console reads transcripts from the tables Rasa's own SQL tracker store writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.sql import pooled_engine
from console.transcripts import TranscriptSource
from tests.unit.bot.rasa_side import run_in_rasa

WRITER = Path(__file__).parents[1] / "bot" / "rasa_side" / "write_conversation.py"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> TranscriptSource:
    db = tmp_path_factory.mktemp("tracker") / "tracker.db"
    run_in_rasa(str(WRITER), str(db), "web-abc")
    run_in_rasa(str(WRITER), str(db), "someone-else")
    return TranscriptSource(pooled_engine(f"sqlite:///{db}"))


@pytest.mark.slow  # the tracker store is written by Rasa, in the Rasa venv
def test_a_transcript_has_every_voice_in_order(source: TranscriptSource) -> None:
    lines = source.lines("web-abc")
    assert [(line.role, line.text, line.name) for line in lines] == [
        ("customer", "I want a <b>person</b>", None),
        ("bot", "Shall I pass you on?", None),
        ("system", "Priya joined the chat.", None),
        ("system", "The assistant is paused: a person is answering.", None),
        ("customer", "hello?", None),
        ("staff", "Hi, I'm Priya.", "Priya"),
        ("system", "The assistant is answering again.", None),
    ]
    assert lines[1].buttons == ("Yes",)
    assert [line.id for line in lines] == sorted(line.id for line in lines)
    assert all(line.at > 0 for line in lines)


@pytest.mark.slow  # the tracker store is written by Rasa, in the Rasa venv
def test_a_poll_gets_only_newer_lines_of_that_conversation(source: TranscriptSource) -> None:
    lines = source.lines("web-abc")
    newer = source.lines("web-abc", after=lines[3].id)
    assert [line.text for line in newer] == [line.text for line in lines[4:]]
    assert source.lines("web-abc", after=lines[-1].id) == []
    assert source.lines("nobody") == []
    assert lines[0].as_json()["role"] == "customer"


def test_before_rasa_stored_anything_there_is_no_transcript(tmp_path: Path) -> None:
    empty = TranscriptSource(pooled_engine(f"sqlite:///{tmp_path / 'new.db'}"))
    assert empty.lines("web-abc") == []
