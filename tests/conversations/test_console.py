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
from datetime import timedelta
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from crm.desk.handoff_requests import HandoffService
from crm.desk.staff import StaffService
from crm.records.models import (
    AuditLog,
    Customer,
    CustomerConversation,
    HandoffNote,
    HandoffRequest,
    Order,
    Refund,
    StaffUser,
    utcnow,
)
from crm.records.views import format_money
from tests.conversations import test_telegram as telegram
from tests.conversations import test_twilio as twilio
from tests.conversations.browser import REPLY_TIMEOUT_MS, SCREENSHOTS, shop
from tests.conversations.conftest import (
    TWILIO_NUMBER,
    Agent,
    new_customer,
    new_sender,
    placed_orders,
    said,
    verify,
)
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
    console.screenshot(path=str(SCREENSHOTS / "console-conversation.png"), full_page=True)

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


# --- working a conversation: canned responses, notes, closing, transferring ---------------


def member_id(agent: Agent, email: str) -> int:
    with agent.sessions() as session:
        return session.scalars(select(StaffUser.id).where(StaffUser.email == email)).one()


def new_member(agent: Agent, name: str, role: str = "agent", team: str = "general") -> str:
    """A staff member of this test alone; returns their email."""
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@larkspur.test"
    StaffService(
        agent.sessions, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    ).create_member(email=email, name=name, password=PASSWORD, role=role, team=team, actor="test")
    return email


def record(agent: Agent, reference: str) -> HandoffRequest:
    with agent.sessions() as session:
        request = session.scalars(
            select(HandoffRequest).where(HandoffRequest.reference == reference)
        ).one()
        session.expunge(request)
        return request


def staff_said(agent: Agent, conversation: str) -> list[dict[str, Any]]:
    """What the customer was told by or about staff: the relay's bot messages in the tracker."""
    return [
        {"text": event.get("text") or "", "staff": event["metadata"]["staff"]}
        for event in agent.tracker(conversation)["events"]
        if event["event"] == "bot" and (event.get("metadata") or {}).get("staff")
    ]


def test_canned_responses_notes_and_closing_with_an_outcome_in_the_browser(
    browser: Browser, agent: Agent, staff: Staff
) -> None:
    errors: list[str] = []
    admin = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    admin.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(admin, agent, staff.sue)
    admin.get_by_role("link", name="Canned responses").click()
    title = f"Order check {uuid.uuid4().hex[:6]}"
    admin.get_by_label("Title", exact=True).fill(title)
    admin.get_by_label("Text", exact=True).fill(
        "Hi {customer_first_name}, I'm checking order 100103 <b>now</b>."
    )
    admin.get_by_role("button", name="Add", exact=True).click()
    expect(admin.locator("#canned-rows")).to_contain_text(title)

    # A verified customer (Ada) waits; Priya claims the conversation.
    sender = new_sender()
    agent.say(sender, "hello")
    with agent.sessions() as session:
        ada = session.scalars(select(Customer.id).where(Customer.email == "ada@example.com")).one()
    ref = (
        HandoffService(agent.sessions)
        .request_handoff(
            conversation_id=sender,
            channel="rest",
            reason="customer_request",
            customer_id=ada,
            transcript=[],
        )
        .reference
    )
    console = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    console.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(console, agent, staff.priya)
    console.goto(f"{agent.stack.console_url}/conversations/{ref}")
    console.get_by_role("button", name="Claim this conversation").click()
    box = console.get_by_label("Reply to the customer")
    expect(box).to_be_visible()

    # The picker puts the text in the reply box, as text, with Ada's first name, at the cursor.
    expect(console.locator("#canned-hint")).to_contain_text("filled in")
    box.fill("Hello. ")
    console.get_by_label("Canned response").select_option(label=title)
    console.get_by_role("button", name="Insert").click()
    expect(box).to_have_value("Hello. Hi Ada, I'm checking order 100103 <b>now</b>.")
    expect(box).to_be_focused()

    # A private note: saved without losing the draft, shown as text, kept on reload.
    note = f"Prefers <i>email</i> {uuid.uuid4().hex[:6]}"
    console.get_by_label("Add a private note").fill(note)
    console.get_by_role("button", name="Save note").click()
    notes = console.locator("#note-list")
    expect(notes).to_contain_text(note)
    expect(box).to_have_value("Hello. Hi Ada, I'm checking order 100103 <b>now</b>.")
    console.reload()
    expect(notes.locator(".note").last).to_contain_text("Priya")
    expect(notes).to_contain_text(note)
    expect(notes.locator("i")).to_have_count(0)
    expect(console.get_by_text("the customer never sees notes")).to_be_visible()

    # A reply the console refuses keeps the draft, and staff read why.
    draft = "x" * 4001
    box.evaluate("box => box.removeAttribute('maxlength')")
    box.fill(draft)
    box.press("Enter")
    expect(console.locator("#reply-error")).to_have_text("Write 1 to 4000 characters.")
    expect(box).to_have_value(draft)

    console.get_by_label("Resolved", exact=True).check()
    console.get_by_role("button", name="Close conversation").click()
    expect(
        console.get_by_role("heading", name="Conversations waiting for a person")
    ).to_be_visible()
    closed = record(agent, ref)
    assert (closed.status, closed.outcome) == ("closed", "resolved")
    assert closed.closed_at is not None
    told = staff_said(agent, sender)
    assert said(told[-1:], "utter_staff_closed") and told[-1]["staff"] == "Priya", told
    # Notes stay in the records; nothing of them reached the conversation.
    assert all("Prefers" not in line["text"] for line in told)
    assert "Prefers" not in str(agent.tracker(sender)["events"])
    with agent.sessions() as session:
        kept = session.scalars(
            select(HandoffNote.text)
            .join(HandoffRequest, HandoffNote.handoff_id == HandoffRequest.id)
            .where(HandoffRequest.reference == ref)
        ).all()
    assert kept == [note]

    # The supervisor side: the response is removed, and no longer offered.
    admin.reload()
    admin.get_by_role("button", name=f"Remove {title}").click()
    expect(admin.locator("#canned-rows")).not_to_contain_text(title)
    assert errors == []
    admin.context.close()
    console.context.close()


