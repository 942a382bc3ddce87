"""Rasa's staff relay (bot/channels/staff.py) with the running agent: transfer, close and CSAT.

The console's own routes are tested in test_console.py; here the relay is called as the console
calls it, for a Telegram customer (a channel that pushes), and the customer's side is what the
Bot API stand-in received.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text

from crm.desk.handoffs import HandoffDesk
from crm.desk.staff import StaffMember, StaffService
from crm.desk.transcripts import TranscriptSource
from crm.records.db import make_engine
from crm.records.models import HandoffRequest
from tests.conversations import test_telegram as telegram
from tests.conversations.conftest import Agent, said
from tests.conversations.standins import PlatformAPI


def relay(agent: Agent, conversation: str, kind: str, name: str, text: str = "") -> httpx.Response:
    return agent.client.post(
        f"{agent.stack.rasa_url}/webhooks/staff/relay",
        json={"conversation_id": conversation, "kind": kind, "name": name, "text": text},
        headers={"Authorization": f"Bearer {agent.stack.token}"},
    )


def member(agent: Agent) -> StaffMember:
    """A new agent of the general team."""
    staff = StaffService(
        agent.sessions, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    return staff.create_member(
        email=f"rhea-{uuid.uuid4().hex[:8]}@larkspur.test",
        name="Rhea",
        password="correct horse battery staple",
        role="agent",
        actor="test",
    )


def handoff(agent: Agent, conversation: str) -> HandoffRequest:
    with agent.sessions() as session:
        request = session.scalars(
            select(HandoffRequest).where(HandoffRequest.conversation_id == conversation)
        ).one()
        session.expunge(request)
        return request


def texts(api: PlatformAPI, chat: str, after: int, count: int) -> list[dict[str, Any]]:
    return api.wait_for(chat, after + count)[after:]


def test_transfer_keeps_the_assistant_quiet_and_closing_asks_for_a_rating(
    agent: Agent, telegram_api: PlatformAPI
) -> None:
    chat = telegram.new_chat()
    conversation = f"telegram-{chat}"
    telegram.post(agent, telegram.text_update(chat, "I want to talk to a person"))
    sent = len(telegram_api.wait_for(chat, 1))
    HandoffDesk(agent.sessions).claim(handoff(agent, conversation).reference, member(agent))
    assert relay(agent, conversation, "join", "Rhea").json() == {"delivered": True}
    sent += 1

    assert relay(agent, conversation, "transfer", "Rhea", "sales").status_code == 400
    assert relay(agent, conversation, "transfer", "Rhea", "billing").json() == {"delivered": True}
    [passed_on] = texts(telegram_api, chat, sent, 1)
    assert said([passed_on], "utter_staff_transferred_billing")
    sent += 1
    # While the billing team is on its way, the assistant stays quiet.
    telegram.post(agent, telegram.text_update(chat, "hello? where is my order?"))
    assert relay(agent, conversation, "message", "Rhea", "Still here!").status_code == 200
    [next_message] = texts(telegram_api, chat, sent, 1)
    assert next_message["text"] == "Still here!"
    sent += 1

    assert relay(agent, conversation, "close", "Rhea").json() == {"delivered": True}
    closed, question = texts(telegram_api, chat, sent, 2)
    assert said([closed], "utter_staff_closed") and "Rhea" in closed["text"]
    assert said([question], "utter_ask_csat_score")
    buttons = [row[0]["callback_data"] for row in question["reply_markup"]["inline_keyboard"]]
    assert buttons == ["5", "4", "3", "2", "1"]
    sent += 2

    telegram.post(agent, telegram.button_update(chat, "4"))
    [thanks] = texts(telegram_api, chat, sent, 1)
    assert said([thanks], "utter_csat_thanks_high") and "4 out of 5" in thanks["text"]
    sent += 1
    rated = handoff(agent, conversation)
    assert (rated.csat_score, rated.csat_at is not None) == (4, True)

    # The assistant is back: the next question is answered by it, not left for a person.
    telegram.post(agent, telegram.text_update(chat, "hi"))
    [greeting] = texts(telegram_api, chat, sent, 1)
    assert said([greeting], "utter_greet")

    # The intent that started the survey is no customer's words: staff never see it.
    source = TranscriptSource(make_engine(f"sqlite:///{agent.stack.settings.tracker_db}"))
    customer = [line.text for line in source.lines(conversation) if line.role == "customer"]
    assert customer == ["I want to talk to a person", "hello? where is my order?", "4", "hi"]


@pytest.mark.parametrize("answer", ["no thanks", "thank you, bye"])
def test_a_customer_may_decline_the_rating(
    agent: Agent, telegram_api: PlatformAPI, answer: str
) -> None:
    chat = telegram.new_chat()
    conversation = f"telegram-{chat}"
    telegram.post(agent, telegram.text_update(chat, "hello"))
    sent = len(telegram_api.wait_for(chat, 1))
    assert relay(agent, conversation, "join", "Rhea").status_code == 200
    assert relay(agent, conversation, "close", "Rhea").status_code == 200
    sent += 3
    telegram_api.wait_for(chat, sent)
    telegram.post(agent, telegram.text_update(chat, answer))
    [reply] = texts(telegram_api, chat, sent, 1)
    assert said([reply], "utter_csat_skipped")


def test_a_customer_back_after_the_session_expired_still_talks_to_the_person(
    agent: Agent, telegram_api: PlatformAPI
) -> None:
    chat = telegram.new_chat()
    conversation = f"telegram-{chat}"
    telegram.post(agent, telegram.text_update(chat, "I want to talk to a person"))
    sent = len(telegram_api.wait_for(chat, 1))
    HandoffDesk(agent.sessions).claim(handoff(agent, conversation).reference, member(agent))
    assert relay(agent, conversation, "join", "Rhea").status_code == 200
    sent += 1
    telegram_api.wait_for(chat, sent)
    # Two hours of silence: longer than the session expiry (domain.yml session_config).
    tracker_db = make_engine(f"sqlite:///{agent.stack.settings.tracker_db}")
    with tracker_db.begin() as connection:
        connection.execute(
            text(
                "UPDATE events SET timestamp = timestamp - 7200, data = json_set(data, "
                "'$.timestamp', json_extract(data, '$.timestamp') - 7200) WHERE sender_id = :id"
            ),
            {"id": conversation},
        )
        # The last event again under a new id, as another Rasa instance's write would leave
        # it: Rasa's cached tracker (bot/tracker_store.py) is then read again from the table.
        columns = "sender_id, type_name, timestamp, intent_name, action_name, data"
        last = "(SELECT max(id) FROM events WHERE sender_id = :id)"
        connection.execute(
            text(f"INSERT INTO events ({columns}) SELECT {columns} FROM events WHERE id = {last}"),
            {"id": conversation},
        )
        connection.execute(
            text(
                "DELETE FROM events WHERE id = (SELECT max(id) FROM events "
                f"WHERE sender_id = :id AND id < {last})"
            ),
            {"id": conversation},
        )
    telegram.post(agent, telegram.text_update(chat, "hi, are you still there?"))
    assert relay(agent, conversation, "message", "Rhea", "Yes, still here.").status_code == 200
    [next_message] = texts(telegram_api, chat, sent, 1)
    assert next_message["text"] == "Yes, still here."  # the assistant did not answer
    kinds = [
        row.type_name
        for row in tracker_db.connect().execute(
            text("SELECT type_name FROM events WHERE sender_id = :id ORDER BY id"),
            {"id": conversation},
        )
    ]
    assert "session_started" in kinds[kinds.index("pause") :]  # a new session did begin
