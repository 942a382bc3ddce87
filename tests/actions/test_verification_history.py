"""Verifying in a conversation records it in the customer's history, for staff."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from actions.orders import ValidateCancelOrderForm
from actions.services import Services
from crm.records.models import CustomerConversation
from tests.actions.conftest import ADA, DOMAIN, responses, slot_events, tracker


def answering(postcode: str, channel: str) -> Tracker:
    """Ada's email given, `postcode` just typed, on `channel`."""
    sent = tracker(
        {"order_number": "100102", "verify_email": "ada@example.com"},
        text=postcode,
        active_loop="cancel_order_form",
        set_this_turn={"verify_postcode": postcode},
    )
    latest: dict[str, Any] = next(e for e in reversed(sent.events) if e["event"] == "user")
    latest["input_channel"] = channel  # what Rasa records for the message's channel
    return sent


def history(sessions: sessionmaker[Session]) -> list[tuple[str, int, str]]:
    with sessions() as session:
        rows = session.execute(
            select(
                CustomerConversation.conversation_id,
                CustomerConversation.customer_id,
                CustomerConversation.channel,
            )
        ).all()
        return [(conversation, customer, channel) for conversation, customer, channel in rows]


async def test_verification_records_the_conversation_once(
    services: Services, sessions: sessionmaker[Session]
) -> None:
    form = ValidateCancelOrderForm()
    wrong = CollectingDispatcher()
    await form.run(wrong, answering("SW1A 1AA", "telegram"), DOMAIN)
    assert responses(wrong) == ["utter_verification_failed"]
    assert history(sessions) == []

    for _ in range(2):  # verifying again in the same conversation keeps one row
        right = CollectingDispatcher()
        events = await form.run(right, answering("M4 6AB", "telegram"), DOMAIN)
        assert slot_events(events)["customer_id"] == ADA
        assert responses(right) == ["utter_verified"]
    assert history(sessions) == [("action-test", ADA, "telegram")]
