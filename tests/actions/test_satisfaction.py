"""The satisfaction survey after a person closes a chat (actions/satisfaction.py), real SQLite."""

from datetime import UTC, datetime

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.satisfaction import ActionRecordCsat, ValidateCsatForm, rating_in
from crm.records.models import HandoffRequest
from tests.actions.conftest import DOMAIN, responses, slot_events, tracker


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("5", 5),
        ("4/5", 4),
        ("5 out of 5", 5),
        ("I'd give it two stars", 2),
        ("⭐⭐⭐", 3),
        ("3 or 4", None),
        ("10", None),
        ("4.5", None),
        ("great, thanks", None),
    ],
)
def test_ratings_are_read_from_digits_words_and_stars(text, rating):
    assert rating_in(text) == rating


async def test_an_answer_that_is_not_a_rating_is_asked_again(services):
    dispatcher = CollectingDispatcher()
    events = await ValidateCsatForm().run(
        dispatcher,
        tracker(text="meh", active_loop="csat_form", set_this_turn={"csat_score": "meh"}),
        DOMAIN,
    )
    assert slot_events(events)["csat_score"] is None
    assert responses(dispatcher) == ["utter_invalid_rating"]


def _handoff(sessions, reference: str, *, claimed: bool, rated: int | None = None) -> None:
    now = datetime.now(UTC)
    with sessions.begin() as session:
        session.add(
            HandoffRequest(
                reference=reference,
                conversation_id="action-test",
                channel="rest",
                reason="customer_request",
                transcript=[],
                status="closed",
                created_at=now,
                claimed_at=now if claimed else None,
                closed_at=now,
                outcome="resolved" if claimed else "handed_back",
                csat_score=rated,
                csat_at=now if rated else None,
            )
        )


def _scores(sessions) -> dict[str, int | None]:
    with sessions() as session:
        rows = session.execute(select(HandoffRequest.reference, HandoffRequest.csat_score))
        return {reference: score for reference, score in rows}


async def test_the_rating_goes_to_the_newest_handoff_a_person_handled(services, sessions):
    _handoff(sessions, "HO-OLD001", claimed=True, rated=2)  # rated before: kept
    _handoff(sessions, "HO-PERSON", claimed=True)
    _handoff(sessions, "HO-NOBODY", claimed=False)  # never reached a person
    dispatcher = CollectingDispatcher()
    events = await ActionRecordCsat().run(
        dispatcher, tracker({"csat_score": "5"}, text="5"), DOMAIN
    )
    assert responses(dispatcher) == ["utter_csat_thanks_high"]
    assert dispatcher.messages[0]["score"] == 5
    assert slot_events(events)["csat_score"] is None
    assert _scores(sessions) == {"HO-OLD001": 2, "HO-PERSON": 5, "HO-NOBODY": None}

    # Asked again later (no unrated handoff left): thanked, nothing overwritten.
    dispatcher = CollectingDispatcher()
    await ActionRecordCsat().run(dispatcher, tracker({"csat_score": "1"}, text="1"), DOMAIN)
    assert responses(dispatcher) == ["utter_csat_thanks_low"]
    assert _scores(sessions) == {"HO-OLD001": 2, "HO-PERSON": 5, "HO-NOBODY": None}
