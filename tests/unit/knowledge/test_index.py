import json
import threading
from pathlib import Path

import numpy as np
import pytest

from knowledge.cache import EmbeddingCache
from knowledge.configured import retrieval_settings
from knowledge.index import (
    IndexUnavailable,
    ingest,
    load_index,
    passage_vectors,
    plan_ingest,
)
from knowledge.retrieve import KnowledgeBase, LiveIndex
from knowledge.sources import SourceError
from tests.conftest import DEFAULTS

RETRIEVAL = retrieval_settings(DEFAULTS)  # the settings' retrieval, as the agent runs it

ARTICLES = {
    "pay": (
        "Payment methods",
        "We accept Visa, Mastercard and PayPal. Klarna lets you pay in three instalments. "
        "Gift cards work too.",
    ),
    "ship": (
        "Delivery times",
        "UK Standard delivery takes 3 to 5 working days. "
        "Express arrives the next working day if you order before 2 pm.",
    ),
    "ret": (
        "Returns",
        "You can return unused items within 30 days of delivery. "
        "UK returns are free with a prepaid label.",
    ),
}


def write_article(folder: Path, article_id: str, title: str, body: str, topic: str = "general"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{article_id}.md").write_text(
        f"---\nid: {article_id}\ntitle: {title}\nurl: https://x/{article_id}\n"
        f"topic: {topic}\n---\n{body}\n",
        encoding="utf-8",
    )


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    folder = tmp_path / "sources"
    for article_id, (title, body) in ARTICLES.items():
        write_article(folder, article_id, title, body)
    return folder


def load(index_dir: Path, embedder):
    return load_index(index_dir, model_name=embedder.name, dimension=embedder.dimension)


def test_ingest_then_load_answers_with_the_right_article(tmp_path, sources, embedder):
    report = ingest([sources], embedder, tmp_path / "index", exact_limit=DEFAULTS.kb_exact_limit)
    assert report.plan.added == ("pay", "ret", "ship")
    assert report.embedded > 0 and report.reused == 0
    kb = KnowledgeBase(
        load(tmp_path / "index", embedder), embedder, min_score=0.3, settings=RETRIEVAL
    )
    assert kb.search("can I pay with paypal", k=1)[0].chunk.article_id == "pay"
    answer = kb.answer("how many days do I have to send something back")
    assert answer is not None
    assert (answer.article_id, answer.url) == ("ret", "https://x/ret")
    assert answer.chunk_id == "ret#0"


