"""A real browser for the conversation tests: Debian's Chromium, driven by Playwright, headless.

`Chat` operates the website widget the way a shopper would; the console tests use the same
browser for the staff side.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Browser, Page, expect

from config.settings import ROOT

if TYPE_CHECKING:
    from tests.conversations.conftest import Agent

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
REPLY_TIMEOUT_MS = 60_000
# Written on every run (docs/images holds the ones the README shows, copied from here).
SCREENSHOTS = ROOT / "var" / "screenshots"


class Chat:
    """The widget on one page, operated the way a shopper would."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.widget = page.locator("#larkspur-chat")
        self.launcher = self.widget.locator(".launcher")
        self.panel = self.widget.locator(".panel")
        self.input = self.widget.locator("textarea")
        self.log = self.widget.locator(".log")

    def open(self) -> None:
        self.launcher.click()
        expect(self.panel).to_be_visible()
        self.wait_until_online()

    def wait_until_online(self) -> None:
        expect(self.widget.locator(".status")).to_be_hidden(timeout=REPLY_TIMEOUT_MS)

    def bot_texts(self) -> list[str]:
        return [t.strip() for t in self.log.locator(".msg.bot .bubble").all_inner_texts()]

    def bot_texts_as_messages(self) -> list[dict[str, Any]]:
        return [{"text": text} for text in self.bot_texts()]

    def customer_texts(self) -> list[str]:
        return [t.strip() for t in self.log.locator(".msg.customer .bubble").all_inner_texts()]

    def settle(self) -> None:
        """Wait until every message sent has been answered (acknowledged by the agent)."""
        expect(self.log.locator(".msg.pending")).to_have_count(0, timeout=REPLY_TIMEOUT_MS)

    def type(self, text: str) -> list[dict[str, Any]]:
        """Type and press Enter; the bot's new messages, as {"text": ...}."""
        before = len(self.bot_texts())
        self.input.fill(text)
        self.input.press("Enter")
        self.settle()
        return [{"text": t} for t in self.bot_texts()[before:]]

    def click(self, title: str) -> list[dict[str, Any]]:
        """Click the newest quick reply titled `title`; the bot's new messages."""
        before = len(self.bot_texts())
        self.log.locator(".buttons button:enabled", has_text=title).last.click()
        self.settle()
        return [{"text": t} for t in self.bot_texts()[before:]]


def shop(browser: Browser, agent: Agent, path: str = "/") -> Chat:
    context = browser.new_context(viewport={"width": 1280, "height": 760})
    page = context.new_page()
    page.goto(agent.stack.shop_url + path)
    return Chat(page)
