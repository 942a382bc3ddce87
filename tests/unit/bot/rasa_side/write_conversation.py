"""Write one conversation with Rasa's own SQL tracker store, for crm/desk/test_transcripts.py.

`python write_conversation.py DB SENDER`: a customer asks, the assistant answers with buttons,
a person joins (the assistant paused), answers, leaves (resumed). Two user events are no
customer's words: a clause the action server replayed and an intent the staff relay triggered.
"""

from __future__ import annotations

import asyncio
import sys

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker


async def main(db: str, sender: str) -> None:
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=db)
    tracker = DialogueStateTracker(sender, [])
    for event in (
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered("I want a <b>person</b>", {"name": "contact_human_agent"}),
        SlotSet("order_number", "100103"),
        BotUttered("Shall I pass you on?", data={"buttons": [{"title": "Yes", "payload": "yes"}]}),
        BotUttered(
            None,
            data={"custom": {"notice": "agent_joined", "name": "Priya"}},
            metadata={"staff": "Priya"},
        ),
        ConversationPaused(),
        UserUttered("hello?", {"name": "greet"}),
        UserUttered("hello", {"name": "greet"}, metadata={"replayed": True}),
        UserUttered.create_external("staff_closed"),
        BotUttered("Hi, I'm Priya.", metadata={"staff": "Priya"}),
        ConversationResumed(),
    ):
        tracker.update(event)
    await store.save(tracker)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
