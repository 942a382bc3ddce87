"""Product facts: what a product page states, so the agent can answer questions about products.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

``products`` gains ``facts`` (JSON: one sentence per aspect, such as ``material``, ``care``,
``dishwasher``, ``hob`` or ``size``; crm/records/catalogue.py reads them) and
``guarantee_years`` (NULL when not stated). Existing rows get no facts (``{}``): the agent then
says it does not know rather than guess; ``python -m crm seed`` fills in the demo catalogue's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("facts", _json(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("guarantee_years", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_column("guarantee_years")
        batch.drop_column("facts")
