from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from config.settings import ROOT
from crm.__main__ import database_url, main
from crm.records.answers import AnswerLog
from crm.records.db import make_engine, make_session_factory
from crm.records.models import AuditLog
from crm.tools.demo import DEMO_IDENTITIES


def test_make_engine_creates_the_sqlite_folder(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "deeper" / "records.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("PRAGMA foreign_keys")) == 1
        assert path.exists()
    finally:
        engine.dispose()


def test_timestamps_come_back_as_aware_utc(sessions: sessionmaker[Session]) -> None:
    from zoneinfo import ZoneInfo

    paris = datetime(2025, 6, 2, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))
    with sessions.begin() as session:
        session.add(AuditLog(at=paris, actor="agent", action="x", entity="y", entity_id="1"))
    with sessions() as session:
        at = session.scalars(select(AuditLog.at)).one()
    assert at.tzinfo == timezone.utc
    assert at == datetime(2025, 6, 2, 10, 0, tzinfo=timezone.utc)


def test_naive_timestamps_are_refused(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(StatementError, match="naive"), sessions.begin() as session:
        session.add(
            AuditLog(
                at=datetime(2025, 6, 2, 12, 0), actor="agent", action="x", entity="y", entity_id="1"
            )
        )


def test_database_url_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert database_url() == f"sqlite:///{ROOT / 'var' / 'records.db'}"
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/other.db")
    assert database_url() == "sqlite:////tmp/other.db"


def test_cli_migrate_seed_and_list(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'records.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    caplog.set_level(logging.INFO)

    assert main(["migrate"]) == 0
    assert main(["seed"]) == 0
    assert "41 customers" in caplog.text
    assert main(["seed"]) == 0
    assert "seeded 0 rows" in caplog.text
    capsys.readouterr()
    assert main(["demo-identities"]) == 0
    out = capsys.readouterr().out

    for identity in DEMO_IDENTITIES:
        assert identity.email in out
        for order in identity.orders:
            assert f"{order.number} {order.status}" in out
    # Logs never carry personal data or the URL.
    assert "@example" not in caplog.text
    assert str(tmp_path) not in caplog.text

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            assert session.scalar(text("SELECT count(*) FROM orders")) == 80
    finally:
        engine.dispose()


def test_cli_answers_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["migrate"]) == 0
    engine = make_engine(url)
    try:
        log = AnswerLog(make_session_factory(engine))
        for conversation in ("a", "b"):
            answer_id = log.record_answer(
                conversation_id=conversation,
                question="opening hours?",
                article_id="contact-opening-hours",
                passage_id="contact-opening-hours#0",
                score=0.6,
            )
            log.record_vote(answer_id=answer_id, conversation_id=conversation, helpful=False)
        log.record_abstention(conversation_id="a", question="Do you sell toasters?")
    finally:
        engine.dispose()
    capsys.readouterr()
    assert main(["answers", "--days", "7"]) == 0
    out = capsys.readouterr().out
    assert "contact-opening-hours" in out
    assert out.split("contact-opening-hours")[1].split()[:4] == ["2", "0", "2", "0%"]
    assert "    1  Do you sell toasters?" in out
