"""The knowledge base as the settings configure it, for the action server and the CLI alike."""

from __future__ import annotations

from pathlib import Path

from config.settings import Settings
from encoder.embedding import Embedder
from knowledge.index import LoadedIndex, load_index
from knowledge.retrieve import (
    CrossEncoderReranker,
    KnowledgeBase,
    LiveIndex,
    Reranker,
    RetrievalSettings,
)


def retrieval_settings(settings: Settings) -> RetrievalSettings:
    """The retrieval stages and fusion the operator chose (docs/settings.md lists the variables)."""
    return RetrievalSettings(
        mode=settings.kb_mode,
        candidates=settings.kb_candidates,
        lexical_weight=settings.kb_lexical_weight,
        rerank_depth=settings.kb_rerank_depth,
    )


def knowledge_base(
    index: LoadedIndex | LiveIndex, embedder: Embedder, settings: Settings
) -> KnowledgeBase:
    """A knowledge base over `index`, with the reranker only when a local model is configured."""
    reranker: Reranker | None = None
    if settings.kb_reranker_path is not None:
        reranker = CrossEncoderReranker(settings.kb_reranker_path)
    return KnowledgeBase(
        index,
        embedder,
        min_score=settings.kb_min_score,
        topic_min_scores=settings.kb_topic_min_scores,
        hinted_min_score=settings.kb_hinted_min_score,
        settings=retrieval_settings(settings),
        reranker=reranker,
    )


def open_knowledge_base(index_dir: Path, embedder: Embedder, settings: Settings) -> KnowledgeBase:
    """Load the current build in `index_dir` and configure a knowledge base over it."""
    index = load_index(index_dir, model_name=embedder.name, dimension=embedder.dimension)
    return knowledge_base(index, embedder, settings)
