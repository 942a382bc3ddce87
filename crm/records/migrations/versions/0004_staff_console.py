"""Support staff and live handoffs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

Three tables for the agent console: ``staff_users`` (Argon2id password hashes, role, team),
``staff_sessions`` (SHA-256 of the session token, CSRF token, expiry) and
``staff_login_attempts`` (for throttling). ``handoff_requests`` gains the team and priority it
waits with, who claimed it and when, and when and how it was closed; at most one request per
conversation may be open (waiting or claimed), no longer only one waiting.

``handoff_requests`` has no child tables, so on SQLite it is rebuilt by Alembic's batch mode
(the only way to add table CHECKs and a foreign key there); its partial unique index is dropped
first and made again afterwards, because batch mode would copy it without its WHERE clause.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEAMS = "('general', 'billing', 'shipping', 'technical', 'account')"
OPEN = "status IN ('waiting', 'claimed')"


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.CheckConstraint(
            "role IN ('agent', 'supervisor', 'admin')", name=op.f("ck_staff_users_role")
        ),
        sa.CheckConstraint(f"team IN {TEAMS}", name=op.f("ck_staff_users_team")),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_staff_users_email_lower")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_users_email")),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("expires_at", _timestamp(), nullable=False),
        sa.Column("revoked_at", _timestamp(), nullable=True),
        sa.CheckConstraint(
            "length(token_hash) = 64", name=op.f("ck_staff_sessions_token_hash_sha256")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_sessions_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_sessions_token_hash")),
    )
    op.create_index(op.f("ix_staff_sessions_user_id"), "staff_sessions", ["user_id"])
    op.create_table(
        "staff_login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_login_attempts")),
    )
    op.create_index(
        op.f("ix_staff_login_attempts_email_at"), "staff_login_attempts", ["email", "at"]
    )
    op.create_index(
        op.f("ix_staff_login_attempts_client_at"), "staff_login_attempts", ["client", "at"]
    )

    op.drop_index("uq_handoff_requests_waiting_conversation", table_name="handoff_requests")
    with op.batch_alter_table("handoff_requests") as batch:
        batch.add_column(
            sa.Column("team", sa.String(length=32), server_default="general", nullable=False)
        )
        batch.add_column(sa.Column("priority", sa.Integer(), server_default="2", nullable=False))
        batch.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("claimed_at", _timestamp(), nullable=True))
        batch.add_column(sa.Column("closed_at", _timestamp(), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        batch.create_foreign_key(
            op.f("fk_handoff_requests_assignee_id_staff_users"),
            "staff_users",
            ["assignee_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(op.f("ix_handoff_requests_assignee_id"), ["assignee_id"])
        batch.create_check_constraint(op.f("ck_handoff_requests_team"), f"team IN {TEAMS}")
        batch.create_check_constraint(
            op.f("ck_handoff_requests_priority"), "priority BETWEEN 1 AND 3"
        )
        batch.create_check_constraint(
            op.f("ck_handoff_requests_outcome"),
            "outcome IS NULL OR outcome IN ('handed_back', 'resolved', 'not_resolved')",
        )
    # Requests closed before this revision have no closing time: their creation time stands in.
    op.execute("UPDATE handoff_requests SET closed_at = created_at WHERE status = 'closed'")
    with op.batch_alter_table("handoff_requests") as batch:
        batch.create_check_constraint(
            op.f("ck_handoff_requests_closed_has_time"),
            "(status = 'closed') = (closed_at IS NOT NULL)",
        )
    op.create_index(
        "uq_handoff_requests_open_conversation",
        "handoff_requests",
        ["conversation_id"],
        unique=True,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("uq_handoff_requests_open_conversation", table_name="handoff_requests")
    with op.batch_alter_table("handoff_requests") as batch:
        for check in ("closed_has_time", "outcome", "priority", "team"):
            batch.drop_constraint(op.f(f"ck_handoff_requests_{check}"), type_="check")
        batch.drop_index(op.f("ix_handoff_requests_assignee_id"))
        batch.drop_constraint(
            op.f("fk_handoff_requests_assignee_id_staff_users"), type_="foreignkey"
        )
        for column in ("outcome", "closed_at", "claimed_at", "assignee_id", "priority", "team"):
            batch.drop_column(column)
    op.create_index(
        "uq_handoff_requests_waiting_conversation",
        "handoff_requests",
        ["conversation_id"],
        unique=True,
        sqlite_where=sa.text("status = 'waiting'"),
        postgresql_where=sa.text("status = 'waiting'"),
    )
    op.drop_table("staff_login_attempts")
    op.drop_table("staff_sessions")
    op.drop_table("staff_users")
