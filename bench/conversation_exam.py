"""The blind conversations as an exam: play one through the REST channel and mark every turn.

No Rasa imports: it talks HTTP to a running agent (anything with `say` and `tracker`, like the
conversation tests' `agent` fixture or `RestAgent` here) and reads the records database with
SQLAlchemy. The checks are written per turn in `tests/conversations/blind/checks-<half>.yml`,
from the writer's `expect` (never from what the agent does); the vocabulary is in
`CHECK_KINDS` and described in docs/nlu.md ("The blind conversations").

Verification is answered here, as the conversation brief promised the writers: when the agent
utters `utter_ask_verify_email` or `utter_ask_verify_postcode`, the demo customer's email or
postcode is sent (a guest has none, so the question stays unanswered). Each conversation starts
from the demo records (`restore`), so one that cancels an order never changes the next.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crm.records.models import (
    Address,
    AuditLog,
    Customer,
    HandoffRequest,
    NewsletterSubscription,
    Order,
    OrderItem,
    OutboxMessage,
    Product,
    Refund,
    SupportTicket,
)
from crm.tools.demo import DEMO_IDENTITIES

ROOT = Path(__file__).resolve().parent.parent
BLIND = ROOT / "bench" / "data" / "blind"
CHECKS = ROOT / "tests" / "conversations" / "blind"
# The conversations the agent does not pass yet, with the first failing check of each: the
# conversation tests mark them as strict xfails; the benchmark rewrites it on request.
FAILING = CHECKS / "failing.yml"
HALVES = ("tune", "test")
# Our own development conversations, written blind the same way after the tune half was used up
# (bench/data/dev/README.md): tuned on freely, never part of the tests' strict xfails.
DEV = ROOT / "bench" / "data" / "dev"
DEV_SET = "dev"
ASK_EMAIL = "utter_ask_verify_email"
ASK_POSTCODE = "utter_ask_verify_postcode"
# Audit actions that record the conversation, not a change to the customer's records:
# `changes: none` ("nothing changed yet") allows them; `ticket` and `handoff` check them.
BOOKKEEPING = frozenset({"handoff.request", "ticket.open"})
# A wrong answer is asked again; never loop on it.
MAX_VERIFY_ANSWERS = 2


@dataclass(frozen=True)
class Identity:
    """What the runner answers to verification for one of the blind set's customers."""

    email: str
    postcode: str


IDENTITIES: dict[str, Identity] = {
    demo.first_name.lower(): Identity(demo.email, demo.postcode) for demo in DEMO_IDENTITIES
}


class Agent(Protocol):
    """A running agent: the conversation tests' fixture, or `RestAgent`."""

    def say(self, sender: str, text: str) -> list[dict[str, Any]]: ...

    def tracker(self, sender: str) -> dict[str, Any]: ...


@dataclass
class RestAgent:
    """The REST channel and the tracker endpoint of an agent at `rasa_url`."""

    rasa_url: str
    token: str
    client: httpx.Client

    def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        """One customer message; the agent's replies."""
        reply = self.client.post(
            f"{self.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
        )
        reply.raise_for_status()
        return list(reply.json())

    def tracker(self, sender: str) -> dict[str, Any]:
        """The conversation's tracker, events included."""
        reply = self.client.get(
            f"{self.rasa_url}/conversations/{sender}/tracker", params={"token": self.token}
        )
        reply.raise_for_status()
        return dict(reply.json())


# --- the conversations and their checks --------------------------------------------------


@dataclass(frozen=True)
class Conversation:
    """One blind conversation with the checks of each turn (a list per turn)."""

    id: str
    half: str
    customer: str
    pattern: str
    says: tuple[str, ...]
    expects: tuple[str, ...]
    checks: tuple[tuple[Mapping[str, Any], ...], ...]


