from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm.records.contacts import InvalidContact
from crm.records.models import OUTBOX_KINDS
from crm.records.outbox import OutboxService, OutboxView, queue_email


def _queue(sessions: sessionmaker[Session], **overrides: object) -> int:
    fields: dict[str, object] = {
        "kind": "password_reset",
        "recipient": "ada@example.com",
        "subject": "Reset your password",
        "body": "Open https://larkspur.example/account/reset?token=abc",
    }
    fields.update(overrides)
    with sessions.begin() as session:
        return queue_email(session, **fields)  # type: ignore[arg-type]


def test_queued_email_is_pending(sessions: sessionmaker[Session], clock_now: datetime) -> None:
    message_id = _queue(sessions, recipient="  Ada@Example.COM ", at=clock_now)
    assert OutboxService(sessions).pending() == [
        OutboxView(
            id=message_id,
            kind="password_reset",
            recipient="ada@example.com",
            subject="Reset your password",
            body="Open https://larkspur.example/account/reset?token=abc",
            created_at=clock_now,
            sent_at=None,
        )
    ]


def test_every_kind_can_be_queued(sessions: sessionmaker[Session]) -> None:
    for kind in OUTBOX_KINDS:
        _queue(sessions, kind=kind)
    assert [view.kind for view in OutboxService(sessions).pending()] == list(OUTBOX_KINDS)


def test_pending_is_oldest_first_and_limited(sessions: sessionmaker[Session]) -> None:
    ids = [_queue(sessions, subject=f"Message {n}") for n in range(5)]
    outbox = OutboxService(sessions)
    assert [view.id for view in outbox.pending(3)] == ids[:3]
    with pytest.raises(ValueError, match="limit"):
        outbox.pending(0)


def test_mark_sent_removes_from_pending_once(
    sessions: sessionmaker[Session], clock_now: datetime
) -> None:
    first, second = _queue(sessions), _queue(sessions)
    outbox = OutboxService(sessions)
    assert outbox.mark_sent(first, at=clock_now + timedelta(seconds=5)) is True
    assert outbox.mark_sent(first) is False
    assert outbox.mark_sent(99999) is False
    assert [view.id for view in outbox.pending()] == [second]


def test_email_is_only_queued_if_the_transaction_commits(
    sessions: sessionmaker[Session],
) -> None:
    with pytest.raises(RuntimeError), sessions.begin() as session:
        queue_email(
            session, kind="email_change", recipient="ada@example.com", subject="s", body="b"
        )
        raise RuntimeError("the change failed")
    assert OutboxService(sessions).pending() == []


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"kind": "marketing_blast"}, ValueError),
        ({"subject": ""}, ValueError),
        ({"subject": "Hi\nBcc: everyone@example.com"}, ValueError),
        ({"subject": "x" * 201}, ValueError),
        ({"body": "   "}, ValueError),
        ({"recipient": "not an email"}, InvalidContact),
    ],
)
def test_bad_messages_are_refused(
    sessions: sessionmaker[Session], overrides: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        _queue(sessions, **overrides)
    assert OutboxService(sessions).pending() == []


def test_database_refuses_unknown_kinds(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.execute(
            text(
                "INSERT INTO outbox_messages (kind, recipient, subject, body, created_at) "
                "VALUES ('spam', 'a@example.com', 's', 'b', CURRENT_TIMESTAMP)"
            )
        )


def test_new_tables_and_columns_are_migrated(engine: Engine) -> None:
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    assert {"outbox_messages", "auth_tokens", "newsletter_subscriptions", "reviews"} <= tables
    customer_columns = {column["name"] for column in inspector.get_columns("customers")}
    assert {"status", "erasure_due_at"} <= customer_columns
    ticket_columns = {column["name"] for column in inspector.get_columns("support_tickets")}
    assert "description" in ticket_columns
