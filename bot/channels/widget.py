"""The website widget's channel: socket.io at /socket.io, the script at /webhooks/widget/widget.js.

Rasa's own socketio channel accepts connections from any origin, lets the browser choose the
conversation id and the message metadata, and forgets the conversation when the page reloads.
This one:

- accepts WebSocket connections only from `WIDGET_ALLOWED_ORIGINS` (python-engineio refuses the
  rest before any event), and only the WebSocket transport, so that several Rasa processes can
  share the port (long-polling would need every request of a client on the same process);
- names the conversation `web-<32 hex>` from a random id the browser keeps, so a widget can
  never open another channel's conversation (`whatsapp:+44...`) by choosing its id;
- sends the current session's history when the browser comes back (`history`), and starts a
  new conversation instead when the signed-in shopper has changed (a shared computer);
- checks the host site's signed identity (`identity.py`) and passes the customer id to the
  actions as metadata; nothing else from the browser reaches the metadata;
- handles each browser message id once (a message re-sent after a dropped connection), refuses
  over-long or empty text and `/intent` commands like every channel, and acknowledges each
  message, so the widget knows what to send again.

Bot messages go to the conversation's room, so every tab of the same conversation sees them.
The replies to a customer's message are emitted by the process that holds the customer's socket,
straight to its own sockets in the room (`ignore_queue`: no round trip through the queue, as
fast as with one process). Messages that start elsewhere, such as a support agent's reply that
reached any process by HTTP, go through `deliver()` or `output_for()`: through the queue of
`pubsub.py` (`WIDGET_PUBSUB_URL`), so that every process delivers them to its sockets in the room.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.constants import IS_EXTERNAL
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels.deliveries import DeliveryLog
from bot.channels.identity import verified_customer
from bot.channels.platform import OnNewMessage
from bot.channels.pubsub import client_manager, start_listening, stop_listening
from bot.guard import max_body_bytes, neutralise
from config.contract import SIGNED_IN_CUSTOMER

log = logging.getLogger(__name__)

WIDGET_SCRIPT = Path(__file__).resolve().parent.parent / "widget" / "widget.js"
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
MESSAGE_ID = re.compile(r"^[0-9A-Za-z-]{8,64}$")
CONVERSATION_PREFIX = "web-"
CONVERSATION_ID = re.compile(r"^web-[0-9a-f]{32}$")


def conversation_id(session_id: str) -> str:
    """The Rasa conversation of a widget session."""
    return CONVERSATION_PREFIX + session_id


def buttons_of(buttons: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Quick replies as the widget takes them: a title and the payload it sends back."""
    return [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))} for b in buttons
    ]


def widget_message(message: Mapping[str, Any], timestamp: float) -> dict[str, Any]:
    """A bot message (Rasa's `text`, `buttons`, `image`, `custom`) as the widget shows it."""
    shown: dict[str, Any] = {"sender": "bot", "timestamp": timestamp}
    if message.get("text"):
        shown["text"] = str(message["text"])
    if message.get("buttons"):
        shown["buttons"] = buttons_of(message["buttons"])
    if message.get("image"):
        shown["image"] = str(message["image"])
    if message.get("custom"):
        shown["custom"] = message["custom"]
    return shown


def bot_message(event: BotUttered) -> dict[str, Any]:
    """What the widget shows of a bot event (the same shape as a live `bot_uttered`)."""
    return widget_message({**(event.data or {}), "text": event.text}, event.timestamp)


def history_of(events: Iterable[Any], limit: int) -> list[dict[str, Any]]:
    """The customer's and the bot's messages among `events`, the last `limit` of them."""
    messages: list[dict[str, Any]] = []
    for event in events:
        if isinstance(event, UserUttered) and event.text and not _external(event):
            messages.append(
                {"sender": "customer", "text": event.text, "timestamp": event.timestamp}
            )
        elif isinstance(event, BotUttered):
            messages.append(bot_message(event))
    return messages[-limit:] if limit else []


def signed_in_as(events: Iterable[Any]) -> int | None:
    """The signed-in customer of the conversation's last message (None: a guest)."""
    last = None
    for event in events:
        if isinstance(event, UserUttered) and not _external(event):
            last = event
    if last is None:
        return None
    value = (last.metadata or {}).get(SIGNED_IN_CUSTOMER)
    return int(value) if isinstance(value, int) else None


def _external(event: UserUttered) -> bool:
    """An intent triggered from outside (the staff relay's), not something the customer said."""
    return bool((event.metadata or {}).get(IS_EXTERNAL))


