"""Knowledge answers and their "was this helpful?" votes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

One new table, ``knowledge_answers``: every question the knowledge base was asked in a
conversation, the passage quoted (NULL when the agent abstained) with its score, and the
customer's vote on it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "knowledge_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("article_id", sa.String(length=255), nullable=True),
        sa.Column("passage_id", sa.String(length=255), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("helpful", sa.Boolean(), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("voted_at", _timestamp(), nullable=True),
        sa.CheckConstraint(
            "(article_id IS NULL AND passage_id IS NULL AND score IS NULL) OR "
            "(article_id IS NOT NULL AND passage_id IS NOT NULL AND score IS NOT NULL)",
            name=op.f("ck_knowledge_answers_answered_has_passage"),
        ),
        sa.CheckConstraint(
            "(helpful IS NULL) = (voted_at IS NULL)",
            name=op.f("ck_knowledge_answers_vote_has_time"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_answers")),
    )
    op.create_index(
        op.f("ix_knowledge_answers_conversation_id"), "knowledge_answers", ["conversation_id"]
    )
    op.create_index(op.f("ix_knowledge_answers_article_id"), "knowledge_answers", ["article_id"])


def downgrade() -> None:
    op.drop_table("knowledge_answers")
