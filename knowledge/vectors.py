"""Vector search over passage embeddings: exact while it is fast, approximate beyond that.

Vectors are L2-normalised float32 embeddings searched by inner product, which is then their
cosine similarity. Below `exact_limit` vectors (`KB_EXACT_LIMIT`, 50k by default) a flat index
compares the query with every passage; from there on an inverted-file index (IVF) visits only
the `nprobe` clusters nearest to the query. An approximate index is only as good as its
recall, so every build measures recall@10 against exact search and raises `nprobe` until
`min_recall` is met; the report says what was reached, and the caller decides what to log.

Why these choices (measured with `python -m bench.kb_scale`; tables in docs/knowledge.md):

- Flat search reads every vector for every query. On one thread it took p95 5.7 ms at 50k
  passages and 11.5 ms at 100k (384 dimensions, the 2-core VM), so 50k leaves room for a busy
  machine under the 10-15 ms we allow exact search.
- IVF rather than HNSW: at 1M synthetic passages IVF with 2,048 lists met the recall target at
  nprobe 32 (34 s build, p95 1.5 ms); HNSW needed efSearch 1024 with M=32 (2.8 min build,
  p95 4.0 ms, a graph that adds 17% to the index) and missed it with M=16. IVF also keeps
  nothing beside the vectors but their ids, and its seeded k-means makes a build reproducible.
- A single query is searched on one thread (see `search`); building uses faiss's default
  OpenMP threads, i.e. every core.

Nothing here imports Rasa; nothing runs at import time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

# The approximate index used at and above the exact limit (`KB_EXACT_LIMIT`).
ANN_KIND = "ivf"
RECALL_K = 10
# Size of the sample the recall check uses when the caller gives no queries.
CHECK_QUERIES = 500
# Norm of the Gaussian noise added to each check query before renormalising: a perturbed
# stored vector keeps a cosine of 1/sqrt(1 + 0.75**2) = 0.8 with its source, a little closer
# than real questions come to their best passage (0.63-0.74 on the benchmark's sets).
CHECK_NOISE = 0.75
# Clusters an IVF index has: about 4 * sqrt(n), rounded down to a power of two, and never so
# many that k-means has fewer than TRAIN_PER_LIST training points per cluster. At 1M that is
# 2,048 (34 s to build, p95 1.5 ms); 1,024 built in 18 s for p95 3.4 ms, 4,096 in 85 s for 1.2.
IVF_LISTS_PER_SQRT_N = 4
TRAIN_PER_LIST = 64
KMEANS_ITERATIONS = 10
# First nprobe tried, and the ceiling of the doubling; past it the build reports a low recall.
IVF_START_NPROBE = 8
IVF_MAX_NPROBE = 512
# HNSW is kept as a measured alternative (bench/kb_scale.py compares it); these are its defaults.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_START_EF_SEARCH = 16
HNSW_MAX_EF_SEARCH = 1024

Vectors = NDArray[np.float32]


@dataclass(frozen=True)
class VectorIndexReport:
    """How an index was built, and what its search needs again after loading."""

    kind: str  # "flat", "ivf" or "hnsw"
    # Search params ("nprobe" or "ef_search") and build params ("nlist", "m", ...).
    params: dict[str, int]
    build_seconds: float
    recall_at_10: float | None  # None for flat: exact by definition
    checked_queries: int  # queries the recall check used (0 for flat)


def _matrix(array: NDArray[Any], name: str) -> Vectors:
    """Return `array` as a C-contiguous float32 matrix, the only layout faiss reads."""
    matrix = np.ascontiguousarray(array, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {matrix.shape}")
    return matrix


def _check_vectors(vectors: NDArray[np.float32]) -> Vectors:
    """Refuse input on which inner product would not be cosine similarity."""
    matrix = _matrix(vectors, "vectors")
    if matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError("cannot build a vector index from no vectors")
    # einsum computes the squared norms without a temporary copy of the whole matrix.
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
    if not np.all(np.abs(norms - 1.0) < 1e-3):
        raise ValueError("vectors must be finite and L2-normalised (inner product = cosine)")
    return matrix


def ivf_lists(n: int) -> int:
    """Number of IVF clusters for `n` vectors (a power of two, at least 1)."""
    target = min(IVF_LISTS_PER_SQRT_N * math.sqrt(n), n / TRAIN_PER_LIST)
    return 1 << max(0, math.floor(math.log2(max(1.0, target))))


def build_flat(vectors: NDArray[np.float32]) -> Any:
    """Exact inner-product index over `vectors`."""
    matrix = _check_vectors(vectors)
    index = faiss.IndexFlatIP(matrix.shape[1])
    index.add(matrix)
    return index


def build_ivf(
    vectors: NDArray[np.float32],
    *,
    nlist: int | None = None,
    nprobe: int = IVF_START_NPROBE,
    train_per_list: int = TRAIN_PER_LIST,
    seed: int = 0,
) -> tuple[Any, dict[str, int]]:
    """IVF index with exact (uncompressed) vectors in its lists; returns it and its params.

    Spherical k-means finds the clusters, on a seeded sample of `train_per_list` points per
    cluster: k-means cost grows with the sample, and more points barely move the centroids.
    """
    matrix = _check_vectors(vectors)
    n, dim = matrix.shape
    lists = nlist or ivf_lists(n)
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, lists, faiss.METRIC_INNER_PRODUCT)
    index.cp.spherical = True  # centroids on the unit sphere, like the vectors
    index.cp.niter = KMEANS_ITERATIONS
    index.cp.seed = seed
    train_points = min(n, lists * train_per_list)
    sample = np.random.default_rng(seed).choice(n, size=train_points, replace=False)
    index.train(matrix[np.sort(sample)])
    index.add(matrix)
    index.nprobe = min(nprobe, lists)
    params = {
        "nlist": lists,
        "nprobe": int(index.nprobe),
        "train_points": train_points,
        "kmeans_iterations": KMEANS_ITERATIONS,
    }
    return index, params


def build_hnsw(
    vectors: NDArray[np.float32],
    *,
    m: int = HNSW_M,
    ef_construction: int = HNSW_EF_CONSTRUCTION,
    ef_search: int = HNSW_START_EF_SEARCH,
) -> tuple[Any, dict[str, int]]:
    """HNSW graph over exact vectors; returns it and its params (the measured alternative)."""
    matrix = _check_vectors(vectors)
    index = faiss.IndexHNSWFlat(matrix.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    index.hnsw.efSearch = ef_search
    index.add(matrix)
    params = {"m": m, "ef_construction": ef_construction, "ef_search": ef_search}
    return index, params


def check_queries(vectors: NDArray[np.float32], count: int, seed: int) -> Vectors:
    """Stand-ins for real questions: stored vectors with noise, and blends of two of them.

    The raw stored vectors would flatter the index: each is its own nearest neighbour at
    similarity 1, so an IVF search always probes the cluster that holds it and an HNSW search
    walks straight to it. Real questions lie near passages or between topics; half of these
    queries are a stored vector plus noise, half the sum of two random stored vectors plus
    noise, each renormalised (perturbed vectors alone were easier to search than real
    questions). It is a proxy: on the benchmark's sets every automatic build reached recall@10
    0.96 to 0.999 on real StackFAQ questions, but an IVF index with too few lists (256 at
    100k) read 0.98 where the questions got 0.94 (docs/knowledge.md).
    """
    rng = np.random.default_rng(seed)
    n, dim = vectors.shape
    count = min(count, n)
    near = vectors[np.sort(rng.choice(n, size=count - count // 2, replace=False))]
    pairs = rng.integers(0, n, size=(count // 2, 2))
    between = vectors[pairs[:, 0]] + vectors[pairs[:, 1]]
    between /= np.linalg.norm(between, axis=1, keepdims=True)
    mixed = np.vstack([near, between])
    mixed += rng.standard_normal(mixed.shape, dtype=np.float32) * (CHECK_NOISE / math.sqrt(dim))
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    return np.ascontiguousarray(mixed, dtype=np.float32)


def exact_neighbours(
    vectors: NDArray[np.float32], queries: NDArray[np.float32], k: int
) -> NDArray[np.int64]:
    """Positions of the `k` best vectors for each query, by brute force."""
    _, positions = faiss.knn(
        _matrix(queries, "queries"), _matrix(vectors, "vectors"), k, faiss.METRIC_INNER_PRODUCT
    )
    return np.asarray(positions, dtype=np.int64)


def recall(found: NDArray[np.int64], exact: NDArray[np.int64]) -> float:
    """Mean share of each query's exact top-k that the approximate search found."""
    if exact.size == 0:
        return 1.0
    hits = sum(
        len(set(row.tolist()) & set(truth.tolist()))
        for row, truth in zip(found, exact, strict=True)
    )
    return hits / exact.size


