"""Both servers, started once for the conversation tests, on their own ports and records.

The records are a fresh SQLite database with the demo data, so tests that cancel or change
orders never touch `var/records.db`; the Rasa model and the knowledge index are the ones
`make setup` built.
"""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import Browser, Playwright, sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import ROOT, Settings
from crm.records.db import make_engine, make_session_factory
from crm.records.migrate import upgrade
from crm.records.models import Address, Customer, Order, Product
from crm.records.orders import OrderService
from crm.tools.demo import seed
from serve.run import Stack
from tests.conversations.browser import CHROMIUM, CHROMIUM_FLAGS
from tests.conversations.standins import PlatformAPI, platform_api

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Agent:
    """A running agent and a way to talk to it."""

    stack: Stack
    client: httpx.Client
    sessions: sessionmaker[Session]
    log_dir: Path

    @property
    def webhook(self) -> str:
        return f"{self.stack.rasa_url}/webhooks/rest/webhook"

    def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        reply = self.client.post(self.webhook, json={"sender": sender, "message": text})
        assert reply.status_code == 200, reply.text
        return list(reply.json())

    def tracker(self, sender: str) -> dict[str, Any]:
        reply = self.client.get(
            f"{self.stack.rasa_url}/conversations/{sender}/tracker",
            params={"token": self.stack.token},
        )
        assert reply.status_code == 200
        return dict(reply.json())


def said(messages: list[dict[str, Any]], response: str) -> bool:
    """True if one of `messages` is an instance of the domain response `response`."""
    texts = [m.get("text") or "" for m in messages]
    # Channels split a text at blank lines into several messages; rejoin neighbours to match.
    candidates = [
        "\n\n".join(texts[start:end])
        for start in range(len(texts))
        for end in range(start + 1, len(texts) + 1)
    ]
    for variant in DOMAIN["responses"][response]:
        if "text" not in variant:
            continue  # a channel's custom payload (e.g. the widget's notices)
        parts = re.split(r"\{[a-z_]+\}", variant["text"])
        pattern = "(?s)^" + ".+?".join(re.escape(part) for part in parts) + "$"
        if any(re.match(pattern, text) for text in candidates):
            return True
    return False


def said_in_order(messages: list[dict[str, Any]], *responses: str) -> bool:
    """True if `responses` were all said, each after the one before it."""
    start = 0
    for response in responses:
        found = next(
            (
                end
                for end in range(start + 1, len(messages) + 1)
                if said(messages[start:end], response)
            ),
            None,
        )
        if found is None:
            return False
        start = found
    return True


def new_sender() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class Shopper:
    """A customer of one test alone, so tests that change records never meet."""

    id: int
    email: str
    postcode: str


def new_customer(agent: Agent, *orders: list[tuple[str, int]]) -> Shopper:
    """An active customer with a default address in Leeds, and `orders` placed for them.

    Each order is a list of (SKU, quantity); `placed_orders` reads them back.
    """
    email = f"shopper-{uuid.uuid4().hex[:10]}@example.com"
    with agent.sessions.begin() as session:
        customer = Customer(first_name="Sam", last_name="Shopper", email=email, status="active")
        customer.addresses.append(
            Address(
                line1="12 Rose Street",
                city="Leeds",
                postcode="LS1 4AB",
                country="GB",
                is_default=True,
            )
        )
        session.add(customer)
        session.flush()
        customer_id = customer.id
    shop = OrderService(agent.sessions, site_url=agent.stack.settings.site_url)
    for items in orders:
        shop.place_order(customer_id, items, actor="test", conversation_id=None)
    return Shopper(id=customer_id, email=email, postcode="LS1 4AB")


@dataclass(frozen=True)
class PlacedOrder:
    """An order as the tests check it: number, state, total and {SKU: quantity}."""

    number: str
    status: str
    total_pence: int
    items: dict[str, int]


def placed_orders(agent: Agent, shopper: Shopper) -> list[PlacedOrder]:
    """The shopper's orders, oldest first."""
    with agent.sessions() as session:
        orders = session.scalars(
            select(Order).where(Order.customer_id == shopper.id).order_by(Order.id)
        ).all()
        skus = {row.id: row.sku for row in session.execute(select(Product.id, Product.sku))}
        return [
            PlacedOrder(
                number=order.number,
                status=order.status,
                total_pence=order.total_pence,
                items={skus[item.product_id]: item.quantity for item in order.items},
            )
            for order in orders
        ]


def set_status(agent: Agent, number: str, status: str) -> None:
    """Move an order on, as the warehouse would (paid, shipped)."""
    with agent.sessions.begin() as session:
        order = session.scalars(select(Order).where(Order.number == number)).one()
        order.status = status
        now = datetime.now(UTC)
        if status in ("paid", "shipped"):
            order.paid_at = now
        if status == "shipped":
            order.shipped_at = now


