"""Fixtures shared by every test layer: the real embedding model, loaded once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from knowledge.embedding import SentenceTransformerEmbedder

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The packaged all-MiniLM-L6-v2: small enough to load once for the whole run."""
    from bot.settings import Settings

    return SentenceTransformerEmbedder(Settings().model_path)
