"""Local stand-ins of messaging platforms' APIs, on loopback, recording what the agent sends."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Call:
    """One API request: its path (e.g. `/bot<token>/sendMessage`), JSON body and headers."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class PlatformAPI:
    """A platform API that answers every call with success and keeps the calls."""

    url: str
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # The body field that names the conversation: Telegram's `chat_id`, Slack's `channel`...
    recipient_field: str = "chat_id"

    def sent_to(self, chat_id: str, method: str = "sendMessage") -> list[dict[str, Any]]:
        """Bodies of `method` calls for one chat, in order."""
        with self.lock:
            return [
                c.body
                for c in self.calls
                if c.path.split("?")[0].endswith(f"/{method}") and self._recipient(c) == chat_id
            ]

    def _recipient(self, call: Call) -> str:
        value = call.body.get(self.recipient_field)
        return str(value.get("id") if isinstance(value, dict) else value)

    def wait_for(
        self, chat_id: str, count: int, method: str = "sendMessage", timeout: float = 30.0
    ) -> list[dict[str, Any]]:
        """At least `count` calls for the chat (usually there already: replies are sent
        before the webhook answers)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            bodies = self.sent_to(chat_id, method)
            if len(bodies) >= count:
                return bodies
            time.sleep(0.05)
        return self.sent_to(chat_id, method)


@contextmanager
def platform_api(recipient_field: str = "chat_id") -> Iterator[PlatformAPI]:
    """Serve a stand-in on a free loopback port for the duration of the block."""
    api: PlatformAPI

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            if self.headers.get("content-type", "").startswith("application/x-www-form"):
                body = {k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()}
            else:
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {"raw": raw.decode("utf-8", "replace")}
            with api.lock:
                api.calls.append(Call(self.path, body, dict(self.headers.items())))
            payload = json.dumps({"ok": True, "result": {"message_id": len(api.calls)}}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api = PlatformAPI(
        url=f"http://127.0.0.1:{server.server_address[1]}", recipient_field=recipient_field
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
