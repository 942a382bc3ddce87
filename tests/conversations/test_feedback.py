"""Complaints open tickets, reviews are stored, and newsletter changes are confirmed."""

import pytest
from sqlalchemy import select

from crm.records.models import NewsletterSubscription, Review, SupportTicket
from tests.conversations.conftest import new_sender, said

pytestmark = pytest.mark.conversation


def test_a_complaint_opens_a_ticket_and_offers_a_person(agent):
    sender = new_sender()
    assert said(agent.say(sender, "I want to make a complaint"), "utter_ask_complaint_category")
    assert said(agent.say(sender, "delivery"), "utter_ask_complaint_details")
    reply = agent.say(sender, "the courier left my parcel in the rain and it got soaked")
    assert said(reply, "utter_complaint_logged")
    with agent.sessions() as session:
        ticket = session.scalars(
            select(SupportTicket).where(SupportTicket.conversation_id == sender)
        ).one()
    assert ticket.category == "delivery"
    assert ticket.reference in reply[-1]["text"]
    assert said(agent.say(sender, "yes, talk to a person"), "utter_handoff_requested")


def test_a_complaint_that_says_what_happened_opens_the_ticket_at_once(agent):
    sender = new_sender()
    text = (
        "The driver threw my parcel over the gate and the vase inside is in pieces. "
        "I want to make a complaint."
    )
    reply = agent.say(sender, text)
    assert said(reply, "utter_complaint_logged")
    assert not said(reply, "utter_ask_complaint_category")
    with agent.sessions() as session:
        ticket = session.scalars(
            select(SupportTicket).where(SupportTicket.conversation_id == sender)
        ).one()
    assert ticket.category == "delivery"
    assert ticket.description.startswith("The driver threw my parcel")


def test_a_complaint_needs_a_real_description(agent):
    sender = new_sender()
    agent.say(sender, "this is unacceptable, I want to complain")
    agent.say(sender, "product")
    assert said(agent.say(sender, "bad"), "utter_invalid_complaint_details")


def test_stopping_a_complaint_opens_nothing(agent):
    sender = new_sender()
    agent.say(sender, "I want to file a complaint")
    assert said(agent.say(sender, "never mind"), "utter_stopped")
    with agent.sessions() as session:
        tickets = session.scalars(
            select(SupportTicket).where(SupportTicket.conversation_id == sender)
        )
        assert tickets.all() == []


def test_a_review_is_stored(agent):
    sender = new_sender()
    assert said(agent.say(sender, "I'd like to leave a review"), "utter_ask_review_rating")
    assert said(agent.say(sender, "5"), "utter_ask_review_comment")
    assert said(agent.say(sender, "Lovely kettle and quick delivery"), "utter_review_thanks_high")
    with agent.sessions() as session:
        review = session.scalars(select(Review).where(Review.conversation_id == sender)).one()
    assert (review.rating, review.comment) == (5, "Lovely kettle and quick delivery")


def test_a_review_rating_must_be_one_to_five(agent):
    sender = new_sender()
    agent.say(sender, "can I rate my experience")
    assert said(agent.say(sender, "ten out of ten"), "utter_invalid_rating")
    assert said(agent.say(sender, "2"), "utter_ask_review_comment")
    assert said(agent.say(sender, "the box was crushed"), "utter_review_thanks_low")


def subscribed(agent, email):
    with agent.sessions() as session:
        return session.scalar(
            select(NewsletterSubscription.subscribed).where(NewsletterSubscription.email == email)
        )


def test_a_verified_customer_unsubscribes_after_confirming(agent):
    sender = new_sender()
    agent.say(sender, "where is order 100103")
    agent.say(sender, "ada@example.com")
    agent.say(sender, "M4 6AB")
    assert subscribed(agent, "ada@example.com") is True
    reply = agent.say(sender, "please unsubscribe me from the newsletter")
    assert said(reply, "utter_ask_confirm_newsletter")
    assert said(agent.say(sender, "yes"), "utter_newsletter_unsubscribed")
    assert subscribed(agent, "ada@example.com") is False


def test_subscribe_a_new_address(agent):
    sender = new_sender()
    assert said(agent.say(sender, "sign me up for the newsletter"), "utter_ask_newsletter_email")
    agent.say(sender, "new.reader@example.net")
    assert said(agent.say(sender, "yes"), "utter_newsletter_subscribed")
    assert subscribed(agent, "new.reader@example.net") is True


def test_saying_no_keeps_the_newsletter_as_it_was(agent):
    sender = new_sender()
    agent.say(sender, "subscribe me to your newsletter")
    agent.say(sender, "maybe.later@example.net")
    assert said(agent.say(sender, "no"), "utter_newsletter_kept")
    assert subscribed(agent, "maybe.later@example.net") is None


def test_stopping_a_review_stores_nothing(agent):
    sender = new_sender()
    agent.say(sender, "I want to write a review")
    assert said(agent.say(sender, "4"), "utter_ask_review_comment")
    assert said(agent.say(sender, "stop"), "utter_stopped")
    with agent.sessions() as session:
        assert session.scalars(select(Review).where(Review.conversation_id == sender)).all() == []


def test_damaged_goods_named_by_when_they_came_are_a_complaint(agent):
    sender = new_sender()
    reply = agent.say(sender, "the mugs that got here on thursday are all cracked, not happy")
    assert not said(reply, "utter_out_of_scope")
    assert any(
        said(reply, name) for name in ("utter_complaint_logged", "utter_complaint_logged_fault")
    )
