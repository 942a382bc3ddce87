"""Working a conversation in the console: ratings, notes, canned replies, presence, history.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

``handoff_requests`` gains the customer's satisfaction rating (``csat_score`` 1 to 5 and
``csat_at``), asked when staff close a conversation. New tables: ``handoff_notes`` (private
notes of staff on a handoff), ``canned_responses`` (replies staff insert with one choice, for
one team or all) and ``customer_conversations`` (the conversations in which a customer proved
who they are, for their history in the console). ``staff_sessions`` gains ``last_seen_at``:
a live console page keeps it fresh, and that is how the assistant knows whether anyone is on
duty.

As in 0004, ``handoff_requests`` is rebuilt by Alembic's batch mode on SQLite to add its CHECKs,
and its partial unique index is dropped first and made again afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEAMS = "('general', 'billing', 'shipping', 'technical', 'account')"
OPEN = "status IN ('waiting', 'claimed')"


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.drop_index("uq_handoff_requests_open_conversation", table_name="handoff_requests")
    with op.batch_alter_table("handoff_requests") as batch:
        batch.add_column(sa.Column("csat_score", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("csat_at", _timestamp(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_handoff_requests_csat_range"),
            "csat_score IS NULL OR csat_score BETWEEN 1 AND 5",
        )
        batch.create_check_constraint(
            op.f("ck_handoff_requests_csat_has_time"), "(csat_score IS NULL) = (csat_at IS NULL)"
        )
    op.create_index(
        "uq_handoff_requests_open_conversation",
        "handoff_requests",
        ["conversation_id"],
        unique=True,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
    op.add_column("staff_sessions", sa.Column("last_seen_at", _timestamp(), nullable=True))

    op.create_table(
        "handoff_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoff_requests.id"],
            name=op.f("fk_handoff_notes_handoff_id_handoff_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["staff_users.id"],
            name=op.f("fk_handoff_notes_author_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_notes")),
    )
    op.create_index(op.f("ix_handoff_notes_handoff_id"), "handoff_notes", ["handoff_id"])
    op.create_table(
        "canned_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("team", sa.String(length=32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.CheckConstraint(
            f"team IS NULL OR team IN {TEAMS}", name=op.f("ck_canned_responses_team")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff_users.id"],
            name=op.f("fk_canned_responses_created_by_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_responses")),
        sa.UniqueConstraint("title", name=op.f("uq_canned_responses_title")),
    )
    op.create_table(
        "customer_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("verified_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_conversations_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_conversations")),
        sa.UniqueConstraint(
            "conversation_id",
            "customer_id",
            name=op.f("uq_customer_conversations_conversation_id_customer_id"),
        ),
    )
    op.create_index(
        op.f("ix_customer_conversations_customer_id"), "customer_conversations", ["customer_id"]
    )


def downgrade() -> None:
    op.drop_table("customer_conversations")
    op.drop_table("canned_responses")
    op.drop_table("handoff_notes")
    with op.batch_alter_table("staff_sessions") as batch:
        batch.drop_column("last_seen_at")
    op.drop_index("uq_handoff_requests_open_conversation", table_name="handoff_requests")
    with op.batch_alter_table("handoff_requests") as batch:
        batch.drop_constraint(op.f("ck_handoff_requests_csat_has_time"), type_="check")
        batch.drop_constraint(op.f("ck_handoff_requests_csat_range"), type_="check")
        batch.drop_column("csat_at")
        batch.drop_column("csat_score")
    op.create_index(
        "uq_handoff_requests_open_conversation",
        "handoff_requests",
        ["conversation_id"],
        unique=True,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
