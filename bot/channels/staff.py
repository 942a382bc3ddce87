"""The relay that lets support staff talk in a customer's conversation, on the customer's channel.

The agent console (console/) calls `POST /webhooks/staff/relay` with the Rasa API token as a
bearer token. Under the conversation's lock, the relay

- `join`: pauses the assistant for the conversation (Rasa's `ConversationPaused`: customer
  messages are still recorded, and the console reads them, but the assistant no longer
  answers) and tells the customer a person has joined (`utter_staff_joined`);
- `message`: sends the staff member's words to the customer and records them in the tracker
  as a bot message marked with the staff member's name, so the transcript and the widget's
  history keep them;
- `leave`: tells the customer the person has left (`utter_staff_left`) and resumes the
  assistant (`ConversationResumed`), with slots and history intact;
- `close`: the person has finished: as `leave` (`utter_staff_closed`), then the external intent
  `EXTERNAL_staff_closed` runs the assistant's policies, whose rule asks the customer for a
  satisfaction rating (`csat_form`, actions/satisfaction.py);
- `transfer`: the person passes the conversation to another team (`text` is the team's key):
  the customer is told (`utter_staff_transferred_<team>`) and the assistant stays paused.

Delivery goes through the channel the customer last wrote on: each channel rebuilds its output
for the conversation (`output_for`). The REST channel cannot push, so there the message is
only recorded (`delivered: false`). Customer-facing text comes from domain.yml.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    OutputChannel,
    UserMessage,
)
from rasa.shared.core.constants import IS_EXTERNAL
from rasa.shared.core.events import (
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    UserUttered,
)
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from config.contract import STAFF_TEAMS

log = logging.getLogger(__name__)

KINDS = ("join", "message", "leave", "close", "transfer")
CLOSED_INTENT = "EXTERNAL_staff_closed"  # starts the satisfaction survey (data/rules/)
MAX_TEXT = 4000
MAX_NAME = 100
STAFF_KEY = "staff"  # BotUttered metadata: the staff member's name


class StaffRelayInput(InputChannel):
    """`bot.channels.staff.StaffRelayInput` in credentials.yml."""

    @classmethod
    def name(cls) -> str:
        """URL prefix: /webhooks/staff/."""
        return "staff"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """The token the console presents (the Rasa API token)."""
        return cls(token=str((credentials or {}).get("token") or ""))

    def __init__(self, token: str) -> None:
        if len(token) < 16:
            raise ValueError("the staff relay needs a token of at least 16 characters")
        self.token = token

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """One route; customers never send messages through this channel."""
        relay = Blueprint("staff_relay", __name__)

        @relay.route("/relay", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                return response.json({"error": "unauthorised"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            conversation = body.get("conversation_id")
            kind, name, text = body.get("kind"), body.get("name"), body.get("text", "")
            if not (
                isinstance(conversation, str)
                and conversation
                and kind in KINDS
                and isinstance(name, str)
                and 0 < len(name) <= MAX_NAME
                and isinstance(text, str)
                and len(text) <= MAX_TEXT
                and (kind != "message" or text.strip())
                and (kind != "transfer" or text in STAFF_TEAMS)
            ):
                return response.json({"error": "invalid"}, status=400)
            try:
                delivered = await relay_event(request.app, conversation, kind, name, text)
            except LookupError:
                return response.json({"error": "unknown conversation"}, status=404)
            return response.json({"delivered": delivered})

        return relay


async def relay_event(app: Any, conversation_id: str, kind: str, name: str, text: str) -> bool:
    """Apply one staff event to the conversation; whether the customer's channel got it."""
    agent = app.ctx.agent
    async with agent.lock_store.lock(conversation_id):
        processor = agent.processor
        if not await agent.tracker_store.exists(conversation_id):
            raise LookupError(conversation_id)
        tracker = await processor.get_tracker(conversation_id)
        output = _output_for(app, tracker)
        channel = output.name() if output else "collector"
        messages: list[dict[str, Any]] = []
        if kind == "join":
            tracker.update(ConversationPaused())
            messages.append(
                await _response(processor, "utter_staff_joined", tracker, channel, name=name)
            )
        elif kind == "message":
            messages.append({"text": text})
        elif kind == "transfer":
            response = f"utter_staff_transferred_{text}"
            messages.append(await _response(processor, response, tracker, channel))
        else:
            response = "utter_staff_left" if kind == "leave" else "utter_staff_closed"
            messages.append(await _response(processor, response, tracker, channel, name=name))
        for message in messages:
            tracker.update(
                BotUttered(
                    message.get("text"),
                    data={key: value for key, value in message.items() if key != "text"},
                    metadata={STAFF_KEY: name},
                )
            )
        if kind in ("leave", "close"):
            tracker.update(ConversationResumed())
        await processor.save_tracker(tracker)
        delivered = await _deliver(output, conversation_id, messages, kind, channel)
        if kind == "close":
            # Runs the policies as if the customer had spoken, and saves the tracker: the
            # survey's question goes out on the customer's channel (or is only recorded).
            await processor.trigger_external_user_uttered(
                CLOSED_INTENT, None, tracker, output or CollectingOutputChannel()
            )
    return delivered


async def _deliver(
    output: OutputChannel | None,
    conversation_id: str,
    messages: list[dict[str, Any]],
    kind: str,
    channel: str,
) -> bool:
    """Send `messages` on the customer's channel; False if it cannot push or failed."""
    if output is None:
        return False
    try:
        for message in messages:
            await output.send_response(conversation_id, message)
    except Exception:
        log.exception("staff %s for %s not delivered on %s", kind, conversation_id, channel)
        return False
    return True


async def _response(
    processor: Any, response_name: str, tracker: Any, channel: str, **values: str
) -> dict[str, Any]:
    message = await processor.nlg.generate(response_name, tracker, channel, **values)
    if not message:
        raise RuntimeError(f"{response_name} is missing from the domain")
    return {key: value for key, value in message.items() if value not in (None, [], "")}


def _output_for(app: Any, tracker: Any) -> OutputChannel | None:
    """The output of the channel the customer last wrote on, rebuilt for this conversation."""
    latest = tracker.get_latest_input_channel()
    metadata = customer_metadata(tracker.events)
    for channel in getattr(app.ctx, "input_channels", None) or []:
        if channel.name() == latest and hasattr(channel, "output_for"):
            output: OutputChannel | None = channel.output_for(tracker.sender_id, metadata)
            return output
    return None


def customer_metadata(events: Any) -> dict[str, Any]:
    """The metadata of the customer's last own message (not an external intent's)."""
    for event in reversed(list(events)):
        if isinstance(event, UserUttered) and not (event.metadata or {}).get(IS_EXTERNAL):
            return dict(event.metadata or {})
    return {}
