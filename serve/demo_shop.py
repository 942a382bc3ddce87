"""The demo shop: a host page with the widget, served by `make run` at http://localhost:8080/.

It plays the part of a customer's own website: the catalogue from the records, the widget from
the agent's port by its one `<script>` tag, and a demo sign-in as Ada Lovelace, whose identity
this server signs the way a real shop's server would (HMAC with `WIDGET_IDENTITY_SECRET`), so the
agent knows her without asking. Nothing here is needed in production.
"""

from __future__ import annotations

import html
import json
import logging
import re
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from bot.channels.identity import sign_customer
from config.settings import Settings, get_settings
from crm.records.db import make_engine, make_session_factory
from crm.records.models import Customer, Product
from crm.tools.demo import DEMO_IDENTITIES

log = logging.getLogger(__name__)

PAGE = Path(__file__).resolve().parent / "shop.html"
_HOST = re.compile(r"^[A-Za-z0-9.:-]{1,253}$")


def script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element (no `</script>`, no HTML comment opener)."""
    return (
        json.dumps(value)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


class Shop:
    """What the page shows: the catalogue and the demo shopper, read once at start."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.secret = settings.identity_secret()
        self.template = PAGE.read_text(encoding="utf-8")
        sessions = make_session_factory(make_engine(settings.database_url))
        with sessions() as session:
            products = session.scalars(select(Product).order_by(Product.id).limit(8)).all()
            self.products = [(p.name, p.category, p.price_pence, p.description) for p in products]
            ada = DEMO_IDENTITIES[0]
            customer = session.scalars(select(Customer).where(Customer.email == ada.email)).first()
            self.shopper_id = customer.id if customer else None
            self.shopper_name = f"{ada.first_name} {ada.last_name}"

    def page(self, *, host: str, signed_in: bool) -> str:
        """The shop page for a browser that reached us as `host`, as a guest or as Ada."""
        config: dict[str, Any] = {"lang": "en"}
        if signed_in and self.shopper_id is not None:
            config["identity"] = {
                "customer_id": str(self.shopper_id),
                "signature": sign_customer(self.secret, self.shopper_id),
            }
        hostname = urlsplit(f"//{host}").hostname or "localhost"
        if not _HOST.match(hostname):
            hostname = "localhost"
        if ":" in hostname:
            hostname = f"[{hostname}]"
        widget = f"http://{hostname}:{self.settings.rasa_port}/webhooks/widget/widget.js"
        cards = "\n".join(
            f'<li class="card"><span class="category">{html.escape(category)}</span>'
            f"<h3>{html.escape(name)}</h3><p>{html.escape(description)}</p>"
            f'<p class="price">£{pence / 100:.2f}</p></li>'
            for name, category, pence, description in self.products
        )
        account = (
            f'Signed in as {html.escape(self.shopper_name)} · <a href="/">Sign out</a>'
            if signed_in and self.shopper_id is not None
            else f'<a href="/signed-in">Sign in as {html.escape(self.shopper_name)} (demo)</a>'
        )
        return (
            self.template.replace("{{account}}", account)
            .replace("{{products}}", cards)
            .replace("{{config}}", script_json(config))
            .replace("{{widget}}", html.escape(widget))
        )


def handler(shop: Shop) -> type[BaseHTTPRequestHandler]:
    """A request handler bound to `shop`."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "LarkspurDemoShop"

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/health":
                self._send(HTTPStatus.OK, "text/plain", "ok")
            elif path in ("/", "/signed-in"):
                page = shop.page(host=self.headers.get("Host", ""), signed_in=path == "/signed-in")
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", page)
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", "not found")

        def _send(self, status: HTTPStatus, content_type: str, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("demo shop: " + format, *args)

    return Handler


def main() -> int:
    """Serve until stopped."""
    settings = get_settings()
    logging.basicConfig(level=settings.log_level)
    server = ThreadingHTTPServer(
        (settings.rasa_interface, settings.demo_shop_port), handler(Shop(settings))
    )
    log.info("demo shop on http://localhost:%d/", settings.demo_shop_port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