def load_half(half: str, checks_dir: Path = CHECKS) -> list[Conversation]:
    """The conversations of `half` (or the dev set) with their checks; every turn needs checks."""
    folder = DEV if half == DEV_SET else BLIND
    checks_dir = DEV if half == DEV_SET else checks_dir
    annotations = yaml.safe_load((checks_dir / f"checks-{half}.yml").read_text("utf-8"))
    conversations = []
    for line in (folder / f"conversations-{half}.jsonl").read_text("utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        turns = annotations["conversations"].get(raw["id"])
        if turns is None or len(turns) != len(raw["turns"]):
            raise ValueError(f"{raw['id']}: checks for {len(raw['turns'])} turns are needed")
        checks = tuple(tuple(validate_checks(raw["id"], turn)) for turn in turns)
        conversations.append(
            Conversation(
                id=raw["id"],
                half=half,
                customer=raw["customer"],
                pattern=raw["pattern"],
                says=tuple(t["say"] for t in raw["turns"]),
                expects=tuple(t["expect"] for t in raw["turns"]),
                checks=checks,
            )
        )
    return conversations


# --- one turn as played ---------------------------------------------------------------------


@dataclass
class TurnRecord:
    """What happened in one customer turn (with any verification answers inside it)."""

    index: int
    say: str
    replies: list[dict[str, Any]]
    uttered: list[str]
    active_form: str | None
    audit: list[str]

    @property
    def text(self) -> str:
        """Every reply's text and button titles, one per line: what `mentions` reads."""
        parts: list[str] = []
        for reply in self.replies:
            parts.append(str(reply.get("text") or ""))
            parts.extend(str(b.get("title") or "") for b in reply.get("buttons") or [])
        return "\n".join(parts)


@dataclass(frozen=True)
class Baseline:
    """The highest row ids when the conversation began: anything above is its doing."""

    customer_id: int | None
    order: int
    refund: int
    ticket: int
    outbox: int
    audit: int


@dataclass
class Context:
    """What the checks of one turn can look at."""

    sender: str
    turn: TurnRecord
    sessions: sessionmaker[Session]
    baseline: Baseline
    earlier: Sequence[TurnRecord] = ()


@dataclass(frozen=True)
class Failure:
    """The first check of a conversation that did not hold."""

    turn: int
    check: str
    detail: str

    def __str__(self) -> str:
        return f"turn {self.turn}: {self.check} ({self.detail})"


@dataclass
class Result:
    """One conversation played and marked."""

    conversation: Conversation
    sender: str
    turns: list[TurnRecord] = field(default_factory=list)
    failure: Failure | None = None

    @property
    def passed(self) -> bool:
        """Every check of every turn held."""
        return self.failure is None


# --- the check vocabulary -------------------------------------------------------------------

Check = Mapping[str, Any]
Verdict = str | None  # None when the check holds, else why not


def _names(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _check_says(ctx: Context, value: Any) -> Verdict:
    wanted = _names(value)
    if any(name in ctx.turn.uttered for name in wanted):
        return None
    return f"uttered {ctx.turn.uttered}"


def _check_says_not(ctx: Context, value: Any) -> Verdict:
    found = [name for name in _names(value) if name in ctx.turn.uttered]
    return f"uttered {found}" if found else None


def _search(pattern: str, text: str) -> bool:
    return re.search(pattern, text, re.IGNORECASE | re.DOTALL) is not None


def _check_mentions(ctx: Context, value: Any) -> Verdict:
    missing = [p for p in _names(value) if not _search(p, ctx.turn.text)]
    return f"no match for {missing} in {_tail(ctx.turn.text)!r}" if missing else None


def _check_mentions_not(ctx: Context, value: Any) -> Verdict:
    found = [p for p in _names(value) if _search(p, ctx.turn.text)]
    return f"matched {found}" if found else None


def _check_form(ctx: Context, value: Any) -> Verdict:
    if value is None or value == "none":
        return None if ctx.turn.active_form is None else f"active form {ctx.turn.active_form}"
    if ctx.turn.active_form in _names(value):
        return None
    return f"active form {ctx.turn.active_form}"


def _check_changes(ctx: Context, value: Any) -> Verdict:
    if value is None or value == "none":
        changed = [a for a in ctx.turn.audit if a not in BOOKKEEPING]
        return f"changed {changed}" if changed else None
    missing = [action for action in _names(value) if action not in ctx.turn.audit]
    return f"changes this turn {ctx.turn.audit}" if missing else None


def _order_items(session: Session, order_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Product.name, OrderItem.quantity)
        .join(OrderItem, OrderItem.product_id == Product.id)
        .where(OrderItem.order_id == order_id)
    )
    return {name: quantity for name, quantity in rows}


def _quantity(items: Mapping[str, int], product: str) -> int:
    return sum(q for name, q in items.items() if _search(product, name))


def _check_order(ctx: Context, value: Any) -> Verdict:
    number = str(value["number"])
    with ctx.sessions() as session:
        order = session.scalars(select(Order).where(Order.number == number)).one_or_none()
        if order is None:
            return f"no order {number}"
        if "status" in value and order.status not in _names(value["status"]):
            return f"order {number} is {order.status}"
        address = ", ".join(
            p
            for p in (order.ship_line1, order.ship_line2, order.ship_city, order.ship_postcode)
            if p
        )
        if "address" in value and not _search(value["address"], address):
            return f"order {number} goes to {address!r}"
        items = _order_items(session, order.id)
        if "item" in value:
            want = value["item"]
            have = _quantity(items, want["product"])
            expected = want["quantity"]
            if have != expected:
                return f"order {number} has {have} of /{want['product']}/: {items}"
    return None


def _check_new_order(ctx: Context, value: Any) -> Verdict:
    """An order placed in this conversation holds every product named, in the quantity named."""
    wanted: Sequence[Mapping[str, Any]] = value if isinstance(value, list) else [value]
    with ctx.sessions() as session:
        orders = session.scalars(
            select(Order).where(
                Order.id > ctx.baseline.order, Order.customer_id == ctx.baseline.customer_id
            )
        ).all()
        placed = [_order_items(session, order.id) for order in orders]
    for items in placed:
        if all(
            _quantity(items, w["product"]) == int(w.get("quantity", 1))
            or (w.get("quantity") is None and _quantity(items, w["product"]) > 0)
            for w in wanted
        ):
            return None
    return f"orders placed in this conversation: {placed}"


def _check_refund(ctx: Context, value: Any) -> Verdict:
    number = str(value)
    with ctx.sessions() as session:
        found = session.scalar(
            select(func.count())
            .select_from(Refund)
            .join(Order, Order.id == Refund.order_id)
            .where(Refund.id > ctx.baseline.refund, Order.number == number)
        )
    return None if found else f"no refund requested for {number}"


def _check_ticket(ctx: Context, value: Any) -> Verdict:
    with ctx.sessions() as session:
        found = bool(
            session.scalar(
                select(func.count())
                .select_from(SupportTicket)
                .where(SupportTicket.conversation_id == ctx.sender)
            )
        )
    return None if found == bool(value) else f"ticket opened: {found}"


def _check_handoff(ctx: Context, value: Any) -> Verdict:
    with ctx.sessions() as session:
        found = bool(
            session.scalar(
                select(func.count())
                .select_from(HandoffRequest)
                .where(HandoffRequest.conversation_id == ctx.sender)
            )
        )
    return None if found == bool(value) else f"handed off: {found}"


def _digits(value: str | None) -> str:
    return re.sub(r"\D", "", value or "")[-9:]


def _check_account(ctx: Context, value: Any) -> Verdict:
    with ctx.sessions() as session:
        customer = session.get(Customer, ctx.baseline.customer_id)
        if customer is None:
            return "no customer"
        for key, want in value.items():
            have = getattr(customer, key)
            same = _digits(have) == _digits(want) if key == "phone" else have == want
            if not same:
                return f"{key} is {have!r}"
    return None


def _check_address_saved(ctx: Context, value: Any) -> Verdict:
    with ctx.sessions() as session:
        addresses = session.scalars(
            select(Address).where(Address.customer_id == ctx.baseline.customer_id)
        ).all()
        lines = [
            (", ".join(p for p in (a.line1, a.line2, a.city, a.postcode) if p), a.is_default)
            for a in addresses
        ]
    for line, is_default in lines:
        if _search(value["address"], line) and (
            "default" not in value or is_default == value["default"]
        ):
            return None
    return f"addresses {lines}"


def _check_newsletter(ctx: Context, value: Any) -> Verdict:
    with ctx.sessions() as session:
        subscribed = session.scalar(
            select(NewsletterSubscription.subscribed).where(
                NewsletterSubscription.email == value["email"]
            )
        )
    return None if bool(subscribed) == value["subscribed"] else f"subscribed: {subscribed}"


def _check_email_sent(ctx: Context, value: Any) -> Verdict:
    with ctx.sessions() as session:
        recipients = session.scalars(
            select(OutboxMessage.recipient).where(OutboxMessage.id > ctx.baseline.outbox)
        ).all()
    return None if value["to"] in recipients else f"emails sent to {list(recipients)}"


def _check_repeats(ctx: Context, value: Any) -> Verdict:
    """What `value` matched in an earlier turn (a reference, a number) is said again."""
    for turn in reversed(ctx.earlier):
        found = re.search(value, turn.text, re.IGNORECASE)
        if found:
            return None if found.group(0) in ctx.turn.text else f"{found.group(0)} not repeated"
    return f"nothing matched {value!r} before"


def _check_any_of(ctx: Context, value: Any) -> Verdict:
    reasons = []
    for alternative in value:
        failure = first_failure(ctx, alternative)
        if failure is None:
            return None
        reasons.append(f"{failure[0]}: {failure[1]}")
    return " | ".join(reasons)


CHECK_KINDS: dict[str, Callable[[Context, Any], Verdict]] = {
    "says": _check_says,
    "says_not": _check_says_not,
    "mentions": _check_mentions,
    "mentions_not": _check_mentions_not,
    "form": _check_form,
    "changes": _check_changes,
    "order": _check_order,
    "new_order": _check_new_order,
    "refund": _check_refund,
    "ticket": _check_ticket,
    "handoff": _check_handoff,
    "account": _check_account,
    "address_saved": _check_address_saved,
    "newsletter": _check_newsletter,
    "email_sent": _check_email_sent,
    "repeats": _check_repeats,
    "any_of": _check_any_of,
}


def validate_checks(conversation: str, checks: Iterable[Check]) -> Iterable[Check]:
    """Refuse an unknown check kind or a bad regex when the file is read, not mid-run."""
    for check in checks:
        if len(check) != 1 or next(iter(check)) not in CHECK_KINDS:
            raise ValueError(f"{conversation}: unknown check {check!r}")
        kind, value = next(iter(check.items()))
        if kind in ("mentions", "mentions_not", "repeats"):
            for pattern in _names(value):
                re.compile(pattern)
        if kind == "any_of":
            for alternative in value:
                list(validate_checks(conversation, alternative))
        yield check


def describe(check: Check) -> str:
    """A check as one short line, for failure reports."""
    kind, value = next(iter(check.items()))
    return f"{kind}: {json.dumps(value, ensure_ascii=False)}"[:160]


def first_failure(ctx: Context, checks: Iterable[Check]) -> tuple[str, str] | None:
    """The first check that does not hold, described, with why; None if all hold."""
    for check in checks:
        kind, value = next(iter(check.items()))
        verdict = CHECK_KINDS[kind](ctx, value)
        if verdict is not None:
            return describe(check), verdict
    return None


def _tail(text: str, limit: int = 120) -> str:
    """The end of a reply: after the verification exchange, where the answer is."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else "…" + flat[1 - limit :]


def _excerpt(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- playing ---------------------------------------------------------------------------------


def _customer_id(sessions: sessionmaker[Session], customer: str) -> int | None:
    identity = IDENTITIES.get(customer)
    if identity is None:
        return None
    with sessions() as session:
        return session.scalar(select(Customer.id).where(Customer.email == identity.email))


def baseline(sessions: sessionmaker[Session], customer: str) -> Baseline:
    """The row ids the conversation starts from."""
    with sessions() as session:

        def top(column: Any) -> int:
            return int(session.scalar(select(func.coalesce(func.max(column), 0))) or 0)

        return Baseline(
            customer_id=_customer_id(sessions, customer),
            order=top(Order.id),
            refund=top(Refund.id),
            ticket=top(SupportTicket.id),
            outbox=top(OutboxMessage.id),
            audit=top(AuditLog.id),
        )


def _bot_names(events: Sequence[Mapping[str, Any]]) -> list[str]:
    names = []
    for event in events:
        if event.get("event") == "bot":
            name = (event.get("metadata") or {}).get("utter_action")
            if name:
                names.append(str(name))
    return names


def play_turn(
    agent: Agent, sender: str, customer: str, index: int, text: str, seen: int
) -> tuple[TurnRecord, list[dict[str, Any]]]:
    """Send `text`, answer verification, and return the turn with the tracker's events."""
    replies = agent.say(sender, text)
    identity = IDENTITIES.get(customer)
    answers = 0
    while identity is not None and answers < MAX_VERIFY_ANSWERS * 2:
        events = agent.tracker(sender)["events"][seen:]
        names = _bot_names(events)
        last = names[-1] if names else None
        if last == ASK_EMAIL:
            replies += agent.say(sender, identity.email)
        elif last == ASK_POSTCODE:
            replies += agent.say(sender, identity.postcode)
        else:
            break
        answers += 1
    tracker = agent.tracker(sender)
    events = tracker["events"][seen:]
    loop = (tracker.get("active_loop") or {}).get("name")
    record = TurnRecord(
        index=index,
        say=text,
        replies=replies,
        uttered=_bot_names(events),
        active_form=str(loop) if loop else None,
        audit=[],
    )
    return record, list(tracker["events"])


def _audit_since(sessions: sessionmaker[Session], sender: str, after: int) -> tuple[list[str], int]:
    with sessions() as session:
        rows = session.execute(
            select(AuditLog.id, AuditLog.action).where(
                AuditLog.id > after, AuditLog.conversation_id == sender
            )
        ).all()
        top = int(session.scalar(select(func.coalesce(func.max(AuditLog.id), 0))) or 0)
    return [action for _, action in rows], max(top, after)


def play(
    agent: Agent,
    conversation: Conversation,
    sessions: sessionmaker[Session],
    *,
    sender: str | None = None,
) -> Result:
    """Play every turn (all of them, even after a failure, so the transcript is whole)."""
    sender = sender or f"blind-{conversation.id}-{uuid.uuid4().hex[:8]}"
    result = Result(conversation=conversation, sender=sender)
    start = baseline(sessions, conversation.customer)
    seen = len(agent.tracker(sender)["events"])
    audit_mark = start.audit
    for index, text in enumerate(conversation.says):
        turn, events = play_turn(agent, sender, conversation.customer, index, text, seen)
        seen = len(events)
        turn.audit, audit_mark = _audit_since(sessions, sender, audit_mark)
        result.turns.append(turn)
        if result.failure is None:
            ctx = Context(
                sender=sender,
                turn=turn,
                sessions=sessions,
                baseline=start,
                earlier=result.turns[:-1],
            )
            failed = first_failure(ctx, conversation.checks[index])
            if failed is not None:
                result.failure = Failure(turn=index, check=failed[0], detail=failed[1])
    return result


# --- the records, restored before each conversation -------------------------------------------


def sqlite_path(database_url: str) -> Path:
    """The file of a `sqlite:///...` URL; the exam restores records by copying SQLite pages."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix):
        raise ValueError("the blind conversations need the records in a SQLite file")
    return Path(database_url[len(prefix) :])


def copy_database(source: Path, target: Path) -> None:
    """Copy `source` over `target` with SQLite's backup API: safe while others have it open."""
    with sqlite3.connect(source) as src, sqlite3.connect(target, timeout=30) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def transcript(result: Result) -> str:
    """The conversation as played, for a failure's message."""
    lines = [f"{result.conversation.id} ({result.sender})"]
    for turn in result.turns:
        lines.append(f"  customer: {turn.say}")
        lines.append(f"    expect: {result.conversation.expects[turn.index]}")
        lines.append(f"    agent [{', '.join(turn.uttered)}]: {_excerpt(turn.text, 300)}")
        lines.append(f"    form after: {turn.active_form}; changes: {turn.audit}")
    return "\n".join(lines)
