"""Scale test of the knowledge base's vector index: 10k, 100k and 1M passages.

Embedding a million real passages with MiniLM on two CPU cores would take hours, so the
passages are synthetic but shaped like real embeddings: a base of real and template text is
embedded once (StackFAQ answers and titles, the shop articles' paragraphs, generated support
sentences), and each passage vector is a renormalised random mix of a few base vectors plus
Gaussian noise. The queries are real: the StackFAQ questions, embedded with MiniLM. Embedding
throughput is measured on real passages, so the time to embed a real collection of each size
can be extrapolated.

Each (size, index) pair is measured in a fresh process, so its peak memory is its own:

    python -m bench.kb_scale [--sizes 10000,100000,1000000] [--kinds flat auto]
                             [--mix main|hard] [--write docs/knowledge.md] [--out FILE]

`--kinds` also takes candidate indexes, e.g. `ivf:nlist=4096` or `hnsw:m=32,efc=80`; each is
tuned by the same build-time recall check as the automatic choice, which is how the choice
in knowledge/vectors.py was made.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.nlu import latency_report
from bench.report import write_block
from config.settings import ROOT

STACKFAQ = Path("/work/shared/data/stackfaq")
SEED = 0
K = 10
TEMPLATE_SENTENCES = 3000
THROUGHPUT_PASSAGES = 2000
BLOCK = 8192  # passages generated at a time: keeps the generator's own memory small


@dataclass(frozen=True)
class Mix:
    """How a synthetic passage is made: base vector 1 with weight 1, `parts - 1` others with
    weights drawn from [low, high], plus isotropic Gaussian noise of norm `noise`."""

    noise: float
    low: float
    high: float
    parts: int = 3

    def describe(self) -> str:
        """One phrase for the report."""
        return (
            f"{self.parts} base vectors (weights 1 and U({self.low}, {self.high})) plus "
            f"Gaussian noise of norm {self.noise}"
        )


# "main": every passage is new content between topics, not a near-copy of one base text, so
# the set grows the way a real collection does; at the base's own size it is harder to search
# than the real texts (higher local intrinsic dimension, lower IVF recall at equal nprobe).
# "hard": a stress test, noisier and more evenly mixed, far harder than the real texts.
MIXES = {"main": Mix(noise=0.3, low=0.3, high=0.7), "hard": Mix(noise=0.6, low=0.5, high=1.0)}

Spec = tuple[str, dict[str, int]]


@dataclass
class Row:
    """One index measured at one size."""

    size: int
    kind: str  # the spec as given: "flat", "auto", "ivf:nlist=4096", ...
    built: str  # what was built, with its final search params
    build_seconds: float
    check_recall: float | None  # recall@10 of the build-time check (stand-in queries)
    recall: float  # recall@10 of the real queries against exact search
    p50_ms: list[float]  # median, lowest, highest over the passes (as served: one thread)
    p95_ms: list[float]
    all_threads_ms: list[float]  # p50 and p95 with faiss's default thread count, for contrast
    peak_rss_mb: float  # the whole process: the passages themselves, the index, the build
    disk_mb: float  # the index file; about what it takes in memory once loaded


# --- texts ---------------------------------------------------------------------------------


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def article_paragraphs(root: Path) -> list[str]:
    """Paragraphs of the shop's articles, each after its title, as passages are embedded."""
    paragraphs = []
    for path in sorted(root.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        title = re.search(r"^title:\s*(.+)$", text, re.MULTILINE)
        body = text.split("---", 2)[-1]
        for block in re.split(r"\n\s*\n", body):
            lines = [line for line in block.strip().splitlines() if not line.startswith("#")]
            if lines:
                words = " ".join(lines).replace("**", "")
                paragraphs.append(f"{title.group(1) if title else path.stem}. {words}")
    return paragraphs


def template_sentences(count: int, seed: int) -> list[str]:
    """Support questions and answers from templates: the vocabulary of a shop's help centre."""
    things = [
        "order", "parcel", "refund", "gift card", "garden bench", "parasol", "BBQ", "hose",
        "cast iron pan", "plant pot", "invoice", "promo code", "account", "password",
        "delivery slot", "return label", "outdoor cover", "lawn mower", "trade account",
        "newsletter", "loyalty points", "warranty claim", "replacement part", "candle set",
    ]  # fmt: skip
    templates = [
        "How do I {verb} my {thing}{tail}?",
        "Can I {verb} the {thing}{tail}?",
        "Why can't I {verb} my {thing}{tail}?",
        "Is it possible to {verb} a {thing}{tail}?",
        "What happens if I {verb} my {thing}{tail}?",
        "I want to {verb} my {thing}{tail}, what should I do?",
        "You can {verb} your {thing}{tail} from the account page.",
        "To {verb} a {thing}{tail}, contact our support team by chat or email.",
        "We {verb} every {thing}{tail} within {n} working days.",
        "It is not possible to {verb} a {thing}{tail} once it has been dispatched.",
        "Please allow {n} days for us to {verb} your {thing}{tail}.",
    ]
    verbs = [
        "track", "cancel", "return", "exchange", "change", "pay for", "collect", "deliver",
        "repair", "reorder", "register", "redeem", "update", "replace", "assemble", "clean",
    ]  # fmt: skip
    tails = [
        "", " after 30 days", " from Ireland", " without a receipt", " on a bank holiday",
        " with Klarna", " to a different address", " before it ships", " in store",
        " if it arrived damaged", " as a gift", " next week",
    ]  # fmt: skip
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    while len(seen) < count:
        seen.add(
            templates[rng.integers(len(templates))].format(
                verb=verbs[rng.integers(len(verbs))],
                thing=things[rng.integers(len(things))],
                tail=tails[rng.integers(len(tails))],
                n=int(rng.integers(2, 15)),
            )
        )
    return sorted(seen)


def base_texts(stackfaq: Path, seed: int) -> list[str]:
    """Real answers, titles and paragraphs, plus template sentences: the synthetic set's base."""
    corpus = _jsonl(stackfaq / "corpus.jsonl")
    titles = sorted({item["title"] for item in corpus})
    answers = [item["text"] for item in corpus]
    paragraphs = article_paragraphs(ROOT / "data" / "knowledge")
    return answers + titles + paragraphs + template_sentences(TEMPLATE_SENTENCES, seed)


def throughput_texts(stackfaq: Path, count: int) -> list[str]:
    """Real passages of typical length (answers and article paragraphs), cycled to `count`."""
    corpus = [item["text"] for item in _jsonl(stackfaq / "corpus.jsonl")]
    real = corpus + article_paragraphs(ROOT / "data" / "knowledge")
    return list(itertools.islice(itertools.cycle(real), count))


# --- synthetic passages --------------------------------------------------------------------


def passages(base: np.ndarray, n: int, mix: Mix, seed: int) -> np.ndarray:
    """`n` unit vectors, each a random mix of base vectors plus noise (see `Mix`); seeded."""
    rng = np.random.default_rng(seed)
    dim = base.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, BLOCK):
        rows = min(BLOCK, n - start)
        picks = rng.integers(0, len(base), size=(rows, mix.parts))
        weights = rng.uniform(mix.low, mix.high, size=(rows, mix.parts)).astype(np.float32)
        weights[:, 0] = 1.0
        mixed = np.einsum("rm,rmd->rd", weights, base[picks])
        mixed += rng.standard_normal((rows, dim), dtype=np.float32) * (mix.noise / np.sqrt(dim))
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        out[start : start + rows] = mixed
    return out


