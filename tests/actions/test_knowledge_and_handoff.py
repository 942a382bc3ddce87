from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.followups import ActionContinue
from actions.handoff import ActionRequestHandoff, ActionSessionStart
from actions.knowledge import ActionAnswerFromKnowledge, ActionRecordAnswerFeedback
from actions.responses import day
from actions.services import use_services
from config.settings import Settings
from config.support_hours import DAYS
from crm.desk.staff import StaffService
from crm.records.models import HandoffRequest, KnowledgeAnswer, SupportTicket
from tests.actions.conftest import (
    ALWAYS_STAFFED,
    DOMAIN,
    after_reply,
    install,
    responses,
    slot_events,
    tracker,
    verified,
)


async def test_answers_with_quote_title_and_url(services):
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher, tracker(text="can I pay with klarna?", intent="ask_question"), DOMAIN
    )
    assert responses(dispatcher) == ["utter_knowledge_answer"]
    message = dispatcher.messages[0]
    assert "Klarna" in message["quote"]
    assert message["url"].startswith("https://larkspur.example/help/")


async def test_abstains_on_questions_the_help_centre_does_not_answer(services):
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher, tracker(text="what is the capital of Peru", intent="nlu_fallback"), DOMAIN
    )
    assert responses(dispatcher) == ["utter_knowledge_unknown"]


def _handoffs(sessions) -> list[HandoffRequest]:
    with sessions() as session:
        return list(session.scalars(select(HandoffRequest)))


