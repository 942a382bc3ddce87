"""Check, inside the Rasa venv, that config.tracker_events describes Rasa's own events table.

`python check_events_table.py`: prints `ok <check>` for each check that held, and fails at the
first that did not.
"""

from __future__ import annotations

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore

from config.tracker_events import EVENTS

rasa_table = SQLTrackerStore.SQLEvent.__table__
assert EVENTS.name == rasa_table.name, (EVENTS.name, rasa_table.name)
print("ok name")
ours = {column.name: type(column.type) for column in EVENTS.columns}
theirs = {column.name: type(column.type) for column in rasa_table.columns}
assert ours == theirs, (ours, theirs)
print("ok columns")
print(f"ok sqlalchemy {sa.__version__}")
