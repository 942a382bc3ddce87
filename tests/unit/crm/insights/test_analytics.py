"""The dashboard's figures, from a tracker events table and real records, against sums by hand.

The tracker is a SQLite file with the columns of Rasa's `SQLTrackerStore` and events shaped as
Rasa writes them (`Event.as_dict()` in `data`, the intent and action names in their columns).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from statistics import mean

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from crm.desk.staff import StaffMember
from crm.insights.analytics import Analytics, AnalyticsReport, customer_messages
from crm.insights.sentiment import NEGATIVE_THRESHOLD, sentiment
from crm.records.errors import SupervisorsOnly
from crm.records.models import HandoffRequest, KnowledgeAnswer

NOW = datetime(2025, 6, 4, 12, 0, tzinfo=timezone.utc)  # 13:00 in London (BST)
DAY_A = datetime(2025, 6, 3, 10, 0, tzinfo=timezone.utc)
DAY_B = datetime(2025, 6, 4, 9, 0, tzinfo=timezone.utc)
SUE = StaffMember(1, "sue@larkspur.test", "Sue", "supervisor", "general")
PRIYA = StaffMember(2, "priya@larkspur.test", "Priya", "agent", "general")
ANGRY = "this is useless and awful, I hate it"


@dataclass
class Tracker:
    """A tracker store's events table, written as Rasa's SQLTrackerStore writes it."""

    engine: sa.Engine
    rows: list[dict[str, object]] = field(default_factory=list)

    def user(
        self,
        sender: str,
        at: datetime,
        text: str,
        intent: str,
        channel: str | None = "socketio",
        *,
        external: bool = False,
    ) -> None:
        data = {
            "event": "user",
            "timestamp": at.timestamp(),
            "metadata": {"is_external": True} if external else {},
            "text": text,
            "parse_data": {
                "intent": {"name": intent, "confidence": 0.9},
                "entities": [],
                "text": text,
                "message_id": "m",
                "metadata": {},
            },
            "input_channel": channel,
            "message_id": "m",
        }
        self._add(sender, "user", at, data, intent_name=intent)

    def action(self, sender: str, at: datetime, name: str) -> None:
        data = {"event": "action", "timestamp": at.timestamp(), "name": name, "policy": "Rule"}
        self._add(sender, "action", at, data, action_name=name)

    def bot(self, sender: str, at: datetime, text: str) -> None:
        data = {"event": "bot", "timestamp": at.timestamp(), "text": text, "data": {}}
        self._add(sender, "bot", at, data)

    def _add(
        self,
        sender: str,
        kind: str,
        at: datetime,
        data: dict[str, object],
        *,
        intent_name: str | None = None,
        action_name: str | None = None,
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO events (sender_id, type_name, timestamp, intent_name, "
                    "action_name, data) VALUES (:s, :k, :t, :i, :a, :d)"
                ),
                {
                    "s": sender,
                    "k": kind,
                    "t": at.timestamp(),
                    "i": intent_name,
                    "a": action_name,
                    "d": json.dumps(data),
                },
            )


def tracker_store(path: Path) -> Tracker:
    """An empty events table with Rasa's columns (rasa/core/tracker_store.py, SQLEvent)."""
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
                "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
                "action_name VARCHAR(255), data TEXT)"
            )
        )
        connection.execute(sa.text("CREATE INDEX ix_events_sender_id ON events (sender_id)"))
    return Tracker(engine)


def handoff(
    sessions: sessionmaker[Session],
    conversation: str,
    at: datetime,
    reason: str,
    channel: str,
    csat: int | None = None,
) -> None:
    with sessions.begin() as session:
        session.add(
            HandoffRequest(
                reference=f"HO-{conversation[-6:].upper():0>6}",
                conversation_id=conversation,
                channel=channel,
                reason=reason,
                transcript=[],
                status="closed",
                created_at=at,
                claimed_at=at + timedelta(minutes=1),
                closed_at=at + timedelta(minutes=9),
                outcome="resolved",
                csat_score=csat,
                csat_at=at + timedelta(minutes=10) if csat is not None else None,
            )
        )


def answer(
    sessions: sessionmaker[Session],
    conversation: str,
    at: datetime,
    question: str,
    article: str | None = None,
    helpful: bool | None = None,
) -> None:
    with sessions.begin() as session:
        session.add(
            KnowledgeAnswer(
                conversation_id=conversation,
                question=question,
                article_id=article,
                passage_id=f"{article}#0" if article else None,
                score=0.7 if article else None,
                helpful=helpful,
                created_at=at,
                voted_at=at + timedelta(minutes=1) if helpful is not None else None,
            )
        )


SECOND = timedelta(seconds=1)
# What the customers said on day A (3 June) and day B (4 June), by hand:
DAY_A_TEXTS = ["hello", "do you gift wrap?", ANGRY, "where is my order"]
DAY_B_TEXTS = ["thanks, great", "asdfgh", "how do I return a lamp"]