def intrinsic_dimension(data: np.ndarray, queries: np.ndarray, k: int = 20) -> float:
    """Median local intrinsic dimensionality around the queries (Levina-Bickel MLE, k nearest).

    The usual measure of how hard nearest-neighbour search is: uniform noise in 384
    dimensions scores in the hundreds, real sentence embeddings around ten.
    """
    import faiss

    scores, _ = faiss.knn(queries, data, k, faiss.METRIC_INNER_PRODUCT)
    distances = np.sqrt(np.maximum(2.0 - 2.0 * scores, 1e-12))  # chord length on the sphere
    logs = np.log(distances[:, :-1] / distances[:, -1:])
    return float(np.median(-1.0 / np.mean(logs, axis=1)))


# --- measuring one index -------------------------------------------------------------------


def parse_spec(text: str) -> Spec:
    """`"ivf:nlist=4096,train=64"` -> `("ivf", {"nlist": 4096, "train": 64})`."""
    kind, _, rest = text.partition(":")
    if kind not in {"flat", "auto", "ivf", "hnsw"}:
        raise ValueError(f"unknown index kind {kind!r}")
    params = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        params[key] = int(value)
    return kind, params


def _peak_rss_mb() -> float:
    """Peak resident memory of this process image (Linux), in MB.

    Not `getrusage`: its maxrss survives fork and exec, so a child would report its parent's
    peak (the parent holds the embedding model).
    """
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    if match is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return int(match.group(1)) / 1024


