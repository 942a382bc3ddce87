"""Refunds of one item: a refund may be for some units of one line of an order.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08

``refunds`` gains ``product_id`` (the product of the order line returned) and ``quantity``
(how many of it), both NULL for a refund of the whole order, as every existing refund is. A
check keeps them set together (crm/records/money.py computes an item's refund from them).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ITEM_RULE = "(product_id IS NULL AND quantity IS NULL) OR (product_id IS NOT NULL AND quantity > 0)"


def upgrade() -> None:
    with op.batch_alter_table("refunds") as batch:
        batch.add_column(sa.Column("product_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("quantity", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_refunds_product_id_products"), "products", ["product_id"], ["id"]
        )
        batch.create_check_constraint(op.f("ck_refunds_item_quantity"), ITEM_RULE)


def downgrade() -> None:
    with op.batch_alter_table("refunds") as batch:
        batch.drop_constraint(op.f("ck_refunds_item_quantity"), type_="check")
        batch.drop_constraint(op.f("fk_refunds_product_id_products"), type_="foreignkey")
        batch.drop_column("quantity")
        batch.drop_column("product_id")