@pytest.fixture
def tracker(tmp_path: Path, sessions: sessionmaker[Session]) -> Tracker:
    """Four conversations on two days and two channels, one old one, and their records."""
    t = tracker_store(tmp_path / "tracker.db")
    # web-1, website, day A: a greeting, a question the knowledge base abstained on, and an
    # out-of-scope outburst; handed to a person, who got a 2.
    t.user("web-1", DAY_A, "hello", "greet")
    t.bot("web-1", DAY_A + SECOND, "Hi!")
    t.user("web-1", DAY_A + 2 * SECOND, "do you gift wrap?", "nlu_fallback")
    t.action("web-1", DAY_A + 3 * SECOND, "action_answer_from_knowledge")
    t.user("web-1", DAY_A + 4 * SECOND, ANGRY, "out_of_scope")
    t.action("web-1", DAY_A + 5 * SECOND, "utter_out_of_scope")
    # tg-1, Telegram: day A an order question; day B thanks, a button's payload, and a line
    # the staff relay injected (neither is the customer's words). Handed off on day B: a 5.
    t.user("tg-1", DAY_A + 10 * SECOND, "where is my order", "order_status", "telegram")
    t.user("tg-1", DAY_B, "thanks, great", "thank", "telegram")
    t.user("tg-1", DAY_B + SECOND, "/affirm", "affirm", "telegram")
    t.user("tg-1", DAY_B + 2 * SECOND, "staff", "staff_message", "telegram", external=True)
    t.action("tg-1", DAY_B + 3 * SECOND, "action_default_fallback")  # after the relay line
    # web-2, website, day B: gibberish (the fallback) and a knowledge question, answered, voted
    # not helpful; an earlier answer of the same article was voted helpful.
    t.user("web-2", DAY_B + 5 * SECOND, "asdfgh", "nlu_fallback")
    t.action("web-2", DAY_B + 6 * SECOND, "action_default_fallback")
    t.user("web-2", DAY_B + 7 * SECOND, "how do I return a lamp", "ask_question")
    t.action("web-2", DAY_B + 8 * SECOND, "action_answer_from_knowledge")
    # Ten days ago: outside every period.
    t.user("old", NOW - timedelta(days=10), "hello from the past", "greet")
    t.action("old", NOW - timedelta(days=10) + SECOND, "action_default_fallback")

    handoff(sessions, "web-1", DAY_A + 6 * SECOND, "repeated_misunderstanding", "socketio", 2)
    handoff(sessions, "tg-1", DAY_B + 4 * SECOND, "customer_request", "telegram", 5)
    handoff(sessions, "old", NOW - timedelta(days=10), "customer_request", "socketio", 1)
    answer(sessions, "web-1", DAY_A + 3 * SECOND, "do you gift wrap?")
    answer(sessions, "web-2", DAY_B + 8 * SECOND, "how do I return a lamp", "returns", False)
    answer(sessions, "web-2", DAY_B - timedelta(hours=1), "returns?", "returns", True)
    answer(sessions, "old", NOW - timedelta(days=10), "old question")
    return t


def report(
    sessions: sessionmaker[Session],
    tracker: Tracker,
    period: str = "7d",
    channel: str | None = None,
) -> AnalyticsReport:
    return Analytics(sessions, tracker.engine, clock=lambda: NOW).report(
        SUE,
        period,  # type: ignore[arg-type]
        channel,
    )


def test_conversations_are_senders_per_day_with_the_channel_they_wrote_on(
    sessions: sessionmaker[Session], tracker: Tracker
) -> None:
    r = report(sessions, tracker)
    # (web-1, A), (tg-1, A), (tg-1, B), (web-2, B); "old" is outside the 7 days.
    assert r.conversations == 4
    assert r.by_channel == {"socketio": 2, "telegram": 2}
    assert r.channels == ("socketio", "telegram")
    days = {d.day: d for d in r.days}
    assert min(days) == date(2025, 5, 28) and max(days) == date(2025, 6, 4)  # every day listed
    assert len(r.days) == 8
    assert days[date(2025, 6, 3)].conversations == {"socketio": 1, "telegram": 1}
    assert days[date(2025, 6, 4)].conversations == {"socketio": 1, "telegram": 1}
    assert days[date(2025, 5, 30)].conversations == {}


def test_containment_fallback_and_abstention_rates(
    sessions: sessionmaker[Session], tracker: Tracker
) -> None:
    r = report(sessions, tracker)
    # Handoffs: web-1 on day A and tg-1 on day B; tg-1 on day A and web-2 stayed with the agent.
    assert (r.contained, r.containment_rate) == (2, 0.5)
    # Customer messages: 3 (web-1) + 2 (tg-1, without the payload and the relay line) + 2.
    assert r.messages == 7
    # The out-of-scope outburst and the gibberish; not the relay line's fallback.
    assert (r.fallbacks, r.fallback_conversations) == (2, 2)
    assert r.fallback_rate == pytest.approx(2 / 7)
    assert (r.abstentions, r.abstention_conversations) == (1, 1)
    assert r.abstention_rate == pytest.approx(1 / 7)
    day_a = next(d for d in r.days if d.day == date(2025, 6, 3))
    assert (day_a.messages, day_a.fallbacks, day_a.abstentions) == (4, 1, 1)
    assert day_a.fallback_rate == 0.25 and day_a.abstention_rate == 0.25


