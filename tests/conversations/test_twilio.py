"""Twilio (SMS and WhatsApp) through the running agent: signed forms in, Messages API out."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from bot.channels.signatures import twilio_signature
from tests.conversations.conftest import (
    DOMAIN,
    TWILIO_NUMBER,
    TWILIO_SID,
    TWILIO_TOKEN,
    Agent,
)
from tests.conversations.standins import PlatformAPI

pytestmark = pytest.mark.conversation


def new_phone() -> str:
    return "+4477009" + str(uuid.uuid4().int % 10**5).zfill(5)


def sms(customer: str, text: str, *, sid: str | None = None, ours: str = TWILIO_NUMBER) -> dict:
    return {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": TWILIO_SID,
        "From": customer,
        "To": ours,
        "Body": text,
        "NumMedia": "0",
    }


def post(agent: Agent, form: dict[str, str], *, token: str = TWILIO_TOKEN) -> httpx.Response:
    url = f"{agent.stack.rasa_url}/webhooks/twilio/webhook"
    return agent.client.post(
        url, data=form, headers={"X-Twilio-Signature": twilio_signature(token, url, form)}
    )


def messages(api: PlatformAPI, customer: str, count: int) -> list[str]:
    bodies = api.wait_for(customer, count, method="Messages.json")
    return [body["Body"] for body in bodies]


def test_an_sms_is_answered_by_sms_with_buttons_as_a_numbered_list(
    agent: Agent, twilio_api: PlatformAPI
) -> None:
    customer = new_phone()
    reply = post(agent, sms(customer, "hello"))
    assert reply.status_code == 200 and "<Response>" in reply.text
    sent = twilio_api.wait_for(customer, 1, method="Messages.json")
    assert sent, "no reply reached the Messages API stand-in"
    greeting = DOMAIN["responses"]["utter_greet"][0]["text"]
    assert sent[-1]["Body"].startswith(greeting)
    assert "\n1. " in sent[-1]["Body"]
    assert sent[-1]["From"] == TWILIO_NUMBER
    call = next(c for c in twilio_api.calls if c.body.get("To") == customer)
    assert call.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert call.headers.get("Authorization", "").startswith("Basic ")


def test_a_number_answer_chooses_the_option_and_whatsapp_is_answered_on_whatsapp(
    agent: Agent, twilio_api: PlatformAPI
) -> None:
    customer = "whatsapp:" + new_phone()
    ours = "whatsapp:" + TWILIO_NUMBER
    post(agent, sms(customer, "hi", ours=ours))
    first = messages(twilio_api, customer, 1)
    lines = [line for line in first[-1].splitlines() if line[:1].isdigit()]
    track = next(line for line in lines if "rack" in line)  # "Track an order" in the menu
    number = track.split(".", 1)[0]
    post(agent, sms(customer, number, ours=ours))
    later = messages(twilio_api, customer, len(first) + 1)
    ask = DOMAIN["responses"]["utter_ask_order_number"][0]["text"]
    assert ask in later[len(first) :], later
    assert all(b["From"] == ours for b in twilio_api.sent_to(customer, "Messages.json"))


@pytest.mark.parametrize("token", ["forged-token", ""])
def test_a_request_without_twilios_signature_is_refused(
    agent: Agent, twilio_api: PlatformAPI, token: str
) -> None:
    customer = new_phone()
    form = sms(customer, "hello")
    if token:
        assert post(agent, form, token=token).status_code == 401
    else:
        unsigned = agent.client.post(f"{agent.stack.rasa_url}/webhooks/twilio/webhook", data=form)
        assert unsigned.status_code == 401
    signed = post(agent, form)  # the signature covers every field: changing one breaks it
    tampered = {**form, "Body": "cancel order 100102"}
    url = f"{agent.stack.rasa_url}/webhooks/twilio/webhook"
    forged = agent.client.post(
        url,
        data=tampered,
        headers={"X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, url, form)},
    )
    assert signed.status_code == 200 and forged.status_code == 401


def test_a_message_delivered_again_is_handled_once(agent: Agent, twilio_api: PlatformAPI) -> None:
    customer = new_phone()
    form = sms(customer, "hello")
    assert post(agent, form).status_code == 200
    first = len(messages(twilio_api, customer, 1))
    assert post(agent, form).status_code == 200
    time.sleep(0.3)
    assert len(twilio_api.sent_to(customer, "Messages.json")) == first
    users = [e for e in agent.tracker(f"twilio-{customer}")["events"] if e["event"] == "user"]
    assert len(users) == 1
