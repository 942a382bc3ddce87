"""What customers ask and how the agent did: the figures of the supervisors' dashboard.

Two sources, read together: Rasa's tracker store (its ``events`` table, read-only, as
crm/desk/transcripts.py does) for what customers said, on which channel, and how the agent
replied; and the records (handoff requests, knowledge answers) for handoffs, CSAT,
abstentions and votes. Definitions, so each number means one thing:

* **Period**: as the supervisor view's (crm/desk/supervision.py): ``today`` from UK midnight,
  ``7d`` and ``30d`` rolling. Days are UK calendar days.
* **Customer message**: a ``user`` event in the period that the customer sent (not an intent
  the staff relay injected, ``metadata.is_external``, nor a ``/intent`` payload).
* **Conversation**: a sender (Rasa's ``sender_id``) with at least one customer message on a
  UK day; the same sender on two days is two conversations. Its **channel** is the
  ``input_channel`` of its first message that day (``unknown`` if Rasa recorded none).
* **Contained**: a conversation with no handoff request for its sender created that day.
  **Containment rate** = contained / conversations.
* **Fallback**: a customer message the agent answered with its fallback: Rasa's
  ``action_default_fallback`` ("I didn't understand") or ``utter_out_of_scope`` ("not
  something I can help with") among the actions that followed it. Messages the NLU was unsure
  of (``nlu_fallback``) go to the knowledge base, so they count only if it then abstains.
* **Abstention**: a knowledge-base question the agent did not answer (a ``knowledge_answers``
  row without an article, crm/records/answers.py).
* **Rates** are per customer message (fallbacks / messages, abstentions / messages), so a long
  conversation weighs more than a short one; the number of conversations with at least one
  fallback or abstention is given beside them.
* **Top intents**: the NLU's intent of each customer message (count, share of messages).
* **Handoff reasons**: handoff requests created in the period, by reason.
* **CSAT**: ratings given in the period (``csat_at``): average, number, count per score 1-5.
* **Helpfulness votes**: "was this helpful?" votes cast in the period (``voted_at``), per day and
  per article.
* **Sentiment**: VADER's compound score (crm/insights/sentiment.py) of each customer message; per
  day the mean and the share at or below ``NEGATIVE_THRESHOLD``.

With a channel chosen, conversations, messages and sentiment are that channel's; handoffs and
CSAT are those whose request came from it; abstentions and votes are those of its
conversations.

Cost: events are filtered by time and kind in SQL (only ``user`` events and the fallback
actions are read), then aggregated in Python, at most ``MAX_EVENTS`` of them (the newest; the
report says when the cap was reached). This reads raw events on every call: for a store with
millions of messages a nightly rollup table would be next (docs/crm.md). Portable between
SQLite and PostgreSQL: no date arithmetic happens in SQL. No Rasa imports.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from config.tracker_events import EVENTS
from crm.desk.staff import StaffMember
from crm.desk.supervision import PERIODS, Period, period_start
from crm.insights.sentiment import NEGATIVE_THRESHOLD, sentiment
from crm.records.delivery import UK_TIME, uk_date
from crm.records.errors import SupervisorsOnly
from crm.records.models import HandoffRequest, KnowledgeAnswer, utcnow

# The agent's replies that mean "I could not help with that" (config.yml, data/rules).
FALLBACK_ACTIONS: Final = ("action_default_fallback", "utter_out_of_scope")
MAX_EVENTS: Final = 200_000
TOP: Final = 10  # intents, handoff reasons and articles listed
UNKNOWN_CHANNEL: Final = "unknown"


@dataclass(frozen=True)
class CustomerMessage:
    """One thing a customer said, and whether the agent answered it with its fallback."""

    event_id: int
    sender_id: str
    at: datetime
    text: str
    intent: str | None
    channel: str
    fallback: bool = False


@dataclass(frozen=True)
class Share:
    """A named count and its share of the whole it is part of."""

    name: str
    count: int
    share: float


@dataclass(frozen=True)
class ArticleVotes:
    """Votes on one article's answers."""

    article_id: str
    helpful: int
    not_helpful: int


