"""How well the gap list groups questions by meaning, on a labelled sample, into docs/crm.md.

`make bench-gaps` embeds bench/data/gap_questions.csv (customer questions the help centre does
not answer, each labelled with its topic) with the ONNX MiniLM, clusters them as
crm/insights/gaps.py does at a sweep of distance thresholds, and writes a table between the ``gaps``
markers:

* **purity**: each cluster counts its most common topic; the share of questions so counted
  (1.0 when no cluster mixes topics; trivially 1.0 with one cluster per question);
* **inverse purity**: each topic counts its largest cluster; the share so counted (1.0 when no
  topic is split; trivially 1.0 with a single cluster);
* **F**: their harmonic mean, which neither trivial answer wins; the threshold with the best F
  is the one crm/insights/gaps.py uses (ties: the larger threshold, fewer clusters for staff to
  read);
* **ARI**: the adjusted Rand index (0 for chance, 1 for the labelled grouping);
* time to cluster, median and spread of repeated runs, on this sample and on bigger ones made
  of jittered copies of it (clustering is quadratic).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sklearn.metrics import adjusted_rand_score

from bench.report import write_block
from config.settings import get_settings
from crm.insights.gaps import DISTANCE_THRESHOLD, cluster
from encoder.embedding import OnnxEmbedder

SAMPLE = Path(__file__).parent / "data" / "gap_questions.csv"
THRESHOLDS = tuple(round(0.40 + 0.025 * n, 3) for n in range(19))  # 0.40 ... 0.85
SIZES = (1000, 5000)


def read_sample(path: Path = SAMPLE) -> tuple[list[str], list[str]]:
    """Questions and their topics."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r["question"] for r in rows], [r["topic"] for r in rows]


def purity(clusters: Sequence[int], topics: Sequence[str]) -> float:
    """Share of questions in their cluster's most common topic."""
    by_cluster: dict[int, Counter[str]] = {}
    for c, t in zip(clusters, topics, strict=True):
        by_cluster.setdefault(c, Counter())[t] += 1
    return sum(max(counts.values()) for counts in by_cluster.values()) / len(topics)


def inverse_purity(clusters: Sequence[int], topics: Sequence[str]) -> float:
    """Share of questions in their topic's largest cluster."""
    return purity([hash(t) for t in topics], [str(c) for c in clusters])


def f_measure(p: float, ip: float) -> float:
    """Harmonic mean of purity and inverse purity."""
    return 2 * p * ip / (p + ip) if p + ip else 0.0


def timed(vectors: npt.NDArray[np.float32], threshold: float, repeats: int) -> list[float]:
    """Seconds per clustering run."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        cluster(vectors, threshold)
        times.append(time.perf_counter() - start)
    return times


def jittered(vectors: npt.NDArray[np.float32], size: int, seed: int = 7) -> npt.NDArray[np.float32]:
    """`size` unit vectors: copies of `vectors` with noise, so no two are equal."""
    rng = np.random.default_rng(seed)
    picked = vectors[rng.integers(0, len(vectors), size)]
    noisy = picked + rng.normal(0, 0.03, picked.shape).astype(np.float32)
    unit: npt.NDArray[np.float32] = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(
        np.float32
    )
    return unit


Row = tuple[float, int, float, float, float, float]


def best_of(vectors: npt.NDArray[np.float32], topics: Sequence[str], linkage: str) -> Row:
    """The sweep's best-F row for another linkage (for comparison only)."""
    from sklearn.cluster import AgglomerativeClustering

    rows = []
    for threshold in THRESHOLDS:
        model = AgglomerativeClustering(
            n_clusters=None, metric="cosine", linkage=linkage, distance_threshold=threshold
        )
        clusters = model.fit_predict(vectors).tolist()
        p, ip = purity(clusters, topics), inverse_purity(clusters, topics)
        rows.append(
            (
                threshold,
                len(set(clusters)),
                p,
                ip,
                f_measure(p, ip),
                adjusted_rand_score(topics, clusters),
            )
        )
    return max(rows, key=lambda r: (round(r[4], 4), r[0]))


def spread(values: Sequence[float]) -> str:
    """Median and range in milliseconds."""
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):.0f} ms ({min(ms):.0f}–{max(ms):.0f})"


def main() -> int:
    """Sweep thresholds, time the clustering, print and optionally write the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="Markdown file to write the table into")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    questions, topics = read_sample()
    embedder = OnnxEmbedder(get_settings().encoder_dir)
    embed_times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        vectors = embedder.encode(questions)
        embed_times.append(time.perf_counter() - start)
    rows: list[Row] = []
    for threshold in THRESHOLDS:
        clusters = cluster(vectors, threshold).tolist()
        p, ip = purity(clusters, topics), inverse_purity(clusters, topics)
        rows.append(
            (
                threshold,
                len(set(clusters)),
                p,
                ip,
                f_measure(p, ip),
                adjusted_rand_score(topics, clusters),
            )
        )
    best = max(rows, key=lambda r: (round(r[4], 4), r[0]))
    linkages = [("average", best)] + [
        (linkage, best_of(vectors, topics, linkage)) for linkage in ("complete", "single")
    ]
    lines = [
        f"Sample: {len(questions)} questions in {len(set(topics))} topics "
        f"(bench/data/gap_questions.csv); average linkage, cosine distance.",
        "",
        "| Distance threshold | Clusters | Purity | Inverse purity | F | ARI |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for threshold, n, p, ip, f, ari in rows:
        mark = " **(chosen)**" if threshold == best[0] else ""
        lines.append(f"| {threshold:.3f}{mark} | {n} | {p:.3f} | {ip:.3f} | {f:.3f} | {ari:.3f} |")
    lines += [
        "",
        "Other linkages, each at its own best threshold of the same sweep:",
        "",
        "| Linkage | Threshold | Clusters | Purity | Inverse purity | F | ARI |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for linkage, (threshold, n, p, ip, f, ari) in linkages:
        lines.append(
            f"| {linkage} | {threshold:.3f} | {n} | {p:.3f} | {ip:.3f} | {f:.3f} | {ari:.3f} |"
        )
    lines += [
        "",
        f"Best F at threshold {best[0]:.3f}; crm/insights/gaps.py uses DISTANCE_THRESHOLD = "
        f"{DISTANCE_THRESHOLD:.3f}.",
        "",
        f"Time ({args.repeats} runs each, median and range, 2 CPU cores):",
        "",
        "| Step | Questions | Time |",
        "|---|---:|---:|",
        f"| Embed (ONNX MiniLM, 1 thread) | {len(questions)} | {spread(embed_times)} |",
        f"| Cluster | {len(questions)} | {spread(timed(vectors, best[0], args.repeats))} |",
    ]
    for size in SIZES:
        many = jittered(vectors, size)
        repeats = args.repeats if size <= 1000 else max(1, args.repeats // 2 + 1)
        lines.append(f"| Cluster | {size:,} | {spread(timed(many, best[0], repeats))} |")
    table = "\n".join(lines)
    print(table)
    if args.write:
        write_block(args.write, "gaps", table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