def _build(spec: Spec, vectors: np.ndarray, exact_limit: int, seed: int) -> tuple[Any, Any]:
    """Build the index a spec names; returns it and its report (None for flat)."""
    from knowledge import vectors as kv

    kind, options = spec
    if kind == "flat":
        return kv.build_flat(vectors), None
    if kind == "auto":
        return kv.build_vector_index(vectors, exact_limit=exact_limit, seed=seed)
    start = time.perf_counter()
    checks = kv.check_queries(vectors, kv.CHECK_QUERIES, seed)
    if kind == "ivf":
        index, params = kv.build_ivf(
            vectors,
            nlist=options.get("nlist"),
            train_per_list=options.get("train", kv.TRAIN_PER_LIST),
            seed=seed,
        )
    else:
        index, params = kv.build_hnsw(
            vectors,
            m=options.get("m", kv.HNSW_M),
            ef_construction=options.get("efc", kv.HNSW_EF_CONSTRUCTION),
        )
    params, reached = kv.tune_search(index, params, vectors, checks, min_recall=0.95)
    report = kv.VectorIndexReport(
        kind, params, time.perf_counter() - start, reached, int(checks.shape[0])
    )
    return index, report


def _describe(report: Any) -> str:
    if report is None or report.kind == "flat":
        return "flat"
    shown = {k: v for k, v in report.params.items() if k in {"nlist", "nprobe", "m", "ef_search"}}
    return f"{report.kind} " + ", ".join(f"{k}={v}" for k, v in shown.items())


def _latency(
    index: Any, queries: np.ndarray, repeats: int, *, threads: int | None
) -> dict[str, list[float]]:
    """Search the queries one at a time, `repeats` passes; p50 and p95 over each pass."""
    from knowledge import vectors as kv

    passes = []
    for _ in range(repeats):
        times = []
        for query in queries:
            tick = time.perf_counter()
            kv.search(index, query[None, :], K, threads=threads)
            times.append((time.perf_counter() - tick) * 1000)
        passes.append(times)
    return latency_report(passes)


def measure(
    spec_text: str,
    base: np.ndarray,
    queries: np.ndarray,
    *,
    size: int,
    mix: Mix,
    exact_limit: int,
    repeats: int,
    workdir: Path,
    seed: int = SEED,
) -> Row:
    """Build one index over `size` synthetic passages and measure it with the real queries."""
    import faiss

    from knowledge import vectors as kv

    vectors = passages(base, size, mix, seed)
    start = time.perf_counter()
    index, report = _build(parse_spec(spec_text), vectors, exact_limit, seed)
    build_seconds = time.perf_counter() - start
    path = workdir / f"{size}-{hashlib.sha256(spec_text.encode()).hexdigest()[:8]}.faiss"
    kv.write_vector_index(index, path)
    disk_mb = path.stat().st_size / 2**20
    path.unlink()

    served = _latency(index, queries, repeats, threads=None)
    contrast = _latency(index, queries, repeats, threads=faiss.omp_get_max_threads())
    peak = _peak_rss_mb()  # before the exact search below, which serving does not do

    _, found = kv.search(index, queries, K)
    exact = kv.exact_neighbours(vectors, queries, min(K, size))
    return Row(
        size=size,
        kind=spec_text,
        built=_describe(report),
        build_seconds=build_seconds,
        check_recall=None if report is None else report.recall_at_10,
        recall=kv.recall(found, exact),
        p50_ms=served["p50_ms"],
        p95_ms=served["p95_ms"],
        all_threads_ms=[contrast["p50_ms"][0], contrast["p95_ms"][0]],
        peak_rss_mb=peak,
        disk_mb=disk_mb,
    )