def set_search_params(index: Any, params: Mapping[str, int]) -> None:
    """Apply the search-time params a report recorded ("nprobe" or "ef_search")."""
    if "nprobe" in params:
        if not isinstance(index, faiss.IndexIVF):
            raise ValueError("nprobe given for an index that is not IVF")
        index.nprobe = int(params["nprobe"])
    if "ef_search" in params:
        if not isinstance(index, faiss.IndexHNSW):
            raise ValueError("ef_search given for an index that is not HNSW")
        index.hnsw.efSearch = int(params["ef_search"])


def tune_search(
    index: Any,
    params: dict[str, int],
    vectors: NDArray[np.float32],
    queries: NDArray[np.float32],
    *,
    min_recall: float,
) -> tuple[dict[str, int], float]:
    """Double the search effort from its start until recall@10 reaches `min_recall`.

    Returns the final params and the recall they reach; when the ceiling is hit first, the
    recall is below `min_recall` and the index is left at the ceiling's (best) effort.
    """
    k = min(RECALL_K, index.ntotal)
    exact = exact_neighbours(vectors, queries, k)
    if isinstance(index, faiss.IndexIVF):
        name, ceiling = "nprobe", min(IVF_MAX_NPROBE, int(index.nlist))
    else:
        name, ceiling = "ef_search", HNSW_MAX_EF_SEARCH
    effort = params[name]
    while True:
        set_search_params(index, {name: effort})
        _, found = index.search(queries, k)
        reached = recall(found, exact)
        if reached >= min_recall or effort >= ceiling:
            return {**params, name: effort}, reached
        effort = min(effort * 2, ceiling)


