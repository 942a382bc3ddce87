"""What every messaging-platform channel does once a request has proved it is the platform's.

A channel stays off (404) until its secrets are set; a delivery is handled once however often
the platform sends it (`deliveries.py`); an over-long message is dropped; typed `/intent`
commands are read as words (`bot/guard.py`); a failure is logged, without the customer's
text, and still answered 200, since the platform's retry would only fail again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage

from bot.channels.deliveries import DeliveryLog
from bot.guard import neutralise

log = logging.getLogger(__name__)

REPLY_TIMEOUT_S = 15


class PlatformInput(InputChannel):
    """Base of the Telegram, Slack, Twilio and Messenger input channels."""

    def __init__(
        self, *, configured: bool, deliveries_url: str, max_message_chars: int = 2000
    ) -> None:
        self.configured = configured
        self.max_message_chars = max_message_chars
        self.deliveries: DeliveryLog | None = None
        if configured:
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
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
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