@dataclass(frozen=True)
class Day:
    """One UK day's figures; rates and sentiment are None when there was nothing to measure."""

    day: date
    conversations: dict[str, int]  # per channel
    messages: int
    fallbacks: int
    abstentions: int
    helpful: int
    not_helpful: int
    sentiment_mean: float | None
    negative_share: float | None

    @property
    def total_conversations(self) -> int:
        """All channels together."""
        return sum(self.conversations.values())

    @property
    def fallback_rate(self) -> float | None:
        """Fallbacks per customer message that day."""
        return self.fallbacks / self.messages if self.messages else None

    @property
    def abstention_rate(self) -> float | None:
        """Abstentions per customer message that day."""
        return self.abstentions / self.messages if self.messages else None


@dataclass(frozen=True)
class AnalyticsReport:
    """Every figure of the dashboard for one period (and channel, if one was chosen)."""

    period: Period
    channel: str | None
    since: datetime
    at: datetime
    channels: tuple[str, ...]  # every channel seen in the period, for the filter
    days: tuple[Day, ...]
    conversations: int
    by_channel: dict[str, int]
    contained: int
    messages: int
    fallbacks: int
    fallback_conversations: int
    abstentions: int
    abstention_conversations: int
    top_intents: tuple[Share, ...]
    handoffs: int
    handoff_reasons: tuple[Share, ...]
    csat_ratings: int
    csat_average: float | None
    csat_distribution: tuple[int, int, int, int, int]  # ratings of 1, 2, 3, 4 and 5
    helpful: int
    not_helpful: int
    articles: tuple[ArticleVotes, ...]
    sentiment_mean: float | None
    negative_share: float | None
    capped: bool

    @property
    def containment_rate(self) -> float | None:
        """Conversations without a handoff request, of all conversations."""
        return self.contained / self.conversations if self.conversations else None

    @property
    def fallback_rate(self) -> float | None:
        """Fallbacks per customer message."""
        return self.fallbacks / self.messages if self.messages else None

    @property
    def abstention_rate(self) -> float | None:
        """Abstentions per customer message."""
        return self.abstentions / self.messages if self.messages else None


def customer_messages(
    tracker: sa.Engine, since: datetime, until: datetime, *, limit: int = MAX_EVENTS
) -> tuple[list[CustomerMessage], bool]:
    """Customer messages between `since` and `until`, oldest first, and whether `limit` cut them.

    One query: ``user`` events and the fallback actions in the time range, newest first up to
    `limit`. A fallback action marks the sender's message before it.
    """
    query = (
        sa.select(
            EVENTS.c.id,
            EVENTS.c.sender_id,
            EVENTS.c.type_name,
            EVENTS.c.timestamp,
            EVENTS.c.intent_name,
            EVENTS.c.data,
        )
        .where(EVENTS.c.timestamp >= since.timestamp(), EVENTS.c.timestamp < until.timestamp())
        .where(
            sa.or_(
                EVENTS.c.type_name == "user",
                sa.and_(EVENTS.c.type_name == "action", EVENTS.c.action_name.in_(FALLBACK_ACTIONS)),
            )
        )
        .order_by(EVENTS.c.id.desc())
        .limit(limit + 1)
    )
    try:
        with tracker.connect() as connection:
            rows = connection.execute(query).all()
    except sa.exc.OperationalError:
        return [], False  # Rasa creates the table when it saves the first conversation
    capped = len(rows) > limit
    messages: list[CustomerMessage] = []
    last: dict[str, int] = {}  # sender -> index in `messages` of their latest message
    for event_id, sender, kind, at, intent, data in reversed(rows[:limit]):
        if kind == "action":
            if sender in last:
                found = messages[last[sender]]
                messages[last[sender]] = _with_fallback(found)
            continue
        message = _message(event_id, sender, at, intent, data)
        if message is not None:
            last[sender] = len(messages)
            messages.append(message)
        else:
            last.pop(sender, None)  # a relay event: a fallback after it is not about the customer
    return messages, capped


def _with_fallback(message: CustomerMessage) -> CustomerMessage:
    return CustomerMessage(
        message.event_id,
        message.sender_id,
        message.at,
        message.text,
        message.intent,
        message.channel,
        fallback=True,
    )