def build_vector_index(
    vectors: NDArray[np.float32],
    *,
    exact_limit: int,
    min_recall: float = 0.95,
    queries: NDArray[np.float32] | None = None,
    seed: int = 0,
) -> tuple[Any, VectorIndexReport]:
    """Build a flat index below `exact_limit` vectors, else an IVF index checked for recall.

    `queries` (unit vectors) are what the recall check searches for; without them it uses
    `CHECK_QUERIES` stand-ins made from the stored vectors (see `check_queries`). The report's
    recall is below `min_recall` when even the ceiling effort could not reach it: the index
    still works, only less exactly, and the caller should say so.
    """
    start = time.perf_counter()
    matrix = _check_vectors(vectors)
    if matrix.shape[0] < exact_limit:
        flat = build_flat(matrix)
        return flat, VectorIndexReport("flat", {}, time.perf_counter() - start, None, 0)
    checks = (
        check_queries(matrix, CHECK_QUERIES, seed)
        if queries is None
        else _matrix(queries, "queries")
    )
    if checks.shape[0] == 0 or checks.shape[1] != matrix.shape[1]:
        raise ValueError(f"recall check needs queries of dimension {matrix.shape[1]}")
    index, params = build_ivf(matrix, seed=seed)
    params, reached = tune_search(index, params, matrix, checks, min_recall=min_recall)
    report = VectorIndexReport(
        kind=ANN_KIND,
        params=params,
        build_seconds=time.perf_counter() - start,
        recall_at_10=reached,
        checked_queries=int(checks.shape[0]),
    )
    return index, report


def write_vector_index(index: Any, path: Path) -> None:
    """Write `index` to `path` in faiss's own format (no pickle)."""
    faiss.write_index(index, str(path))


def read_vector_index(path: Path, params: Mapping[str, int]) -> Any:
    """Read an index written by `write_vector_index` and apply its report's search params."""
    index = faiss.read_index(str(path))
    set_search_params(index, params)
    return index


def search(
    index: Any, queries: NDArray[np.float32], k: int, *, threads: int | None = None
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Return (scores, positions), best first, of shape (len(queries), min(k, index size)).

    An IVF search can find fewer than k vectors in the clusters it probes; the missing places
    hold position -1 (and a score of about -3.4e38), so callers skip negative positions.

    A single query runs on one thread unless `threads` says otherwise. faiss splits a flat
    search of one query over all OpenMP threads, and each search then waits at a barrier for
    the slowest of them: on a machine busy with other work (the bot's own servers) that wait is
    a scheduler tick or more. Measured on the 2-core VM under load, a flat search over 10k
    vectors took 0.8 ms on one thread and 11-19 ms on two. The setting is per calling thread,
    so an index being built elsewhere keeps all cores.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    matrix = _matrix(queries, "queries")
    if matrix.shape[1] != index.d:
        raise ValueError(f"queries have dimension {matrix.shape[1]}, the index {index.d}")
    wanted = threads if threads is not None else (1 if matrix.shape[0] == 1 else None)
    previous = faiss.omp_get_max_threads()
    if wanted is not None:
        faiss.omp_set_num_threads(wanted)
    try:
        scores, positions = index.search(matrix, min(k, int(index.ntotal)))
    finally:
        faiss.omp_set_num_threads(previous)
    return np.asarray(scores, dtype=np.float32), np.asarray(positions, dtype=np.int64)
