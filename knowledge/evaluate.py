"""Retrieval quality by the standard measures, for each stage of the pipeline.

Two kinds of question set:

- a BEIR folder (`corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv`): the corpus is indexed
  as a collection of its own, each entry whole;
- a JSONL file of `{"question": ..., "article": <document id or null>}` asked of an existing
  collection (the shop's help centre); a null article marks a question it cannot answer, which
  counts only for abstention.

Recall@k here is the share of questions with at least one relevant document among the first k
(success@k): with several relevant answers per question, as in StackFAQ, the other reading of
recall could never reach 1 at k=1. nDCG@10 and MRR@10 are the usual definitions.

`evaluate_with_paraphrases` measures a FAQ collection that has learned other wordings of its
questions (`questions` of a FAQ entry): k-fold cross-validation over the questions, where the
questions of the other folds are attached to the entries they are relevant to, and a question
is never asked of an index that holds its own wording.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from knowledge.retrieve import KnowledgeBase, Mode
from knowledge.sources import Document, SourceError, with_questions


@dataclass(frozen=True)
class EvalSet:
    """Questions, what answers them, and (for BEIR) the corpus to index."""

    name: str
    queries: dict[str, str]
    relevant: dict[str, dict[str, int]]  # query id -> {document id: grade}; empty: unanswerable
    corpus: tuple[Document, ...] = ()
    corpus_path: Path | None = None

    @property
    def answerable(self) -> list[str]:
        """Ids of the questions that have an answer."""
        return [q for q in self.queries if self.relevant.get(q)]


@dataclass
class StageResult:
    """The measures of one stage over one question set."""

    mode: str
    queries: int
    recall: dict[int, float] = field(default_factory=dict)
    mrr_at_10: float = 0.0
    ndcg_at_10: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0

    def as_dict(self) -> dict[str, float | int | str]:
        """Flat form for `--json` and tables."""
        out: dict[str, float | int | str] = {"mode": self.mode, "queries": self.queries}
        out.update({f"recall@{k}": round(v, 4) for k, v in self.recall.items()})
        out.update(
            {
                "mrr@10": round(self.mrr_at_10, 4),
                "ndcg@10": round(self.ndcg_at_10, 4),
                "p50_ms": round(self.latency_p50_ms, 2),
                "p95_ms": round(self.latency_p95_ms, 2),
            }
        )
        return out


def _read_jsonl(path: Path) -> Iterable[tuple[int, dict[str, object]]]:
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                item = json.loads(line)
                if not isinstance(item, dict):
                    raise SourceError(f"{path}:{number}: not a JSON object")
                yield number, item


def load_beir(folder: Path, *, split: str = "test") -> EvalSet:
    """Read a BEIR folder; each corpus entry becomes one whole passage (title + text)."""
    corpus_path = folder / "corpus.jsonl"
    qrels_path = folder / "qrels" / f"{split}.tsv"
    for needed in (corpus_path, folder / "queries.jsonl", qrels_path):
        if not needed.exists():
            raise SourceError(f"{folder} is not a BEIR folder: {needed.name} is missing")
    source = str(corpus_path.resolve())
    corpus: list[Document] = []
    for number, item in _read_jsonl(corpus_path):
        doc_id, text = str(item.get("_id") or ""), str(item.get("text") or "").strip()
        if not doc_id or not text:
            raise SourceError(f"{corpus_path}:{number}: an entry needs _id and text")
        title = str(item.get("title") or "").strip()
        sha = hashlib.sha256(f"{doc_id}\0{title}\0{text}".encode()).hexdigest()
        corpus.append(
            Document(
                id=doc_id,
                title=title,
                url="",
                topic="general",
                body=text,
                kind="faq",
                source=source,
                sha256=sha,
            )
        )
    relevant: dict[str, dict[str, int]] = {}
    with qrels_path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.rstrip("\n").split("\t")
            if number == 1 and parts[0] == "query-id":
                continue
            if len(parts) != 3:
                raise SourceError(f"{qrels_path}:{number}: expected query-id, corpus-id, score")
            if int(parts[2]) > 0:
                relevant.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries = {
        str(item["_id"]): str(item["text"])
        for _, item in _read_jsonl(folder / "queries.jsonl")
        if str(item.get("_id")) in relevant
    }
    return EvalSet(
        name=folder.name,
        queries=queries,
        relevant=relevant,
        corpus=tuple(corpus),
        corpus_path=corpus_path,
    )


def load_questions(path: Path) -> EvalSet:
    """Read `{"question", "article"}` lines; a null article is an unanswerable question."""
    queries: dict[str, str] = {}
    relevant: dict[str, dict[str, int]] = {}
    for number, item in _read_jsonl(path):
        question = str(item.get("question") or "").strip()
        if not question:
            raise SourceError(f"{path}:{number}: no question")
        qid = f"q{number}"
        queries[qid] = question
        article = item.get("article")
        relevant[qid] = {str(article): 1} if article else {}
    return EvalSet(name=path.stem, queries=queries, relevant=relevant)


def _ndcg(ranked: Sequence[str], grades: dict[str, int], k: int = 10) -> float:
    gains = sum(
        (2 ** grades.get(doc, 0) - 1) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k])
    )
    ideal = sorted(grades.values(), reverse=True)[:k]
    best = sum((2**g - 1) / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return gains / best if best else 0.0


def evaluate(
    kb: KnowledgeBase,
    eval_set: EvalSet,
    modes: Sequence[Mode],
    *,
    ks: Sequence[int] = (1, 5, 10),
    progress: Callable[[int, int], None] | None = None,
) -> list[StageResult]:
    """Ask every answerable question of every stage; one result per stage."""
    questions = eval_set.answerable
    results: list[StageResult] = []
    total, done = len(questions) * len(modes), 0
    for mode in modes:
        found: dict[int, int] = dict.fromkeys(ks, 0)
        mrr = ndcg = 0.0
        timings: list[float] = []
        for qid in questions:
            grades = eval_set.relevant[qid]
            started = time.perf_counter()
            hits = kb.search(eval_set.queries[qid], k=max(10, *ks), mode=mode)
            timings.append((time.perf_counter() - started) * 1000)
            ranked = [hit.chunk.article_id for hit in hits]
            for k in ks:
                found[k] += any(doc in grades for doc in ranked[:k])
            first = next((rank for rank, doc in enumerate(ranked[:10]) if doc in grades), None)
            mrr += 0.0 if first is None else 1.0 / (first + 1)
            ndcg += _ndcg(ranked, grades)
            done += 1
            if progress is not None:
                progress(done, total)
        n = max(1, len(questions))
        results.append(
            StageResult(
                mode=mode,
                queries=len(questions),
                recall={k: found[k] / n for k in ks},
                mrr_at_10=mrr / n,
                ndcg_at_10=ndcg / n,
                latency_p50_ms=float(np.percentile(timings, 50)) if timings else 0.0,
                latency_p95_ms=float(np.percentile(timings, 95)) if timings else 0.0,
            )
        )
    return results


def question_folds(eval_set: EvalSet, k: int, *, seed: int = 0) -> list[list[str]]:
    """The answerable questions shuffled (fixed seed) into `k` folds of near-equal size."""
    questions = list(eval_set.answerable)
    random.Random(seed).shuffle(questions)  # noqa: S311 (a fixed split, not a secret)
    return [sorted(questions[i::k]) for i in range(k)]


def with_paraphrases(eval_set: EvalSet, known: Iterable[str]) -> list[Document]:
    """The corpus with each `known` question attached to every FAQ entry relevant to it."""
    extra: dict[str, list[str]] = defaultdict(list)
    for qid in known:
        for doc_id, grade in eval_set.relevant.get(qid, {}).items():
            if grade > 0:
                extra[doc_id].append(eval_set.queries[qid])
    return [
        with_questions(d, [*d.questions, *extra[d.id]]) if d.id in extra else d
        for d in eval_set.corpus
    ]


def evaluate_with_paraphrases(
    open_kb: Callable[[Sequence[Document]], KnowledgeBase],
    eval_set: EvalSet,
    modes: Sequence[Mode],
    *,
    folds: int = 10,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> list[StageResult]:
    """Cross-validated results with learned wordings; `open_kb` indexes a corpus and opens it.

    Measures are pooled over every question (each asked once, in its own fold); latency is the
    median over folds of each fold's p50 and p95.
    """
    parts: list[list[StageResult]] = []
    split = question_folds(eval_set, folds, seed=seed)
    for n, held_out in enumerate(split):
        known = [q for other in split if other is not held_out for q in other]
        kb = open_kb(with_paraphrases(eval_set, known))
        fold = replace(
            eval_set, queries={q: eval_set.queries[q] for q in held_out}, relevant=eval_set.relevant
        )
        parts.append(evaluate(kb, fold, modes))
        if progress is not None:
            progress(n + 1, folds)
    return [
        _pool(f"{mode} + learned wordings", [part[i] for part in parts])
        for i, mode in enumerate(modes)
    ]


def _pool(mode: str, results: list[StageResult]) -> StageResult:
    """One result from per-fold results: measures weighted by questions, median latencies."""
    total = max(1, sum(r.queries for r in results))
    weights = np.array([r.queries for r in results], dtype=np.float64) / total
    return StageResult(
        mode=mode,
        queries=sum(r.queries for r in results),
        recall={k: float(weights @ [r.recall[k] for r in results]) for k in results[0].recall},
        mrr_at_10=float(weights @ [r.mrr_at_10 for r in results]),
        ndcg_at_10=float(weights @ [r.ndcg_at_10 for r in results]),
        latency_p50_ms=float(np.median([r.latency_p50_ms for r in results])),
        latency_p95_ms=float(np.median([r.latency_p95_ms for r in results])),
    )