def test_faq_vectors_are_unit_means_of_answer_and_question_article_vectors_stay():
    content = np.asarray([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    questions = np.asarray([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]], dtype=np.float32)
    mixed = passage_vectors(content, questions, np.asarray([True, True, False]))
    np.testing.assert_allclose(np.linalg.norm(mixed, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(mixed[0], [2**-0.5, 2**-0.5], rtol=1e-6)
    np.testing.assert_allclose(mixed[1], [0.0, 1.0])
    np.testing.assert_allclose(mixed[2], [1.0, 0.0])  # an article passage: its text alone


def test_reingesting_unchanged_sources_does_nothing(tmp_path, sources, embedder):
    ingest([sources], embedder, tmp_path / "index", exact_limit=DEFAULTS.kb_exact_limit)
    first = (tmp_path / "index" / "current").resolve()
    report = ingest([sources], embedder, tmp_path / "index", exact_limit=DEFAULTS.kb_exact_limit)
    assert report.manifest is None and report.plan.up_to_date
    assert (tmp_path / "index" / "current").resolve() == first
    assert plan_ingest([sources], tmp_path / "index", model=embedder.name).up_to_date


class CountingEmbedder:
    """The real model, counting the texts it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.texts: list[str] = []

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def name(self) -> str:
        return self.inner.name

    def encode(self, texts):
        self.texts.extend(texts)
        return self.inner.encode(texts)


def test_a_changed_article_is_the_only_one_embedded_again(tmp_path, sources, embedder):
    index_dir = tmp_path / "index"
    ingest([sources], embedder, index_dir, exact_limit=DEFAULTS.kb_exact_limit)
    write_article(sources, "ret", "Returns", "You can return unused items within 60 days.")
    counting = CountingEmbedder(embedder)
    report = ingest([sources], counting, index_dir, exact_limit=DEFAULTS.kb_exact_limit)
    assert report.plan.changed == ("ret",) and report.plan.added == ()
    # Only the edited passage's text is new.
    assert counting.texts == ["Returns. You can return unused items within 60 days."]
    assert report.embedded == 1
    kb = KnowledgeBase(load(index_dir, embedder), embedder, min_score=0.0, settings=RETRIEVAL)
    assert "60 days" in kb.search("return window", k=1)[0].chunk.text


def test_a_deleted_article_disappears_and_other_sources_stay(tmp_path, sources, embedder):
    index_dir = tmp_path / "index"
    other = tmp_path / "other"
    write_article(other, "gift", "Gift cards", "Gift cards never expire and work online.")
    ingest([sources], embedder, index_dir, exact_limit=DEFAULTS.kb_exact_limit)
    ingest([other], embedder, index_dir, exact_limit=DEFAULTS.kb_exact_limit)
    assert {d.id for d in load(index_dir, embedder).documents} == {"pay", "ret", "ship", "gift"}
    (sources / "ship.md").unlink()
    report = ingest([sources], embedder, index_dir, exact_limit=DEFAULTS.kb_exact_limit)
    assert report.plan.removed == ("ship",)
    index = load(index_dir, embedder)
    assert {d.id for d in index.documents} == {"pay", "ret", "gift"}
    assert all(chunk.article_id != "ship" for chunk in index.chunks)
    assert report.embedded == 0  # nothing new to embed
    # The cache keeps only what the collection holds now.
    cache = EmbeddingCache(index_dir / "embeddings.sqlite", model=embedder.name, dimension=384)
    assert cache.count() == len({c.embedding_text() for c in index.chunks})


def test_the_same_id_from_another_source_is_refused(tmp_path, sources, embedder):
    index_dir = tmp_path / "index"
    ingest([sources], embedder, index_dir, exact_limit=DEFAULTS.kb_exact_limit)
    clash = tmp_path / "clash"
    write_article(clash, "pay", "Paying", "Another payment article.")
    with pytest.raises(SourceError, match="already in the collection"):
        ingest([clash], embedder, index_dir, exact_limit=DEFAULTS.kb_exact_limit)
    assert {d.id for d in load(index_dir, embedder).documents} == {"pay", "ret", "ship"}


def test_older_builds_are_pruned(tmp_path, sources, embedder):
    index_dir = tmp_path / "index"
    for n in range(3):
        write_article(sources, "extra", "Extra", f"Version {n} of an extra article.")
        ingest([sources], embedder, index_dir, exact_limit=DEFAULTS.kb_exact_limit)
    assert len([p for p in (index_dir / "builds").iterdir() if p.is_dir()]) == 2


def test_missing_index_is_a_clear_error(tmp_path, embedder):
    with pytest.raises(IndexUnavailable, match="make index"):
        load(tmp_path, embedder)


@pytest.mark.parametrize("damaged", ["vectors.faiss", "lexical.npz", "chunks.json"])
def test_corrupt_index_is_a_clear_error(tmp_path, sources, embedder, damaged):
    ingest([sources], embedder, tmp_path, exact_limit=DEFAULTS.kb_exact_limit)
    (tmp_path / "current" / damaged).write_bytes(b"not what it should be")
    with pytest.raises(IndexUnavailable, match="unreadable"):
        load(tmp_path, embedder)


def test_a_chunk_list_that_does_not_fit_the_vectors_is_refused(tmp_path, sources, embedder):
    ingest([sources], embedder, tmp_path, exact_limit=DEFAULTS.kb_exact_limit)
    chunks = tmp_path / "current" / "chunks.json"
    chunks.write_text(json.dumps(json.loads(chunks.read_text())[:-1]))
    with pytest.raises(IndexUnavailable, match="does not match"):
        load(tmp_path, embedder)


def test_index_of_another_model_is_refused(tmp_path, sources, embedder):
    ingest([sources], embedder, tmp_path, exact_limit=DEFAULTS.kb_exact_limit)
    manifest = tmp_path / "current" / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "model": "another-model"}))
    with pytest.raises(IndexUnavailable, match="rebuild"):
        load(tmp_path, embedder)


def test_a_running_reader_picks_up_a_new_build_without_failing_a_query(tmp_path, sources, embedder):
    index_dir = tmp_path / "index"
    ingest([sources], embedder, index_dir, exact_limit=DEFAULTS.kb_exact_limit)
    live = LiveIndex(
        index_dir, model_name=embedder.name, dimension=embedder.dimension, check_every=0.0
    )
    kb = KnowledgeBase(live, embedder, min_score=0.0, settings=RETRIEVAL)
    errors: list[BaseException] = []
    answered = 0
    stop = threading.Event()

    def ask() -> None:
        nonlocal answered
        while not stop.is_set():
            try:
                assert kb.search("gift card balance", k=1)
                answered += 1
            except BaseException as error:
                errors.append(error)

    readers = [threading.Thread(target=ask) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        for n in range(4):
            write_article(sources, "gift", "Gift cards", f"Gift cards, version {n}, never expire.")
            ingest([sources], embedder, index_dir, exact_limit=DEFAULTS.kb_exact_limit)
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert not errors
    assert answered > 0
    live.wait()
    assert any("version 3" in chunk.text for chunk in kb.index.chunks)


def test_a_broken_new_build_keeps_the_old_one_in_service(tmp_path, sources, embedder):
    index_dir = tmp_path / "index"
    ingest([sources], embedder, index_dir, exact_limit=DEFAULTS.kb_exact_limit)
    live = LiveIndex(
        index_dir, model_name=embedder.name, dimension=embedder.dimension, check_every=0.0
    )
    before = live.get()
    write_article(sources, "gift", "Gift cards", "Gift cards never expire.")
    ingest([sources], embedder, index_dir, exact_limit=DEFAULTS.kb_exact_limit)
    (index_dir / "current" / "vectors.faiss").write_bytes(b"damaged")
    live.wait()
    assert live.get() is before
