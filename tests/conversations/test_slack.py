"""Slack through the running agent: signed events in, chat.postMessage out to a stand-in."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.channels.signatures import slack_signature
from tests.conversations.conftest import DOMAIN, SLACK_SECRET, SLACK_TOKEN, Agent
from tests.conversations.standins import PlatformAPI

pytestmark = pytest.mark.conversation


def new_channel() -> str:
    return "D" + uuid.uuid4().hex[:10].upper()


def message_event(channel: str, text: str, **event: Any) -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": "T0TEST",
        "event_id": "Ev" + uuid.uuid4().hex[:12],
        "event": {
            "type": "message",
            "channel": channel,
            "user": "U0CUSTOMER",
            "text": text,
            "ts": f"{time.time():.6f}",
            **event,
        },
    }


def post(
    agent: Agent,
    body: bytes,
    *,
    content_type: str = "application/json",
    secret: str = SLACK_SECRET,
    age_s: float = 0,
) -> httpx.Response:
    timestamp = str(int(time.time() - age_s))
    return agent.client.post(
        f"{agent.stack.rasa_url}/webhooks/slack/webhook",
        content=body,
        headers={
            "content-type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": slack_signature(secret, timestamp, body),
        },
    )


def post_event(agent: Agent, event: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return post(agent, json.dumps(event).encode(), **kwargs)


def test_slacks_url_check_is_answered_with_its_challenge(agent: Agent) -> None:
    reply = post_event(agent, {"type": "url_verification", "challenge": "c-123", "token": "x"})
    assert reply.status_code == 200 and reply.json() == {"challenge": "c-123"}


def test_a_signed_message_is_answered_with_plain_text_and_buttons(
    agent: Agent, slack_api: PlatformAPI
) -> None:
    channel = new_channel()
    assert post_event(agent, message_event(channel, "hello")).status_code == 200
    sent = slack_api.wait_for(channel, 1, method="chat.postMessage")
    assert sent, "no reply reached the Web API stand-in"
    blocks = sent[-1]["blocks"]
    greeting = DOMAIN["responses"]["utter_greet"][0]["text"]
    assert blocks[0]["text"] == {"type": "plain_text", "text": greeting, "emoji": True}
    values = [element["value"] for element in blocks[1]["elements"]]
    assert "track my order" in values
    calls = [c for c in slack_api.calls if c.body.get("channel") == channel]
    assert all(c.headers.get("Authorization") == f"Bearer {SLACK_TOKEN}" for c in calls)


def test_a_button_press_is_read_as_its_value(agent: Agent, slack_api: PlatformAPI) -> None:
    channel = new_channel()
    post_event(agent, message_event(channel, "hi"))
    before = len(slack_api.wait_for(channel, 1, method="chat.postMessage"))
    press = {
        "type": "block_actions",
        "trigger_id": uuid.uuid4().hex,
        "user": {"id": "U0CUSTOMER"},
        "channel": {"id": channel},
        "actions": [{"action_id": "button-0", "value": "track my order", "action_ts": "1.2"}],
    }
    body = urlencode({"payload": json.dumps(press)}).encode()
    reply = post(agent, body, content_type="application/x-www-form-urlencoded")
    assert reply.status_code == 200
    sent = slack_api.wait_for(channel, before + 1, method="chat.postMessage")
    ask = DOMAIN["responses"]["utter_ask_order_number"][0]["text"]
    assert any(b["blocks"][0]["text"]["text"] == ask for b in sent[before:]), sent[before:]


@pytest.mark.parametrize(("secret", "age_s"), [("forged-secret", 0), (SLACK_SECRET, 400)])
def test_a_forged_or_replayed_request_is_refused(
    agent: Agent, slack_api: PlatformAPI, secret: str, age_s: float
) -> None:
    channel = new_channel()
    reply = post_event(agent, message_event(channel, "hello"), secret=secret, age_s=age_s)
    assert reply.status_code == 401
    unsigned = agent.client.post(
        f"{agent.stack.rasa_url}/webhooks/slack/webhook", json=message_event(channel, "hello")
    )
    assert unsigned.status_code == 401
    time.sleep(0.3)
    assert slack_api.sent_to(channel, "chat.postMessage") == []


def test_an_event_slack_sends_again_is_handled_once(agent: Agent, slack_api: PlatformAPI) -> None:
    channel = new_channel()
    event = message_event(channel, "hello")
    assert post_event(agent, event).status_code == 200
    first = len(slack_api.wait_for(channel, 1, method="chat.postMessage"))
    again = post_event(agent, event)  # Slack's retry: same event id, fresh signature
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    time.sleep(0.3)
    assert len(slack_api.sent_to(channel, "chat.postMessage")) == first


def test_the_bots_own_posts_and_edits_are_not_customer_messages(
    agent: Agent, slack_api: PlatformAPI
) -> None:
    channel = new_channel()
    assert post_event(agent, message_event(channel, "hi", bot_id="B0BOT")).json()["status"] == (
        "ignored"
    )
    edited = message_event(channel, "hi", subtype="message_changed")
    assert post_event(agent, edited).json()["status"] == "ignored"
    time.sleep(0.3)
    assert slack_api.sent_to(channel, "chat.postMessage") == []
