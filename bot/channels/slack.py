"""Slack: POST /webhooks/slack/webhook for events and button presses, replies by chat.postMessage.

Every request must carry Slack's signature of its raw body (`X-Slack-Signature`, HMAC-SHA256
with the app's signing secret) and a timestamp under five minutes old; anything else gets 401,
so a captured request cannot be replayed later. Slack retries an event it saw no quick 200 for;
event ids are recorded (`deliveries.py`) and a copy is acknowledged without being handled again.

The same URL serves as the app's Events API request URL (messages in its direct-message
channel, `message.im`) and its interactivity URL (button presses). Replies are Block Kit
sections of plain text, so nothing is read as markup, cut under Slack's 3,000 characters per
section; buttons are an actions block whose values are the payloads. A Slack user is never a
verified customer: the conversation verifies as on every channel.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from rasa.core.channels.channel import OutputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.platform import OnNewMessage, PlatformInput
from bot.channels.render import slack_blocks, slack_escape, split_text
from bot.channels.signatures import slack_request_is_genuine

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://slack.com/api"
MAX_SECTION = 3000  # characters of one Block Kit section


class SlackOutput(OutputChannel):
    """Posts the bot's messages to one Slack channel."""

    @classmethod
    def name(cls) -> str:
        """The channel's name in trackers."""
        return "slack"

    def __init__(
        self, api_base: str, bot_token: str, channel: str, session: aiohttp.ClientSession
    ) -> None:
        self._url = f"{api_base.rstrip('/')}/chat.postMessage"
        self._headers = {"Authorization": f"Bearer {bot_token}"}
        self._channel = channel
        self._session = session

    async def _post(self, text: str, blocks: list[dict[str, Any]]) -> None:
        body = {"channel": self._channel, "text": slack_escape(text), "blocks": blocks}
        async with self._session.post(self._url, json=body, headers=self._headers) as reply:
            answer = await reply.json(content_type=None) if reply.status == 200 else {}
            if not answer.get("ok"):
                raise RuntimeError(f"Slack chat.postMessage failed: {reply.status} {answer}")

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Plain-text sections, cut under the limit."""
        for piece in split_text(text, MAX_SECTION):
            await self._post(piece, slack_blocks(piece, []))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """The text, then an actions block with one button per payload."""
        pieces = split_text(text, MAX_SECTION) or [" "]
        for piece in pieces[:-1]:
            await self._post(piece, slack_blocks(piece, []))
        await self._post(pieces[-1], slack_blocks(pieces[-1], buttons))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """An image block."""
        await self._post(image, [{"type": "image", "image_url": image, "alt_text": "image"}])

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """Blocks given in the domain, posted to this channel."""
        await self._post(str(json_message.get("text") or ""), list(json_message.get("blocks", [])))


class SlackInput(PlatformInput):
    """`bot.channels.slack.SlackInput` in credentials.yml."""

    CREDENTIALS = ("bot_token", "signing_secret")
    DEFAULT_API_BASE = DEFAULT_API_BASE
    bot_token: str
    signing_secret: str

    @classmethod
    def name(cls) -> str:
        """URL prefix: /webhooks/slack/."""
        return "slack"

    def add_routes(self, webhook: Blueprint, on_new_message: OnNewMessage) -> None:
        """The webhook route."""

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if (refusal := self.not_set_up()) is not None:
                return refusal
            body = request.body or b""
            if not slack_request_is_genuine(
                self.signing_secret,
                request.headers.get("X-Slack-Request-Timestamp", ""),
                request.headers.get("X-Slack-Signature", ""),
                body,
            ):
                log.warning("slack request refused: bad signature or stale timestamp")
                return response.json({"error": "unauthorised"}, status=401)
            incoming = parse_request(body, request.headers.get("content-type", ""))
            if incoming is None:
                return response.json({"status": "ignored"})
            if "challenge" in incoming:
                return response.json({"challenge": incoming["challenge"]})
            output = SlackOutput(self.api_base, self.bot_token, incoming["channel"], self.session())
            status = await self.handle(
                on_new_message,
                delivery_id=incoming["delivery_id"],
                sender_id=f"slack-{incoming['channel']}",
                text=incoming["text"],
                output=output,
                metadata={"slack_channel": incoming["channel"], "slack_user": incoming["user"]},
            )
            return response.json({"status": status})

    def output_for(self, conversation_id: str, metadata: dict[str, Any]) -> OutputChannel | None:
        """Slack: the channel id is in the conversation id."""
        channel = self.conversation_address(conversation_id)
        if channel is None:
            return None
        return SlackOutput(self.api_base, self.bot_token, channel, self.session())


def parse_request(body: bytes, content_type: str) -> dict[str, str] | None:
    """A URL check, a customer's message or a button press; None for anything else."""
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = parse_qs(body.decode("utf-8"))
            return _button_press(json.loads(form.get("payload", ["{}"])[0]))
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("type") == "url_verification" and isinstance(data.get("challenge"), str):
        return {"challenge": data["challenge"]}
    event = data.get("event")
    if data.get("type") != "event_callback" or not isinstance(event, dict):
        return None
    if event.get("type") != "message" or event.get("subtype") or event.get("bot_id"):
        return None  # edits, joins and the bot's own posts are not customer messages
    text, channel, user = event.get("text"), event.get("channel"), event.get("user")
    if not all(isinstance(value, str) and value for value in (text, channel, user)):
        return None
    return {
        "delivery_id": str(data.get("event_id") or f"{channel}:{event.get('ts')}"),
        "channel": str(channel),
        "user": str(user),
        "text": str(text),
    }


def _button_press(payload: Any) -> dict[str, str] | None:
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return None
    actions = payload.get("actions") or []
    channel = (payload.get("channel") or {}).get("id")
    user = (payload.get("user") or {}).get("id")
    if not actions or not isinstance(actions[0], dict) or not channel or not user:
        return None
    value = actions[0].get("value")
    if not isinstance(value, str) or not value:
        return None
    return {
        "delivery_id": f"{payload.get('trigger_id') or ''}:{actions[0].get('action_ts')}",
        "channel": str(channel),
        "user": str(user),
        "text": value,
    }
