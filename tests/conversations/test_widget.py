"""The website widget in a real browser: Debian's Chromium, driven by Playwright, headless.

Each test opens the demo shop that `make run` serves, in a fresh browser context (its own
storage, so its own conversation), and talks to the running agent through the widget.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    WebSocketRoute,
    expect,
)
from sqlalchemy import select

from bot.channels.identity import sign_customer
from crm.records.models import Customer
from tests.conversations.browser import SCREENSHOTS, Chat, shop
from tests.conversations.conftest import WIDGET_SECRET, Agent, said, said_in_order
from tests.tokens import make_jwt


@pytest.fixture
def chat(browser: Browser, agent: Agent) -> Iterator[Chat]:
    chat = shop(browser, agent)
    yield chat
    assert chat.errors == []
    chat.page.context.close()


def test_the_widget_tracks_an_order_typed_and_keeps_the_history_after_a_reload(
    chat: Chat,
) -> None:
    expect(chat.panel).to_be_hidden()
    chat.open()
    expect(chat.input).to_be_focused()

    assert said(chat.type("where is my order 100103?"), "utter_ask_verify_email")
    assert said(chat.type("ada@example.com"), "utter_ask_verify_postcode")
    reply = chat.type("M4 6AB")
    assert said_in_order(reply, "utter_verified", "utter_order_status_shipped"), reply
    assert "100103" in reply[-1]["text"]
    # Each bubble carries the time it was sent.
    times = chat.log.locator(".msg.bot time")
    assert times.count() == len(chat.bot_texts())
    assert times.first.get_attribute("datetime")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    chat.page.screenshot(path=str(SCREENSHOTS / "widget-track-order.png"))
    seen = (chat.bot_texts(), chat.customer_texts())

    chat.page.reload()
    # The widget reopens as it was, with the same conversation from the server.
    expect(chat.panel).to_be_visible()
    chat.wait_until_online()
    expect(chat.log.locator(".msg.bot")).to_have_count(len(reply) + 2)
    assert chat.customer_texts() == ["where is my order 100103?", "ada@example.com", "M4 6AB"]
    assert (chat.bot_texts(), chat.customer_texts()) == seen
    # The conversation goes on where it was: still verified, so no questions this time.
    assert said(chat.type("and where is order 100104?"), "utter_order_status_delivered")


def test_quick_replies_are_clicked_and_then_disabled(chat: Chat) -> None:
    chat.open()
    assert said(chat.type("hi"), "utter_greet")
    menu = chat.log.locator(".buttons").last
    expect(menu.locator("button")).to_have_count(7)

    assert said(chat.click("Track my order"), "utter_ask_order_number")
    # The chosen button shows as chosen, the menu can't be used twice, and the customer's
    # bubble says what they chose.
    expect(menu.locator("button.chosen")).to_have_text("Track my order")
    expect(menu.locator("button:enabled")).to_have_count(0)
    assert chat.customer_texts()[-1] == "Track my order"

    chat.type("100104")
    chat.type("ada@example.com")
    reply = chat.type("M4 6AB")
    assert said(reply, "utter_order_status_delivered"), reply


def test_a_signed_in_shopper_is_not_asked_to_verify(browser: Browser, agent: Agent) -> None:
    chat = shop(browser, agent, "/signed-in")
    chat.open()
    expect(chat.widget.locator(".signed-in")).to_be_visible()
    reply = chat.type("where is my order 100103?")
    assert said(reply, "utter_order_status_shipped"), reply
    assert not said(reply, "utter_ask_verify_email")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    chat.page.screenshot(path=str(SCREENSHOTS / "widget-signed-in.png"))

    # Signing out in the same browser starts a fresh conversation: the next shopper on this
    # computer sees none of it and is asked to verify.
    chat.page.goto(agent.stack.shop_url + "/")
    chat.wait_until_online()
    expect(chat.log.locator(".msg")).to_have_count(0)
    assert said(chat.type("where is my order 100103?"), "utter_ask_verify_email")
    assert chat.errors == []
    chat.page.context.close()


def with_config(browser: Browser, agent: Agent, extra: dict[str, Any]) -> Chat:
    """The shop page as a host site that adds `extra` to the widget's config would serve it."""
    context = browser.new_context()
    page = context.new_page()
    # The page's own config passes through this setter, which adds `extra` to it.
    page.add_init_script(
        "Object.defineProperty(window, 'larkspurChat', {configurable: true,"
        f" set(config) {{ this._config = Object.assign(config, {json.dumps(extra)}); }},"
        " get() { return this._config; }});"
    )
    page.goto(agent.stack.shop_url + "/")
    return Chat(page)


