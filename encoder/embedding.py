"""Sentence embeddings from a local model folder; nothing is ever downloaded."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into unit-length vectors, so inner product is cosine similarity."""

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        ...

    @property
    def name(self) -> str:
        """Identifies the model, so an index built with another model is refused."""
        ...

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Embed `texts` as a (len(texts), dimension) float32 array of unit vectors."""
        ...


def model_name(model_path: Path) -> str:
    """Name recorded in an index's manifest: the model folder (or its package, for `model/`)."""
    return model_path.name if model_path.name != "model" else model_path.parent.name


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded once from a folder on disk, on the CPU."""

    def __init__(self, model_path: Path, *, batch_size: int = 32) -> None:
        if not (model_path / "config.json").exists():
            raise FileNotFoundError(f"no sentence-transformers model in {model_path}")
        # Belt and braces: even a misconfigured model folder must never reach for a hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(model_path), device="cpu")
        self._batch_size = batch_size
        self._name = model_name(model_path)
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ValueError(f"model in {model_path} does not report its embedding size")
        self._dimension = int(dim)

    @property
    def dimension(self) -> int:
        """Length of each vector, read from the model."""
        return self._dimension

    @property
    def name(self) -> str:
        """The model folder's name."""
        return self._name

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Embed and L2-normalise `texts`."""
        vectors = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self._dimension)


class OnnxEmbedder:
    """The MiniLM exported to ONNX (`make encoder`): the same vectors, no torch in the process."""

    def __init__(self, directory: Path) -> None:
        from encoder.sentence import SentenceEncoder

        self._encoder = SentenceEncoder(directory, threads=1)

    @property
    def dimension(self) -> int:
        """Length of each vector, from the export's manifest."""
        return self._encoder.dimension

    @property
    def name(self) -> str:
        """The model the export was made from: an index built with it matches."""
        return self._encoder.info.source

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Embed and L2-normalise `texts`."""
        vectors: Vectors = self._encoder.encode(list(texts))
        return vectors


class RememberingEmbedder:
    """Remembers the vectors of the texts it embedded last.

    An answer embeds the question to search, then the question again with the sentences of the
    passage it quotes, to trim the quote; and the same help-centre passages are quoted again
    and again. Vectors depend on the text alone, so they are looked up, not recomputed.
    """

    def __init__(self, inner: Embedder, *, size: int = 4096) -> None:
        self._inner = inner
        self._size = size
        self._vectors: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        """The wrapped model's."""
        return self._inner.dimension

    @property
    def name(self) -> str:
        """The wrapped model's."""
        return self._inner.name

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Known texts from memory, the others embedded together in one batch."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for row, text in enumerate(texts):
                known = self._vectors.get(text)
                if known is None:
                    missing.setdefault(text, []).append(row)
                else:
                    self._vectors.move_to_end(text)
                    out[row] = known
        if missing:
            fresh = self._inner.encode(list(missing))
            with self._lock:
                for (text, rows), vector in zip(missing.items(), fresh, strict=True):
                    out[rows] = vector
                    self._vectors[text] = vector.copy()
                while len(self._vectors) > self._size:
                    self._vectors.popitem(last=False)
        return out
