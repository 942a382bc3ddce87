"""The vector index: exact below the limit, recall-checked IVF above it."""

from pathlib import Path

import faiss
import numpy as np
import pytest

from knowledge.vectors import (
    CHECK_QUERIES,
    IVF_START_NPROBE,
    build_hnsw,
    build_vector_index,
    check_queries,
    read_vector_index,
    search,
    tune_search,
    write_vector_index,
)
from tests.conftest import DEFAULTS

DIM = 32


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around 100 overlapping centres: clustered like real embeddings, and hard
    enough that the IVF index needs more than its first nprobe to reach 0.95."""
    rng = np.random.default_rng(seed)
    middle = np.random.default_rng(0).standard_normal((100, DIM))  # the same centres every call
    picks = rng.integers(0, len(middle), size=n)
    return unit(middle[picks] + rng.standard_normal((n, DIM)))


def brute_force(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = queries @ vectors.T
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, top, axis=1), top


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(
        np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(found, exact, strict=True)])
    )


def test_below_the_limit_the_index_is_flat_and_returns_the_brute_force_top_k() -> None:
    vectors = clustered(999)
    queries = clustered(50, seed=1)
    index, report = build_vector_index(vectors, exact_limit=1000)
    assert (report.kind, report.params, report.recall_at_10, report.checked_queries) == (
        "flat",
        {},
        None,
        0,
    )
    scores, positions = search(index, queries, 10)
    exact_scores, exact_positions = brute_force(vectors, queries, 10)
    np.testing.assert_array_equal(positions, exact_positions)
    np.testing.assert_allclose(scores, exact_scores, atol=1e-5)
    assert positions.dtype == np.int64 and scores.dtype == np.float32


def test_at_the_limit_an_ivf_index_is_built_and_its_reported_recall_is_true() -> None:
    vectors = clustered(3000)
    queries = clustered(300, seed=1)
    index, report = build_vector_index(vectors, exact_limit=3000, queries=queries, min_recall=0.95)
    assert report.kind == "ivf"
    assert report.checked_queries == 300
    assert report.recall_at_10 is not None and report.recall_at_10 >= 0.95
    assert report.params["nlist"] > 1 and report.params["nprobe"] < report.params["nlist"]
    # The recall the report claims is the recall an independent brute force finds.
    _, found = search(index, queries, 10)
    assert recall(found, brute_force(vectors, queries, 10)[1]) == pytest.approx(report.recall_at_10)


def test_without_queries_the_check_uses_perturbed_vectors_and_holds_on_fresh_queries() -> None:
    vectors = clustered(3000)
    index, report = build_vector_index(vectors, exact_limit=1000)
    assert report.checked_queries == CHECK_QUERIES
    assert report.recall_at_10 is not None and report.recall_at_10 >= 0.95
    fresh = clustered(200, seed=7)
    _, found = search(index, fresh, 10)
    assert recall(found, brute_force(vectors, fresh, 10)[1]) >= 0.9


def test_perturbed_check_queries_are_unit_vectors_near_but_not_at_stored_ones() -> None:
    vectors = clustered(3000)
    checks = check_queries(vectors, 100, seed=0)
    np.testing.assert_allclose(np.linalg.norm(checks, axis=1), 1.0, atol=1e-5)
    best = (checks @ vectors.T).max(axis=1)
    assert np.all(best < 0.99) and np.median(best) > 0.6


def test_the_effort_rises_only_as_far_as_the_recall_needs() -> None:
    vectors = clustered(3000)
    _, easy = build_vector_index(vectors, exact_limit=1000, min_recall=0.0)
    assert easy.params["nprobe"] == IVF_START_NPROBE
    # An unreachable target stops at the ceiling (here all lists) and says it fell short.
    _, hard = build_vector_index(vectors, exact_limit=1000, min_recall=1.01)
    assert hard.params["nprobe"] == hard.params["nlist"]
    assert hard.recall_at_10 == 1.0


def test_the_build_is_deterministic_for_a_seed() -> None:
    vectors = clustered(3000)
    queries = clustered(100, seed=3)
    first, first_report = build_vector_index(vectors, exact_limit=1000, seed=5)
    again, again_report = build_vector_index(vectors, exact_limit=1000, seed=5)
    assert first_report.params == again_report.params
    assert first_report.recall_at_10 == again_report.recall_at_10
    np.testing.assert_array_equal(search(first, queries, 10)[1], search(again, queries, 10)[1])


def test_search_params_survive_writing_and_reading(tmp_path: Path) -> None:
    vectors = clustered(3000)
    queries = clustered(100, seed=2)
    index, report = build_vector_index(vectors, exact_limit=1000, min_recall=0.99)
    assert report.params["nprobe"] > IVF_START_NPROBE  # so the read must restore it
    path = tmp_path / "index.faiss"
    write_vector_index(index, path)
    loaded = read_vector_index(path, report.params)
    assert loaded.nprobe == report.params["nprobe"]
    before, after = search(index, queries, 10), search(loaded, queries, 10)
    np.testing.assert_array_equal(before[1], after[1])
    np.testing.assert_array_equal(before[0], after[0])
    # Other settings really change the results: the read did not just happen to match.
    cheap = read_vector_index(path, {"nprobe": 1})
    assert not np.array_equal(search(cheap, queries, 10)[1], after[1])


def test_params_of_another_kind_are_refused(tmp_path: Path) -> None:
    index, _ = build_vector_index(clustered(100), exact_limit=1000)
    write_vector_index(index, tmp_path / "flat.faiss")
    with pytest.raises(ValueError, match="not IVF"):
        read_vector_index(tmp_path / "flat.faiss", {"nprobe": 4})


def test_k_larger_than_the_index_returns_every_vector_once() -> None:
    vectors = clustered(7)
    index, _ = build_vector_index(vectors, exact_limit=DEFAULTS.kb_exact_limit)
    scores, positions = search(index, clustered(3, seed=1), 10)
    assert positions.shape == (3, 7) and scores.shape == (3, 7)
    for row in positions:
        assert sorted(row.tolist()) == list(range(7))
    assert np.all(np.diff(scores, axis=1) <= 0)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="no vectors"):
        build_vector_index(
            np.empty((0, DIM), dtype=np.float32), exact_limit=DEFAULTS.kb_exact_limit
        )
    with pytest.raises(ValueError, match="normalised"):
        build_vector_index(
            np.full((10, DIM), 2.0, dtype=np.float32), exact_limit=DEFAULTS.kb_exact_limit
        )
    with pytest.raises(ValueError, match="2-D"):
        build_vector_index(np.ones(DIM, dtype=np.float32), exact_limit=DEFAULTS.kb_exact_limit)
    index, _ = build_vector_index(clustered(10), exact_limit=DEFAULTS.kb_exact_limit)
    with pytest.raises(ValueError, match="dimension"):
        search(index, clustered(1)[:, :8], 3)
    with pytest.raises(ValueError, match="k must"):
        search(index, clustered(1), 0)


def test_an_hnsw_index_is_tuned_the_same_way() -> None:
    vectors = clustered(3000)
    queries = clustered(200, seed=4)
    index, params = build_hnsw(vectors, m=8, ef_construction=20, ef_search=4)
    params, reached = tune_search(index, params, vectors, queries, min_recall=0.97)
    assert reached >= 0.97 and params["ef_search"] > 4
    _, found = search(index, queries, 10)
    assert recall(found, brute_force(vectors, queries, 10)[1]) == pytest.approx(reached)


def test_one_query_runs_on_one_thread_and_leaves_the_setting_as_it_was() -> None:
    vectors = clustered(3000)
    queries = clustered(20, seed=6)
    index, _ = build_vector_index(vectors, exact_limit=10_000)
    before = faiss.omp_get_max_threads()
    batch = search(index, queries, 5)
    for row, query in enumerate(queries):
        scores, positions = search(index, query[None, :], 5)
        np.testing.assert_array_equal(positions[0], batch[1][row])
        np.testing.assert_allclose(scores[0], batch[0][row], atol=1e-6)
    assert faiss.omp_get_max_threads() == before


def test_an_ivf_search_marks_places_it_could_not_fill() -> None:
    vectors = clustered(3000)
    index, _ = build_vector_index(vectors, exact_limit=1000)
    index.nprobe = 1  # one cluster holds far fewer than 2,000 vectors
    scores, positions = search(index, clustered(2, seed=8), 2000)
    assert positions.shape == (2, 2000)
    assert np.all(positions[:, -1] == -1) and np.all(scores[positions < 0] < -1e30)
    filled = positions[0][positions[0] >= 0]
    assert len(set(filled.tolist())) == len(filled)