def verify(agent: Agent, sender: str, shopper: Shopper) -> list[dict[str, Any]]:
    """Answer the two verification questions as `shopper`."""
    agent.say(sender, shopper.email)
    return agent.say(sender, shopper.postcode)


TELEGRAM_TOKEN = "123456:TEST-TOKEN"
TELEGRAM_SECRET = "test-secret-" + uuid.uuid4().hex


@pytest.fixture(scope="session")
def telegram_api() -> Iterator[PlatformAPI]:
    """Telegram's Bot API, stood in for on loopback."""
    with platform_api() as api:
        yield api


SLACK_TOKEN = "xoxb-test-token"
SLACK_SECRET = "slack-signing-" + uuid.uuid4().hex


@pytest.fixture(scope="session")
def slack_api() -> Iterator[PlatformAPI]:
    """Slack's Web API, stood in for on loopback."""
    with platform_api(recipient_field="channel") as api:
        yield api


TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-auth-" + uuid.uuid4().hex
TWILIO_NUMBER = "+441615550000"


@pytest.fixture(scope="session")
def twilio_api() -> Iterator[PlatformAPI]:
    """Twilio's REST API, stood in for on loopback."""
    with platform_api(recipient_field="To") as api:
        yield api


MESSENGER_TOKEN = "page-token-" + uuid.uuid4().hex
MESSENGER_SECRET = "app-secret-" + uuid.uuid4().hex
MESSENGER_VERIFY = "verify-" + uuid.uuid4().hex


@pytest.fixture(scope="session")
def messenger_api() -> Iterator[PlatformAPI]:
    """Meta's Send API, stood in for on loopback."""
    with platform_api(recipient_field="recipient") as api:
        yield api


WIDGET_SECRET = "widget-identity-" + uuid.uuid4().hex


@pytest.fixture(scope="session")
def agent(
    tmp_path_factory: pytest.TempPathFactory,
    telegram_api: PlatformAPI,
    slack_api: PlatformAPI,
    twilio_api: PlatformAPI,
    messenger_api: PlatformAPI,
) -> Iterator[Agent]:
    model = ROOT / "models" / "larkspur.tar.gz"
    index = ROOT / "var" / "knowledge" / "current" / "manifest.json"
    routing = Settings().routing_model_dir / "manifest.json"  # the real one, as `run` loads it
    if not model.exists() or not index.exists() or not routing.exists():
        pytest.fail(
            "run `make setup` first: the conversation tests need the trained model, "
            "the knowledge index and the routing model"
        )
    var = tmp_path_factory.mktemp("agent-var")
    rasa_port = free_port()
    settings = Settings(
        var_dir=var,
        rasa_port=rasa_port,
        action_server_port=free_port(),
        knowledge_index_dir=ROOT / "var" / "knowledge",
        rasa_token=f"test-{uuid.uuid4().hex}",
        max_message_chars=2000,
        telegram_token=TELEGRAM_TOKEN,
        telegram_secret_token=TELEGRAM_SECRET,
        telegram_api_base=telegram_api.url,
        slack_bot_token=SLACK_TOKEN,
        slack_signing_secret=SLACK_SECRET,
        slack_api_base=slack_api.url,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_webhook_url=f"http://127.0.0.1:{rasa_port}/webhooks/twilio/webhook",
        twilio_api_base=twilio_api.url,
        messenger_page_token=MESSENGER_TOKEN,
        messenger_app_secret=MESSENGER_SECRET,
        messenger_verify_token=MESSENGER_VERIFY,
        messenger_api_base=messenger_api.url,
        demo_shop_port=free_port(),
        console_port=free_port(),
        support_hours="Mon-Sun 00:00-24:00",  # handoffs must not depend on the hour of the run
        # Nor on whether a test has a console page open (presence: tests/actions/).
        staff_presence_seconds=0,
        widget_identity_secret=WIDGET_SECRET,
    )
    upgrade(settings.database_url)
    sessions = make_session_factory(make_engine(settings.database_url))
    seed(sessions)
    log_dir = var / "logs"
    with (
        Stack(settings, log_dir=log_dir, demo_shop=True, console=True) as stack,
        httpx.Client(timeout=120) as client,
    ):
        yield Agent(stack=stack, client=client, sessions=sessions, log_dir=log_dir)


# Module scope: Playwright's sync API keeps an event loop running in the main thread while it is
# open, which would stop every later asyncio test of the session (asyncio.run, pytest-asyncio).
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make browser` installs it")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
    )
    yield browser
    browser.close()