def with_identity(browser: Browser, agent: Agent, identity: dict[str, Any]) -> Chat:
    """The shop page as a host site that passes `identity` to the widget would serve it."""
    return with_config(browser, agent, {"identity": identity})


@pytest.mark.parametrize(
    "identity",
    [
        pytest.param({"customer_id": "1", "signature": "0" * 64}, id="forged-hmac"),
        pytest.param({"customer_id": "1", "signature": sign_customer("guess", 1)}, id="other-key"),
        pytest.param({"jwt": make_jwt("guess", 1)}, id="forged-jwt"),
        pytest.param({"jwt": make_jwt(WIDGET_SECRET, 1, ttl_s=-3600)}, id="expired-jwt"),
        pytest.param({"customer_id": "1"}, id="unsigned"),
        pytest.param({"customer_id": "1", "signature": 7}, id="malformed"),
    ],
)
def test_a_forged_or_expired_identity_gets_the_normal_verification(
    browser: Browser, agent: Agent, identity: dict[str, Any]
) -> None:
    chat = with_identity(browser, agent, identity)
    chat.open()
    expect(chat.widget.locator(".signed-in")).to_be_hidden()
    assert said(chat.type("where is my order 100103?"), "utter_ask_verify_email")
    assert chat.errors == []
    chat.page.context.close()


def test_a_valid_jwt_signs_the_shopper_in(browser: Browser, agent: Agent) -> None:
    with agent.sessions() as session:
        ada = session.scalars(select(Customer).where(Customer.email == "ada@example.com")).one()
    chat = with_identity(browser, agent, {"jwt": make_jwt(WIDGET_SECRET, ada.id)})
    chat.open()
    expect(chat.widget.locator(".signed-in")).to_be_visible()
    assert said(chat.type("where is my order 100103?"), "utter_order_status_shipped")
    chat.page.context.close()


XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><b>bold?</b>'


def test_html_from_the_customer_or_the_bot_shows_as_text(chat: Chat, agent: Agent) -> None:
    chat.open()
    chat.type(XSS)
    assert chat.customer_texts()[-1] == XSS
    assert chat.log.locator("img, script, b").count() == 0
    assert chat.page.evaluate("window.__xss") is None

    # A bot message with markup (as if a knowledge article or a staff reply carried it), and
    # the allowed formatting: bold, and links that cannot reach back into the page.
    text = (
        f"{XSS} **Returns** are free: [returns page](https://larkspur.example/help/returns) "
        "or see https://larkspur.example/help. [trap](javascript:window.__xss=3)"
    )
    add_bot_message(agent, chat, {"text": text})
    last = chat.log.locator(".msg.bot").last
    expect(last.locator("strong")).to_have_text("Returns")
    links = last.locator("a")
    expect(links).to_have_count(2)
    for index, href in enumerate(
        ["https://larkspur.example/help/returns", "https://larkspur.example/help"]
    ):
        assert links.nth(index).get_attribute("href") == href
        assert links.nth(index).get_attribute("rel") == "noopener noreferrer"
        assert links.nth(index).get_attribute("target") == "_blank"
    assert "[trap](javascript:window.__xss=3)" in last.inner_text()
    assert XSS in last.inner_text()
    assert chat.log.locator("img, script, b").count() == 0
    assert chat.page.evaluate("window.__xss") is None