def _message(
    event_id: int, sender: str, at: float | None, intent: str | None, data: str | None
) -> CustomerMessage | None:
    """A customer message from a ``user`` event, or None if the customer did not write it."""
    try:
        event = json.loads(data or "{}")
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    metadata = event.get("metadata")
    if isinstance(metadata, dict) and metadata.get("is_external"):
        return None
    text = " ".join(str(event.get("text") or "").split())
    if text.startswith("/"):
        return None  # a button's intent payload, not words
    parse = event.get("parse_data")
    if not intent and isinstance(parse, dict) and isinstance(parse.get("intent"), dict):
        intent = parse["intent"].get("name")
    channel = event.get("input_channel") or UNKNOWN_CHANNEL
    when = float(at if at is not None else event.get("timestamp") or 0.0)
    return CustomerMessage(
        event_id=int(event_id),
        sender_id=str(sender),
        at=datetime.fromtimestamp(when, tz=UK_TIME),
        text=text,
        intent=str(intent) if intent else None,
        channel=str(channel),
    )


def days_between(since: datetime, until: datetime) -> list[date]:
    """Every UK day from `since`'s to `until`'s, both included."""
    first, last = uk_date(since), uk_date(until)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def shares(counts: Counter[str], whole: int, top: int = TOP) -> tuple[Share, ...]:
    """The `top` largest counts (ties by name) with their share of `whole`."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    return tuple(Share(name, count, count / whole if whole else 0.0) for name, count in ranked)


class Analytics:
    """The dashboard's figures for supervisors and admins; anyone else gets `SupervisorsOnly`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        tracker: sa.Engine,
        *,
        clock: Callable[[], datetime] = utcnow,
        score: Callable[[str], float] = sentiment,
    ) -> None:
        self._sessions = sessions
        self._tracker = tracker
        self._clock = clock
        self._score = score

    def report(
        self, member: StaffMember, period: Period, channel: str | None = None
    ) -> AnalyticsReport:
        """The figures of `period` (one of `PERIODS`), of one channel or of all."""
        if not member.can("supervisor"):
            raise SupervisorsOnly()
        if period not in PERIODS:
            raise ValueError(f"unknown period {period!r}")
        now = self._clock()
        since = period_start(period, now)
        everything, capped = customer_messages(self._tracker, since, now)
        channels = tuple(sorted({m.channel for m in everything}))
        messages = [m for m in everything if channel is None or m.channel == channel]
        with self._sessions() as session:
            handoffs = session.execute(
                sa.select(
                    HandoffRequest.conversation_id,
                    HandoffRequest.created_at,
                    HandoffRequest.reason,
                    HandoffRequest.channel,
                ).where(HandoffRequest.created_at >= since, HandoffRequest.created_at < now)
            ).all()
            rated = (
                sa.select(HandoffRequest.csat_score, sa.func.count())
                .where(HandoffRequest.csat_at >= since, HandoffRequest.csat_at < now)
                .where(HandoffRequest.csat_score.is_not(None))
                .group_by(HandoffRequest.csat_score)
            )
            if channel is not None:
                rated = rated.where(HandoffRequest.channel == channel)
            ratings = session.execute(rated).all()
            abstained = session.execute(
                sa.select(KnowledgeAnswer.conversation_id, KnowledgeAnswer.created_at).where(
                    KnowledgeAnswer.article_id.is_(None),
                    KnowledgeAnswer.created_at >= since,
                    KnowledgeAnswer.created_at < now,
                )
            ).all()
            votes = session.execute(
                sa.select(
                    KnowledgeAnswer.conversation_id,
                    KnowledgeAnswer.voted_at,
                    KnowledgeAnswer.article_id,
                    KnowledgeAnswer.helpful,
                ).where(
                    KnowledgeAnswer.helpful.is_not(None),
                    KnowledgeAnswer.voted_at >= since,
                    KnowledgeAnswer.voted_at < now,
                )
            ).all()
        senders = {m.sender_id for m in messages}

        def ours(conversation_id: str) -> bool:
            return channel is None or conversation_id in senders

        # Conversations: (sender, UK day), with the channel of their first message.
        first: dict[tuple[str, date], str] = {}
        for m in messages:
            first.setdefault((m.sender_id, m.at.date()), m.channel)
        handed = {(c, uk_date(at)) for c, at, _, _ in handoffs}
        chosen_handoffs = [h for h in handoffs if channel is None or h[3] == channel]
        distribution = [0, 0, 0, 0, 0]
        for score, count in ratings:
            if score is not None and 1 <= score <= 5:
                distribution[score - 1] += int(count)
        csat_ratings = sum(distribution)
        abstentions = [(c, uk_date(at)) for c, at in abstained if ours(c)]
        chosen_votes = [
            (uk_date(at), a, bool(h)) for c, at, a, h in votes if ours(c) and a and at is not None
        ]
        scores = [(m.at.date(), self._score(m.text)) for m in messages if m.text]
        days = self._days(since, now, first, messages, abstentions, chosen_votes, scores)
        per_article: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for _, article, helpful in chosen_votes:
            per_article[article][0 if helpful else 1] += 1
        articles = sorted(per_article.items(), key=lambda item: (-sum(item[1]), item[0]))
        fallback_senders = {(m.sender_id, m.at.date()) for m in messages if m.fallback}
        return AnalyticsReport(
            period=period,
            channel=channel,
            since=since,
            at=now,
            channels=channels,
            days=days,
            conversations=len(first),
            by_channel=dict(Counter(first.values()).most_common()),
            contained=sum(1 for key in first if key not in handed),
            messages=len(messages),
            fallbacks=sum(1 for m in messages if m.fallback),
            fallback_conversations=len(fallback_senders),
            abstentions=len(abstentions),
            abstention_conversations=len({key for key in abstentions if key in first}),
            top_intents=shares(Counter(m.intent or "none" for m in messages), len(messages)),
            handoffs=len(chosen_handoffs),
            handoff_reasons=shares(Counter(h[2] for h in chosen_handoffs), len(chosen_handoffs)),
            csat_ratings=csat_ratings,
            csat_average=(
                sum((n + 1) * c for n, c in enumerate(distribution)) / csat_ratings
                if csat_ratings
                else None
            ),
            csat_distribution=(
                distribution[0],
                distribution[1],
                distribution[2],
                distribution[3],
                distribution[4],
            ),
            helpful=sum(1 for _, _, h in chosen_votes if h),
            not_helpful=sum(1 for _, _, h in chosen_votes if not h),
            articles=tuple(ArticleVotes(a, yes, no) for a, (yes, no) in articles[:TOP]),
            sentiment_mean=_mean([s for _, s in scores]),
            negative_share=_negative_share([s for _, s in scores]),
            capped=capped,
        )

    @staticmethod
    def _days(
        since: datetime,
        now: datetime,
        first: dict[tuple[str, date], str],
        messages: Sequence[CustomerMessage],
        abstentions: Iterable[tuple[str, date]],
        votes: Iterable[tuple[date, str, bool]],
        scores: Iterable[tuple[date, float]],
    ) -> tuple[Day, ...]:
        """The figures per UK day of the period, every day listed (zeros when quiet)."""
        conversations: dict[date, Counter[str]] = defaultdict(Counter)
        for (_, day), chan in first.items():
            conversations[day][chan] += 1
        counted: dict[date, Counter[str]] = defaultdict(Counter)
        for m in messages:
            counted[m.at.date()]["messages"] += 1
            counted[m.at.date()]["fallbacks"] += int(m.fallback)
        for _, day in abstentions:
            counted[day]["abstentions"] += 1
        for day, _, helpful in votes:
            counted[day]["helpful" if helpful else "not_helpful"] += 1
        daily_scores: dict[date, list[float]] = defaultdict(list)
        for day, score in scores:
            daily_scores[day].append(score)
        return tuple(
            Day(
                day=day,
                conversations=dict(sorted(conversations[day].items())),
                messages=counted[day]["messages"],
                fallbacks=counted[day]["fallbacks"],
                abstentions=counted[day]["abstentions"],
                helpful=counted[day]["helpful"],
                not_helpful=counted[day]["not_helpful"],
                sentiment_mean=_mean(daily_scores[day]),
                negative_share=_negative_share(daily_scores[day]),
            )
            for day in days_between(since, now)
        )


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _negative_share(values: Sequence[float]) -> float | None:
    return sum(1 for v in values if v <= NEGATIVE_THRESHOLD) / len(values) if values else None
