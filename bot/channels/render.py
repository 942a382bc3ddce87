"""How replies are cut and buttons drawn for the messaging platforms. No Rasa imports."""

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