def add_bot_message(agent: Agent, chat: Chat, message: dict[str, Any]) -> None:
    """Append a bot message to the chat's conversation through Rasa's API, then reload.

    Stamped now: Rasa orders stored events by time, and reads only the current session's.
    """
    session_id = chat.page.evaluate(
        "Object.entries(localStorage).find(([k]) => k.endsWith(':session'))[1]"
    )
    reply = agent.client.post(
        f"{agent.stack.rasa_url}/conversations/web-{json.loads(session_id)}/tracker/events",
        params={"token": agent.stack.token},
        json=[{"event": "bot", "timestamp": time.time(), **message}],
    )
    assert reply.status_code == 200, reply.text
    chat.page.reload()
    chat.wait_until_online()


def test_images_and_support_agent_notices_are_shown(chat: Chat, agent: Agent) -> None:
    chat.open()
    chat.type("hi")
    add_bot_message(agent, chat, {"text": "", "data": {"image": "https://larkspur.example/k.png"}})
    image = chat.log.locator(".msg.bot img")
    expect(image).to_have_count(1)
    assert image.get_attribute("src") == "https://larkspur.example/k.png"
    assert image.get_attribute("alt") == "Image from the assistant"

    add_bot_message(agent, chat, {"text": "", "data": {"image": "javascript:alert(1)"}})
    expect(chat.log.locator(".msg.bot img")).to_have_count(1)

    add_bot_message(agent, chat, {"data": {"custom": {"notice": "agent_joined", "name": "Sam"}}})
    expect(chat.log.locator(".msg.notice").last).to_have_text("Sam joined the conversation")
    add_bot_message(agent, chat, {"data": {"custom": {"notice": "agent_left"}}})
    expect(chat.log.locator(".msg.notice").last).to_have_text(
        "A support agent left the conversation"
    )


def test_the_widget_takes_the_pages_colours_and_language(browser: Browser, agent: Agent) -> None:
    chat = with_config(browser, agent, {"lang": "de", "texts": {"title": "Hilfe von Larkspur"}})
    # The shop page sets --lk-accent: #2f6f4f on #larkspur-chat.
    colour = chat.launcher.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(47, 111, 79)"
    expect(chat.launcher).to_have_attribute("aria-label", "Chatten Sie mit uns")
    chat.open()
    expect(chat.widget.locator("h2")).to_have_text("Hilfe von Larkspur")
    expect(chat.input).to_have_attribute("placeholder", "Ihre Nachricht…")
    expect(chat.widget.locator("form button")).to_have_text("Senden")
    chat.page.context.close()


def test_the_widget_works_with_the_keyboard_alone(chat: Chat) -> None:
    page = chat.page
    # Tab from the top of the page until the launcher has focus.
    for _ in range(30):
        page.keyboard.press("Tab")
        if chat.launcher.evaluate("el => el.getRootNode().activeElement === el"):
            break
    else:
        pytest.fail("the launcher cannot be reached with Tab")
    page.keyboard.press("Enter")
    expect(chat.panel).to_be_visible()
    expect(chat.launcher).to_have_attribute("aria-expanded", "true")
    expect(chat.input).to_be_focused()
    chat.wait_until_online()

    page.keyboard.type("hi")
    page.keyboard.press("Enter")
    chat.settle()
    # From the text box, Shift+Tab walks back into the conversation's buttons.
    page.keyboard.press("Shift+Tab")
    for _ in range(20):
        focused = page.evaluate(
            "document.querySelector('#larkspur-chat').shadowRoot.activeElement?.textContent"
        )
        if focused == "Talk to a person":
            break
        page.keyboard.press("Shift+Tab")
    else:
        pytest.fail("the quick replies cannot be reached with the keyboard")
    page.keyboard.press("Enter")
    chat.settle()
    assert chat.customer_texts()[-1] == "Talk to a person"

    page.keyboard.press("Escape")
    expect(chat.panel).to_be_hidden()
    assert chat.launcher.evaluate("el => el.getRootNode().activeElement === el")


def test_the_conversation_is_announced_to_screen_readers(chat: Chat) -> None:
    expect(chat.log).to_have_attribute("role", "log")
    expect(chat.log).to_have_attribute("aria-live", "polite")
    expect(chat.widget.locator(".panel")).to_have_attribute("role", "dialog")
    chat.open()
    chat.type("hi")
    # Screen readers hear who spoke before each message.
    first = chat.log.locator(".msg").first.inner_text()
    assert first.startswith("You:")