class WidgetOutput(OutputChannel):
    """Bot messages to every tab of one conversation, each stamped with the time it was sent.

    `through_queue`: to the room's sockets in every Rasa process (for messages that did not
    start in the process holding the customer's socket); otherwise to this process's only.
    """

    @classmethod
    def name(cls) -> str:
        """Rasa records this as the output channel of the conversation."""
        return "widget"

    def __init__(self, sio: AsyncServer, room: str, *, through_queue: bool = False) -> None:
        self.sio = sio
        self.room = room
        self.through_queue = through_queue

    async def _send(self, message: dict[str, Any]) -> None:
        message = {"sender": "bot", "timestamp": time.time(), **message}
        await self.sio.emit(
            "bot_uttered", message, room=self.room, ignore_queue=not self.through_queue
        )

    async def send_message(self, message: Mapping[str, Any]) -> None:
        """One bot message of Rasa's shape (`text`, `buttons`, `image`, `custom`) as one event."""
        await self._send(widget_message(message, time.time()))

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """One bubble; the widget lays out the paragraphs."""
        await self._send({"text": text})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """A bubble with quick-reply buttons under it."""
        await self._send({"text": text, "buttons": buttons_of(buttons)})

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """An image; the widget shows only http(s) addresses."""
        await self._send({"image": image})

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """Notices such as "an agent joined" (the widget knows their texts)."""
        await self._send({"custom": json_message})


