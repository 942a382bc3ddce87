"""Facebook Messenger through the running agent: signed events in, Send API calls out."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest

from bot.channels.signatures import messenger_signature
from tests.conversations.conftest import (
    DOMAIN,
    MESSENGER_SECRET,
    MESSENGER_TOKEN,
    MESSENGER_VERIFY,
    Agent,
)
from tests.conversations.standins import PlatformAPI

pytestmark = pytest.mark.conversation


def new_psid() -> str:
    return str(uuid.uuid4().int % 10**15)


def page_event(psid: str, message: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [
            {
                "id": "PAGE1",
                "time": int(time.time() * 1000),
                "messaging": [
                    {
                        "sender": {"id": psid},
                        "recipient": {"id": "PAGE1"},
                        "timestamp": int(time.time() * 1000),
                        "message": {"mid": "m_" + uuid.uuid4().hex, **message},
                    }
                ],
            }
        ],
    }


def post(agent: Agent, event: dict[str, Any], *, secret: str = MESSENGER_SECRET) -> httpx.Response:
    body = json.dumps(event).encode()
    return agent.client.post(
        f"{agent.stack.rasa_url}/webhooks/messenger/webhook",
        content=body,
        headers={
            "content-type": "application/json",
            "X-Hub-Signature-256": messenger_signature(secret, body),
        },
    )


def test_metas_url_check_needs_the_verify_token(agent: Agent) -> None:
    url = f"{agent.stack.rasa_url}/webhooks/messenger/webhook"
    ok = agent.client.get(
        url,
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": MESSENGER_VERIFY,
            "hub.challenge": "42",
        },
    )
    assert ok.status_code == 200 and ok.text == "42"
    wrong = agent.client.get(
        url, params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "42"}
    )
    assert wrong.status_code == 403 and "42" not in wrong.text


def test_a_signed_message_is_answered_with_quick_replies(
    agent: Agent, messenger_api: PlatformAPI
) -> None:
    psid = new_psid()
    assert post(agent, page_event(psid, {"text": "hello"})).status_code == 200
    sent = messenger_api.wait_for(psid, 1, method="messages")
    assert sent, "no reply reached the Send API stand-in"
    message = sent[-1]["message"]
    assert message["text"] == DOMAIN["responses"]["utter_greet"][0]["text"]
    assert "track my order" in [reply["payload"] for reply in message["quick_replies"]]
    call = next(c for c in messenger_api.calls if (c.body.get("recipient") or {}).get("id") == psid)
    assert call.path == f"/me/messages?access_token={MESSENGER_TOKEN}"


def test_a_quick_reply_is_read_as_its_payload(agent: Agent, messenger_api: PlatformAPI) -> None:
    psid = new_psid()
    post(agent, page_event(psid, {"text": "hi"}))
    before = len(messenger_api.wait_for(psid, 1, method="messages"))
    chosen = {"text": "Track an order", "quick_reply": {"payload": "track my order"}}
    post(agent, page_event(psid, chosen))
    sent = messenger_api.wait_for(psid, before + 1, method="messages")
    ask = DOMAIN["responses"]["utter_ask_order_number"][0]["text"]
    assert any(b["message"].get("text") == ask for b in sent[before:]), sent[before:]


def test_a_forged_request_is_refused_and_never_answered(
    agent: Agent, messenger_api: PlatformAPI
) -> None:
    psid = new_psid()
    assert post(agent, page_event(psid, {"text": "hello"}), secret="forged").status_code == 401
    unsigned = agent.client.post(
        f"{agent.stack.rasa_url}/webhooks/messenger/webhook", json=page_event(psid, {"text": "x"})
    )
    assert unsigned.status_code == 401
    time.sleep(0.3)
    assert messenger_api.sent_to(psid, "messages") == []


def test_a_message_delivered_again_is_handled_once_and_echoes_are_ignored(
    agent: Agent, messenger_api: PlatformAPI
) -> None:
    psid = new_psid()
    event = page_event(psid, {"text": "hello"})
    post(agent, event)
    first = len(messenger_api.wait_for(psid, 1, method="messages"))
    assert post(agent, event).json()["status"] == ["duplicate"]
    echo = page_event(psid, {"text": "from the page", "is_echo": True})
    assert post(agent, echo).json()["status"] == []
    time.sleep(0.3)
    assert len(messenger_api.sent_to(psid, "messages")) == first
