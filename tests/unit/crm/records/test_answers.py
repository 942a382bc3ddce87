"""The knowledge-answer log: answers, abstentions, votes and both reports, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm.records.answers import MAX_QUESTION_LENGTH, AnswerLog
from crm.records.models import KnowledgeAnswer

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def log(sessions: sessionmaker[Session], clock: Clock) -> AnswerLog:
    return AnswerLog(sessions, clock=clock)


def answer(log: AnswerLog, conversation: str = "c1", article: str = "returns-refund-timing") -> int:
    return log.record_answer(
        conversation_id=conversation,
        question="how long do refunds take?",
        article_id=article,
        passage_id=f"{article}#0",
        score=0.71,
    )


def row(sessions: sessionmaker[Session], answer_id: int) -> KnowledgeAnswer:
    with sessions() as session:
        found = session.get(KnowledgeAnswer, answer_id)
        assert found is not None
        return found


def test_an_answer_is_logged_with_its_passage_and_no_vote(
    log: AnswerLog, sessions: sessionmaker[Session]
) -> None:
    stored = row(sessions, answer(log))
    assert (stored.conversation_id, stored.article_id, stored.passage_id) == (
        "c1",
        "returns-refund-timing",
        "returns-refund-timing#0",
    )
    assert stored.score == pytest.approx(0.71)
    assert stored.helpful is None and stored.voted_at is None
    assert stored.created_at == T0


def test_the_question_is_kept_on_one_line_and_bounded(
    log: AnswerLog, sessions: sessionmaker[Session]
) -> None:
    answer_id = log.record_abstention(conversation_id="c1", question="  where\n is  " + "x" * 5000)
    stored = row(sessions, answer_id)
    assert stored.question.startswith("where is xxx")
    assert len(stored.question) == MAX_QUESTION_LENGTH
    assert stored.article_id is None and stored.score is None


def test_a_vote_is_stored_and_the_last_vote_counts(
    log: AnswerLog, sessions: sessionmaker[Session], clock: Clock
) -> None:
    answer_id = answer(log)
    clock.now = T0 + timedelta(seconds=20)
    assert log.record_vote(answer_id=answer_id, conversation_id="c1", helpful=False)
    assert (row(sessions, answer_id).helpful, row(sessions, answer_id).voted_at) == (
        False,
        clock.now,
    )
    assert log.record_vote(answer_id=answer_id, conversation_id="c1", helpful=True)
    assert row(sessions, answer_id).helpful is True


def test_a_vote_from_another_conversation_changes_nothing(
    log: AnswerLog, sessions: sessionmaker[Session]
) -> None:
    answer_id = answer(log, conversation="c1")
    assert not log.record_vote(answer_id=answer_id, conversation_id="c2", helpful=False)
    assert not log.record_vote(answer_id=answer_id + 999, conversation_id="c1", helpful=False)
    assert row(sessions, answer_id).helpful is None


def test_an_abstention_cannot_be_voted_on(log: AnswerLog, sessions: sessionmaker[Session]) -> None:
    answer_id = log.record_abstention(conversation_id="c1", question="toaster watts?")
    assert not log.record_vote(answer_id=answer_id, conversation_id="c1", helpful=True)
    assert row(sessions, answer_id).helpful is None


def test_the_database_refuses_a_half_answer(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(
            KnowledgeAnswer(conversation_id="c1", question="q", article_id="a", created_at=T0)
        )
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(
            KnowledgeAnswer(
                conversation_id="c1",
                question="q",
                article_id="a",
                passage_id="a#0",
                score=0.5,
                helpful=True,  # a vote without its time
                created_at=T0,
            )
        )
    with sessions() as session:
        assert session.scalars(select(KnowledgeAnswer)).all() == []


def test_article_feedback_puts_the_most_unhelpful_first(log: AnswerLog, clock: Clock) -> None:
    good = [answer(log, f"g{i}", "payments-accepted-payment-methods") for i in range(3)]
    bad = [answer(log, f"b{i}", "contact-opening-hours") for i in range(2)]
    answer(log, "u1", "shipping-countries-we-ship-to")  # never voted on
    log.record_abstention(conversation_id="x", question="toaster watts?")  # not an article
    for i, answer_id in enumerate(good):
        log.record_vote(answer_id=answer_id, conversation_id=f"g{i}", helpful=True)
    for i, answer_id in enumerate(bad):
        log.record_vote(answer_id=answer_id, conversation_id=f"b{i}", helpful=False)

    report = log.article_feedback()
    assert [(r.article_id, r.answers, r.helpful, r.not_helpful) for r in report] == [
        ("contact-opening-hours", 2, 0, 2),
        ("payments-accepted-payment-methods", 3, 3, 0),
        ("shipping-countries-we-ship-to", 1, 0, 0),
    ]
    assert report[0].helpful_rate == 0.0
    assert report[1].helpful_rate == 1.0
    assert report[2].helpful_rate is None

    clock.now = T0 + timedelta(days=10)
    answer(log, "late", "contact-opening-hours")
    recent = log.article_feedback(since=T0 + timedelta(days=1))
    assert [(r.article_id, r.answers) for r in recent] == [("contact-opening-hours", 1)]


def test_unanswered_questions_are_grouped_and_counted(log: AnswerLog, clock: Clock) -> None:
    for text in ("Do you sell toasters?", "do you sell toasters?", "DO YOU SELL TOASTERS?"):
        log.record_abstention(conversation_id="c", question=text)
    clock.now = T0 + timedelta(hours=2)
    log.record_abstention(conversation_id="c", question="what's your ceo's name")
    answer(log)  # an answered question is not in the report

    report = log.unanswered()
    assert [(r.question.lower(), r.times) for r in report] == [
        ("do you sell toasters?", 3),
        ("what's your ceo's name", 1),
    ]
    assert report[1].last_asked == T0 + timedelta(hours=2)
    assert report[1].last_asked.tzinfo is not None
    assert log.unanswered(limit=1)[0].times == 3
    assert [r.times for r in log.unanswered(since=T0 + timedelta(hours=1))] == [1]