def measure_in_subprocess(
    spec_text: str, data: Path, *, size: int, mix: str, exact_limit: int, repeats: int
) -> Row:
    """Run `measure` in a fresh interpreter, so its peak memory is its own."""
    result = data / f"row-{size}-{hashlib.sha256(spec_text.encode()).hexdigest()[:8]}.json"
    command = [sys.executable, "-m", "bench.kb_scale", "--measure", spec_text]
    command += ["--data", str(data), "--sizes", str(size), "--mix", mix]
    command += ["--exact-limit", str(exact_limit), "--repeats", str(repeats)]
    subprocess.run([*command, "--result", str(result)], check=True)  # noqa: S603 (our own argv)
    return Row(**json.loads(result.read_text(encoding="utf-8")))


# --- embedding -----------------------------------------------------------------------------


def embed_cached(embedder: Any, texts: list[str], cache: Path) -> np.ndarray:
    """Embed `texts`, reusing a previous run's vectors for exactly the same texts and model."""
    key = hashlib.sha256("\n".join([embedder.name, *texts]).encode()).hexdigest()[:16]
    path = cache / f"{key}.npy"
    if path.exists():
        cached: np.ndarray = np.load(path)
        return cached
    vectors: np.ndarray = embedder.encode(texts)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def throughput(embedder: Any, texts: list[str], runs: int) -> list[float]:
    """Passages per second over `runs` runs: median, lowest, highest."""
    embedder.encode(texts[:64])  # warm-up: the first call allocates and initialises
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        embedder.encode(texts)
        rates.append(len(texts) / (time.perf_counter() - start))
    return [statistics.median(rates), min(rates), max(rates)]


# --- report --------------------------------------------------------------------------------


def _ms(values: list[float]) -> str:
    middle, low, high = values
    return f"{middle:.2f} ms ({low:.2f}–{high:.2f})"


def _size(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n / 1000:g}k" if n >= 1000 else str(n)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.1f} s"


def markdown(rows: list[Row], *, context: str, rate: list[float] | None) -> str:
    """The tables for docs/knowledge.md: embedding throughput, then one row per index."""
    lines = [context, ""]
    if rate is not None:
        lines += [
            f"Embedding throughput (MiniLM on the CPU, {THROUGHPUT_PASSAGES:,} real passages, "
            f"median of 3 runs): **{rate[0]:.0f} passages/s** ({rate[1]:.0f}–{rate[2]:.0f}).",
            "",
            "| passages | time to embed a real collection (extrapolated, not measured) |",
            "|---|---|",
        ]
        for size in sorted({row.size for row in rows}):
            lines.append(f"| {_size(size)} | {_duration(size / rate[0])} |")
        lines.append("")
    lines += [
        "| passages | index | built | build | peak RSS | on disk | p50 query | p95 query "
        "| p50 / p95 on all threads | recall@10 (queries) | recall@10 (build check) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        check = "–" if row.check_recall is None else f"{row.check_recall:.3f}"
        lines.append(
            f"| {_size(row.size)} | {row.kind} | {row.built} | {_duration(row.build_seconds)} "
            f"| {row.peak_rss_mb:,.0f} MB | {row.disk_mb:,.0f} MB "
            f"| {_ms(row.p50_ms)} | {_ms(row.p95_ms)} | {row.all_threads_ms[0]:.2f} / "
            f"{row.all_threads_ms[1]:.2f} ms | {row.recall:.3f} | {check} |"
        )
    return "\n".join(lines)


def machine() -> str:
    """CPU model, cores and memory, for the line above the tables."""
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return (
        f"{model.group(1).strip() if model else platform.processor()}, {os.cpu_count()} cores, "
        f"{memory / 2**30:.0f} GB RAM"
    )


def context_line(
    *, mix_name: str, base: np.ndarray, queries: np.ndarray, exact_limit: int, repeats: int
) -> str:
    """What was measured, where, and what was synthetic."""
    import faiss

    mix = MIXES[mix_name]
    synthetic = passages(base, len(base), mix, SEED)
    return (
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()} (a VM shared with other work), "
        f"faiss {faiss.__version__}. **Passages are synthetic** (set `{mix_name}`): each is a "
        f"renormalised mix of {mix.describe()}, drawn from {len(base):,} MiniLM-embedded base "
        f"texts (StackFAQ answers and titles, the shop's article paragraphs, "
        f"{TEMPLATE_SENTENCES:,} template support sentences). The {len(queries):,} queries are "
        f"real StackFAQ questions embedded with MiniLM. Search difficulty at the base's own "
        f"size, as local intrinsic dimension around the queries: real base "
        f"{intrinsic_dimension(base, queries):.0f}, synthetic "
        f"{intrinsic_dimension(synthetic, queries):.0f} (higher is harder). Latency is one "
        f"query at a time on one thread, as `knowledge.vectors.search` runs a single query: "
        f"p50/p95 over the queries, median of {repeats} passes (lowest–highest); *on all "
        f"threads* is the same with faiss's default of {faiss.omp_get_max_threads()} OpenMP "
        f"threads (medians). `auto` is `build_vector_index`: flat below {exact_limit:,} "
        f"passages. Each row ran in a fresh process."
    )


