"""What every messaging-platform channel does once a request has proved it is the platform's.

A channel stays off (404) until its secrets are set; a delivery is handled once however often
the platform sends it (`deliveries.py`); an over-long message is dropped; typed `/intent`
commands are read as words (`bot/guard.py`); a failure is logged, without the customer's
text, and still answered 200, since the platform's retry would only fail again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.deliveries import DeliveryLog
from bot.guard import neutralise

log = logging.getLogger(__name__)

REPLY_TIMEOUT_S = 15


OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class PlatformInput(InputChannel):
    """Base of the Telegram, Slack, Twilio and Messenger input channels.

    A subclass names its credentials in `CREDENTIALS` (keys of credentials.yml, which are also
    its constructor's arguments), its API's address in `DEFAULT_API_BASE`, and adds its webhook
    routes in `add_routes`.
    """

    CREDENTIALS: ClassVar[tuple[str, ...]] = ()
    DEFAULT_API_BASE: ClassVar[str] = ""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """The channel's secrets, API base, size limit and the delivery log's database."""
        credentials = credentials or {}
        secrets = {name: str(credentials.get(name) or "") for name in cls.CREDENTIALS}
        subclass: Any = cls  # whose constructor takes its CREDENTIALS by name
        channel: InputChannel = subclass(
            **secrets,
            api_base=str(credentials.get("api_base") or cls.DEFAULT_API_BASE),
            deliveries_url=str(credentials.get("deliveries_url") or ""),
            max_message_chars=int(credentials.get("max_message_chars") or 2000),
        )
        return channel

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """A health route, then the channel's own routes."""
        webhook = Blueprint(f"{self.name()}_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.configured else "not configured"})

        self.add_routes(webhook, on_new_message)
        return webhook

    def add_routes(self, webhook: Blueprint, on_new_message: OnNewMessage) -> None:
        """Add the webhook routes; each answers `not_set_up()` first."""
        raise NotImplementedError

    def output_for(self, conversation_id: str, metadata: dict[str, Any]) -> OutputChannel | None:
        """Where a staff member's reply to `conversation_id` goes; None if it cannot be reached.

        `metadata` is that of the customer's latest message; each platform rebuilds its
        output channel from the conversation id (which names the chat) and that metadata.
        """
        raise NotImplementedError

    def conversation_address(self, conversation_id: str) -> str | None:
        """The platform's address of the chat, from our conversation id; None if not ours."""
        prefix = f"{self.name()}-"
        if not self.configured or not conversation_id.startswith(prefix):
            return None
        return conversation_id[len(prefix) :] or None

    def not_set_up(self) -> HTTPResponse | None:
        """404 while the channel's secrets are unset, else None."""
        if self.configured:
            return None
        return response.json({"error": f"the {self.name()} channel is not set up"}, status=404)

    def __init__(
        self,
        *,
        api_base: str = "",
        deliveries_url: str = "",
        max_message_chars: int = 2000,
        **secrets: str,
    ) -> None:
        """On when the first of `CREDENTIALS` is set, and then every other one must be."""
        first, *needed = self.CREDENTIALS
        self.configured = bool(secrets.get(first))
        missing = [name for name in needed if not secrets.get(name)]
        if self.configured and missing:
            names = ", ".join(f"{self.name()}_{name}".upper() for name in missing)
            raise ValueError(
                f"{self.name()}_{first}".upper() + f" is set without {names}: "
                "requests to the webhook could not be checked"
            )
        for name in self.CREDENTIALS:
            setattr(self, name, secrets.get(name, ""))
        self.api_base = api_base or self.DEFAULT_API_BASE
        self.max_message_chars = max_message_chars
        self.deliveries: DeliveryLog | None = None
        if self.configured:
            if not deliveries_url:
                raise ValueError(f"the {self.name()} channel needs the delivery log's database")
            self.deliveries = DeliveryLog(deliveries_url)
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """One HTTP session for the replies of this process, made on first use."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT_S)
            )
        return self._session

    async def handle(
        self,
        on_new_message: OnNewMessage,
        *,
        delivery_id: str,
        sender_id: str,
        text: str,
        output: OutputChannel,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        """Pass one customer message to Rasa; what happened, for the webhook's answer."""
        assert self.deliveries is not None  # routes answer 404 before this when off
        if not self.deliveries.first_time(self.name(), delivery_id):
            log.info("%s delivery %s came again; handled once", self.name(), delivery_id)
            return "duplicate"
        if len(text) > self.max_message_chars:
            log.info("%s delivery %s dropped: %d characters", self.name(), delivery_id, len(text))
            return "too long"
        try:
            await on_new_message(
                UserMessage(
                    neutralise(text),
                    output,
                    sender_id,
                    input_channel=self.name(),
                    metadata=metadata,
                )
            )
        except Exception:
            log.exception("%s delivery %s for %s failed", self.name(), delivery_id, sender_id)
        return "ok"