def test_intents_handoff_reasons_csat_and_votes(
    sessions: sessionmaker[Session], tracker: Tracker
) -> None:
    r = report(sessions, tracker)
    assert [(s.name, s.count) for s in r.top_intents] == [
        ("nlu_fallback", 2),
        ("ask_question", 1),
        ("greet", 1),
        ("order_status", 1),
        ("out_of_scope", 1),
        ("thank", 1),
    ]
    assert r.top_intents[0].share == pytest.approx(2 / 7)
    assert r.handoffs == 2
    assert [(s.name, s.count, s.share) for s in r.handoff_reasons] == [
        ("customer_request", 1, 0.5),
        ("repeated_misunderstanding", 1, 0.5),
    ]
    assert (r.csat_ratings, r.csat_average, r.csat_distribution) == (2, 3.5, (0, 1, 0, 0, 1))
    assert (r.helpful, r.not_helpful) == (1, 1)
    assert [(a.article_id, a.helpful, a.not_helpful) for a in r.articles] == [("returns", 1, 1)]
    day_b = next(d for d in r.days if d.day == date(2025, 6, 4))
    assert (day_b.helpful, day_b.not_helpful) == (1, 1)


def test_sentiment_is_the_daily_mean_of_customer_messages_and_the_negative_share(
    sessions: sessionmaker[Session], tracker: Tracker
) -> None:
    assert sentiment(ANGRY) <= NEGATIVE_THRESHOLD  # the one negative message
    assert all(sentiment(t) > NEGATIVE_THRESHOLD for t in DAY_A_TEXTS + DAY_B_TEXTS if t != ANGRY)
    r = report(sessions, tracker)
    days = {d.day: d for d in r.days}
    assert days[date(2025, 6, 3)].sentiment_mean == pytest.approx(
        mean(sentiment(t) for t in DAY_A_TEXTS)
    )
    assert days[date(2025, 6, 3)].negative_share == 0.25
    assert days[date(2025, 6, 4)].sentiment_mean == pytest.approx(
        mean(sentiment(t) for t in DAY_B_TEXTS)
    )
    assert days[date(2025, 6, 4)].negative_share == 0.0
    assert days[date(2025, 6, 1)].sentiment_mean is None
    assert r.sentiment_mean == pytest.approx(mean(sentiment(t) for t in DAY_A_TEXTS + DAY_B_TEXTS))
    assert r.negative_share == pytest.approx(1 / 7)


def test_one_channel_alone(sessions: sessionmaker[Session], tracker: Tracker) -> None:
    r = report(sessions, tracker, channel="telegram")
    assert (r.conversations, r.contained, r.messages, r.fallbacks) == (2, 1, 2, 0)
    assert r.abstentions == 0  # web-1's abstention is the website's
    assert [s.name for s in r.handoff_reasons] == ["customer_request"]
    assert (r.csat_ratings, r.csat_average) == (1, 5.0)
    assert (r.helpful, r.not_helpful) == (0, 0)
    assert r.channels == ("socketio", "telegram")  # the filter still offers every channel


def test_today_starts_at_uk_midnight(sessions: sessionmaker[Session], tracker: Tracker) -> None:
    r = report(sessions, tracker, "today")
    assert r.conversations == 2 and r.messages == 3  # tg-1 and web-2 on day B
    assert [d.day for d in r.days] == [date(2025, 6, 4)]
    assert r.abstentions == 0 and r.handoffs == 1


def test_a_fallback_marks_the_customer_message_before_it(tracker: Tracker) -> None:
    messages, capped = customer_messages(tracker.engine, NOW - timedelta(days=30), NOW)
    assert [m.text for m in messages if m.fallback] == [
        ANGRY,
        "asdfgh",
        "hello from the past",
    ]
    assert not capped
    cut, capped = customer_messages(tracker.engine, NOW - timedelta(days=30), NOW, limit=3)
    assert capped and len(cut) <= 3


def test_only_supervisors_and_an_empty_tracker(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    analytics = Analytics(
        sessions, sa.create_engine(f"sqlite:///{tmp_path / 'new.db'}"), clock=lambda: NOW
    )
    with pytest.raises(SupervisorsOnly):
        analytics.report(PRIYA, "7d")
    with pytest.raises(ValueError, match="period"):
        analytics.report(SUE, "1y")  # type: ignore[arg-type]
    empty = analytics.report(SUE, "30d")
    assert (empty.conversations, empty.messages, empty.containment_rate) == (0, 0, None)
    assert empty.fallback_rate is None and empty.csat_average is None
    assert len(empty.days) == 31
