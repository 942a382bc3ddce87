"""The action server: rasa-sdk's executor behind our own small Sanic app.

rasa-sdk's stock server listens on every interface and, on an unexpected error, answers with
the request body (a tracker full of customer data). This one listens on loopback, answers errors
with a status and a phrase only, and loads the services before it accepts a request, so a
missing knowledge index stops the start instead of failing a customer's question.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from http import HTTPStatus
from typing import Any

from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services import build_services, use_services
from config.settings import Settings, get_settings

log = logging.getLogger("serve.action_server")

# A tracker with its domain is tens of kB; a few MB leaves room for long conversations.
MAX_REQUEST_BYTES = 8 * 1024 * 1024


def error(status: int, detail: str | None = None) -> HTTPResponse:
    """An error body that never contains anything the caller sent."""
    return response.json({"error": detail or HTTPStatus(status).phrase}, status=status)


def create_app(executor: ActionExecutor, *, name: str = "larkspur_actions") -> Sanic[Any, Any]:
    """Build the HTTP app around `executor`; services are installed by the caller."""
    app = Sanic(name, configure_logging=False)
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES

    @app.get("/health")
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/actions")
    async def actions(_: Request) -> HTTPResponse:
        return response.json([item.model_dump() for item in executor.list_actions()])

    @app.post("/webhook")
    async def webhook(request: Request) -> HTTPResponse:
        if request.headers.get("content-encoding", "identity") != "identity":
            return error(415, "compressed requests are not accepted")
        try:
            call: Any = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            return error(400, "the body is not valid JSON")
        if not isinstance(call, dict) or not isinstance(call.get("next_action"), str):
            return error(400, "the body must be an action call with a 'next_action'")
        if not isinstance(call.get("tracker"), dict):
            return error(400, "the action call has no tracker")
        try:
            result = await executor.run(call)
        except ActionExecutionRejection as rejection:
            return response.json(
                {"error": rejection.message, "action_name": rejection.action_name}, status=400
            )
        except ActionNotFoundException as missing:
            return response.json(
                {"error": "no such action", "action_name": missing.action_name}, status=404
            )
        except ActionMissingDomainException as missing:
            return response.json(
                {"error": "the domain is missing", "action_name": missing.action_name},
                status=449,
            )
        return response.json(result.model_dump() if result else None)

    @app.exception(Exception)
    async def on_error(request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, SanicException):
            return error(exception.status_code)
        log.error("request to %s failed", request.path, exc_info=exception)
        return error(500)

    return app


def make_executor() -> ActionExecutor:
    """Register every action module of the `actions` package."""
    executor = ActionExecutor()
    executor.register_package("actions")
    return executor


def main(settings: Settings | None = None) -> None:
    """Load the services, then serve on 127.0.0.1 until stopped."""
    settings = settings or get_settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        services = build_services(settings)
    except Exception as problem:  # a clear message on the console, not a traceback
        log.error("the action server cannot start: %s", problem)
        sys.exit(2)
    use_services(services)
    log.info(
        "knowledge index: %d passages from %d documents",
        len(services.knowledge.index.chunks),
        services.knowledge.index.manifest.documents,
    )
    app = create_app(make_executor())
    asyncio.set_event_loop(asyncio.new_event_loop())
    app.run(
        host="127.0.0.1",
        port=settings.action_server_port,
        single_process=True,
        access_log=False,
        motd=False,
    )


if __name__ == "__main__":
    main()
