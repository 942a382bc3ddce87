"""Facebook Messenger: /webhooks/messenger/webhook, replies through the Send API.

Meta checks the URL once with a GET carrying the verify token chosen in the app's settings;
after that every POST carries `X-Hub-Signature-256`, the HMAC-SHA256 of the raw body with the
app secret, and anything else gets 401. Meta retries a batch it saw no quick 200 for; each
message id (`mid`) is recorded (`deliveries.py`) and a copy is handled once.

Replies are plain text cut under Messenger's 2,000 characters; buttons become quick replies
(up to 13, titles of 20 characters) whose payloads come back as the customer's message. A
Messenger user id is never a verified customer: the conversation verifies as on every channel.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

import aiohttp
from rasa.core.channels.channel import OutputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.platform import OnNewMessage, PlatformInput
from bot.channels.render import messenger_quick_replies, split_text
from bot.channels.signatures import messenger_request_is_genuine

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://graph.facebook.com/v19.0"
MAX_TEXT = 2000  # characters of one Messenger message


class MessengerOutput(OutputChannel):
    """Sends the bot's messages to one Messenger user (page-scoped id)."""

    @classmethod
    def name(cls) -> str:
        """The channel's name in trackers."""
        return "messenger"

    def __init__(
        self, api_base: str, page_token: str, psid: str, session: aiohttp.ClientSession
    ) -> None:
        self._url = f"{api_base.rstrip('/')}/me/messages"
        self._params = {"access_token": page_token}
        self._psid = psid
        self._session = session

    async def _send(self, message: dict[str, Any]) -> None:
        body = {"recipient": {"id": self._psid}, "messaging_type": "RESPONSE", "message": message}
        async with self._session.post(self._url, json=body, params=self._params) as reply:
            if reply.status != 200:
                detail = (await reply.text())[:200]  # the token is in the URL: not logged
                raise RuntimeError(f"Messenger Send API answered {reply.status}: {detail}")

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Plain text, cut under the limit."""
        for piece in split_text(text, MAX_TEXT):
            await self._send({"text": piece})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """Quick replies under the last piece of the text."""
        pieces = split_text(text, MAX_TEXT) or [" "]
        for piece in pieces[:-1]:
            await self._send({"text": piece})
        await self._send({"text": pieces[-1], "quick_replies": messenger_quick_replies(buttons)})

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """An image attachment by URL."""
        await self._send(
            {"attachment": {"type": "image", "payload": {"url": image, "is_reusable": True}}}
        )

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """A Send API `message` given in the domain."""
        await self._send(json_message)


class MessengerInput(PlatformInput):
    """`bot.channels.messenger.MessengerInput` in credentials.yml."""

    CREDENTIALS = ("page_token", "app_secret", "verify_token")
    DEFAULT_API_BASE = DEFAULT_API_BASE
    page_token: str
    app_secret: str
    verify_token: str

    @classmethod
    def name(cls) -> str:
        """URL prefix: /webhooks/messenger/."""
        return "messenger"

    def add_routes(self, webhook: Blueprint, on_new_message: OnNewMessage) -> None:
        """Meta's URL check and the webhook."""

        @webhook.route("/webhook", methods=["GET"])
        async def check(request: Request) -> HTTPResponse:
            if (refusal := self.not_set_up()) is not None:
                return refusal
            args = request.args
            given = str(args.get("hub.verify_token") or "")
            if args.get("hub.mode") == "subscribe" and hmac.compare_digest(
                given.encode(), self.verify_token.encode()
            ):
                return response.text(str(args.get("hub.challenge") or ""))
            return response.json({"error": "verification failed"}, status=403)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if (refusal := self.not_set_up()) is not None:
                return refusal
            body = request.body or b""
            signature = request.headers.get("X-Hub-Signature-256", "")
            if not messenger_request_is_genuine(self.app_secret, body, signature):
                log.warning("messenger request refused: bad or missing signature")
                return response.json({"error": "unauthorised"}, status=401)
            statuses = []
            for event in parse_events(body):
                output = MessengerOutput(self.api_base, self.page_token, event[1], self.session())
                statuses.append(
                    await self.handle(
                        on_new_message,
                        delivery_id=event[0],
                        sender_id=f"messenger-{event[1]}",
                        text=event[2],
                        output=output,
                        metadata={"messenger_psid": event[1]},
                    )
                )
            return response.json({"status": statuses})

    def output_for(self, conversation_id: str, metadata: dict[str, Any]) -> OutputChannel | None:
        """Messenger: the customer's page-scoped id is in the conversation id."""
        psid = self.conversation_address(conversation_id)
        if psid is None:
            return None
        return MessengerOutput(self.api_base, self.page_token, psid, self.session())


def parse_events(body: bytes) -> list[tuple[str, str, str]]:
    """(delivery id, sender's page-scoped id, text) of each customer message or button."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    if not isinstance(data, dict) or data.get("object") != "page":
        return []
    found = []
    for entry in data.get("entry") or []:
        for event in (entry or {}).get("messaging") or []:
            psid = ((event or {}).get("sender") or {}).get("id")
            if not psid:
                continue
            message, postback = event.get("message") or {}, event.get("postback") or {}
            if message.get("is_echo"):
                continue  # the page's own messages come back as echoes
            quick = (message.get("quick_reply") or {}).get("payload")
            text = quick or message.get("text") or postback.get("payload")
            delivery = (
                message.get("mid") or postback.get("mid") or f"{psid}:{event.get('timestamp')}"
            )
            if isinstance(text, str) and text:
                found.append((str(delivery), str(psid), text))
    return found
