"""Rasa's tracker-store ``events`` table, as its SQLTrackerStore writes it: described once.

One row per event of every conversation (rasa/core/tracker_store.py, ``SQLEvent``; stable
across Rasa 3.x). Rasa creates the table; bot/tracker_store.py reads and appends rows through
this description inside Rasa's process (SQLAlchemy 1.4), and crm reads it read-only for
transcripts and the supervisors' analytics (SQLAlchemy 2), on SQLite or PostgreSQL: so it is a
lightweight ``sa.table``, the same in both versions. No Rasa imports.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

EVENTS: Final = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("intent_name", sa.String),
    sa.column("action_name", sa.String),
    sa.column("data", sa.Text),
)
