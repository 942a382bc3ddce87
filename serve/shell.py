"""A terminal chat with the running agent through its REST channel (`make shell`).

Buttons are shown numbered; typing the number sends the button's payload.
"""

from __future__ import annotations

import sys
import uuid

import httpx

from config.settings import get_settings


def main() -> int:
    """Read lines from the terminal until end of input or `quit`."""
    settings = get_settings()
    url = f"http://127.0.0.1:{settings.rasa_port}/webhooks/rest/webhook"
    sender = f"shell-{uuid.uuid4().hex[:12]}"
    buttons: list[str] = []
    print(f"Chatting as {sender}. Type 'quit' or press Ctrl-D to leave.")
    with httpx.Client(timeout=60) as client:
        while True:
            try:
                text = input("you> ").strip()
            except (EOFError, KeyboardInterrupt):
                print()
                return 0
            if text.lower() in {"quit", "exit"}:
                return 0
            if text.isdigit() and 0 < int(text) <= len(buttons):
                text = buttons[int(text) - 1]
            if not text:
                continue
            try:
                reply = client.post(url, json={"sender": sender, "message": text})
            except httpx.HTTPError as problem:
                print(f"(the agent is not reachable at {url}: {problem}; is `make run` going?)")
                continue
            if reply.status_code != 200:
                print(f"(refused: {reply.status_code} {reply.json().get('error', '')})")
                continue
            buttons = []
            for message in reply.json():
                if message.get("text"):
                    print(f"bot> {message['text']}")
                for button in message.get("buttons") or []:
                    buttons.append(button["payload"])
                    print(f"     [{len(buttons)}] {button['title']}")


if __name__ == "__main__":
    sys.exit(main())
