"""Build a collection offline, load it read-only, and swap versions atomically.

Layout of an index folder::

    <dir>/builds/<build-id>/  vectors.faiss    dense index (flat, or approximate when large)
                              lexical.npz      BM25 weights, with vocabulary.json
                              chunks.json      the passages, in index order
                              documents.json   what the collection holds and where it came from
                              manifest.json    written last: a build without one is never loaded
    <dir>/current -> builds/<build-id>         a symlink replaced in one rename
    <dir>/embeddings.sqlite                    vectors already computed (knowledge.cache)
    <dir>/.lock                                one ingest at a time

Ingest is incremental: the documents read from the given paths replace whatever the collection
held from under those paths (so a deleted file disappears), documents from other paths stay,
and only passages whose text is new are embedded. Metadata is JSON, never pickle.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from encoder.embedding import Embedder, Vectors
from knowledge.cache import EmbeddingCache, Progress, embed_cached, text_key
from knowledge.chunking import Chunk, chunk_document
from knowledge.lexical import LexicalIndex, LexicalIndexError
from knowledge.sources import Document, SourceError, read_paths
from knowledge.vectors import (
    build_vector_index,
    read_vector_index,
    write_vector_index,
)

FORMAT_VERSION = 3  # 3: hybrid (dense + BM25), documents.json, approximate index when large
HEADING_WEIGHT = 0.5  # share of the question's embedding in a FAQ entry's vector
KEEP_BUILDS = 2
log = logging.getLogger("knowledge")


class IndexUnavailable(RuntimeError):
    """The index is missing, corrupt or built with another model; the message says which."""


@dataclass(frozen=True)
class Manifest:
    """What a build holds and how its dense index was made."""

    format_version: int
    model: str
    dimension: int
    chunks: int
    documents: int
    sources_fingerprint: str
    built_at: float
    vector_index: dict[str, Any]


@dataclass(frozen=True)
class DocumentEntry:
    """A document of the collection as recorded in documents.json (its text is in the chunks)."""

    id: str
    title: str
    url: str
    topic: str
    kind: str
    source: str
    sha256: str
    about: tuple[str, ...] = ()  # an article about one kind of product: what it is about


@dataclass(frozen=True)
class LoadedIndex:
    """A read-only collection in memory."""

    vectors: Any  # faiss.Index: the library ships no type information
    lexical: LexicalIndex
    chunks: tuple[Chunk, ...]
    documents: tuple[DocumentEntry, ...]
    manifest: Manifest
    path: Path


@dataclass(frozen=True)
class IngestPlan:
    """What an ingest would change, worked out without loading the embedding model."""

    index_dir: Path
    documents: tuple[DocumentEntry, ...]
    chunks: tuple[Chunk, ...]
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    up_to_date: bool


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did."""

    plan: IngestPlan
    manifest: Manifest | None = None
    embedded: int = 0
    reused: int = 0
    seconds: float = 0.0
    vector_report: dict[str, Any] = field(default_factory=dict)


def passage_vectors(content: Vectors, headings: Vectors, faq: npt.NDArray[np.bool_]) -> Vectors:
    """One unit vector per passage; a FAQ entry's mixes its question's embedding in.

    Customers' questions are mostly paraphrases of a FAQ entry's question, while the answer holds
    the words of the reply: the normalised mean of the two embeddings beat either alone on
    StackFAQ (docs/knowledge.md). Inner product with the mean is the mean of the two cosines, so
    one index serves both. Article passages keep the embedding of their full text: mixing in an
    article's title made every question worded like the title land on the introduction, which
    names the subject and leaves the facts to the sections below.
    """
    mixed = np.where(
        faq[:, None], HEADING_WEIGHT * headings + (1.0 - HEADING_WEIGHT) * content, content
    )
    norms = np.linalg.norm(mixed, axis=1, keepdims=True)
    return np.asarray(mixed / np.maximum(norms, 1e-12), dtype=np.float32)


def fingerprint(entries: Sequence[DocumentEntry]) -> str:
    """Identify a collection's content, so an unchanged one is not rebuilt."""
    digest = hashlib.sha256()
    for entry in sorted(entries, key=lambda e: e.id):
        digest.update(f"{entry.id}\0{entry.sha256}\n".encode())
    return digest.hexdigest()


def _entry(document: Document) -> DocumentEntry:
    return DocumentEntry(
        id=document.id,
        title=document.title,
        url=document.url,
        topic=document.topic,
        kind=document.kind,
        source=document.source,
        sha256=document.sha256,
        about=document.about,
    )


def _current_build(index_dir: Path) -> Path | None:
    link = index_dir / "current"
    if not link.is_symlink():
        return None
    target = link.resolve()
    return target if (target / "manifest.json").exists() else None


