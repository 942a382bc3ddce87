"""Recommendations and routing: stock and consumables in the catalogue, a team on tickets.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25

``products`` gains ``stock`` (units available; NULL when the shop does not track the product's
stock, which then counts as available) and ``consumable`` (a product people buy again, such as
candles or bird seed, which recommendations may offer again right after an order).
``support_tickets`` gains ``team``: the queue a complaint goes to, chosen by the ticket-routing
classifier (crm/insights/routing.py); older tickets are in ``general``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEAMS = "('general', 'billing', 'shipping', 'technical', 'account')"


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("stock", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("consumable", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_check_constraint(
            op.f("ck_products_stock_not_negative"), "stock IS NULL OR stock >= 0"
        )
    with op.batch_alter_table("support_tickets") as batch:
        batch.add_column(
            sa.Column("team", sa.String(length=32), nullable=False, server_default="general")
        )
        batch.create_check_constraint(op.f("ck_support_tickets_team"), f"team IN {TEAMS}")


def downgrade() -> None:
    with op.batch_alter_table("support_tickets") as batch:
        batch.drop_constraint(op.f("ck_support_tickets_team"), type_="check")
        batch.drop_column("team")
    with op.batch_alter_table("products") as batch:
        batch.drop_constraint(op.f("ck_products_stock_not_negative"), type_="check")
        batch.drop_column("consumable")
        batch.drop_column("stock")
