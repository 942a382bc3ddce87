"""The services the actions call, built once per process from the settings.

Nothing is built at import time: the action server builds them at start-up (so a missing
knowledge index fails the start, not a customer's question), and tests install their own
with `use_services`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings, get_settings
from config.support_hours import support_hours
from crm.desk.handoff_policy import HandoffPolicy
from crm.desk.handoff_requests import HandoffService
from crm.insights.recommend import Recommender
from crm.insights.routing import TeamRouter, load_router
from crm.records.accounts import AccountService
from crm.records.answers import AnswerLog
from crm.records.catalogue import CatalogueService
from crm.records.customers import CustomerService
from crm.records.db import make_engine, make_session_factory
from crm.records.feedback import NewsletterService, ReviewService, TicketService
from crm.records.money import InvoiceService, RefundService
from crm.records.orders import OrderService
from encoder.embedding import (
    Embedder,
    OnnxEmbedder,
    RememberingEmbedder,
    SentenceTransformerEmbedder,
    model_name,
)
from knowledge.configured import knowledge_base
from knowledge.retrieve import KnowledgeBase, LiveIndex


@dataclass(frozen=True)
class Services:
    """Everything an action may call; each service is safe to share between conversations."""

    settings: Settings
    customers: CustomerService
    orders: OrderService
    handoffs: HandoffService
    accounts: AccountService
    catalogue: CatalogueService
    invoices: InvoiceService
    refunds: RefundService
    tickets: TicketService
    reviews: ReviewService
    newsletter: NewsletterService
    answers: AnswerLog
    knowledge: KnowledgeBase
    recommender: Recommender
    # Where handoffs go, with tickets when nobody is on duty; its router decides the team of a
    # handoff or complaint (none: every one to `general`, for tests of other things). The
    # action server always loads one: a missing model fails its start.
    handoff_policy: HandoffPolicy


_lock = threading.Lock()
_services: Services | None = None


def build_services(settings: Settings) -> Services:
    """Connect to the records; load the embedding model, knowledge index and routing model.

    The index is live: a new build swapped in by `kb ingest` is picked up without a restart.
    """
    embedder = query_embedder(settings)
    sessions = make_session_factory(make_engine(settings.database_url))
    # Built now (a broken catalogue fails the start), then rebuilt in the background.
    recommender = Recommender(sessions, embedder)
    recommender.refresh()
    recommender.refresh_every(settings.recommend_refresh_seconds)
    index = LiveIndex(
        settings.knowledge_index_dir,
        model_name=embedder.name,
        dimension=embedder.dimension,
        check_every=settings.kb_reload_seconds,
    )
    return Services(
        settings=settings,
        **records_services(sessions, site_url=settings.site_url),
        knowledge=knowledge_base(index, embedder, settings),
        recommender=recommender,
        handoff_policy=handoff_policy(
            settings, sessions, load_router(settings.routing_model_dir, embedder=embedder)
        ),
    )


def query_embedder(settings: Settings) -> Embedder:
    """The embedder of questions: the ONNX export (default) or the model through torch.

    Both give the index's vectors; the export must have been made from the configured model.
    """
    if settings.kb_query_encoder == "torch":
        return RememberingEmbedder(SentenceTransformerEmbedder(settings.model_path))
    embedder = OnnxEmbedder(settings.encoder_dir)
    expected = model_name(settings.model_path)
    if embedder.name != expected:
        raise ValueError(
            f"the ONNX encoder in {settings.encoder_dir} was exported from {embedder.name}, "
            f"but the knowledge base uses {expected}: run `make encoder` or set "
            "KB_QUERY_ENCODER=torch"
        )
    return RememberingEmbedder(embedder)


def records_services(sessions: sessionmaker[Session], *, site_url: str) -> dict[str, Any]:
    """Every records service on one session factory (one engine, one connection pool).

    `site_url` is the base of the links the services put in answers and emails.
    """
    return {
        "customers": CustomerService(sessions),
        "orders": OrderService(sessions, site_url=site_url),
        "handoffs": HandoffService(sessions),
        "accounts": AccountService(sessions, site_url=site_url),
        "catalogue": CatalogueService(sessions),
        "invoices": InvoiceService(sessions, site_url=site_url),
        "refunds": RefundService(sessions),
        "tickets": TicketService(sessions),
        "reviews": ReviewService(sessions),
        "newsletter": NewsletterService(sessions, site_url=site_url),
        "answers": AnswerLog(sessions),
    }


def handoff_policy(
    settings: Settings, sessions: sessionmaker[Session], router: TeamRouter | None
) -> HandoffPolicy:
    """The desk's handoff decisions with the settings' support hours and staff presence."""
    seconds = settings.staff_presence_seconds
    return HandoffPolicy(
        sessions,
        hours=support_hours(settings.support_hours, settings.support_timezone),
        presence=timedelta(seconds=seconds) if seconds else None,
        route=router.team_for if router is not None else None,
    )


def get_services() -> Services:
    """Return the process's services, building them on first use."""
    global _services
    with _lock:
        if _services is None:
            _services = build_services(get_settings())
        return _services


def use_services(services: Services | None) -> None:
    """Install `services` for this process (the action server's start-up, and tests)."""
    global _services
    with _lock:
        _services = services