def _read_manifest(build: Path) -> Manifest:
    data = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != FORMAT_VERSION:
        raise IndexUnavailable(
            f"knowledge index in {build} has format {version}, this code reads "
            f"{FORMAT_VERSION}: rebuild it with `make index` (or `kb ingest --force`)"
        )
    return Manifest(**data)


def _read_chunks(build: Path) -> tuple[Chunk, ...]:
    raw = json.loads((build / "chunks.json").read_text(encoding="utf-8"))
    return tuple(Chunk(**{**item, "headings": tuple(item["headings"])}) for item in raw)


def _read_documents(build: Path) -> tuple[DocumentEntry, ...]:
    raw = json.loads((build / "documents.json").read_text(encoding="utf-8"))
    return tuple(DocumentEntry(**{**item, "about": tuple(item.get("about", ()))}) for item in raw)


def _previous(index_dir: Path, model: str) -> tuple[tuple[DocumentEntry, ...], tuple[Chunk, ...]]:
    """The current build's documents and passages, if it can be built upon; else nothing."""
    build = _current_build(index_dir)
    if build is None:
        return (), ()
    try:
        manifest = _read_manifest(build)
        if manifest.model != model:
            return (), ()
        return _read_documents(build), _read_chunks(build)
    except IndexUnavailable:
        return (), ()
    except (OSError, ValueError, TypeError, KeyError) as error:
        log.warning(
            "rebuilding from scratch: the current build in %s is unreadable: %s", build, error
        )
        return (), ()


def _covered(source: str, roots: Sequence[Path]) -> bool:
    path = Path(source)
    return any(path == root or root in path.parents for root in roots)


def plan_ingest(
    paths: Sequence[Path], index_dir: Path, *, model: str, force: bool = False
) -> IngestPlan:
    """Read the sources and work out what changes against the current build."""
    return plan_documents(
        read_paths(paths), [p.resolve() for p in paths], index_dir, model=model, force=force
    )


def plan_documents(
    documents: Sequence[Document],
    roots: Sequence[Path],
    index_dir: Path,
    *,
    model: str,
    force: bool = False,
) -> IngestPlan:
    """Work out the collection after `documents`, read from under `roots`, replace what was there.

    A document of the current build whose source lies under one of `roots` but was not read
    again has been deleted; documents from elsewhere stay as they are.
    """
    old_documents, old_chunks = _previous(index_dir, model)
    read = {document.id: document for document in documents}
    kept = [entry for entry in old_documents if not _covered(entry.source, roots)]
    for entry in kept:
        if entry.id in read:
            raise SourceError(
                f"document id {entry.id!r} in {read[entry.id].source} is already in the "
                f"collection from {entry.source}"
            )
    before = {entry.id: entry for entry in old_documents}
    added = tuple(sorted(i for i in read if i not in before))
    changed = tuple(
        sorted(i for i, d in read.items() if i in before and before[i].sha256 != d.sha256)
    )
    kept_ids = {entry.id for entry in kept}
    removed = tuple(sorted(i for i in before if i not in read and i not in kept_ids))
    entries = sorted([*kept, *(_entry(d) for d in documents)], key=lambda e: e.id)
    chunks: list[Chunk] = [chunk for chunk in old_chunks if chunk.article_id in kept_ids]
    for document in documents:
        chunks.extend(chunk_document(document))
    chunks.sort(key=lambda c: (c.article_id, c.position))
    up_to_date = (
        not force
        and bool(old_documents)
        and not (added or changed or removed)
        and fingerprint(old_documents) == fingerprint(entries)
    )
    return IngestPlan(
        index_dir=index_dir,
        documents=tuple(entries),
        chunks=tuple(chunks),
        added=added,
        changed=changed,
        removed=removed,
        unchanged=len(entries) - len(added) - len(changed),
        up_to_date=up_to_date,
    )


