"""The agent console: support staff sign in, take conversations from the queue and answer them.

`create_app` builds the Sanic app and lets each area add its routes, one module per area:

- `auth`: sign-in, sign-out, sessions, CSRF, and `guarded`, which every page and API call goes
  through;
- `queue`: the queue page, its JSON and its live stream;
- `conversations`: one conversation's page and stream; claim, reply, hand back, close, transfer,
  private notes;
- `admin`: staff accounts and canned replies;
- `panel`: the customer panel's history, mood and refunds;
- `supervision`, `likely_buyers`, `analytics`: the supervisors' pages.

What they share (the services, page rendering, JSON and error replies, request fields) is in
`web`. Pages are rendered by Jinja2 with autoescaping and the browser script writes customer
text with `textContent`, so whatever a customer types reaches staff screens as text. Live updates
are server-sent events: the server polls the records and the tracker store once a second per open
page. The services are built from the settings by `wiring` (`python -m console`).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from console import (
    admin,
    analytics,
    auth,
    conversations,
    likely_buyers,
    panel,
    queue,
    supervision,
)
from console.web import HERE, Console, problem

log = logging.getLogger("console")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def create_app(console: Console, *, name: str = "larkspur_console") -> Sanic[Any, Any]:
    """The console's HTTP app: security headers, error pages, and every area's routes."""
    app = Sanic(name, configure_logging=False)
    app.config.REQUEST_MAX_SIZE = 64 * 1024
    app.config.RESPONSE_TIMEOUT = 3600  # event streams stay open
    app.static("/static", HERE / "static", name="static")

    @app.on_response
    async def security_headers(request: Request, reply: HTTPResponse) -> None:
        for header, value in SECURITY_HEADERS.items():
            reply.headers.setdefault(header, value)

    @app.exception(Exception)
    async def on_error(request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, SanicException):
            status = exception.status_code
            return problem(request, status, HTTPStatus(status).phrase)
        log.error("console request to %s failed", request.path, exc_info=exception)
        return problem(request, 500, "Something went wrong; it has been logged.")

    @app.get("/health")
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    auth.register(app, console)
    queue.register(app, console)
    conversations.register(app, console)
    admin.register(app, console)
    panel.register(app, console)
    supervision.register(app, console)
    likely_buyers.register(app, console)
    analytics.register(app, console)
    return app
