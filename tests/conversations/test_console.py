"""The agent console with the running agent: a person takes over a widget chat, and who may do what.

The round trip runs in Debian's Chromium: a shopper in the widget asks for a person, an agent
signed in to the console sees the conversation arrive in the queue, claims it, reads the
transcript and the customer's orders, answers, and hands the conversation back to the
assistant, which answers the next question. The other tests call the console over HTTP as an
attacker would: without a session, with another role, another team, or no CSRF token.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from crm.models import HandoffRequest, StaffUser
from crm.services import HandoffService
from crm.staff import StaffService
from tests.conversations import test_telegram as telegram
from tests.conversations import test_twilio as twilio
from tests.conversations.browser import REPLY_TIMEOUT_MS, SCREENSHOTS, shop
from tests.conversations.conftest import TWILIO_NUMBER, Agent, new_sender, said
from tests.conversations.standins import PlatformAPI

PASSWORD = "correct horse battery staple"
REFERENCE = re.compile(r"HO-[0-9A-Z]{6}")


@dataclass(frozen=True)
class Staff:
    """The team the tests sign in as (emails unique to this run)."""

    priya: str  # agent, general team
    tom: str  # agent, billing team
    sue: str  # admin


@pytest.fixture(scope="module")
def staff(agent: Agent) -> Staff:
    # Cheap hashing for the fixtures; the console verifies (and upgrades) them as any other.
    service = StaffService(
        agent.sessions, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    run = uuid.uuid4().hex[:8]
    emails = Staff(
        f"priya-{run}@larkspur.test", f"tom-{run}@larkspur.test", f"sue-{run}@larkspur.test"
    )
    for email, name, role, team in (
        (emails.priya, "Priya", "agent", "general"),
        (emails.tom, "Tom", "agent", "billing"),
        (emails.sue, "Sue", "admin", "general"),
    ):
        service.create_member(
            email=email, name=name, password=PASSWORD, role=role, team=team, actor="test"
        )
    return emails


def sign_in(page: Page, agent: Agent, email: str) -> None:
    page.goto(f"{agent.stack.console_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Conversations waiting for a person")).to_be_visible()


def test_a_person_takes_over_a_widget_chat_and_hands_it_back(
    browser: Browser, agent: Agent, staff: Staff
) -> None:
    console = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    errors: list[str] = []
    console.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(console, agent, staff.priya)

    chat = shop(browser, agent, "/signed-in")  # Ada, signed in on the shop's site
    chat.open()
    reply = chat.type("I want to talk to a person")
    assert said(reply, "utter_handoff_requested"), reply
    reference = REFERENCE.search(reply[-1]["text"])
    assert reference is not None
    ref = reference.group()

    # The queue page, open before the request, shows it without a reload.
    row = console.locator("#queue-rows tr", has_text=ref)
    expect(row).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    expect(row).to_contain_text("Ada Lovelace")
    expect(row).to_contain_text("customer_request")
    row.get_by_role("link", name=ref).click()

    transcript = console.locator("#transcript")
    expect(transcript).to_contain_text("I want to talk to a person")
    expect(transcript).to_contain_text("passed this conversation to our support team")
    panel = console.locator("aside.customer")
    expect(panel).to_contain_text("ada@example.com")
    expect(panel.locator("table.orders")).to_contain_text("100103")

    console.get_by_role("button", name="Claim this conversation").click()
    expect(console.get_by_label("Reply to the customer")).to_be_visible()
    expect(chat.log.locator(".msg.notice")).to_contain_text("Priya", timeout=REPLY_TIMEOUT_MS)

    # The assistant is paused: the customer's words reach the console, and only a person answers.
    before = len(chat.bot_texts())
    chat.type("Are you a <i>real</i> person?")
    expect(transcript).to_contain_text("Are you a <i>real</i> person?", timeout=REPLY_TIMEOUT_MS)
    assert len(chat.bot_texts()) == before
    # Customer text is text on staff screens, live and when the page is drawn by the server.
    console.reload()
    expect(transcript).to_contain_text("Are you a <i>real</i> person?")
    expect(transcript.locator("i")).to_have_count(0)

    box = console.get_by_label("Reply to the customer")
    box.fill("Yes, I'm Priya. I can see your order 100103 <b>here</b>.")
    box.press("Enter")
    answer = chat.log.locator(".msg.bot .bubble", has_text="I'm Priya")
    expect(answer).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    assert answer.inner_text().endswith("<b>here</b>.")  # shown as text, not markup
    expect(transcript.locator(".line.staff").last).to_contain_text("I'm Priya")
    expect(transcript.locator(".line.system", has_text="Priya joined the chat.")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    console.screenshot(path=str(SCREENSHOTS / "console-conversation.png"))

    console.get_by_role("button", name="Hand back to the assistant").click()
    expect(
        console.get_by_role("heading", name="Conversations waiting for a person")
    ).to_be_visible()
    expect(console.locator("#queue-rows tr", has_text=ref)).to_have_count(0)
    expect(chat.log.locator(".msg.notice").last).to_contain_text("Priya")

    # The assistant answers again, still knowing who the customer is.
    reply = chat.type("where is my order 100103?")
    assert reply and any("100103" in message["text"] for message in reply), reply
    with agent.sessions() as session:
        request = session.scalars(
            select(HandoffRequest).where(HandoffRequest.reference == ref)
        ).one()
        assert (request.status, request.outcome) == ("closed", "handed_back")
    assert errors == [] and chat.errors == []
    console.context.close()
    chat.page.context.close()


# --- who may do what, over HTTP ----------------------------------------------------------


class Session:
    """An HTTP client signed in to the console (or not), as a script would be."""

    def __init__(self, agent: Agent) -> None:
        self.base = agent.stack.console_url
        self.http = httpx.Client(base_url=self.base, timeout=30, follow_redirects=False)
        self.csrf = ""

    def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        form = self.http.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        reply = self.http.post(
            "/login", data={"csrf_token": token.group(1), "email": email, "password": password}
        )
        if reply.status_code == 302:
            page = self.http.get("/")
            found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
            assert found is not None
            self.csrf = found.group(1)
        return reply

    def post(self, path: str, *, csrf: bool = True, **data: str) -> httpx.Response:
        return self.http.post(path, data={**data, **({"csrf_token": self.csrf} if csrf else {})})


@pytest.fixture
def anyone(agent: Agent) -> Iterator[Session]:
    session = Session(agent)
    yield session
    session.http.close()


def waiting_handoff(agent: Agent, team: str = "general") -> str:
    """A conversation queued for `team`, as the assistant queues one."""
    sender = new_sender()
    agent.say(sender, "hello")
    handoff = HandoffService(agent.sessions).request_handoff(
        conversation_id=sender,
        channel="rest",
        reason="customer_request",
        customer_id=None,
        transcript=[],
    )
    if team != "general":
        with agent.sessions.begin() as session:
            session.get(HandoffRequest, handoff.id).team = team  # type: ignore[union-attr]
    return handoff.reference


def test_without_a_session_nothing_is_served(agent: Agent, anyone: Session) -> None:
    reference = waiting_handoff(agent)
    assert anyone.http.get("/").headers["location"] == "/login"
    assert anyone.http.get("/api/queue").status_code == 401
    assert anyone.http.get("/stream/queue").status_code == 401
    assert anyone.http.get(f"/conversations/{reference}").status_code == 302
    assert anyone.http.post(f"/conversations/{reference}/claim").status_code == 401
    assert anyone.http.get("/admin/staff").status_code == 302
    with httpx.Client(base_url=anyone.base, cookies={"larkspur_console": "forged"}) as forger:
        assert forger.get("/api/queue").status_code == 401
    # Rasa's relay takes no event without the token either.
    relay = httpx.post(
        f"{agent.stack.rasa_url}/webhooks/staff/relay",
        json={"conversation_id": "x", "kind": "message", "name": "Eve", "text": "hi"},
    )
    assert relay.status_code == 401


def test_an_agent_cannot_open_admin_pages(agent: Agent, staff: Staff, anyone: Session) -> None:
    assert anyone.sign_in(staff.priya).status_code == 302
    assert anyone.http.get("/admin/staff").status_code == 403
    created = anyone.post(
        "/admin/staff",
        email="mallory@larkspur.test",
        name="Mallory",
        password=PASSWORD,
        role="admin",
        team="general",
    )
    assert created.status_code == 403
    with agent.sessions() as session:
        assert session.scalars(select(StaffUser).where(StaffUser.name == "Mallory")).first() is None


def test_an_admin_can_add_a_member(agent: Agent, staff: Staff, anyone: Session) -> None:
    assert anyone.sign_in(staff.sue).status_code == 302
    assert anyone.http.get("/admin/staff").status_code == 200
    email = f"new-{uuid.uuid4().hex[:6]}@larkspur.test"
    added = anyone.post(
        "/admin/staff", email=email, name="Nadia", password=PASSWORD, role="agent", team="billing"
    )
    assert added.status_code == 302
    assert Session(agent).sign_in(email).status_code == 302


def test_an_agent_cannot_reach_another_teams_conversation_by_its_reference(
    agent: Agent, staff: Staff, anyone: Session
) -> None:
    general = waiting_handoff(agent, "general")
    billing = waiting_handoff(agent, "billing")
    assert anyone.sign_in(staff.tom).status_code == 302  # billing team
    queue = anyone.http.get("/api/queue").json()["queue"]
    references = {entry["reference"] for entry in queue}
    assert billing in references and general not in references
    assert anyone.http.get(f"/conversations/{general}").status_code == 404
    assert anyone.http.get(f"/stream/conversations/{general}").status_code == 404
    assert anyone.post(f"/conversations/{general}/claim").status_code == 404
    assert anyone.post(f"/conversations/{general}/reply", text="hi").status_code == 404
    with agent.sessions() as session:
        request = session.scalars(
            select(HandoffRequest).where(HandoffRequest.reference == general)
        ).one()
        assert request.status == "waiting"


def test_changes_need_the_sessions_csrf_token(agent: Agent, staff: Staff, anyone: Session) -> None:
    reference = waiting_handoff(agent)
    assert anyone.sign_in(staff.priya).status_code == 302
    assert anyone.post(f"/conversations/{reference}/claim", csrf=False).status_code == 403
    forged = anyone.http.post(
        f"/conversations/{reference}/claim", data={"csrf_token": "not-the-token"}
    )
    assert forged.status_code == 403
    with agent.sessions() as session:
        request = session.scalars(
            select(HandoffRequest).where(HandoffRequest.reference == reference)
        ).one()
        assert request.status == "waiting"


def test_only_the_person_holding_a_conversation_answers_in_it(
    agent: Agent, staff: Staff, anyone: Session
) -> None:
    reference = waiting_handoff(agent)
    assert anyone.sign_in(staff.sue).status_code == 302
    assert anyone.post(f"/conversations/{reference}/claim").status_code == 303
    colleague = Session(agent)
    assert colleague.sign_in(staff.priya).status_code == 302
    assert colleague.post(f"/conversations/{reference}/reply", text="hi").status_code == 403
    assert colleague.post(f"/conversations/{reference}/hand-back").status_code == 403
    assert colleague.post(f"/conversations/{reference}/claim").status_code == 409
    # The holder can; on the REST channel the reply is recorded, not pushed.
    sent = anyone.http.post(
        f"/conversations/{reference}/reply",
        json={"text": "Hello from Sue"},
        headers={"X-CSRF-Token": anyone.csrf},
    )
    assert sent.json() == {"delivered": False}
    assert anyone.post(f"/conversations/{reference}/hand-back").status_code == 303


def test_signing_in_is_throttled(agent: Agent) -> None:
    email = f"gus-{uuid.uuid4().hex[:6]}@larkspur.test"
    StaffService(
        agent.sessions, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    ).create_member(email=email, name="Gus", password=PASSWORD, role="agent", actor="test")
    guesser = Session(agent)
    for _ in range(5):
        assert guesser.sign_in(email, "wrong password!").status_code == 401
    refused = guesser.sign_in(email)  # even the right password, for a while
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0


# --- replies on the messaging platforms --------------------------------------------------


def take_over_and_answer(agent: Agent, staff: Staff, conversation: str) -> None:
    """As Sue (admin): claim the conversation's handoff, answer once, hand it back."""
    with agent.sessions() as session:
        reference = session.scalars(
            select(HandoffRequest.reference).where(
                HandoffRequest.conversation_id == conversation, HandoffRequest.status == "waiting"
            )
        ).one()
    sue = Session(agent)
    assert sue.sign_in(staff.sue).status_code == 302
    assert sue.post(f"/conversations/{reference}/claim").status_code == 303
    sent = sue.http.post(
        f"/conversations/{reference}/reply",
        json={"text": "Sue here, from the team."},
        headers={"X-CSRF-Token": sue.csrf},
    )
    assert sent.json() == {"delivered": True}
    assert sue.post(f"/conversations/{reference}/hand-back").status_code == 303