@contextmanager
def _ingest_lock(index_dir: Path) -> Iterator[None]:
    """One ingest per index folder at a time (across processes)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ingest(
    paths: Sequence[Path],
    embedder: Embedder,
    index_dir: Path,
    *,
    force: bool = False,
    exact_limit: int,
    progress: Progress | None = None,
) -> IngestReport:
    """Bring the collection in `index_dir` up to date with `paths`; swap in a new build."""
    with _ingest_lock(index_dir):
        plan = plan_ingest(paths, index_dir, model=embedder.name, force=force)
        if plan.up_to_date:
            return IngestReport(plan=plan)
        return build(plan, embedder, exact_limit=exact_limit, progress=progress)


def build(
    plan: IngestPlan,
    embedder: Embedder,
    *,
    exact_limit: int,
    progress: Progress | None = None,
) -> IngestReport:
    """Embed (what the cache lacks), index and swap in the collection `plan` describes."""
    if not plan.chunks:
        raise SourceError("the sources hold no text to index")
    started = time.perf_counter()
    index_dir = plan.index_dir
    texts = [chunk.embedding_text() for chunk in plan.chunks]
    faq = np.asarray([chunk.kind == "faq" for chunk in plan.chunks], dtype=bool)
    headings = [chunk.heading_text() for chunk in plan.chunks if chunk.kind == "faq"]
    cache = EmbeddingCache(
        index_dir / "embeddings.sqlite", model=embedder.name, dimension=embedder.dimension
    )
    vectors, embedded = embed_cached([*texts, *headings], embedder, cache, progress=progress)
    questions = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    questions[faq] = vectors[len(texts) :]
    mixed = passage_vectors(vectors[: len(texts)], questions, faq)
    dense, report = build_vector_index(mixed, exact_limit=exact_limit)
    if report.recall_at_10 is not None:
        log.info(
            "approximate index %s: recall@10 %.3f against exact search (%s)",
            report.kind,
            report.recall_at_10,
            report.params,
        )
    lexical = LexicalIndex.build(texts)
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model=embedder.name,
        dimension=embedder.dimension,
        chunks=len(plan.chunks),
        documents=len(plan.documents),
        sources_fingerprint=fingerprint(plan.documents),
        built_at=time.time(),
        vector_index=asdict(report),
    )
    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    target = builds / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns()}"
    staging = target.with_suffix(".tmp")
    staging.mkdir()
    write_vector_index(dense, staging / "vectors.faiss")
    lexical.write(staging)
    (staging / "chunks.json").write_text(
        json.dumps([asdict(chunk) for chunk in plan.chunks], ensure_ascii=False), encoding="utf-8"
    )
    (staging / "documents.json").write_text(
        json.dumps([asdict(entry) for entry in plan.documents], ensure_ascii=False),
        encoding="utf-8",
    )
    (staging / "manifest.json").write_text(json.dumps(asdict(manifest)), encoding="utf-8")
    staging.rename(target)
    _swap(index_dir, target)
    cache.retain({text_key(text) for text in [*texts, *headings]})
    _prune(builds, keep=target)
    return IngestReport(
        plan=plan,
        manifest=manifest,
        embedded=embedded,
        reused=len(set(texts) | set(headings)) - embedded,
        seconds=time.perf_counter() - started,
        vector_report=asdict(report),
    )


def _swap(index_dir: Path, target: Path) -> None:
    """Point `current` at `target` in one rename: readers see the old build or the new one."""
    link = index_dir / "current"
    tmp_link = index_dir / f".current-{os.getpid()}"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(target.relative_to(index_dir))
    tmp_link.replace(link)


def _prune(builds: Path, *, keep: Path) -> None:
    """Delete all but the newest builds (and abandoned staging folders)."""
    done = sorted((p for p in builds.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in done[:-KEEP_BUILDS]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def current_target(index_dir: Path) -> str | None:
    """Where `current` points now (cheap: one readlink), or None."""
    try:
        return str((index_dir / "current").readlink())
    except OSError:
        return None


def load_index(index_dir: Path, *, model_name: str, dimension: int) -> LoadedIndex:
    """Load the current build, refusing one that is damaged or does not fit the model in use."""
    build_dir = _current_build(index_dir)
    if build_dir is None:
        raise IndexUnavailable(
            f"no knowledge index in {index_dir}: build it with `make index` or `kb ingest`"
        )
    try:
        manifest = _read_manifest(build_dir)
    except (OSError, ValueError, TypeError) as error:
        raise IndexUnavailable(f"knowledge index in {build_dir} is unreadable: {error}") from error
    if manifest.model != model_name or manifest.dimension != dimension:
        raise IndexUnavailable(
            f"knowledge index in {build_dir} was built with {manifest.model} "
            f"({manifest.dimension} dimensions), not {model_name} ({dimension}): rebuild it"
        )
    try:
        chunks = _read_chunks(build_dir)
        documents = _read_documents(build_dir)
        params = {str(k): int(v) for k, v in manifest.vector_index.get("params", {}).items()}
        vectors = read_vector_index(build_dir / "vectors.faiss", params)
        if manifest.vector_index.get("kind") == "ivf":
            # Hybrid search reads back the vectors of passages that only BM25 found.
            faiss.extract_index_ivf(vectors).make_direct_map()
        lexical = LexicalIndex.read(build_dir)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError, LexicalIndexError) as error:
        raise IndexUnavailable(f"knowledge index in {build_dir} is unreadable: {error}") from error
    if vectors.ntotal != len(chunks) or vectors.d != dimension or lexical.size != len(chunks):
        raise IndexUnavailable(f"knowledge index in {build_dir} does not match its chunk list")
    return LoadedIndex(
        vectors=vectors,
        lexical=lexical,
        chunks=chunks,
        documents=documents,
        manifest=manifest,
        path=build_dir,
    )