def claimed_by(agent: Agent, email: str, team: str = "general") -> tuple[str, str]:
    """A REST conversation held by the member with `email`: (reference, conversation id)."""
    reference = waiting_handoff(agent, team)
    holder = Session(agent)
    assert holder.sign_in(email).status_code == 302
    assert holder.post(f"/conversations/{reference}/claim").status_code == 303
    return reference, record(agent, reference).conversation_id


def test_the_holder_transfers_to_a_colleague_and_then_to_a_team(
    agent: Agent, staff: Staff, anyone: Session
) -> None:
    ravi = new_member(agent, "Ravi")
    reference, conversation = claimed_by(agent, staff.priya)
    assert anyone.sign_in(staff.priya).status_code == 302

    ravi_id = member_id(agent, ravi)
    moved = anyone.post(f"/conversations/{reference}/transfer", colleague=str(ravi_id))
    assert (moved.status_code, moved.headers["location"]) == (303, "/")
    after = record(agent, reference)
    assert (after.status, after.assignee_id) == ("claimed", ravi_id)
    joined = staff_said(agent, conversation)[-1]
    assert said([joined], "utter_staff_joined") and joined["staff"] == "Ravi", joined
    assert anyone.post(f"/conversations/{reference}/reply", text="still me").status_code == 403

    colleague = Session(agent)
    assert colleague.sign_in(ravi).status_code == 302
    mine = {e["reference"]: e["mine"] for e in colleague.http.get("/api/queue").json()["queue"]}
    assert mine[reference] is True
    queued = colleague.post(f"/conversations/{reference}/transfer", team="billing")
    assert queued.status_code == 303
    after = record(agent, reference)
    assert (after.status, after.team, after.assignee_id, after.claimed_at) == (
        "waiting",
        "billing",
        None,
        None,
    )
    assert said(staff_said(agent, conversation)[-1:], "utter_staff_transferred_billing")
    assert colleague.http.get(f"/conversations/{reference}").status_code == 404
    billing = Session(agent)
    assert billing.sign_in(staff.tom).status_code == 302
    queue = billing.http.get("/api/queue").json()["queue"]
    assert reference in {entry["reference"] for entry in queue}
    assert billing.post(f"/conversations/{reference}/claim").status_code == 303