@pytest.mark.parametrize("previous", ["utter_knowledge_unknown", "utter_default"])
async def test_failing_twice_in_a_row_hands_the_conversation_to_a_person(
    services, sessions, previous
):
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(
            text="what is the capital of Peru",
            intent="nlu_fallback",
            events=after_reply(previous),
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_handoff_after_failure"]
    (request,) = _handoffs(sessions)
    assert request.reason == "repeated_misunderstanding"
    assert dispatcher.messages[0]["reference"] == request.reference
    assert request.transcript[-1]["text"] == "what is the capital of Peru"


async def test_an_upset_customer_the_agent_cannot_answer_gets_a_person_at_once(services, sessions):
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(text="this is ridiculous, your website is useless!!", intent="nlu_fallback"),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_handoff_after_failure"]
    assert [r.reason for r in _handoffs(sessions)] == ["negative_sentiment"]


async def test_a_failure_after_an_answer_only_offers_a_person(services, sessions):
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(
            text="what is the capital of Peru",
            intent="nlu_fallback",
            events=after_reply("utter_knowledge_answer"),
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_knowledge_unknown"]
    assert _handoffs(sessions) == []


async def test_an_upset_customer_the_agent_can_answer_is_answered(services, sessions):
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge().run(
        dispatcher,
        tracker(text="this is terrible, can I pay with klarna or not?", intent="ask_question"),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_knowledge_answer"]
    assert _handoffs(sessions) == []


def _ask_for_a_person() -> tuple[CollectingDispatcher, Tracker]:
    dispatcher = CollectingDispatcher()
    history = [{"event": "user", "text": "my parcel never came", "timestamp": 1.0}]
    return dispatcher, tracker(
        verified(), text="a human please", intent="contact_human_agent", events=history
    )


@pytest.fixture
def staffed(tmp_path, sessions, knowledge_base, router) -> Iterator[Callable[..., None]]:
    """Install the services with the given SUPPORT_HOURS (and STAFF_PRESENCE_SECONDS)."""
    yield lambda hours, presence=0: install(
        Settings(var_dir=tmp_path, support_hours=hours, staff_presence_seconds=presence),
        sessions,
        knowledge_base,
        router,
    )
    use_services(None)


def _staff_at_console(sessions, *, team: str, role: str = "agent", seen: timedelta) -> None:
    """A member of `team` signed in to the console, last seen `seen` ago."""
    signed_in_at = datetime.now(UTC) - seen
    staff = StaffService(sessions, clock=lambda: signed_in_at)
    staff.create_member(
        email=f"{team}-{role}@larkspur.example",
        name="Sam",
        password="correct horse battery",
        role=role,
        team=team,
        actor="test",
    )
    staff.sign_in(
        email=f"{team}-{role}@larkspur.example", password="correct horse battery", client="t"
    )


async def test_within_hours_with_nobody_at_the_console_a_ticket_is_opened(staffed, sessions):
    staffed(ALWAYS_STAFFED, presence=300)
    _staff_at_console(sessions, team="general", seen=timedelta(minutes=6))  # gone too long
    _staff_at_console(sessions, team="billing", seen=timedelta(seconds=5))  # another team
    dispatcher, conversation = _ask_for_a_person()
    await ActionRequestHandoff().run(dispatcher, conversation, DOMAIN)
    assert responses(dispatcher) == ["utter_handoff_no_staff"]
    with sessions() as session:
        ticket = session.scalars(
            select(SupportTicket).where(SupportTicket.conversation_id == "action-test")
        ).one()
        request = session.scalars(select(HandoffRequest)).one()
    assert dispatcher.messages[0]["ticket"] == ticket.reference
    assert request.status == "waiting" and request.reference in ticket.subject
    # "my parcel never came" is shipping's: the chat and the ticket wait for shipping.
    assert (request.team, ticket.team) == ("shipping", "shipping")


@pytest.mark.parametrize(
    ("team", "role", "queue"),
    [
        ("shipping", "agent", "shipping"),  # the routed team is on duty
        ("billing", "supervisor", "shipping"),  # supervisors see every queue
        ("general", "agent", "general"),  # only generalists on duty: they take it
    ],
)
async def test_within_hours_someone_at_the_console_takes_the_handoff(
    staffed, sessions, team, role, queue
):
    staffed(ALWAYS_STAFFED, presence=300)
    _staff_at_console(sessions, team=team, role=role, seen=timedelta(minutes=4))
    dispatcher, conversation = _ask_for_a_person()
    await ActionRequestHandoff().run(dispatcher, conversation, DOMAIN)
    assert responses(dispatcher) == ["utter_handoff_requested"]
    with sessions() as session:
        opened = select(SupportTicket).where(SupportTicket.conversation_id == "action-test")
        assert session.scalars(opened).all() == []
        assert session.scalars(select(HandoffRequest.team)).one() == queue


async def test_outside_support_hours_a_handoff_also_opens_a_ticket(staffed, sessions):
    now = datetime.now(ZoneInfo("Europe/London"))
    later = DAYS[(now.weekday() + 2) % 7]  # the day after tomorrow only: closed now
    staffed(f"{later} 09:00-17:00")
    dispatcher, conversation = _ask_for_a_person()
    await ActionRequestHandoff().run(dispatcher, conversation, DOMAIN)
    assert responses(dispatcher) == ["utter_handoff_closed"]
    message = dispatcher.messages[0]
    opens = (now + timedelta(days=2)).date()
    assert (message["opens_day"], message["opens_time"]) == (day(opens), "09:00")
    with sessions() as session:
        ticket = session.scalars(
            select(SupportTicket).where(SupportTicket.conversation_id == "action-test")
        ).one()
        request = session.scalars(select(HandoffRequest)).one()
    assert message["ticket"] == ticket.reference
    assert (ticket.customer_id, ticket.category) == (1, "service")
    assert ticket.description == "my parcel never came\na human please"
    assert request.reference in ticket.subject and request.status == "waiting"


async def test_with_nobody_ever_on_duty_every_handoff_is_a_ticket(staffed, sessions):
    staffed("")
    dispatcher, conversation = _ask_for_a_person()
    await ActionRequestHandoff().run(dispatcher, conversation, DOMAIN)
    assert responses(dispatcher) == ["utter_handoff_no_staff"]
    with sessions() as session:
        assert (
            session.scalars(
                select(SupportTicket).where(SupportTicket.conversation_id == "action-test")
            )
            .one()
            .reference
            == (dispatcher.messages[0]["ticket"])
        )


async def test_within_support_hours_no_ticket_is_opened(services, sessions):
    dispatcher, conversation = _ask_for_a_person()
    await ActionRequestHandoff().run(dispatcher, conversation, DOMAIN)
    assert responses(dispatcher) == ["utter_handoff_requested"]
    assert dispatcher.messages[0]["hours"] == "Mon-Sun 00:00-24:00"
    with sessions() as session:
        assert (
            session.scalars(
                select(SupportTicket).where(SupportTicket.conversation_id == "action-test")
            ).all()
            == []
        )


async def test_handoff_keeps_the_transcript_and_the_verified_customer(services, sessions):
    dispatcher = CollectingDispatcher()
    history = [{"event": "bot", "text": "Hi, I'm Larkspur's assistant.", "timestamp": 1.0}]
    await ActionRequestHandoff().run(
        dispatcher,
        tracker(verified(), text="a human please", intent="contact_human_agent", events=history),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_handoff_requested"]
    with sessions() as session:
        request = session.scalars(select(HandoffRequest)).one()
    assert request.customer_id == 1
    assert [line["text"] for line in request.transcript] == [
        "Hi, I'm Larkspur's assistant.",
        "a human please",
    ]
    assert dispatcher.messages[0]["reference"] == request.reference


async def test_the_handoff_transcript_has_the_roles_the_console_shows(services, sessions):
    # A second handoff after a person handed back: their words are theirs, not the assistant's.
    history = [
        {"event": "user", "text": "a person please", "timestamp": 1.0},
        {"event": "bot", "text": "Passing you on.", "timestamp": 2.0},
        {"event": "pause", "timestamp": 3.0},
        {
            "event": "bot",
            "text": "Hi, Priya here.",
            "timestamp": 4.0,
            "metadata": {"staff": "Priya"},
        },
        {"event": "user", "text": "/EXTERNAL", "timestamp": 5.0, "metadata": {"is_external": True}},
        {"event": "resume", "timestamp": 6.0},
    ]
    await ActionRequestHandoff().run(
        CollectingDispatcher(),
        tracker(text="a human again please", intent="contact_human_agent", events=history),
        DOMAIN,
    )
    (request,) = _handoffs(sessions)
    assert [(line["role"], line.get("name")) for line in request.transcript] == [
        ("customer", None),
        ("agent", None),
        ("system", None),
        ("staff", "Priya"),
        ("system", None),
        ("customer", None),
    ]
    assert request.transcript[0]["at"] == "1970-01-01T00:00:01+00:00"


def _answered(question: str = "can I pay with klarna?") -> list[dict]:
    """The events of a conversation where the agent has just quoted a knowledge answer."""
    return [
        {"event": "user", "text": question, "timestamp": 1.0},
        {"event": "action", "name": "action_answer_from_knowledge", "timestamp": 1.1},
        {
            "event": "bot",
            "text": "Klarna ... Was this helpful?",
            "timestamp": 1.2,
            "metadata": {"utter_action": "utter_knowledge_answer"},
        },
    ]


async def test_an_answer_is_logged_and_remembered_for_the_vote(services, sessions):
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerFromKnowledge().run(
        dispatcher, tracker(text="can I pay with klarna?", intent="ask_question"), DOMAIN
    )
    with sessions() as session:
        logged = session.scalars(select(KnowledgeAnswer)).one()
    assert logged.conversation_id == "action-test"
    assert logged.question == "can I pay with klarna?"
    assert logged.article_id.startswith("payments-")
    assert logged.passage_id.startswith(logged.article_id)
    assert logged.score >= 0.4
    assert slot_events(events) == {
        "knowledge_answer_id": str(logged.id),
        "last_question": {"text": "can I pay with klarna?", "entities": []},
    }
    buttons = DOMAIN["responses"]["utter_knowledge_answer"][0]["buttons"]
    assert [b["payload"] for b in buttons] == ["yes, that helped", "no, that didn't help"]


async def test_an_abstention_is_logged_without_an_article(services, sessions):
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerFromKnowledge().run(
        dispatcher, tracker(text="what is the capital of Peru", intent="nlu_fallback"), DOMAIN
    )
    with sessions() as session:
        logged = session.scalars(select(KnowledgeAnswer)).one()
    assert (logged.question, logged.article_id) == ("what is the capital of Peru", None)
    assert slot_events(events) == {
        "knowledge_answer_id": None,
        "last_question": {"text": "what is the capital of Peru", "entities": []},
    }


def _log_answer(services) -> int:
    return services.answers.record_answer(
        conversation_id="action-test",
        question="can I pay with klarna?",
        article_id="payments-klarna-pay-in-3",
        passage_id="payments-klarna-pay-in-3#0",
        score=0.8,
    )


def _vote(sessions) -> bool | None:
    with sessions() as session:
        return session.scalars(select(KnowledgeAnswer.helpful)).one()


@pytest.mark.parametrize(
    ("intent", "helpful", "reply"),
    [
        ("answer_helpful", True, "utter_answer_helpful"),
        ("affirm", True, "utter_answer_helpful"),
        ("answer_not_helpful", False, "utter_answer_not_helpful"),
        ("deny", False, "utter_answer_not_helpful"),
    ],
)
async def test_a_vote_on_the_answer_just_given_is_stored(
    services, sessions, intent, helpful, reply
):
    answer_id = _log_answer(services)
    dispatcher = CollectingDispatcher()
    await ActionRecordAnswerFeedback().run(
        dispatcher,
        tracker(
            {"knowledge_answer_id": str(answer_id)}, text="x", intent=intent, events=_answered()
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == [reply]
    assert _vote(sessions) is helpful


async def test_a_late_vote_is_not_filed_against_an_old_answer(services, sessions):
    answer_id = _log_answer(services)
    later = [
        *_answered(),
        {"event": "user", "text": "where is my order", "timestamp": 2.0},
        {"event": "bot", "text": "Your order...", "timestamp": 2.1, "metadata": {}},
    ]
    dispatcher = CollectingDispatcher()
    await ActionRecordAnswerFeedback().run(
        dispatcher,
        tracker(
            {"knowledge_answer_id": str(answer_id)},
            text="that didn't help",
            intent="answer_not_helpful",
            events=later,
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_answer_not_helpful"]
    assert _vote(sessions) is None


async def test_no_after_the_offer_of_a_person_is_not_a_vote(services, sessions):
    _log_answer(services)
    after_unknown = [
        {"event": "user", "text": "toaster watts", "timestamp": 1.0},
        {
            "event": "bot",
            "text": "Sorry, I don't know...",
            "timestamp": 1.1,
            "metadata": {"utter_action": "utter_knowledge_unknown"},
        },
    ]
    dispatcher = CollectingDispatcher()
    await ActionRecordAnswerFeedback().run(
        dispatcher,
        tracker(
            {"knowledge_answer_id": None}, text="no thanks", intent="deny", events=after_unknown
        ),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_anything_else"]
    assert _vote(sessions) is None


async def test_a_new_session_of_a_conversation_a_person_holds_starts_paused(services, sessions):
    handoff = services.handoffs.request_handoff(
        conversation_id="action-test",
        channel="rest",
        reason="customer_request",
        customer_id=None,
        transcript=[],
    )
    metadata = {"channel_hint": "web"}
    conversation = tracker({"session_started_metadata": metadata})
    events = await ActionSessionStart().run(CollectingDispatcher(), conversation, DOMAIN)
    kinds = [event["event"] for event in events]
    assert kinds == ["session_started", "slot", "action"]  # waiting: the assistant answers
    assert slot_events(events)["session_started_metadata"] == metadata

    with sessions.begin() as session:
        request = session.get(HandoffRequest, handoff.id)
        request.status, request.claimed_at = "claimed", datetime.now(UTC)
    events = await ActionSessionStart().run(CollectingDispatcher(), conversation, DOMAIN)
    assert [event["event"] for event in events] == ["session_started", "slot", "pause", "action"]
    assert events[-1]["name"] == "action_listen"


async def test_after_a_handoff_asking_for_the_reference_or_the_wait_repeats_it(services):
    events = after_reply("utter_handoff_requested", "get me a real person please")
    for text, intent in (
        ("sorry what's the reference again?", "inform"),
        ("how long will I be waiting?", "delivery_period"),
    ):
        action = ActionContinue() if intent == "inform" else ActionAnswerFromKnowledge()
        dispatcher = CollectingDispatcher()
        run = await action.run(dispatcher, tracker(text=text, intent=intent, events=events), DOMAIN)
        assert dispatcher.messages == []
        assert run == [{"event": "followup", "timestamp": None, "name": "action_request_handoff"}]


async def test_without_a_handoff_the_wait_is_a_question_like_any_other(services):
    dispatcher = CollectingDispatcher()
    run = await ActionAnswerFromKnowledge().run(
        dispatcher, tracker(text="how long will I be waiting for my refund?"), DOMAIN
    )
    assert not [e for e in run if e.get("event") == "followup"]


async def test_a_yes_to_the_offer_of_a_person_asks_for_one(services, sessions):
    for offer in ("utter_knowledge_unknown", "utter_complaint_logged_fault"):
        dispatcher = CollectingDispatcher()
        run = await ActionRecordAnswerFeedback().run(
            dispatcher,
            tracker(text="yes please", intent="affirm", events=after_reply(offer)),
            DOMAIN,
        )
        assert dispatcher.messages == []
        assert run == [{"event": "followup", "timestamp": None, "name": "action_request_handoff"}]
