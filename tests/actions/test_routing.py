"""Handoffs and complaint tickets go to the team the customer's own words belong to."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.feedback import ActionOpenComplaint
from actions.handoff import ActionRequestHandoff
from config.settings import Settings
from crm.records.models import HandoffRequest, SupportTicket
from tests.actions.conftest import DOMAIN, install, responses, tracker, verified


def _said(*texts: str) -> list[dict[str, Any]]:
    """Earlier customer messages, each answered by the assistant."""
    events: list[dict[str, Any]] = []
    for i, text in enumerate(texts):
        events.append({"event": "user", "text": text, "timestamp": 1.0 + i})
        events.append({"event": "bot", "text": "...", "timestamp": 1.5 + i})
    return events


def _requests(sessions) -> list[HandoffRequest]:
    with sessions() as session:
        return list(session.scalars(select(HandoffRequest)))


async def test_a_handoff_after_a_double_charge_lands_in_billing(services, sessions, caplog):
    dispatcher = CollectingDispatcher()
    conversation = tracker(
        verified(),
        text="can I talk to a person",
        intent="contact_human_agent",
        events=_said("I was charged twice for my order"),
    )
    with caplog.at_level(logging.INFO, logger="crm"):
        await ActionRequestHandoff().run(dispatcher, conversation, DOMAIN)
    assert responses(dispatcher) == ["utter_handoff_requested"]
    [request] = _requests(sessions)
    assert request.team == "billing"
    decision = next(r.getMessage() for r in caplog.records if "routed" in r.getMessage())
    assert "to billing" in decision and "charged" not in decision  # no customer words in logs


async def test_a_bare_request_for_a_person_goes_to_general(services, sessions):
    conversation = tracker(text="I want to talk to a person", intent="contact_human_agent")
    await ActionRequestHandoff().run(CollectingDispatcher(), conversation, DOMAIN)
    assert [r.team for r in _requests(sessions)] == ["general"]


async def test_an_open_handoff_keeps_its_team(services, sessions):
    first = services.handoffs.request_handoff(
        conversation_id="action-test",
        channel="rest",
        reason="customer_request",
        customer_id=None,
        transcript=[],
        team="shipping",
    )
    conversation = tracker(
        text="a person please",
        intent="contact_human_agent",
        events=_said("I can't log in, the password reset link has expired"),
    )
    dispatcher = CollectingDispatcher()
    await ActionRequestHandoff().run(dispatcher, conversation, DOMAIN)
    assert dispatcher.messages[0]["reference"] == first.reference
    assert [r.team for r in _requests(sessions)] == ["shipping"]


async def test_with_nobody_on_duty_the_ticket_goes_to_the_handoffs_team(services, sessions, router):
    install(
        Settings(var_dir=services.settings.var_dir, support_hours=""),
        sessions,
        services.knowledge,
        router,
    )  # the `services` fixture uninstalls it afterwards
    conversation = tracker(
        text="a human please",
        intent="contact_human_agent",
        events=_said("my password reset email never arrives and now I'm locked out"),
    )
    dispatcher = CollectingDispatcher()
    await ActionRequestHandoff().run(dispatcher, conversation, DOMAIN)
    assert responses(dispatcher) == ["utter_handoff_no_staff"]
    with sessions() as session:
        ticket = session.scalars(
            select(SupportTicket).where(SupportTicket.conversation_id == "action-test")
        ).one()
    assert [r.team for r in _requests(sessions)] == ["account"]
    assert ticket.team == "account"


async def test_a_complaint_about_a_parcel_goes_to_shipping(services, sessions):
    details = "the courier left my parcel out in the rain and everything inside is soaked"
    conversation = tracker(
        verified(),
        text=details,
        active_loop="complaint_form",
        set_this_turn={"complaint_category": "delivery", "complaint_details": details},
    )
    dispatcher = CollectingDispatcher()
    await ActionOpenComplaint().run(dispatcher, conversation, DOMAIN)
    assert responses(dispatcher) == ["utter_complaint_logged"]
    with sessions() as session:
        ticket = session.scalars(
            select(SupportTicket).where(SupportTicket.conversation_id == "action-test")
        ).one()
    assert (ticket.category, ticket.team) == ("delivery", "shipping")


async def test_a_complaint_is_routed_by_its_words_not_its_category(services, sessions):
    details = "you charged my card three times for one order and nobody answers my emails"
    conversation = tracker(
        text=details,
        set_this_turn={"complaint_category": "service", "complaint_details": details},
    )
    await ActionOpenComplaint().run(CollectingDispatcher(), conversation, DOMAIN)
    with sessions() as session:
        ticket = session.scalars(
            select(SupportTicket).where(SupportTicket.conversation_id == "action-test")
        ).one()
    assert (ticket.category, ticket.team) == ("service", "billing")