def test_transfers_and_assignments_are_refused_unless_allowed(
    agent: Agent, staff: Staff, anyone: Session
) -> None:
    reference, _ = claimed_by(agent, staff.sue)
    priya = member_id(agent, staff.priya)
    assert anyone.sign_in(staff.priya).status_code == 302
    # An agent cannot pass on what someone else holds, nor assign a waiting conversation.
    taken = anyone.post(f"/conversations/{reference}/transfer", colleague=str(priya))
    assert taken.status_code == 403
    waiting = waiting_handoff(agent)
    assert anyone.post(f"/conversations/{waiting}/transfer", team="billing").status_code == 403
    forged = anyone.post(f"/conversations/{waiting}/transfer", team="billing", csrf=False)
    assert forged.status_code == 403

    boss = Session(agent)
    assert boss.sign_in(staff.sue).status_code == 302
    gone = new_member(agent, "Gone")
    with agent.sessions.begin() as session:
        session.scalars(select(StaffUser).where(StaffUser.email == gone)).one().active = False
    for colleague in (member_id(agent, gone), member_id(agent, staff.tom), 99_999_999):
        refused = boss.post(f"/conversations/{reference}/transfer", colleague=str(colleague))
        assert refused.status_code == 400, colleague
        assert "cannot take this conversation" in refused.text
    assert boss.post(f"/conversations/{reference}/transfer", team="sales").status_code == 400
    assert boss.post(f"/conversations/{reference}/transfer").status_code == 400
    after = record(agent, reference)
    assert (after.status, after.assignee_id) == ("claimed", member_id(agent, staff.sue))

    # A supervisor or admin assigns any open conversation: a waiting one goes to Priya.
    assigned = boss.post(f"/conversations/{waiting}/transfer", colleague=str(priya))
    assert (assigned.status_code, assigned.headers["location"]) == (
        303,
        f"/conversations/{waiting}",
    )
    assert (record(agent, waiting).status, record(agent, waiting).assignee_id) == ("claimed", priya)
    assert anyone.post(f"/conversations/{waiting}/reply", text="Priya here").status_code == 303


def test_a_transfer_the_customer_cannot_be_told_of_is_undone(
    agent: Agent, staff: Staff, anyone: Session
) -> None:
    # Rasa has never seen this conversation, so its relay refuses every event for it.
    handoff = HandoffService(agent.sessions).request_handoff(
        conversation_id=new_sender(),
        channel="rest",
        reason="customer_request",
        customer_id=None,
        transcript=[],
    )
    reference = handoff.reference
    priya = member_id(agent, staff.priya)
    assert anyone.sign_in(staff.priya).status_code == 302
    assert anyone.post(f"/conversations/{reference}/claim").status_code == 502  # claim undone
    with agent.sessions.begin() as session:  # as if the claim had been announced
        request = session.get_one(HandoffRequest, handoff.id)
        request.status, request.assignee_id, request.claimed_at = "claimed", priya, utcnow()
    failed = anyone.post(f"/conversations/{reference}/transfer", team="billing")
    assert failed.status_code == 502
    after = record(agent, reference)
    assert (after.status, after.team, after.assignee_id) == ("claimed", "general", priya)
    assert anyone.post(f"/conversations/{reference}/close", outcome="resolved").status_code == 502
    assert record(agent, reference).status == "claimed"


def test_closing_needs_an_outcome_and_notes_stay_within_the_team(
    agent: Agent, staff: Staff, anyone: Session
) -> None:
    reference, conversation = claimed_by(agent, staff.priya)
    assert anyone.sign_in(staff.priya).status_code == 302
    for outcome in ("", "handed_back", "whatever"):
        refused = anyone.post(f"/conversations/{reference}/close", outcome=outcome)
        assert refused.status_code == 400, outcome
    assert record(agent, reference).status == "claimed"
    assert not any(said([line], "utter_staff_closed") for line in staff_said(agent, conversation))

    saved = anyone.post(f"/conversations/{reference}/notes", text="Called back on Tuesday.")
    assert (saved.status_code, saved.headers["location"]) == (
        303,
        f"/conversations/{reference}#notes",
    )
    assert anyone.post(f"/conversations/{reference}/notes", text="   ").status_code == 400
    assert "Called back on Tuesday." in anyone.http.get(f"/conversations/{reference}").text
    outsider = Session(agent)
    assert outsider.sign_in(staff.tom).status_code == 302  # billing
    assert outsider.post(f"/conversations/{reference}/notes", text="hi").status_code == 404
    assert outsider.post(f"/conversations/{reference}/close", outcome="resolved").status_code == 404

    closed = anyone.post(f"/conversations/{reference}/close", outcome="not_resolved")
    assert (closed.status_code, closed.headers["location"]) == (303, "/")
    after = record(agent, reference)
    assert (after.status, after.outcome) == ("closed", "not_resolved")


