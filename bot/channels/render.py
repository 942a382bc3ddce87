"""How replies are cut, escaped and given buttons for each messaging platform. No Rasa imports."""

from __future__ import annotations

from typing import Any

TELEGRAM_MAX_TEXT = 4096  # characters in one Telegram message
TELEGRAM_MAX_CALLBACK_DATA = 64  # bytes of a Telegram button's callback data


def split_text(text: str, limit: int = TELEGRAM_MAX_TEXT) -> list[str]:
    """Pieces of at most `limit` characters, cut at a line, then a space, then anywhere."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def inline_keyboard(buttons: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Telegram's inline keyboard, one button per row, each sending its payload back.

    None when a payload does not fit the callback data: the caller falls back to a numbered
    list, which every channel can show.
    """
    rows = []
    for button in buttons:
        payload = str(button.get("payload") or button.get("title") or "")
        if not payload or len(payload.encode("utf-8")) > TELEGRAM_MAX_CALLBACK_DATA:
            return None
        rows.append([{"text": str(button.get("title") or payload), "callback_data": payload}])
    return {"inline_keyboard": rows} if rows else None


SLACK_MAX_BUTTONS = 25  # elements of one actions block
SLACK_MAX_BUTTON_TEXT = 75
SLACK_MAX_VALUE = 2000


def slack_escape(text: str) -> str:
    """Slack's three control characters escaped, so the notification text shows as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_blocks(text: str, buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A plain-text section (never markup), then the buttons as one actions block."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "plain_text", "text": text or " ", "emoji": True}}
    ]
    elements = []
    for number, button in enumerate(buttons[:SLACK_MAX_BUTTONS]):
        payload = str(button.get("payload") or button.get("title") or "")
        title = str(button.get("title") or payload)
        if not payload:
            continue
        elements.append(
            {
                "type": "button",
                "text": {"type": "plain_text", "text": title[:SLACK_MAX_BUTTON_TEXT]},
                "value": payload[:SLACK_MAX_VALUE],
                "action_id": f"button-{number}",
            }
        )
    if elements:
        blocks.append({"type": "actions", "elements": elements})
    return blocks


def numbered_list(buttons: list[dict[str, Any]]) -> str:
    """Buttons as lines "1. Title" for channels without buttons; a number answer picks one."""
    return "\n".join(
        f"{number}. {button.get('title') or button.get('payload')}"
        for number, button in enumerate(buttons, start=1)
    )


MESSENGER_MAX_QUICK_REPLIES = 13
MESSENGER_MAX_TITLE = 20
MESSENGER_MAX_PAYLOAD = 1000


def messenger_quick_replies(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messenger's quick replies: text chips whose payload comes back as the message."""
    replies = []
    for button in buttons[:MESSENGER_MAX_QUICK_REPLIES]:
        payload = str(button.get("payload") or button.get("title") or "")
        if payload:
            title = str(button.get("title") or payload)
            replies.append(
                {
                    "content_type": "text",
                    "title": title[:MESSENGER_MAX_TITLE],
                    "payload": payload[:MESSENGER_MAX_PAYLOAD],
                }
            )
    return replies
