"""Rasa's tracker-store ``events`` table, as its SQLTrackerStore writes it.

One row per event of every conversation (rasa/core/tracker_store.py, ``SQLEvent``; stable
across Rasa 3.x). The console's transcripts and the supervisors' analytics read it read-only,
on SQLite or PostgreSQL; nothing here writes it. No Rasa imports.
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
