"""Serve the agent console: `python -m console` (serve/run.py starts it with the other servers)."""

from __future__ import annotations

import asyncio
import logging
import sys

from config.settings import Settings, get_settings
from console.app import create_app
from console.wiring import build_console

log = logging.getLogger("console")


def main(settings: Settings | None = None) -> None:
    """Serve on CONSOLE_INTERFACE:CONSOLE_PORT until stopped."""
    settings = settings or get_settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        console = build_console(settings)
    except Exception as problem:  # a clear message, not a traceback
        log.error("the console cannot start: %s", problem)
        sys.exit(2)
    app = create_app(console)
    asyncio.set_event_loop(asyncio.new_event_loop())
    app.run(
        host=settings.console_interface,
        port=settings.console_port,
        single_process=True,
        access_log=False,
        motd=False,
    )


if __name__ == "__main__":
    main()
