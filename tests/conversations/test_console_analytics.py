"""The dashboard and the gap list from real conversations with the running agent, in Chromium.

Customers talk to the agent through the REST channel: one out-of-scope question (the agent's
fallback), one the knowledge base cannot answer (an abstention), one it answers, and one asking
for a person (a handoff). A supervisor then opens the dashboard and the gap list in the browser.
Other tests share the agent, so the counts are compared before and after these conversations.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, Page, expect

from crm.desk.staff import StaffService
from tests.conversations.browser import SCREENSHOTS
from tests.conversations.conftest import Agent, new_sender, said

pytestmark = pytest.mark.conversation

PASSWORD = "correct horse battery staple"
UNANSWERABLE = "how many watts does your toaster use"
URLS = (
    "/supervisor/analytics",
    "/api/supervisor/analytics",
    "/supervisor/gaps",
    "/api/supervisor/gaps",
)


@pytest.fixture(scope="module")
def people(agent: Agent) -> dict[str, str]:
    """A supervisor and an agent of this run: role -> email."""
    service = StaffService(
        agent.sessions, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    run = uuid.uuid4().hex[:8]
    emails = {"supervisor": f"sam-{run}@larkspur.test", "agent": f"ali-{run}@larkspur.test"}
    for role, email in emails.items():
        service.create_member(
            email=email, name=role.title(), password=PASSWORD, role=role, team="general", actor="t"
        )
    return emails


def api(agent: Agent, email: str, path: str) -> httpx.Response:
    """GET a console URL with a session of `email`, signed in through the records."""
    token = StaffService(agent.sessions).sign_in(email=email, password=PASSWORD, client="test")
    with httpx.Client(
        base_url=agent.stack.console_url,
        cookies={"larkspur_console": token.token},
        timeout=120,
        follow_redirects=False,
    ) as client:
        return client.get(path)


def figures(agent: Agent, email: str) -> dict[str, Any]:
    reply = api(agent, email, "/api/supervisor/analytics?period=today")
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def sign_in(page: Page, agent: Agent, email: str) -> None:
    page.goto(f"{agent.stack.console_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Conversations waiting for a person")).to_be_visible()


def test_agents_may_not_see_either(agent: Agent, people: dict[str, str]) -> None:
    assert [api(agent, people["agent"], url).status_code for url in URLS] == [403] * 4


def test_the_dashboard_and_gap_list_show_real_conversations(
    agent: Agent, browser: Browser, people: dict[str, str]
) -> None:
    before = figures(agent, people["supervisor"])

    assert said(agent.say(new_sender(), "who will win the champions league?"), "utter_out_of_scope")
    assert said(agent.say(new_sender(), UNANSWERABLE), "utter_knowledge_unknown")
    answered = agent.say(new_sender(), "how many days do I have to return an item?")
    assert said(answered, "utter_knowledge_answer")
    person = new_sender()
    agent.say(person, "hello")
    assert said(agent.say(person, "I'd like to talk to a human please"), "utter_handoff_requested")

    after = figures(agent, people["supervisor"])
    rest = after["by_channel"]["rest"]
    assert rest == before["by_channel"].get("rest", 0) + 4
    assert after["messages"] == before["messages"] + 5
    assert after["fallbacks"] >= before["fallbacks"] + 1
    assert after["abstentions"] >= before["abstentions"] + 1
    assert after["contained"] == before["contained"] + 3  # all but the one handed to a person
    reasons = {r["name"]: r["count"] for r in after["handoff_reasons"]}
    assert reasons["customer_request"] >= 1

    page = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, agent, people["supervisor"])
    page.get_by_role("link", name="Supervisor").click()
    page.get_by_role("link", name="What customers ask").click()
    page.get_by_role("link", name="Today").click()
    expect(page.get_by_role("heading", name="What customers ask")).to_be_visible()
    expect(page.locator('[data-figure="channel.rest"]')).to_have_text(str(rest))
    shown = int(page.locator('[data-figure="conversations"]').inner_text())
    assert shown >= rest and shown == sum(after["by_channel"].values())
    charts = page.locator("figure.chart svg[role=img]")
    assert charts.count() >= 6
    bar = page.locator("#conversations-days rect title", has_text="rest")
    expect(bar).to_have_text(re.compile(rf", rest: {rest}$"))  # today's bar, its number
    assert page.locator("#top-intents rect").count() >= 3
    assert page.locator("#rates-days circle").count() >= 1
    page.locator("#top-intents summary").click()
    # The table shows the API's figures (other tests' intents may crowd out this test's own).
    top = after["top_intents"][0]
    expect(page.locator("#top-intents table")).to_contain_text(top["name"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "console-analytics.png"), full_page=True)

    page.get_by_role("link", name="Knowledge gaps").click()
    expect(page.get_by_role("heading", name="Knowledge gaps")).to_be_visible()
    gaps = page.locator("#gap-list")
    expect(gaps).to_contain_text(UNANSWERABLE, timeout=60_000)
    expect(gaps).to_contain_text("abstained")
    page.screenshot(path=str(SCREENSHOTS / "console-gaps.png"), full_page=True)
    assert errors == []
