"""The REST channel, hardened: replaces Rasa's `rest` channel at the same URL.

Rasa's own channel trusts the body (an array or a number crashes it with a 500), accepts any
length, lets the caller pick `input_channel` and `metadata`, and passes `/intent{...}` text
straight to the dialogue engine. This one refuses all of that before anything reaches NLU.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.guard import IncomingMessage, RejectedMessage, max_body_bytes, parse_rest_body

log = logging.getLogger(__name__)


class GuardedRestInput(InputChannel):
    """POST /webhooks/rest/webhook with {"sender": ..., "message": ...}; replies as a list."""

    @classmethod
    def name(cls) -> str:
        """Keep Rasa's URL, /webhooks/rest/webhook."""
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Read the message size limit from credentials.yml."""
        credentials = credentials or {}
        return cls(max_message_chars=int(credentials.get("max_message_chars") or 2000))

    def __init__(self, max_message_chars: int = 2000) -> None:
        self.max_message_chars = max_message_chars

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The health and webhook routes."""
        webhook = Blueprint("guarded_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        # Streamed, so an oversized body is refused from its headers or first chunks instead of
        # being read into memory whole.
        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            try:
                message = parse_body(await self._read_body(request), self.max_message_chars)
            except RejectedMessage as rejected:
                return response.json({"error": rejected.reason}, status=rejected.status)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(message.text, collector, message.sender, input_channel=self.name())
                )
            except Exception:
                # Logged without the text: it may hold personal data.
                log.exception("message from conversation %s failed", message.sender)
                return response.json({"error": "the message could not be processed"}, status=500)
            return response.json(collector.messages)

        return webhook

    async def _read_body(self, request: Request) -> bytes:
        """Read the body, giving up as soon as it exceeds the limit."""
        limit = max_body_bytes(self.max_message_chars)
        too_long = RejectedMessage(
            413, f"the message is longer than {self.max_message_chars} characters"
        )
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_long
        assert request.stream is not None  # the route is declared with stream=True
        body = bytearray()
        while True:
            # Sanic 21 (Rasa's) reads a streamed body chunk by chunk; None marks the end.
            chunk = await request.stream.read()  # type: ignore[attr-defined]
            if chunk is None:
                return bytes(body)
            body += chunk
            if len(body) > limit:
                raise too_long


def parse_body(body: bytes, max_chars: int) -> IncomingMessage:
    """Decode JSON and validate it; every problem is a `RejectedMessage`."""
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise RejectedMessage(400, "the body is not valid JSON") from error
    return parse_rest_body(decoded, max_chars=max_chars)