def test_the_open_page_follows_when_a_supervisor_moves_the_conversation(
    browser: Browser, agent: Agent, staff: Staff
) -> None:
    reference, _ = claimed_by(agent, staff.priya)
    console = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    sign_in(console, agent, staff.priya)
    console.goto(f"{agent.stack.console_url}/conversations/{reference}")
    expect(console.get_by_label("Reply to the customer")).to_be_visible()
    boss = Session(agent)
    assert boss.sign_in(staff.sue).status_code == 302
    ravi = member_id(agent, new_member(agent, "Ravi"))
    assert boss.post(f"/conversations/{reference}/transfer", colleague=str(ravi)).status_code == 303
    # Priya's page reloads by itself: Ravi has it now, and her controls are gone.
    expect(console.locator("#entry-status")).to_contain_text("with Ravi", timeout=REPLY_TIMEOUT_MS)
    expect(console.get_by_label("Reply to the customer")).to_have_count(0)
    expect(console.get_by_role("button", name="Close conversation")).to_have_count(0)
    expect(console.locator("#to-team")).to_have_count(0)
    # Sent to a queue she does not see: the page leaves for her queue.
    assert boss.post(f"/conversations/{reference}/transfer", team="billing").status_code == 303
    queue = console.get_by_role("heading", name="Conversations waiting for a person")
    expect(queue).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    console.context.close()


def test_only_supervisors_and_admins_manage_canned_responses(
    agent: Agent, staff: Staff, anyone: Session
) -> None:
    assert anyone.sign_in(staff.priya).status_code == 302
    assert anyone.http.get("/admin/canned").status_code == 403
    title = f"Agent made {uuid.uuid4().hex[:6]}"
    assert anyone.post("/admin/canned", title=title, text="Hello").status_code == 403
    boss = Session(agent)
    assert boss.sign_in(new_member(agent, "Bea", role="supervisor")).status_code == 302
    assert title not in boss.http.get("/admin/canned").text
    assert boss.post("/admin/canned", title=title, text="").status_code == 400
    assert boss.post("/admin/canned", title=title, text="Hello", team="billing").status_code == 303
    assert boss.post("/admin/canned", title=title, text="Again").status_code == 400
    page = boss.http.get("/admin/canned").text
    assert title in page and 'href="/admin/canned"' in page


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


# --- the supervisor view and the customer panel's history and refunds --------------------


def test_a_supervisor_sees_the_team_figures_and_an_agent_gets_403(
    agent: Agent, staff: Staff, anyone: Session
) -> None:
    assert anyone.http.get("/api/supervisor").status_code == 401
    assert anyone.sign_in(staff.priya).status_code == 302
    assert 'href="/supervisor"' not in anyone.http.get("/").text
    assert anyone.http.get("/supervisor").status_code == 403
    assert anyone.http.get("/api/supervisor?period=7d").status_code == 403

    boss = Session(agent)
    assert boss.sign_in(new_member(agent, "Sam", role="supervisor")).status_code == 302
    assert 'href="/supervisor"' in boss.http.get("/").text
    figures = boss.http.get("/api/supervisor?period=7d").json()
    waiting = {queue["team"]: queue["waiting"] for queue in figures["queues"]}
    waiting_handoff(agent, "technical")
    now = boss.http.get("/api/supervisor?period=7d").json()
    assert now["period"] == "7d"
    assert {q["team"]: q["waiting"] for q in now["queues"]}["technical"] == waiting["technical"] + 1
    assert now["waiting"] == figures["waiting"] + 1
    assert now["display"]["queue.technical.waiting"] == str(waiting["technical"] + 1)
    page = boss.http.get("/supervisor?period=30d")
    assert page.status_code == 200
    assert "How the team is doing" in page.text and "Sam" in page.text
    assert 'aria-current="page">Last 30 days<' in page.text
    assert boss.http.get("/supervisor?period=forever").status_code == 400
    boss.http.close()