def test_replies_while_minimised_raise_the_unread_badge(chat: Chat) -> None:
    chat.open()
    badge = chat.widget.locator(".badge")
    expect(badge).to_be_hidden()
    # Send, and minimise in the same moment, before the reply can arrive.
    chat.input.fill("hi")
    chat.page.evaluate(
        """() => {
            const root = document.querySelector('#larkspur-chat').shadowRoot;
            root.querySelector('form').requestSubmit();
            window.LarkspurChat.close();
        }"""
    )
    chat.settle()
    expect(badge).to_have_text("1")
    expect(chat.launcher).to_have_attribute("aria-label", "Chat with us (1 unread)")
    chat.launcher.click()
    expect(badge).to_be_hidden()


@pytest.fixture
def other_site(agent: Agent) -> Iterator[str]:
    """A page on an origin the agent does not allow, embedding the widget."""
    script = f"http://127.0.0.1:{agent.stack.settings.rasa_port}/webhooks/widget/widget.js"
    page = (
        f"<!doctype html><html lang='en'><body><h1>Elsewhere</h1><script src='{script}'></script>"
    )

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_a_dropped_connection_comes_back_and_loses_nothing(chat: Chat) -> None:
    """The WebSocket is cut and the agent made unreachable for a while, in the browser."""
    down = {"now": False}
    links: list[WebSocketRoute] = []
    refused: list[float] = []

    def link(socket: WebSocketRoute) -> None:
        if down["now"]:
            refused.append(time.monotonic())
            socket.close()
            return
        socket.connect_to_server()
        links.append(socket)

    chat.page.route_web_socket(re.compile(r".*/socket\.io/.*"), link)
    chat.page.reload()
    chat.open()
    assert said(chat.type("hi"), "utter_greet")

    down["now"] = True
    links[-1].close()
    status = chat.widget.locator(".status")
    expect(status).to_contain_text("We can't reach the assistant right now. Trying again in")
    # Typed while offline: shown as sending, kept, and sent once the agent is back.
    chat.input.fill("where is my order 100103?")
    chat.input.press("Enter")
    expect(chat.log.locator(".msg.pending")).to_have_count(1)
    expect(chat.log.locator(".msg.pending")).to_contain_text("Sending…")
    # The widget keeps trying by itself, waiting longer each time (about 1 s, then 2 s).
    for _ in range(100):
        if len(refused) >= 2:
            break
        chat.page.wait_for_timeout(100)
    assert len(refused) >= 2
    assert refused[1] - refused[0] > 1.2
    down["now"] = False
    status.locator("button").click()
    chat.settle()
    expect(status).to_be_hidden()
    assert chat.customer_texts().count("where is my order 100103?") == 1
    assert said(chat.bot_texts_as_messages()[-1:], "utter_ask_verify_email")


def test_a_page_of_another_origin_cannot_connect(browser: Browser, other_site: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(other_site)
    chat = Chat(page)
    chat.launcher.click()
    # Refused by the agent: the widget says it cannot reach the assistant and retries.
    expect(chat.widget.locator(".status")).to_contain_text("can't reach the assistant")
    expect(chat.widget.locator(".status button")).to_have_text("Try now")
    context.close()


def test_on_a_phone_the_open_widget_fills_the_screen(browser: Browser, agent: Agent) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 760}, is_mobile=True)
    page = context.new_page()
    page.goto(agent.stack.shop_url + "/")
    chat = Chat(page)
    chat.open()
    box = chat.panel.bounding_box()
    assert box is not None
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 760)
    assert said(chat.type("hi"), "utter_greet")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget-phone.png"))
    # Minimised, only the launcher is left.
    page.keyboard.press("Escape")
    expect(chat.panel).to_be_hidden()
    expect(chat.launcher).to_be_visible()
    context.close()


def test_the_widget_script_is_served_with_safe_headers(agent: Agent) -> None:
    reply = agent.client.get(f"{agent.stack.rasa_url}/webhooks/widget/widget.js")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/javascript")
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert "class Widget" in reply.text