# --- command line --------------------------------------------------------------------------


def _prepare(args: argparse.Namespace, data: Path) -> list[float] | None:
    """Embed the base and the queries into `data`; measure throughput unless told not to."""
    from config.settings import get_settings
    from encoder.embedding import SentenceTransformerEmbedder

    settings = get_settings()
    embedder = SentenceTransformerEmbedder(settings.model_path)
    cache = settings.var_dir / "bench" / "kb-scale"
    base = embed_cached(embedder, base_texts(args.stackfaq, SEED), cache)
    questions = [item["text"] for item in _jsonl(args.stackfaq / "queries.jsonl")]
    np.save(data / "base.npy", base)
    np.save(data / "queries.npy", embed_cached(embedder, questions, cache))
    if args.no_throughput:
        return None
    rate = throughput(embedder, throughput_texts(args.stackfaq, THROUGHPUT_PASSAGES), runs=3)
    print(f"embedding: {rate[0]:.0f} passages/s ({rate[1]:.0f}–{rate[2]:.0f})", flush=True)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument(
        "--kinds", nargs="+", default=["flat", "auto"], help="flat auto ivf:nlist=N hnsw:m=M,efc=E"
    )
    parser.add_argument("--mix", choices=sorted(MIXES), default="main", help="synthetic set")
    parser.add_argument("--exact-limit", type=int, help="default: the setting KB_EXACT_LIMIT")
    parser.add_argument("--repeats", type=int, default=3, help="latency passes over the queries")
    parser.add_argument("--stackfaq", type=Path, default=STACKFAQ)
    parser.add_argument("--no-throughput", action="store_true", help="skip the embedding runs")
    parser.add_argument("--block", default="kb-scale", help="marker name in --write")
    parser.add_argument("--write", type=Path, help="Markdown file to write the tables into")
    parser.add_argument("--out", type=Path, help="also write the tables to this file")
    # Internal: one measurement in a child process (see measure_in_subprocess).
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    from config.settings import get_settings

    exact_limit = args.exact_limit or get_settings().kb_exact_limit
    sizes = [int(size) for size in args.sizes.split(",")]
    if args.measure:
        row = measure(
            args.measure,
            np.load(args.data / "base.npy"),
            np.load(args.data / "queries.npy"),
            size=sizes[0],
            mix=MIXES[args.mix],
            exact_limit=exact_limit,
            repeats=args.repeats,
            workdir=args.data,
        )
        args.result.write_text(json.dumps(asdict(row)), encoding="utf-8")
        return

    for kind in args.kinds:
        parse_spec(kind)  # fail now, not after an hour of measuring
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="kb-scale-") as tmp:
        data = Path(tmp)
        rate = _prepare(args, data)
        base, queries = np.load(data / "base.npy"), np.load(data / "queries.npy")
        for size in sizes:
            for kind in args.kinds:
                if kind == "auto" and size < exact_limit and "flat" in args.kinds:
                    continue  # the automatic choice is the flat index, measured already
                print(f"{_size(size)} {kind} ...", flush=True)
                row = measure_in_subprocess(
                    kind,
                    data,
                    size=size,
                    mix=args.mix,
                    exact_limit=exact_limit,
                    repeats=args.repeats,
                )
                rows.append(row)
                print(markdown([row], context="", rate=None).splitlines()[-1], flush=True)
    context = context_line(
        mix_name=args.mix,
        base=base,
        queries=queries,
        exact_limit=exact_limit,
        repeats=args.repeats,
    )
    table = markdown(rows, context=context, rate=rate)
    table += f"\n\nThe whole run took {_duration(time.perf_counter() - started)}."
    print(table)
    if args.out:
        args.out.write_text(table + "\n", encoding="utf-8")
    if args.write:
        write_block(args.write, args.block, table)


if __name__ == "__main__":
    main()
