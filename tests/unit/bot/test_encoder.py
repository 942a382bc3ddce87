"""The NLU's ONNX sentence encoder: exported from the packaged MiniLM, and equal to it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.nlu.encoder import MODEL_FILE, EncoderMissing, SentenceEncoder
from bot.nlu.export import export
from bot.settings import Settings

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
