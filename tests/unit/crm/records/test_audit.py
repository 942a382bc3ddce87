from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from crm.records.errors import AuditLogIsAppendOnly
from crm.records.models import AuditLog

AT = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def audit_id(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        row = AuditLog(
            at=AT,
            actor="agent",
            action="order.cancel",
            entity="order",
            entity_id="100101",
            before={"status": "placed"},
            after={"status": "cancelled"},
            conversation_id="conv-9",
        )
        session.add(row)
        session.flush()
        return row.id


def _count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditLog)) or 0


def _actor(sessions: sessionmaker[Session], audit_id: int) -> str:
    with sessions() as session:
        return session.get_one(AuditLog, audit_id).actor


def test_audit_row_round_trips(sessions: sessionmaker[Session], audit_id: int) -> None:
    with sessions() as session:
        row = session.get_one(AuditLog, audit_id)
        assert row.at == AT
        assert row.before == {"status": "placed"}
        assert row.after == {"status": "cancelled"}


def test_orm_update_is_refused(sessions: sessionmaker[Session], audit_id: int) -> None:
    with pytest.raises(AuditLogIsAppendOnly), sessions.begin() as session:
        session.get_one(AuditLog, audit_id).actor = "staff:mallory"
    assert _actor(sessions, audit_id) == "agent"


def test_orm_delete_is_refused(sessions: sessionmaker[Session], audit_id: int) -> None:
    with pytest.raises(AuditLogIsAppendOnly), sessions.begin() as session:
        session.delete(session.get_one(AuditLog, audit_id))
    assert _count(sessions) == 1


def test_orm_bulk_update_is_refused(sessions: sessionmaker[Session], audit_id: int) -> None:
    with pytest.raises(AuditLogIsAppendOnly), sessions.begin() as session:
        session.execute(update(AuditLog).values(actor="staff:mallory"))
    assert _actor(sessions, audit_id) == "agent"


def test_orm_bulk_delete_is_refused(sessions: sessionmaker[Session], audit_id: int) -> None:
    with pytest.raises(AuditLogIsAppendOnly), sessions.begin() as session:
        session.execute(delete(AuditLog).where(AuditLog.id == audit_id))
    assert _count(sessions) == 1


def test_appending_is_allowed(sessions: sessionmaker[Session], audit_id: int) -> None:
    with sessions.begin() as session:
        session.add(
            AuditLog(at=AT, actor="staff:7", action="note", entity="order", entity_id="100101")
        )
    assert _count(sessions) == 2


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'staff:mallory'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ],
)
def test_postgres_trigger_refuses_raw_sql(
    sessions: sessionmaker[Session], audit_id: int, statement: str
) -> None:
    with pytest.raises(DBAPIError, match="append-only"), sessions.begin() as session:
        session.execute(text(statement))
    assert _count(sessions) == 1
    assert _actor(sessions, audit_id) == "agent"


def test_writes_to_other_tables_are_unaffected(
    sessions: sessionmaker[Session], audit_id: int, customer_id: Callable[[str], int]
) -> None:
    from crm.records.models import Customer

    with sessions.begin() as session:
        session.add(Customer(first_name="Mary", last_name="Somerville", email="mary@example.com"))
    with sessions.begin() as session:
        session.get_one(Customer, customer_id("mary@example.com")).first_name = "Marie"
    with sessions() as session:
        assert session.get_one(Customer, customer_id("mary@example.com")).first_name == "Marie"
