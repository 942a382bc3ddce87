"""A sentence encoder that needs only ONNX Runtime and a tokenizer file, no torch.

The packaged MiniLM is exported once to ONNX (`make encoder`, `encoder.export`). Mean pooling
over the tokens and L2 normalisation reproduce sentence-transformers' `all-MiniLM-L6-v2` output
(cosine with it above 0.9999, checked by the export). Two users: the NLU in Rasa's venv
(Python 3.10, TensorFlow), which cannot take the CPU build of torch, and the action server's
knowledge questions, where it embeds a question in less than half of torch's time on one
thread (docs/benchmarks.md). No Rasa imports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"


class EncoderMissing(RuntimeError):
    """The encoder directory lacks its files: build it with `make encoder`."""


@dataclass(frozen=True)
class EncoderInfo:
    """What `manifest.json` records about an exported encoder."""

    source: str
    dimension: int
    max_tokens: int
    sha256: str


class SentenceEncoder:
    """Turns texts into normalised sentence vectors on the CPU."""

    def __init__(self, directory: Path, *, threads: int = 1, batch_size: int = 64) -> None:
        """Load the model; `threads` is per call (the servers run several conversations)."""
        missing = [
            name
            for name in (MODEL_FILE, TOKENIZER_FILE, MANIFEST_FILE)
            if not (directory / name).is_file()
        ]
        if missing:
            raise EncoderMissing(
                f"sentence encoder in {directory} lacks {', '.join(missing)}; run `make encoder`"
            )
        manifest = json.loads((directory / MANIFEST_FILE).read_text())
        self.info = EncoderInfo(
            source=str(manifest["source"]),
            dimension=int(manifest["dimension"]),
            max_tokens=int(manifest["max_tokens"]),
            sha256=str(manifest["sha256"]),
        )
        self._tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        self._tokenizer.enable_truncation(self.info.max_tokens)
        self._tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(directory / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        self._batch_size = batch_size

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        return self.info.dimension

    def encode(self, texts: list[str]) -> np.ndarray:
        """One unit-length float32 row per text; an empty text gets the [CLS]/[SEP] vector."""
        rows = [
            self._encode_batch(texts[i : i + self._batch_size])
            for i in range(0, len(texts), self._batch_size)
        ]
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.concatenate(rows).astype(np.float32)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1.0, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        normalised: np.ndarray = pooled / np.clip(norms, 1e-12, None)
        return normalised
