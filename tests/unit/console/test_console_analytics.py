"""The dashboard and the gap list in the console: who may see them, the charts, the numbers.

The console app runs in-process through its ASGI interface (httpx's transport), with the real
staff sign-in, records and a tracker events table; only the transport is not a socket.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from config.settings import Settings
from console.analytics import analytics_json, charts, summary
from console.app import create_app
from console.auth import SESSION_COOKIE
from console.relay import RasaRelay
from console.web import Console, pages
from crm.desk.canned import CannedResponses
from crm.desk.handoffs import HandoffDesk
from crm.desk.panel import PanelRefunds
from crm.desk.staff import StaffService
from crm.desk.supervision import PERIOD_LABELS, Supervision
from crm.desk.transcripts import TranscriptSource
from crm.insights.analytics import Analytics
from crm.insights.gaps import KnowledgeGaps
from crm.insights.scores import CustomerScores, LikelyBuyers
from crm.records.db import make_engine, make_session_factory
from crm.records.migrate import upgrade
from crm.records.money import RefundService
from encoder.embedding import OnnxEmbedder
from tests.unit.crm.insights.test_analytics import DAY_A, NOW, SUE, answer, handoff, tracker_store

PASSWORD = "a long enough password"
APPS = itertools.count()


@dataclass
class Site:
    """The console and a signed-in session token per role."""

    console: Console
    tokens: dict[str, str]
    analytics: Analytics


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("console")
    url = f"sqlite:///{folder / 'records.db'}"
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    tracker = tracker_store(folder / "tracker.db")
    tracker.user("web-1", DAY_A, "do you gift wrap?", "nlu_fallback")
    tracker.user("tg-1", DAY_A, "hello", "greet", "telegram")
    tracker.user("tg-1", DAY_A + timedelta(seconds=1), "blorp", "nlu_fallback", "telegram")
    tracker.action("tg-1", DAY_A + timedelta(seconds=2), "action_default_fallback")
    answer(sessions, "web-1", DAY_A, "do you gift wrap?")
    handoff(sessions, "web-1", DAY_A, "repeated_misunderstanding", "socketio", 4)
    staff = StaffService(sessions, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    tokens = {}
    for role in ("agent", "supervisor", "admin"):
        email = f"{role}@larkspur.test"
        staff.create_member(
            email=email, name=role.title(), password=PASSWORD, role=role, team="general", actor="t"
        )
        tokens[role] = staff.sign_in(email=email, password=PASSWORD, client="t").token
    desk = HandoffDesk(sessions)
    analytics = Analytics(sessions, tracker.engine, clock=lambda: NOW)
    encoder = OnnxEmbedder(Settings().encoder_dir)
    console = Console(
        staff=staff,
        desk=desk,
        transcripts=TranscriptSource(tracker.engine),
        relay=RasaRelay("http://127.0.0.1:9", "unused"),
        canned=CannedResponses(sessions),
        refunds=PanelRefunds(sessions, desk, RefundService(sessions)),
        supervision=Supervision(sessions),
        scores=CustomerScores(sessions),
        buyers=LikelyBuyers(sessions),
        analytics=analytics,
        gaps=KnowledgeGaps(sessions, tracker.engine, lambda: encoder, clock=lambda: NOW),
    )
    yield Site(console, tokens, analytics)


async def _client(app: Any, cookies: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app's ASGI interface, after Sanic's start-up (its lifespan) has run."""
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    started = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    lifespan = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send)
    )
    await asyncio.wait_for(started.wait(), 30)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://console", cookies=cookies
    ) as client:
        yield client
    await inbox.put({"type": "lifespan.shutdown"})
    await asyncio.wait_for(lifespan, 30)


def get(site: Site, *paths: str, role: str | None) -> list[httpx.Response]:
    """GET each path as `role` (None: not signed in)."""

    async def run() -> list[httpx.Response]:
        cookies = {SESSION_COOKIE: site.tokens[role]} if role else {}
        answers = []
        app = create_app(site.console, name=f"analytics_test_{next(APPS)}")  # starts once
        async for client in _client(app, cookies):
            for path in paths:
                answers.append(await client.get(path))
        return answers

    return asyncio.run(run())


