"""Telegram: POST /webhooks/telegram/webhook, replies through the Bot API.

Telegram sends each update with the secret token given to `setWebhook` in the
`X-Telegram-Bot-Api-Secret-Token` header; anything without the right one gets 401 and never
reaches NLU. Telegram delivers an update again until it sees a 200, so update ids are recorded
(`bot/channels/deliveries.py`) and a copy is acknowledged without being handled twice.

Replies are plain text (Telegram shows it literally: no parse mode, so nothing the bot or a
customer wrote is read as markup), split under Telegram's 4,096-character limit; buttons become
an inline keyboard whose callback data is the button's payload, which our domain keeps as plain
words for NLU. A Telegram user is never a verified customer: the conversation id is the chat,
and verification happens in the conversation as on every channel.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

import aiohttp
from rasa.core.channels.channel import OutputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.platform import OnNewMessage, PlatformInput
from bot.channels.render import inline_keyboard, split_text

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
DEFAULT_API_BASE = "https://api.telegram.org"
# Telegram keeps undelivered updates for 24 hours; anything older is not a real delivery.
MAX_UPDATE_AGE_S = 24 * 3600


class TelegramOutput(OutputChannel):
    """Sends the bot's messages to one chat through the Bot API."""

    @classmethod
    def name(cls) -> str:
        """The channel's name in trackers."""
        return "telegram"

    def __init__(
        self, api_base: str, token: str, chat_id: str, session: aiohttp.ClientSession
    ) -> None:
        # Rasa addresses replies to the conversation id; they go to the chat it came from.
        self._url = f"{api_base.rstrip('/')}/bot{token}"
        self._chat_id = chat_id
        self._session = session

    async def _call(self, method: str, payload: dict[str, Any]) -> None:
        async with self._session.post(f"{self._url}/{method}", json=payload) as reply:
            if reply.status != 200:
                # The token is in the URL: log the method and status only.
                body = (await reply.text())[:200]
                raise RuntimeError(f"Telegram {method} answered {reply.status}: {body}")

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Plain text, split under the limit."""
        for piece in split_text(text):
            await self._call("sendMessage", {"chat_id": self._chat_id, "text": piece})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """An inline keyboard under the text, or a numbered list when buttons do not fit."""
        keyboard = inline_keyboard(buttons)
        if keyboard is None:
            await super().send_text_with_buttons(recipient_id, text, buttons, **kwargs)
            return
        pieces = split_text(text) or [" "]
        for piece in pieces[:-1]:
            await self._call("sendMessage", {"chat_id": self._chat_id, "text": piece})
        await self._call(
            "sendMessage", {"chat_id": self._chat_id, "text": pieces[-1], "reply_markup": keyboard}
        )

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """A photo by URL."""
        await self._call("sendPhoto", {"chat_id": self._chat_id, "photo": image})

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """A Bot API `sendMessage` body given in the domain, sent to this chat."""
        await self._call("sendMessage", {**json_message, "chat_id": self._chat_id})


class TelegramInput(PlatformInput):
    """`bot.channels.telegram.TelegramInput` in credentials.yml."""

    CREDENTIALS = ("token", "secret_token")
    DEFAULT_API_BASE = DEFAULT_API_BASE
    token: str
    secret_token: str

    @classmethod
    def name(cls) -> str:
        """URL prefix: /webhooks/telegram/."""
        return "telegram"

    def add_routes(self, webhook: Blueprint, on_new_message: OnNewMessage) -> None:
        """The webhook route."""

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if (refusal := self.not_set_up()) is not None:
                return refusal
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), self.secret_token.encode()):
                log.warning("telegram update refused: wrong or missing secret token")
                return response.json({"error": "unauthorised"}, status=401)
            update = request.json if isinstance(request.json, dict) else None
            incoming = parse_update(update) if update else None
            if incoming is None:
                return response.json({"status": "ignored"})  # nothing a customer said
            update_id, chat_id, text, sent_at, callback_id = incoming
            if sent_at and time.time() - sent_at > MAX_UPDATE_AGE_S:
                log.warning("telegram update %s refused: older than a day", update_id)
                return response.json({"status": "stale"})
            output = TelegramOutput(self.api_base, self.token, chat_id, self.session())
            if callback_id:
                await _answer_callback(output, callback_id)
            status = await self.handle(
                on_new_message,
                delivery_id=str(update_id),
                sender_id=f"telegram-{chat_id}",
                text=text,
                output=output,
                metadata={"telegram_chat_id": chat_id},
            )
            return response.json({"status": status})

    def output_for(self, conversation_id: str, metadata: dict[str, Any]) -> OutputChannel | None:
        """Telegram: the chat id is in the conversation id."""
        chat = self.conversation_address(conversation_id)
        if chat is None or not chat.lstrip("-").isdigit():
            return None
        return TelegramOutput(self.api_base, self.token, chat, self.session())


async def _answer_callback(output: TelegramOutput, callback_id: str) -> None:
    """Stop the button's spinner in the customer's app; a failure here loses nothing."""
    try:
        await output._call("answerCallbackQuery", {"callback_query_id": callback_id})
    except (aiohttp.ClientError, RuntimeError) as error:
        log.warning("telegram answerCallbackQuery failed: %s", error)


def parse_update(update: dict[str, Any]) -> tuple[int, str, str, float, str] | None:
    """(update id, chat id, text, sent at, callback id) of a text message or button press."""
    update_id = update.get("update_id")
    if not isinstance(update_id, int):
        return None
    message = update.get("message")
    if isinstance(message, dict) and isinstance(message.get("text"), str):
        chat = message.get("chat") or {}
        if "id" not in chat:
            return None
        return update_id, str(chat["id"]), message["text"], float(message.get("date") or 0), ""
    callback = update.get("callback_query")
    if isinstance(callback, dict) and isinstance(callback.get("data"), str):
        chat = ((callback.get("message") or {}).get("chat")) or {}
        if "id" not in chat:
            return None
        return update_id, str(chat["id"]), callback["data"], 0.0, str(callback.get("id") or "")
    return None