def test_likely_buyers_are_for_supervisors_and_download_as_csv(
    agent: Agent, staff: Staff, anyone: Session
) -> None:
    assert anyone.sign_in(staff.priya).status_code == 302
    assert anyone.http.get("/supervisor/likely-buyers").status_code == 403
    assert anyone.http.get("/supervisor/likely-buyers?format=csv").status_code == 403

    boss = Session(agent)
    assert boss.sign_in(new_member(agent, "Lin", role="supervisor")).status_code == 302
    assert 'href="/supervisor/likely-buyers"' in boss.http.get("/supervisor").text
    page = boss.http.get("/supervisor/likely-buyers?min=10&newsletter=yes&q=ada")
    assert page.status_code == 200 and "Customers most likely to buy" in page.text
    exported = boss.http.get("/supervisor/likely-buyers?min=10&format=csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"] == 'attachment; filename="likely-buyers.csv"'
    assert exported.text.startswith("customer_id,name,email,score_percent")
    assert boss.http.get("/supervisor/likely-buyers?min=200").status_code == 400
    boss.http.close()


def test_a_refund_issued_from_the_panel_is_recorded_as_the_staff_members(
    agent: Agent, staff: Staff, anyone: Session
) -> None:
    shopper = new_customer(agent, [("HOM-005", 1)])
    [order] = placed_orders(agent, shopper)
    with agent.sessions.begin() as session:
        row = session.scalars(select(Order).where(Order.number == order.number)).one()
        row.status = "delivered"
        row.paid_at = row.shipped_at = utcnow() - timedelta(days=3)
        row.delivered_at = utcnow() - timedelta(days=1)
    # The shopper proves who they are in the chat, then asks for a person.
    sender = new_sender()
    agent.say(sender, f"where is my order {order.number}")
    assert said(verify(agent, sender, shopper), "utter_verified")
    agent.say(sender, "I want to talk to a person")
    with agent.sessions.begin() as session:
        request = session.scalars(
            select(HandoffRequest).where(HandoffRequest.conversation_id == sender)
        ).one()
        assert request.customer_id == shopper.id
        request.team, reference = "general", request.reference
        known = session.scalars(
            select(CustomerConversation).where(CustomerConversation.conversation_id == sender)
        ).one()
        assert (known.customer_id, known.channel) == (shopper.id, "rest")

    assert anyone.sign_in(staff.sue).status_code == 302
    page = anyone.http.get(f"/conversations/{reference}").text
    assert "(this one)" in page and "Mood over time" in page
    assert f"Order {order.number}: £" in page
    refund = f"/conversations/{reference}/refunds"
    assert f'action="{refund}"' not in page  # not held yet
    assert anyone.post(f"/conversations/{reference}/claim").status_code == 303
    assert f'action="{refund}"' in anyone.http.get(f"/conversations/{reference}").text

    colleague = Session(agent)
    assert colleague.sign_in(staff.priya).status_code == 302
    assert colleague.post(refund, order_number=order.number, reason="mine").status_code == 403
    colleague.http.close()
    assert anyone.post(refund, csrf=False, order_number=order.number, reason="x").status_code == 403
    assert anyone.post(refund, order_number=order.number, reason="  ").status_code == 400
    # Another customer's order (Ada's, delivered and refundable for her) is not found here.
    foreign = anyone.post(refund, order_number="100104", reason="wrong customer")
    assert foreign.status_code == 404
    with agent.sessions() as session:
        assert session.scalars(select(Refund).where(Refund.order_id == row.id)).all() == []

    done = anyone.post(refund, order_number=order.number, reason="arrived damaged")
    assert done.status_code == 303
    assert done.headers["location"] == f"/conversations/{reference}"
    sue = member_id(agent, staff.sue)
    with agent.sessions() as session:
        [made] = session.scalars(select(Refund).where(Refund.order_id == row.id)).all()
        assert (made.status, made.reason) == ("requested", "return: arrived damaged")
        audit = session.scalars(
            select(AuditLog).where(
                AuditLog.action == "refund.request", AuditLog.conversation_id == sender
            )
        ).one()
        assert (audit.actor, audit.entity_id) == (f"staff:{sue}", order.number)
        assert not session.scalars(
            select(AuditLog).where(AuditLog.actor == f"staff:{sue}", AuditLog.entity_id == "100104")
        ).all()
    again = anyone.http.post(
        refund,
        json={"order_number": order.number, "reason": "twice"},
        headers={"X-CSRF-Token": anyone.csrf},
    )
    assert again.status_code == 409
    assert again.json() == {"error": "This order has already been refunded in full."}
    page = anyone.http.get(f"/conversations/{reference}").text
    assert f"{order.number}: {format_money(made.amount_pence)}, requested" in page
    assert "No order can be refunded now." in page
    assert anyone.post(f"/conversations/{reference}/hand-back").status_code == 303