def test_staff_answer_a_telegram_customer_on_telegram(
    agent: Agent, staff: Staff, telegram_api: PlatformAPI
) -> None:
    chat = telegram.new_chat()
    telegram.post(agent, telegram.text_update(chat, "I want to talk to a person"))
    before = len(telegram_api.wait_for(chat, 1))
    take_over_and_answer(agent, staff, f"telegram-{chat}")
    texts = [body["text"] for body in telegram_api.wait_for(chat, before + 3)][before:]
    assert said([{"text": texts[0]}], "utter_staff_joined") and "Sue" in texts[0]
    assert texts[1] == "Sue here, from the team."
    assert said([{"text": texts[2]}], "utter_staff_left")


def test_staff_answer_an_sms_customer_by_sms_from_the_number_they_wrote_to(
    agent: Agent, staff: Staff, twilio_api: PlatformAPI
) -> None:
    phone = twilio.new_phone()
    twilio.post(agent, twilio.sms(phone, "I want to talk to a person"))
    before = len(twilio.messages(twilio_api, phone, 1))
    take_over_and_answer(agent, staff, f"twilio-{phone}")
    bodies = twilio_api.wait_for(phone, before + 3, method="Messages.json")[before:]
    assert [body["Body"] for body in bodies][1] == "Sue here, from the team."
    assert {body["From"] for body in bodies} == {TWILIO_NUMBER}
