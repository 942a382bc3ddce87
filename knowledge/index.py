"""Build the FAISS index offline, load it read-only, and swap versions atomically.

Layout of an index folder::

    <dir>/builds/<build-id>/{index.faiss, chunks.json, manifest.json}
    <dir>/current -> builds/<build-id>      (a symlink replaced in one rename)

Metadata is JSON, never pickle, so loading an index cannot run code.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from knowledge.chunking import Chunk, chunk_article
from knowledge.documents import Article, fingerprint
from knowledge.embedding import Embedder

FORMAT_VERSION = 2  # 2: chunks carry their article's topic
KEEP_BUILDS = 2


class IndexUnavailable(RuntimeError):
    """The index is missing, corrupt or built with another model; the message says which."""


@dataclass(frozen=True)
class Manifest:
    """What an index was built from; lets a build be skipped when nothing changed."""

    format_version: int
    model: str
    dimension: int
    chunks: int
    articles: int
    sources_fingerprint: str
    built_at: float


@dataclass(frozen=True)
class LoadedIndex:
    """A read-only index in memory."""

    vectors: Any  # faiss.Index: the library ships no type information
    chunks: tuple[Chunk, ...]
    manifest: Manifest
    path: Path


def current_manifest(index_dir: Path) -> Manifest | None:
    """Return the manifest of the index in use, or None if there is none readable."""
    try:
        data = json.loads((index_dir / "current" / "manifest.json").read_text(encoding="utf-8"))
        return Manifest(**data)
    except (OSError, ValueError, TypeError):
        return None


def is_up_to_date(index_dir: Path, articles: list[Article], model_name: str) -> bool:
    """True when the index in use was built from exactly these sources with this model."""
    manifest = current_manifest(index_dir)
    return (
        manifest is not None
        and manifest.format_version == FORMAT_VERSION
        and manifest.model == model_name
        and manifest.sources_fingerprint == fingerprint(articles)
    )


def build_index(articles: list[Article], embedder: Embedder, index_dir: Path) -> Manifest:
    """Chunk, embed and index `articles`, then make the new build current in one rename."""
    chunks = [chunk for article in articles for chunk in chunk_article(article)]
    vectors = embedder.encode([chunk.embedding_text() for chunk in chunks])
    index = faiss.IndexFlatIP(embedder.dimension)
    index.add(vectors)

    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model=embedder.name,
        dimension=embedder.dimension,
        chunks=len(chunks),
        articles=len(articles),
        sources_fingerprint=fingerprint(articles),
        built_at=time.time(),
    )
    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    build = builds / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns()}"
    staging = build.with_suffix(".tmp")
    staging.mkdir()
    faiss.write_index(index, str(staging / "index.faiss"))
    (staging / "chunks.json").write_text(
        json.dumps([asdict(chunk) for chunk in chunks], ensure_ascii=False), encoding="utf-8"
    )
    # The manifest is written last: a build without one is incomplete and never loaded.
    (staging / "manifest.json").write_text(json.dumps(asdict(manifest)), encoding="utf-8")
    staging.rename(build)

    link = index_dir / "current"
    tmp_link = index_dir / f".current-{os.getpid()}"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(build.relative_to(index_dir))
    tmp_link.replace(link)
    _prune(builds, keep=build)
    return manifest


def _prune(builds: Path, *, keep: Path) -> None:
    """Delete all but the newest builds; a running server may still read the previous one."""
    done = sorted((p for p in builds.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in done[:-KEEP_BUILDS]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def load_index(index_dir: Path, *, model_name: str, dimension: int) -> LoadedIndex:
    """Load the current index, refusing one that does not fit the model in use."""
    path = (index_dir / "current").resolve()
    if not (path / "manifest.json").exists():
        raise IndexUnavailable(
            f"no knowledge index in {index_dir}: build it with `make index` "
            "(python -m knowledge build)"
        )
    try:
        manifest = Manifest(**json.loads((path / "manifest.json").read_text(encoding="utf-8")))
        raw = json.loads((path / "chunks.json").read_text(encoding="utf-8"))
        chunks = tuple(Chunk(**{**item, "headings": tuple(item["headings"])}) for item in raw)
        vectors = faiss.read_index(str(path / "index.faiss"))
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as error:
        raise IndexUnavailable(f"knowledge index in {path} is unreadable: {error}") from error
    if manifest.format_version != FORMAT_VERSION:
        raise IndexUnavailable(f"knowledge index in {path} has format {manifest.format_version}")
    if manifest.model != model_name or manifest.dimension != dimension:
        raise IndexUnavailable(
            f"knowledge index in {path} was built with {manifest.model} ({manifest.dimension} "
            f"dimensions), not {model_name} ({dimension}): rebuild it"
        )
    if vectors.ntotal != len(chunks) or vectors.d != dimension:
        raise IndexUnavailable(f"knowledge index in {path} does not match its chunk list")
    return LoadedIndex(vectors=vectors, chunks=chunks, manifest=manifest, path=path)


def search_vectors(index: LoadedIndex, queries: np.ndarray, k: int) -> tuple[Any, Any]:
    """Inner-product search; returns (scores, positions) arrays of shape (len(queries), k)."""
    scores, positions = index.vectors.search(queries, min(k, len(index.chunks)))
    return scores, positions