URLS = (
    "/supervisor/analytics",
    "/api/supervisor/analytics",
    "/supervisor/gaps",
    "/api/supervisor/gaps",
)


def test_agents_and_strangers_are_refused(site: Site) -> None:
    assert [r.status_code for r in get(site, *URLS, role="agent")] == [403, 403, 403, 403]
    strangers = get(site, *URLS, role=None)
    assert [r.status_code for r in strangers] == [302, 401, 302, 401]
    assert strangers[0].headers["location"] == "/login"


def test_supervisors_get_the_figures_as_json(site: Site) -> None:
    analytics, gaps = get(
        site,
        "/api/supervisor/analytics?period=7d",
        "/api/supervisor/gaps?period=7d",
        role="supervisor",
    )
    assert analytics.status_code == 200
    figures = analytics.json()
    assert figures["conversations"] == 2 and figures["by_channel"] == {"socketio": 1, "telegram": 1}
    assert (figures["messages"], figures["fallbacks"], figures["abstentions"]) == (3, 1, 1)
    assert figures["containment_rate"] == 0.5
    assert figures["csat"] == {
        "average": 4.0,
        "ratings": 1,
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0},
    }
    assert len(figures["days"]) == 8
    assert gaps.status_code == 200
    listed = gaps.json()
    assert listed["questions"] == 2
    assert sorted(g["label"] for g in listed["gaps"]) == ["blorp", "do you gift wrap?"]
    assert {s for g in listed["gaps"] for s in g["sources"]} == {"abstained", "fallback"}


def test_admins_get_the_pages_with_charts_and_tables(site: Site) -> None:
    page, telegram, gaps, bad = get(
        site,
        "/supervisor/analytics",
        "/supervisor/analytics?channel=telegram",
        "/supervisor/gaps",
        "/supervisor/analytics?period=1y",
        role="admin",
    )
    assert page.status_code == 200
    html = page.text
    assert html.count("<svg viewBox") >= 6  # every chart with data is drawn
    assert re.search(r'data-figure="conversations">2<', html)
    assert re.search(r'data-figure="channel.telegram">1<', html)
    assert "<title>03 Jun, telegram: 1</title>" in html  # each bar says what it shows
    assert telegram.status_code == 200
    assert re.search(r'data-figure="conversations">1<', telegram.text)
    assert gaps.status_code == 200 and "do you gift wrap?" in gaps.text
    assert bad.status_code == 400


def test_every_summary_figure_has_its_cell(site: Site) -> None:
    report = site.analytics.report(SUE, "7d")
    html = (
        pages()
        .get_template("analytics.html")
        .render(
            member=SUE,
            csrf="t",
            report=report,
            periods=PERIOD_LABELS,
            texts=summary(report),
            charts=charts(report),
        )
    )
    cells = dict(re.findall(r'data-figure="([^"]+)">([^<]*)<', html))
    texts = summary(report)
    assert cells == {key: texts[key] for key in cells}
    assert set(texts) - set(cells) == {"since", "at"}
    assert cells["containment"] == "50%" and cells["fallback_rate"] == "33%"
    assert analytics_json(report)["by_channel"] == report.by_channel


def test_the_channel_filter_and_links_are_escaped(site: Site) -> None:
    (answer,) = get(site, "/supervisor/analytics?channel=%3Cscript%3E", role="supervisor")
    assert answer.status_code == 200
    assert "<script>" not in answer.text and "&lt;script&gt;" in answer.text


def test_the_supervisor_page_links_to_both() -> None:
    template = Path(__file__).parents[3] / "console" / "templates" / "supervisor.html"
    text = template.read_text(encoding="utf-8")
    assert 'href="/supervisor/analytics"' in text and 'href="/supervisor/gaps"' in text
