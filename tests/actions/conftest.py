"""Action tests: real actions, the real domain.yml, real services on a fresh SQLite database.

Trackers are built the way Rasa sends them, so what is tested is what the action server does.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session, sessionmaker

from actions.services import Services, handoff_policy, records_services, use_services
from config.settings import ROOT, Settings
from crm.insights.recommend import Recommender
from crm.insights.routing import TeamRouter, read_examples, train_router
from crm.records.db import make_engine, make_session_factory
from crm.tools.demo import seed
from encoder.embedding import OnnxEmbedder
from knowledge.configured import knowledge_base as configured_knowledge_base
from knowledge.index import ingest, load_index
from knowledge.retrieve import KnowledgeBase
from tests.conftest import copy_sqlite

DOMAIN: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text())
ADA = 1
ALWAYS_STAFFED = "Mon-Sun 00:00-24:00"


@pytest.fixture(scope="session")
def knowledge_base(tmp_path_factory: pytest.TempPathFactory, embedder) -> KnowledgeBase:
    settings = Settings()
    index_dir: Path = tmp_path_factory.mktemp("kb")
    ingest([ROOT / "data" / "knowledge"], embedder, index_dir, exact_limit=settings.kb_exact_limit)
    index = load_index(index_dir, model_name=embedder.name, dimension=embedder.dimension)
    return configured_knowledge_base(index, embedder, settings)


@pytest.fixture
def sessions(tmp_path: Path, migrated_sqlite: Path) -> sessionmaker[Session]:
    """A migrated SQLite database with the demo data (seeded now: dates are relative to today)."""
    path = tmp_path / "records.db"  # where Settings(var_dir=tmp_path) puts the records
    copy_sqlite(migrated_sqlite, path)
    factory = make_session_factory(make_engine(f"sqlite:///{path}"))
    seed(factory)
    return factory


@functools.cache
def product_embedder() -> OnnxEmbedder:
    """The sentence encoder the action server's recommendations use, loaded once."""
    return OnnxEmbedder(Settings().encoder_dir)


@pytest.fixture(scope="session")
def router() -> TeamRouter:
    """The logistic-regression router trained on data/routing/train.csv, once (seconds)."""
    examples = read_examples(ROOT / "data" / "routing" / "train.csv")
    return train_router("lr", examples, embedder=product_embedder()).router


def install(
    settings: Settings,
    sessions: sessionmaker[Session],
    kb: KnowledgeBase,
    router: TeamRouter | None = None,
) -> Services:
    """Services for the actions; without a `router`, every handoff and ticket goes to general."""
    installed = Services(
        settings=settings,
        **records_services(sessions, site_url=settings.site_url),
        knowledge=kb,
        recommender=Recommender(sessions, product_embedder()),
        handoff_policy=handoff_policy(settings, sessions, router),
    )
    use_services(installed)
    return installed


@pytest.fixture
def services(
    tmp_path: Path,
    sessions: sessionmaker[Session],
    knowledge_base: KnowledgeBase,
    router: TeamRouter,
) -> Iterator[Services]:
    # Staff always on duty, so handoffs do not depend on when the tests run (nor on presence:
    # test_knowledge_and_handoff.py checks it).
    yield install(
        Settings(var_dir=tmp_path, support_hours=ALWAYS_STAFFED, staff_presence_seconds=0),
        sessions,
        knowledge_base,
        router,
    )
    use_services(None)


def tracker(
    slots: dict[str, Any] | None = None,
    *,
    text: str = "",
    intent: str = "inform",
    active_loop: str | None = None,
    events: list[dict[str, Any]] | None = None,
    set_this_turn: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    ranking: list[tuple[str, float]] | None = None,
) -> Tracker:
    """A tracker as Rasa would send it; `set_this_turn` are slots filled by the last message.

    `metadata` is what the channel attached to the last message; `ranking` the NLU's intent
    ranking of it (Rasa's `intent_ranking`, the fallback first when it replaced the intent).
    """
    all_slots = {name: None for name in DOMAIN["slots"]}
    all_slots.update(slots or {})
    all_slots.update(set_this_turn or {})
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "entities": list(entities or []),
        "intent_ranking": [{"name": n, "confidence": c} for n, c in (ranking or [])],
    }
    history = list(events or [])
    history.append(
        {
            "event": "user",
            "text": text,
            "timestamp": time.time(),
            "parse_data": latest,
            "metadata": metadata or {},
        }
    )
    history += [{"event": "slot", "name": k, "value": v} for k, v in (set_this_turn or {}).items()]
    return Tracker(
        sender_id="action-test",
        slots=all_slots,
        latest_message=latest,
        events=history,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def after_reply(
    response: str, said: str = "how many watts does your toaster use"
) -> list[dict[str, Any]]:
    """A conversation so far: the customer `said` something, the agent replied with `response`."""
    return [
        {"event": "user", "text": said, "timestamp": 1.0},
        {"event": "bot", "text": "...", "timestamp": 1.1, "metadata": {"utter_action": response}},
    ]


def verified(customer_id: int = ADA, **slots: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "customer_first_name": "Ada",
        "verified_until": time.time() + 600,
        **slots,
    }


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["response"] for m in dispatcher.messages]


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
