"""Twilio, SMS and WhatsApp: POST /webhooks/twilio/webhook, replies through the Messages API.

Twilio signs every webhook request (`X-Twilio-Signature`: HMAC-SHA1 with the account's auth
token over the URL it called and the posted form); anything else gets 401. The URL must be the
one entered in Twilio's console, which behind a proxy is not the one Rasa sees, so it is a
setting (`TWILIO_WEBHOOK_URL`). Twilio's retries and replays of a captured request carry the
same `MessageSid`, recorded once (`deliveries.py`).

SMS and WhatsApp have no buttons here: they are shown as a numbered list, and a customer who
answers with a number chooses that option. Long replies are cut under Twilio's 1,600
characters. The customer's phone number is the conversation id, never a verification: the
conversation verifies as on every channel.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from rasa.core.channels.channel import OutputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.deliveries import DeliveryLog
from bot.channels.platform import OnNewMessage, PlatformInput
from bot.channels.render import numbered_list, split_text
from bot.channels.signatures import twilio_request_is_genuine

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.twilio.com"
MAX_BODY = 1600  # characters of one Twilio message


class TwilioOutput(OutputChannel):
    """Sends the bot's messages to one phone (or WhatsApp) number."""

    @classmethod
    def name(cls) -> str:
        """The channel's name in trackers."""
        return "twilio"

    def __init__(
        self,
        *,
        api_base: str,
        account_sid: str,
        auth_token: str,
        sender: str,
        customer: str,
        conversation_id: str,
        deliveries: DeliveryLog,
        session: aiohttp.ClientSession,
    ) -> None:
        self._url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._auth = aiohttp.BasicAuth(account_sid, auth_token)
        self._sender = sender  # our number, as the customer wrote to it (`whatsapp:` kept)
        self._customer = customer
        self._conversation_id = conversation_id
        self._deliveries = deliveries
        self._session = session

    async def _send(self, text: str) -> None:
        for piece in split_text(text, MAX_BODY):
            form = {"From": self._sender, "To": self._customer, "Body": piece}
            async with self._session.post(self._url, data=form, auth=self._auth) as reply:
                if reply.status not in (200, 201):
                    body = (await reply.text())[:200]
                    raise RuntimeError(f"Twilio Messages answered {reply.status}: {body}")

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Plain text; any numbered list shown before no longer applies."""
        self._deliveries.offer(self._conversation_id, [])
        await self._send(text)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """The text and a numbered list of the buttons, whose numbers choose them."""
        payloads = [str(b.get("payload") or b.get("title") or "") for b in buttons]
        self._deliveries.offer(self._conversation_id, payloads)
        await self._send(f"{text}\n\n{numbered_list(buttons)}")

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """The image's link (MMS is not available in every country)."""
        await self.send_text_message(recipient_id, image)


class TwilioInput(PlatformInput):
    """`bot.channels.twilio.TwilioInput` in credentials.yml."""

    CREDENTIALS = ("account_sid", "auth_token", "webhook_url")
    DEFAULT_API_BASE = DEFAULT_API_BASE
    account_sid: str
    auth_token: str
    webhook_url: str

    @classmethod
    def name(cls) -> str:
        """URL prefix: /webhooks/twilio/."""
        return "twilio"

    def add_routes(self, webhook: Blueprint, on_new_message: OnNewMessage) -> None:
        """The webhook route."""

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if (refusal := self.not_set_up()) is not None:
                return refusal
            form = {name: values[0] for name, values in (request.form or {}).items() if values}
            signature = request.headers.get("X-Twilio-Signature", "")
            if not twilio_request_is_genuine(self.auth_token, self.webhook_url, form, signature):
                log.warning("twilio request refused: bad or missing signature")
                return response.json({"error": "unauthorised"}, status=401)
            sid, customer, ours = form.get("MessageSid"), form.get("From"), form.get("To")
            text = form.get("Body")
            if not (sid and customer and ours and text is not None):
                return response.empty()  # a status callback, not a message
            assert self.deliveries is not None
            conversation_id = f"twilio-{customer}"
            output = self._output(conversation_id, customer, ours)
            await self.handle(
                on_new_message,
                delivery_id=sid,
                sender_id=conversation_id,
                text=self.deliveries.choice(conversation_id, text),
                output=output,
                metadata={"twilio_from": customer, "twilio_to": ours},
            )
            # Empty TwiML: the replies went through the Messages API already.
            return response.text(
                "<?xml version='1.0' encoding='UTF-8'?><Response></Response>",
                content_type="text/xml",
            )

    def output_for(self, conversation_id: str, metadata: dict[str, Any]) -> OutputChannel | None:
        """Twilio: the customer's number is in the conversation id, ours in the metadata."""
        customer = self.conversation_address(conversation_id)
        ours = metadata.get("twilio_to")
        if customer is None or not isinstance(ours, str) or not ours:
            return None
        return self._output(conversation_id, customer, ours)

    def _output(self, conversation_id: str, customer: str, ours: str) -> TwilioOutput:
        """Replies from our number `ours` to the `customer`'s."""
        assert self.deliveries is not None  # configured
        return TwilioOutput(
            api_base=self.api_base,
            account_sid=self.account_sid,
            auth_token=self.auth_token,
            sender=ours,
            customer=customer,
            conversation_id=conversation_id,
            deliveries=self.deliveries,
            session=self.session(),
        )
