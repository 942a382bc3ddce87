"""What the knowledge base was asked, what it answered, and whether customers found it helpful.

The agent logs every knowledge-base question of a conversation (answered or not) and the
customer's "was this helpful?" vote. The business reads two reports from it: articles ranked by
unhelpful votes (which answers need rewriting) and the questions the agent had to abstain on
(what the help centre is missing). Each public method is one unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from crm.records.audit import Clock
from crm.records.models import KnowledgeAnswer, utcnow

__all__ = ["MAX_QUESTION_LENGTH", "AnswerLog", "ArticleFeedback", "UnansweredQuestion"]

MAX_QUESTION_LENGTH: Final = 1000


@dataclass(frozen=True)
class ArticleFeedback:
    """How one article's answers were received."""

    article_id: str
    answers: int
    helpful: int
    not_helpful: int

    @property
    def helpful_rate(self) -> float | None:
        """Share of votes that said helpful; None before anyone voted."""
        votes = self.helpful + self.not_helpful
        return self.helpful / votes if votes else None


@dataclass(frozen=True)
class UnansweredQuestion:
    """A question the agent abstained on, with how often it was asked in that form."""

    question: str
    times: int
    last_asked: datetime


def _clean_question(question: str) -> str:
    """One line, at most MAX_QUESTION_LENGTH characters: a log row, not a transcript."""
    return " ".join(question.split())[:MAX_QUESTION_LENGTH]


class AnswerLog:
    """Record knowledge-base answers and votes; report on them."""

    def __init__(self, sessions: sessionmaker[Session], *, clock: Clock = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    def record_answer(
        self,
        *,
        conversation_id: str,
        question: str,
        article_id: str,
        passage_id: str,
        score: float,
    ) -> int:
        """Log an answer quoted from ``passage_id`` of ``article_id``; return its id."""
        return self._add(
            KnowledgeAnswer(
                conversation_id=conversation_id,
                question=_clean_question(question),
                article_id=article_id,
                passage_id=passage_id,
                score=float(score),
                created_at=self._clock(),
            )
        )

    def record_abstention(self, *, conversation_id: str, question: str) -> int:
        """Log a question the agent did not answer (no passage good enough); return its id."""
        return self._add(
            KnowledgeAnswer(
                conversation_id=conversation_id,
                question=_clean_question(question),
                created_at=self._clock(),
            )
        )

    def _add(self, row: KnowledgeAnswer) -> int:
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return row.id

    def record_vote(self, *, answer_id: int, conversation_id: str, helpful: bool) -> bool:
        """Store the customer's vote on an answer of *their* conversation; the last one counts.

        Returns False, changing nothing, when ``answer_id`` is not an answer given in
        ``conversation_id`` (a stale or forged id, or an abstention, which has nothing to rate).
        """
        with self._sessions.begin() as session:
            row = session.get(KnowledgeAnswer, answer_id, with_for_update=True)
            if row is None or row.conversation_id != conversation_id or row.article_id is None:
                return False
            row.helpful = helpful
            row.voted_at = self._clock()
            return True

    def article_feedback(self, *, since: datetime | None = None) -> list[ArticleFeedback]:
        """Every answered article with its counts, most unhelpful votes first."""
        not_helpful = func.sum(case((KnowledgeAnswer.helpful.is_(False), 1), else_=0))
        helpful = func.sum(case((KnowledgeAnswer.helpful.is_(True), 1), else_=0))
        query = (
            select(KnowledgeAnswer.article_id, func.count(), helpful, not_helpful)
            .where(KnowledgeAnswer.article_id.is_not(None))
            .group_by(KnowledgeAnswer.article_id)
            .order_by(not_helpful.desc(), func.count().desc(), KnowledgeAnswer.article_id)
        )
        if since is not None:
            query = query.where(KnowledgeAnswer.created_at >= since)
        with self._sessions() as session:
            return [
                ArticleFeedback(
                    article_id=str(article), answers=count, helpful=int(yes), not_helpful=int(no)
                )
                for article, count, yes, no in session.execute(query)
            ]

    def unanswered(
        self, *, since: datetime | None = None, limit: int = 20
    ) -> list[UnansweredQuestion]:
        """The questions abstained on, most asked first (grouped by their lower-cased text)."""
        text = func.lower(KnowledgeAnswer.question)
        last_asked = func.max(KnowledgeAnswer.created_at)  # typed like the column: aware UTC
        query = (
            select(func.min(KnowledgeAnswer.question), func.count(), last_asked)
            .where(KnowledgeAnswer.article_id.is_(None))
            .group_by(text)
            .order_by(func.count().desc(), last_asked.desc())
            .limit(limit)
        )
        if since is not None:
            query = query.where(KnowledgeAnswer.created_at >= since)
        with self._sessions() as session:
            return [
                UnansweredQuestion(question=str(q), times=int(n), last_asked=last)
                for q, n, last in session.execute(query)
            ]
