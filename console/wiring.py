"""The console's services, built once from the settings (`python -m console` calls it).

The records, the tracker store (read only: transcripts, the dashboard, the gap list), the relay
to Rasa, and what the gap list needs: the sentence encoder and the knowledge index to name the
article nearest to a gap, both loaded on first use, and the cache its reports are kept in. The
area modules get all of it as one `Console` and build nothing themselves; tests build their own.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from config.sql import pooled_engine
from console.relay import RasaRelay
from console.web import Console
from crm.desk.canned import CannedResponses
from crm.desk.handoffs import HandoffDesk
from crm.desk.panel import PanelRefunds
from crm.desk.staff import StaffService
from crm.desk.supervision import Supervision
from crm.desk.transcripts import TranscriptSource
from crm.insights.analytics import Analytics
from crm.insights.gaps import (
    MAX_QUESTIONS,
    ArticleFinder,
    Encoder,
    GapCache,
    IndexArticles,
    KnowledgeGaps,
)
from crm.insights.scores import CustomerScores, LikelyBuyers
from crm.records.db import make_engine, make_session_factory
from crm.records.money import RefundService


def build_console(settings: Settings) -> Console:
    """The records, the tracker store (read only) and the relay to Rasa, from the settings."""
    sessions = make_session_factory(make_engine(settings.database_url))
    desk = HandoffDesk(sessions)
    tracker = pooled_engine(f"sqlite:///{settings.tracker_db}")
    return Console(
        staff=StaffService(sessions, session_ttl=timedelta(hours=settings.staff_session_hours)),
        desk=desk,
        transcripts=TranscriptSource(tracker),
        relay=RasaRelay(f"http://127.0.0.1:{settings.rasa_port}", settings.api_token()),
        canned=CannedResponses(sessions),
        refunds=PanelRefunds(sessions, desk, RefundService(sessions)),
        supervision=Supervision(sessions),
        scores=CustomerScores(sessions),
        buyers=LikelyBuyers(sessions),
        secure_cookies=settings.environment == "production",
        analytics=Analytics(sessions, tracker),
        gaps=gap_list(sessions, tracker, settings),
        gap_cache=GapCache(),
    )


def gap_list(
    sessions: sessionmaker[Session], tracker: sa.Engine, settings: Settings
) -> KnowledgeGaps:
    """The gap list's service; the encoder and the knowledge index load on first use."""

    def encoder() -> Encoder:
        from encoder.embedding import OnnxEmbedder, RememberingEmbedder

        # Vectors are kept per text for the process: a question asked again is not re-embedded.
        return RememberingEmbedder(OnnxEmbedder(settings.encoder_dir), size=2 * MAX_QUESTIONS)

    def articles() -> ArticleFinder | None:
        from encoder.sentence import SentenceEncoder
        from knowledge.index import IndexUnavailable, load_index

        info = SentenceEncoder(settings.encoder_dir).info
        try:
            index = load_index(
                settings.knowledge_index_dir, model_name=info.source, dimension=info.dimension
            )
        except IndexUnavailable:
            return None  # the list still works; it only cannot name a nearby article
        return IndexArticles(index)

    return KnowledgeGaps(sessions, tracker, encoder, articles=articles)
