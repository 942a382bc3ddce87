"""Write conversations with Rasa's own SQL tracker store, for test_console_panel.py.

`python write_customer_messages.py DB '{"sender": ["text", ...], ...}'`: in each conversation
the customer says each text in turn and the assistant answers it; the customer also presses a
button (its payload, "/affirm", is a user event too).
"""

from __future__ import annotations

import asyncio
import json
import sys

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker


async def main(db: str, conversations: dict[str, list[str]]) -> None:
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=db)
    for sender, texts in conversations.items():
        tracker = DialogueStateTracker(sender, [])
        tracker.update(ActionExecuted("action_session_start"))
        tracker.update(SessionStarted())
        for text in texts:
            tracker.update(UserUttered(text, {"name": "inform"}))
            tracker.update(BotUttered("I'm sorry to hear that. Is there anything else?"))
        tracker.update(UserUttered("/affirm", {"name": "affirm"}))
        await store.save(tracker)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
