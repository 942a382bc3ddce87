"""Serve the agent console: `python -m console` (serve/run.py starts it with the other servers)."""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import timedelta

from config.settings import Settings, get_settings
from config.sql import pooled_engine
from console import analytics
from console.app import create_app
from console.relay import RasaRelay
from console.web import Console
from crm.desk.canned import CannedResponses
from crm.desk.handoffs import HandoffDesk
from crm.desk.panel import PanelRefunds
from crm.desk.staff import StaffService
from crm.desk.supervision import Supervision
from crm.desk.transcripts import TranscriptSource
from crm.insights.scores import CustomerScores, LikelyBuyers
from crm.records.db import make_engine, make_session_factory
from crm.records.money import RefundService

log = logging.getLogger("console")


def build_console(settings: Settings) -> Console:
    """The records, the tracker store (read only) and the relay to Rasa, from the settings."""
    sessions = make_session_factory(make_engine(settings.database_url))
    desk = HandoffDesk(sessions)
    tracker = pooled_engine(f"sqlite:///{settings.tracker_db}")
    dashboard, gaps = analytics.build(sessions, tracker, settings)
    return Console(
        staff=StaffService(sessions, session_ttl=timedelta(hours=settings.staff_session_hours)),
        desk=desk,
        transcripts=TranscriptSource(tracker),
        relay=RasaRelay(f"http://127.0.0.1:{settings.rasa_port}", settings.api_token()),
        canned=CannedResponses(sessions),
        refunds=PanelRefunds(sessions, desk, RefundService(sessions)),
        supervision=Supervision(sessions),
        scores=CustomerScores(sessions),
        buyers=LikelyBuyers(sessions),
        secure_cookies=settings.environment == "production",
        analytics=dashboard,
        gaps=gaps,
    )


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
