"""Accounts, outbox, newsletter and reviews.

Revision ID: 0002
Revises: 0001
Create Date: 2025-06-10

Adds the customer's account status and erasure date, the description of support tickets, and
four tables: ``outbox_messages`` (emails for the mailer), ``auth_tokens`` (hashed activation and
password-reset tokens), ``newsletter_subscriptions`` and ``reviews``.

The new customer columns are added in place, never by rebuilding the table: SQLite's batch
"move and copy" would drop ``customers``, and with foreign keys on (crm.records.db turns them on for
every connection) dropping a parent table deletes its rows first, cascading to addresses. SQLite
cannot add a named table CHECK to an existing table, so there the status CHECK is a column
constraint of the added column (which also lets a later DROP COLUMN work); PostgreSQL gets the
same named constraint with ALTER TABLE ... ADD CONSTRAINT.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CUSTOMER_STATUS_CHECK = "status IN ('active', 'pending_activation', 'erasure_scheduled', 'erased')"
OUTBOX_KIND_CHECK = (
    "kind IN ('account_activation', 'password_reset', 'account_exists', "
    "'newsletter_confirmation', 'erasure_scheduled', 'email_change')"
)


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _add_customer_columns() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE customers ADD COLUMN status VARCHAR(24) DEFAULT 'active' NOT NULL "
            f"CONSTRAINT ck_customers_status CHECK ({CUSTOMER_STATUS_CHECK})"
        )
    else:
        op.add_column(
            "customers",
            sa.Column("status", sa.String(length=24), server_default="active", nullable=False),
        )
        op.create_check_constraint(
            op.f("ck_customers_status"), "customers", sa.text(CUSTOMER_STATUS_CHECK)
        )
    op.add_column("customers", sa.Column("erasure_due_at", _timestamp(), nullable=True))


def upgrade() -> None:
    _add_customer_columns()
    op.add_column("support_tickets", sa.Column("description", sa.Text(), nullable=True))

    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("sent_at", _timestamp(), nullable=True),
        sa.CheckConstraint(OUTBOX_KIND_CHECK, name=op.f("ck_outbox_messages_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    op.create_index(op.f("ix_outbox_messages_sent_at"), "outbox_messages", ["sent_at"])

    op.create_table(
        "auth_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("expires_at", _timestamp(), nullable=False),
        sa.Column("used_at", _timestamp(), nullable=True),
        sa.CheckConstraint(
            "purpose IN ('activation', 'password_reset')", name=op.f("ck_auth_tokens_purpose")
        ),
        sa.CheckConstraint(
            "length(token_hash) = 64", name=op.f("ck_auth_tokens_token_hash_sha256")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_auth_tokens_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_tokens_token_hash")),
    )
    op.create_index(op.f("ix_auth_tokens_customer_id"), "auth_tokens", ["customer_id"])

    op.create_table(
        "newsletter_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("subscribed", sa.Boolean(), nullable=False),
        sa.Column("changed_at", _timestamp(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            "email = lower(email)", name=op.f("ck_newsletter_subscriptions_email_lower")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_newsletter_subscriptions_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_newsletter_subscriptions")),
        sa.UniqueConstraint("email", name=op.f("uq_newsletter_subscriptions_email")),
    )
    op.create_index(
        op.f("ix_newsletter_subscriptions_customer_id"),
        "newsletter_subscriptions",
        ["customer_id"],
    )

    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("order_number", sa.String(length=6), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_reviews_rating_range")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_reviews_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("reference", name=op.f("uq_reviews_reference")),
    )
    op.create_index(op.f("ix_reviews_customer_id"), "reviews", ["customer_id"])
    op.create_index(
        "uq_reviews_conversation_order",
        "reviews",
        ["conversation_id", "order_number"],
        unique=True,
        sqlite_where=sa.text("order_number IS NOT NULL"),
        postgresql_where=sa.text("order_number IS NOT NULL"),
    )
    op.create_index(
        "uq_reviews_conversation_no_order",
        "reviews",
        ["conversation_id"],
        unique=True,
        sqlite_where=sa.text("order_number IS NULL"),
        postgresql_where=sa.text("order_number IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("reviews")
    op.drop_table("newsletter_subscriptions")
    op.drop_table("auth_tokens")
    op.drop_table("outbox_messages")
    op.drop_column("support_tickets", "description")
    op.drop_column("customers", "erasure_due_at")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_customers_status"), "customers", type_="check")
    # On SQLite the CHECK belongs to the column and goes with it.
    op.drop_column("customers", "status")
