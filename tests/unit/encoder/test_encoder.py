"""The ONNX sentence encoder (NLU and knowledge questions): exported from MiniLM, equal to it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from actions.services import query_embedder
from config.settings import Settings
from encoder.embedding import (
    Embedder,
    OnnxEmbedder,
    RememberingEmbedder,
    SentenceTransformerEmbedder,
    Vectors,
)
from encoder.export import export
from encoder.sentence import MANIFEST_FILE, MODEL_FILE, EncoderMissing, SentenceEncoder

TEXTS = [
    "where is my order 100102 and can I have the invoice?",
    "what's a good name for a dog",
    "Kann ich mit Rechnung bezahlen?",
    "ok",
]


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("nlu") / "encoder"
    export(Settings().model_path, out)
    return out


def test_the_export_gives_the_knowledge_bases_vectors(encoder_dir: Path, embedder) -> None:
    got = SentenceEncoder(encoder_dir).encode(TEXTS)
    expected = np.asarray(embedder.encode(TEXTS))
    assert got.shape == (len(TEXTS), 384)
    assert np.min(np.sum(got * expected, axis=1)) > 0.9999


def test_a_batch_and_single_messages_agree(encoder_dir: Path) -> None:
    encoder = SentenceEncoder(encoder_dir, batch_size=3)
    batch = encoder.encode(TEXTS)
    one_by_one = np.concatenate([encoder.encode([text]) for text in TEXTS])
    assert np.allclose(batch, one_by_one, atol=1e-5)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)


def test_nothing_to_encode_is_an_empty_matrix(encoder_dir: Path) -> None:
    assert SentenceEncoder(encoder_dir).encode([]).shape == (0, 384)


def test_a_missing_model_file_says_how_to_build_it(encoder_dir: Path, tmp_path: Path) -> None:
    for item in encoder_dir.iterdir():
        if item.name != MODEL_FILE:
            (tmp_path / item.name).write_bytes(item.read_bytes())
    with pytest.raises(EncoderMissing, match=r"model\.onnx.*make encoder"):
        SentenceEncoder(tmp_path)


def test_a_failed_export_leaves_the_old_encoder_in_place(encoder_dir: Path, tmp_path: Path) -> None:
    before = (encoder_dir / "manifest.json").read_text()
    with pytest.raises(OSError):
        export(tmp_path / "no-such-model", encoder_dir)
    assert (encoder_dir / "manifest.json").read_text() == before
    assert SentenceEncoder(encoder_dir).encode(["still works"]).shape == (1, 384)


def test_the_onnx_embedder_searches_the_index_built_with_sentence_transformers(
    encoder_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    onnx = OnnxEmbedder(encoder_dir)
    assert onnx.name == embedder.name
    assert onnx.dimension == embedder.dimension
    assert np.min(np.sum(onnx.encode(TEXTS) * embedder.encode(TEXTS), axis=1)) > 0.9999


class CountingEmbedder:
    """The real model, recording which texts it was asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []
        self.dimension = inner.dimension
        self.name = inner.name

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        return self.inner.encode(texts)


def test_remembered_vectors_are_the_models_and_only_new_texts_are_embedded(
    encoder_dir: Path,
) -> None:
    model = OnnxEmbedder(encoder_dir)
    counting = CountingEmbedder(model)
    remembering = RememberingEmbedder(counting)

    first = remembering.encode([TEXTS[0], TEXTS[1], TEXTS[0]])
    again = remembering.encode([TEXTS[1], TEXTS[2], TEXTS[0]])

    assert counting.calls == [[TEXTS[0], TEXTS[1]], [TEXTS[2]]]
    assert np.allclose(first, model.encode([TEXTS[0], TEXTS[1], TEXTS[0]]), atol=1e-6)
    assert np.allclose(again, model.encode([TEXTS[1], TEXTS[2], TEXTS[0]]), atol=1e-6)
    assert remembering.encode([]).shape == (0, model.dimension)


def test_the_memory_is_bounded_and_forgets_the_least_recently_used(encoder_dir: Path) -> None:
    counting = CountingEmbedder(OnnxEmbedder(encoder_dir))
    remembering = RememberingEmbedder(counting, size=2)
    remembering.encode([TEXTS[0], TEXTS[1]])
    remembering.encode([TEXTS[0]])  # now TEXTS[1] is the oldest
    remembering.encode([TEXTS[2]])  # pushes TEXTS[1] out
    counting.calls.clear()

    remembering.encode([TEXTS[0], TEXTS[2], TEXTS[1]])

    assert counting.calls == [[TEXTS[1]]]


def test_the_action_server_embeds_questions_through_the_export_by_default(
    encoder_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    chosen = query_embedder(Settings(encoder_dir=encoder_dir))
    assert chosen.name == embedder.name
    assert np.allclose(chosen.encode(TEXTS), OnnxEmbedder(encoder_dir).encode(TEXTS), atol=1e-6)


def test_an_export_of_another_model_is_refused_with_the_way_out(
    encoder_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "encoder"
    shutil.copytree(encoder_dir, other)
    manifest = json.loads((other / MANIFEST_FILE).read_text())
    manifest["source"] = "paraphrase-multilingual-MiniLM-L12-v2"
    (other / MANIFEST_FILE).write_text(json.dumps(manifest))

    with pytest.raises(ValueError, match=r"multilingual.*make encoder.*KB_QUERY_ENCODER"):
        query_embedder(Settings(encoder_dir=other))


def test_torch_can_still_embed_the_questions_without_an_export(
    encoder_dir: Path, tmp_path: Path
) -> None:
    chosen = query_embedder(Settings(encoder_dir=tmp_path / "none", kb_query_encoder="torch"))
    onnx = OnnxEmbedder(encoder_dir).encode(TEXTS)
    assert np.min(np.sum(chosen.encode(TEXTS) * onnx, axis=1)) > 0.9999