class WidgetInput(InputChannel):
    """The widget's socket.io endpoint and script; see the module's docstring."""

    @classmethod
    def name(cls) -> str:
        """URL prefix /webhooks/widget/ and Rasa's `input_channel`."""
        return "widget"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Origins, identity secret and limits from credentials.yml (set from the settings)."""
        credentials = credentials or {}
        origins = str(credentials.get("allowed_origins") or "")
        limit = credentials.get("history_limit")
        return cls(
            allowed_origins=[o.strip().rstrip("/") for o in origins.split(",") if o.strip()],
            identity_secret=str(credentials.get("identity_secret") or ""),
            deliveries_url=str(credentials.get("deliveries_url") or ""),
            pubsub_url=str(credentials.get("pubsub_url") or ""),
            max_message_chars=int(credentials.get("max_message_chars") or 2000),
            history_limit=100 if limit in (None, "") else int(limit),
        )

    def __init__(
        self,
        *,
        allowed_origins: list[str],
        identity_secret: str,
        deliveries_url: str,
        pubsub_url: str = "",
        max_message_chars: int = 2000,
        history_limit: int = 100,
    ) -> None:
        if not allowed_origins:
            raise ValueError("the widget channel needs WIDGET_ALLOWED_ORIGINS")
        if not deliveries_url:
            raise ValueError("the widget channel needs the delivery log's database")
        self.allowed_origins = allowed_origins
        self.identity_secret = identity_secret
        self.max_message_chars = max_message_chars
        self.history_limit = history_limit
        self.deliveries = DeliveryLog(deliveries_url)
        # Without its own URL the queue is a table in the delivery log's database.
        self.client_manager = client_manager(pubsub_url or deliveries_url)
        self.sio: AsyncServer | None = None

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """The health and script routes, and the socket.io server attached to Rasa's app."""
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=self.allowed_origins,
            transports=["websocket"],
            max_http_buffer_size=max_body_bytes(self.max_message_chars),
            client_manager=self.client_manager,
        )
        self.sio = sio
        blueprint = _AttachingBlueprint(sio, "widget_webhook", __name__)
        script = WIDGET_SCRIPT.read_bytes()

        # In each Rasa process (forked after this), before it takes connections: a listener
        # started lazily on the first connection could miss an agent's reply to that very
        # socket, and every forked process would share the manager's id (see pubsub.py).
        @blueprint.listener("before_server_start")
        async def listen(_app: Any, _loop: Any) -> None:
            start_listening(sio)

        @blueprint.listener("after_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            await stop_listening(sio)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @blueprint.route("/widget.js", methods=["GET"])
        async def widget_script(_: Request) -> HTTPResponse:
            return response.raw(
                script,
                content_type="text/javascript; charset=utf-8",
                headers={
                    "Cache-Control": "public, max-age=300",
                    "X-Content-Type-Options": "nosniff",
                },
            )

        @sio.on("session_request")
        async def session_request(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            customer = verified_customer(data.get("identity"), self.identity_secret)
            session_id = str(data.get("session_id") or "")
            history: list[dict[str, Any]] = []
            if SESSION_ID.match(session_id):
                events = await self._events(blueprint.ctx.app, conversation_id(session_id))
                if events and signed_in_as(events) != customer:
                    # Another shopper signed in (or out) in this browser: a fresh conversation.
                    session_id = ""
                else:
                    history = history_of(events, self.history_limit)
            else:
                session_id = ""
            session_id = session_id or uuid.uuid4().hex
            await sio.save_session(sid, {"session_id": session_id, "customer": customer})
            await sio.enter_room(sid, conversation_id(session_id))
            await sio.emit(
                "session_confirm",
                {"session_id": session_id, "signed_in": customer is not None},
                to=sid,
                ignore_queue=True,
            )
            await sio.emit("history", {"messages": history}, to=sid, ignore_queue=True)

        @sio.on("user_uttered")
        async def user_uttered(sid: str, data: Any) -> dict[str, Any]:
            session = await sio.get_session(sid)
            if not session.get("session_id"):
                return {"error": "no_session"}
            data = data if isinstance(data, dict) else {}
            text, message_id = data.get("message"), str(data.get("id") or "")
            if not isinstance(text, str) or not MESSAGE_ID.match(message_id):
                return {"error": "invalid"}
            if len(text) > self.max_message_chars:
                return {"error": "too_long", "limit": self.max_message_chars}
            cleaned = neutralise(text)
            if not cleaned:
                return {"error": "empty"}
            conversation = conversation_id(session["session_id"])
            first = await asyncio.to_thread(
                self.deliveries.first_time, self.name(), f"{conversation}:{message_id}"
            )
            if not first:
                return {"ok": True, "duplicate": True}
            customer = session.get("customer")
            metadata = {SIGNED_IN_CUSTOMER: customer} if customer is not None else None
            room = conversation
            await sio.emit(
                "user_echo",
                {"sender": "customer", "text": cleaned, "timestamp": time.time(), "id": message_id},
                room=room,
                skip_sid=sid,
                ignore_queue=True,
            )
            await sio.emit("typing", {"typing": True}, room=room, ignore_queue=True)
            try:
                await on_new_message(
                    UserMessage(
                        cleaned,
                        WidgetOutput(sio, room),
                        conversation,
                        input_channel=self.name(),
                        metadata=metadata,
                    )
                )
            except Exception:
                # Logged without the text: it may hold personal data.
                log.exception("widget message %s of %s failed", message_id, conversation)
                return {"error": "failed"}
            finally:
                await sio.emit("typing", {"typing": False}, room=room, ignore_queue=True)
            return {"ok": True}

        return blueprint

    def output_for(
        self, conversation_id: str, metadata: dict[str, Any] | None = None
    ) -> OutputChannel | None:
        """An output to the conversation's tabs, whichever process holds them.

        As the other channels' `output_for` (the staff relay's way to the customer): None if
        it is not a widget conversation or the widget is not served here; the metadata of the
        customer's latest message is not needed.
        """
        try:
            return self._queued_output(conversation_id)
        except (ValueError, RuntimeError):
            return None

    async def deliver(self, conversation_id: str, messages: list[dict[str, Any]]) -> None:
        """Show `messages` in every tab of the conversation, whichever process holds them.

        Each message, of Rasa's shape (`text`, `buttons`, `image`, `custom`), is one
        `bot_uttered` event, as the widget's own replies are.
        """
        output = self._queued_output(conversation_id)
        for message in messages:
            await output.send_message(message)

    def _queued_output(self, conversation_id: str) -> WidgetOutput:
        if not CONVERSATION_ID.match(conversation_id):
            raise ValueError(f"not a widget conversation: {conversation_id!r}")
        if self.sio is None:
            raise RuntimeError("the widget channel is not served by this process")
        return WidgetOutput(self.sio, conversation_id, through_queue=True)

    async def _events(self, app: Any, conversation: str) -> list[Any]:
        """The events of the conversation's current session, or [] if it has none."""
        agent = getattr(getattr(app, "ctx", None), "agent", None)
        if agent is None or agent.tracker_store is None:
            return []
        try:
            tracker = await agent.tracker_store.retrieve(conversation)
        except Exception:
            log.exception("history of %s could not be read", conversation)
            return []
        return list(tracker.events) if tracker is not None else []


class _AttachingBlueprint(Blueprint):
    """Attaches the socket.io server to Rasa's app when the blueprint is registered."""

    def __init__(self, sio: AsyncServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx.sio = sio
        self.ctx.app = None

    def register(self, app: Any, options: dict[str, Any]) -> None:
        """Serve socket.io at /socket.io on the same port as the webhooks."""
        self.ctx.app = app
        self.ctx.sio.attach(app, "/socket.io")
        super().register(app, options)  # type: ignore[no-untyped-call]
