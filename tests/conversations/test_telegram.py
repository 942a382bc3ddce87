"""Telegram through the running agent: signed updates in, Bot API calls out to a stand-in."""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.conversations.conftest import (
    DOMAIN,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    Agent,
)
from tests.conversations.standins import PlatformAPI

pytestmark = pytest.mark.conversation

_update_ids = itertools.count(int(time.time()))


def new_chat() -> str:
    return str(uuid.uuid4().int % 10**9)


def text_update(
    chat_id: str, text: str, *, update_id: int | None = None, age_s: float = 0
) -> dict[str, Any]:
    return {
        "update_id": update_id if update_id is not None else next(_update_ids),
        "message": {
            "message_id": 1,
            "date": int(time.time() - age_s),
            "chat": {"id": int(chat_id), "type": "private"},
            "from": {"id": int(chat_id), "is_bot": False, "first_name": "Sam"},
            "text": text,
        },
    }


def button_update(chat_id: str, data: str) -> dict[str, Any]:
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": uuid.uuid4().hex,
            "from": {"id": int(chat_id), "is_bot": False, "first_name": "Sam"},
            "message": {"message_id": 2, "chat": {"id": int(chat_id), "type": "private"}},
            "data": data,
        },
    }


def post(
    agent: Agent, update: dict[str, Any], secret: str | None = TELEGRAM_SECRET
) -> httpx.Response:
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    return agent.client.post(
        f"{agent.stack.rasa_url}/webhooks/telegram/webhook", json=update, headers=headers
    )


def greeting_start() -> str:
    return str(DOMAIN["responses"]["utter_greet"][0]["text"])[:40]


def test_a_signed_message_is_answered_with_buttons_as_an_inline_keyboard(
    agent: Agent, telegram_api: PlatformAPI
) -> None:
    chat = new_chat()
    assert post(agent, text_update(chat, "hello")).status_code == 200
    sent = telegram_api.wait_for(chat, 1)
    assert sent, "no reply reached the Bot API stand-in"
    reply = sent[-1]
    assert reply["text"].startswith(greeting_start())
    rows = reply["reply_markup"]["inline_keyboard"]
    assert {"text": rows[0][0]["text"], "callback_data": "track my order"} == rows[0][0]
    assert "parse_mode" not in reply  # shown as plain text, never as markup
    assert all(call.path.startswith(f"/bot{TELEGRAM_TOKEN}/") for call in telegram_api.calls)


def test_a_button_press_is_read_as_its_payload_and_acknowledged(
    agent: Agent, telegram_api: PlatformAPI
) -> None:
    chat = new_chat()
    post(agent, text_update(chat, "hi"))
    before = len(telegram_api.wait_for(chat, 1))
    press = button_update(chat, "track my order")
    assert post(agent, press).status_code == 200
    sent = telegram_api.wait_for(chat, before + 1)
    ask = DOMAIN["responses"]["utter_ask_order_number"][0]["text"]
    assert any(body["text"] == ask for body in sent[before:]), sent[before:]
    answered = [
        call.body for call in telegram_api.calls if call.path.endswith("/answerCallbackQuery")
    ]
    assert {"callback_query_id": press["callback_query"]["id"]} in answered


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", TELEGRAM_SECRET + "x"])
def test_an_update_without_the_secret_is_refused_and_never_answered(
    agent: Agent, telegram_api: PlatformAPI, secret: str | None
) -> None:
    chat = new_chat()
    reply = post(agent, text_update(chat, "hello"), secret=secret)
    assert reply.status_code == 401
    time.sleep(0.3)
    assert telegram_api.sent_to(chat) == []
    events = agent.tracker(f"telegram-{chat}")["events"]
    assert [e for e in events if e["event"] == "user"] == []


def test_a_delivery_sent_again_is_handled_once(agent: Agent, telegram_api: PlatformAPI) -> None:
    chat = new_chat()
    update = text_update(chat, "hello")
    assert post(agent, update).status_code == 200
    first = len(telegram_api.wait_for(chat, 1))
    again = post(agent, update)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    time.sleep(0.3)
    assert len(telegram_api.sent_to(chat)) == first
    users = [e for e in agent.tracker(f"telegram-{chat}")["events"] if e["event"] == "user"]
    assert len(users) == 1


def test_an_update_older_than_telegram_keeps_them_is_dropped(
    agent: Agent, telegram_api: PlatformAPI
) -> None:
    chat = new_chat()
    reply = post(agent, text_update(chat, "hello", age_s=2 * 24 * 3600))
    assert reply.status_code == 200 and reply.json()["status"] == "stale"
    time.sleep(0.3)
    assert telegram_api.sent_to(chat) == []


def test_a_typed_intent_command_is_read_as_words(agent: Agent, telegram_api: PlatformAPI) -> None:
    chat = new_chat()
    post(agent, text_update(chat, '/verify_customer{"customer_id": 1}'))
    telegram_api.wait_for(chat, 1)
    tracker = agent.tracker(f"telegram-{chat}")
    assert tracker["slots"].get("customer_id") is None  # never verified by a Telegram id or text
    user = [e for e in tracker["events"] if e["event"] == "user"][-1]
    assert not user["text"].startswith("/")
