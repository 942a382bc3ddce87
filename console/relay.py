"""The console's line to Rasa: staff events go to the relay channel (bot/channels/staff.py)."""

from __future__ import annotations

import aiohttp

RELAY_TIMEOUT_S = 15


class RelayFailed(Exception):
    """Rasa did not take the staff event; nothing was said to the customer."""


class RasaRelay:
    """Posts join/message/leave events for a conversation to Rasa's staff relay."""

    def __init__(self, rasa_url: str, token: str) -> None:
        self._url = f"{rasa_url.rstrip('/')}/webhooks/staff/relay"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._session: aiohttp.ClientSession | None = None

    async def send(self, conversation_id: str, kind: str, name: str, text: str = "") -> bool:
        """Whether the customer's channel got it (False: recorded only, e.g. REST)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=RELAY_TIMEOUT_S)
            )
        body = {"conversation_id": conversation_id, "kind": kind, "name": name, "text": text}
        try:
            async with self._session.post(self._url, json=body, headers=self._headers) as reply:
                answer = await reply.json(content_type=None) if reply.status == 200 else None
        except (aiohttp.ClientError, TimeoutError, ValueError) as problem:
            raise RelayFailed(f"the relay could not be reached: {problem}") from problem
        if not isinstance(answer, dict):
            raise RelayFailed(f"the relay answered {reply.status}")
        return bool(answer.get("delivered"))

    async def close(self) -> None:
        """Close the HTTP session (on shutdown)."""
        if self._session is not None:
            await self._session.close()
