"""Vectors of passages already embedded, so re-ingesting changed sources embeds only what changed.

Keyed by the model's name and the sha256 of the exact text that was embedded: an edited passage
gets a new key, an unchanged one is found again whatever article or position it moved to. Kept in
SQLite beside the index builds (floats as raw little-endian bytes, never pickle).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

import numpy as np

from encoder.embedding import Embedder, Vectors

BATCH = 256
_PARAMS_PER_QUERY = 900  # below SQLite's default limit on bound parameters

Progress = Callable[[int, int], None]
"""Called as progress(done, total) while passages are embedded."""


def text_key(text: str) -> str:
    """The cache key of an embedded text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """A SQLite table of (model, text key) -> vector."""

    def __init__(self, path: Path, *, model: str, dimension: int) -> None:
        self.path = path
        self.model = model
        self.dimension = dimension
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS vectors ("
                " model TEXT NOT NULL, key TEXT NOT NULL, vector BLOB NOT NULL,"
                " PRIMARY KEY (model, key))"
            )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            yield db

    def get_many(self, keys: Sequence[str]) -> dict[str, Vectors]:
        """The cached vectors among `keys` (missing keys are simply absent)."""
        found: dict[str, Vectors] = {}
        width = self.dimension * 4
        with self._connect() as db:
            for start in range(0, len(keys), _PARAMS_PER_QUERY):
                part = list(keys[start : start + _PARAMS_PER_QUERY])
                marks = ",".join("?" * len(part))
                rows = db.execute(
                    f"SELECT key, vector FROM vectors WHERE model = ? AND key IN ({marks})",  # noqa: S608 (only placeholders are interpolated)
                    [self.model, *part],
                )
                for key, blob in rows:
                    if len(blob) == width:  # a row of another size is stale: embed again
                        found[key] = np.frombuffer(blob, dtype="<f4")
        return found

    def put_many(self, items: dict[str, Vectors]) -> None:
        """Store vectors (replacing any with the same key)."""
        with self._connect() as db:
            db.executemany(
                "INSERT OR REPLACE INTO vectors (model, key, vector) VALUES (?, ?, ?)",
                [
                    (self.model, key, np.asarray(v, dtype="<f4").tobytes())
                    for key, v in items.items()
                ],
            )

    def retain(self, keys: set[str]) -> int:
        """Forget every vector of this model whose key is not in `keys`; returns how many."""
        with self._connect() as db:
            db.execute("CREATE TEMP TABLE keep (key TEXT PRIMARY KEY)")
            db.executemany("INSERT OR IGNORE INTO keep VALUES (?)", [(k,) for k in keys])
            deleted = db.execute(
                "DELETE FROM vectors WHERE model = ? AND key NOT IN (SELECT key FROM keep)",
                (self.model,),
            ).rowcount
        return int(deleted)

    def count(self) -> int:
        """Vectors stored for this model."""
        with self._connect() as db:
            row = db.execute("SELECT COUNT(*) FROM vectors WHERE model = ?", (self.model,))
            (n,) = row.fetchone()
        return int(n)


def embed_cached(
    texts: Sequence[str],
    embedder: Embedder,
    cache: EmbeddingCache,
    *,
    progress: Progress | None = None,
) -> tuple[Vectors, int]:
    """Vectors for `texts`, embedding only those not in the cache; returns (vectors, embedded)."""
    keys = [text_key(text) for text in texts]
    found = cache.get_many(sorted(set(keys)))
    unique = dict(zip(keys, texts, strict=True))
    missing = [(key, unique[key]) for key in sorted(unique) if key not in found]
    done = 0
    if progress is not None:
        progress(0, len(missing))
    for start in range(0, len(missing), BATCH):
        part = missing[start : start + BATCH]
        vectors = embedder.encode([text for _, text in part])
        fresh = {key: vectors[i] for i, (key, _) in enumerate(part)}
        cache.put_many(fresh)
        found.update(fresh)
        done += len(part)
        if progress is not None:
            progress(done, len(missing))
    out = np.empty((len(texts), embedder.dimension), dtype=np.float32)
    for row, key in enumerate(keys):
        out[row] = found[key]
    return out, len(missing)
