"""Retrieval quality of every stage on StackFAQ and on the shop's own questions (docs/knowledge.md).

    python -m bench.kb_eval [--stackfaq DIR] [--questions FILE] [--write docs/knowledge.md]

Each set gets a table: Recall@1/5/10 (share of questions with a relevant document in the first
k), MRR@10, nDCG@10 and query latency, for dense, BM25, hybrid and (when KB_RERANKER_PATH is set)
reranked retrieval. The line under each table checks the rule the configuration must keep: the
mode the agent runs (KB_MODE) never scores below the best single stage on Recall@1 or nDCG@10.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from bench.report import write_block
from config.settings import ROOT, Settings, get_settings
from encoder.embedding import SentenceTransformerEmbedder
from knowledge.configured import open_knowledge_base
from knowledge.evaluate import (
    EvalSet,
    StageResult,
    evaluate,
    evaluate_with_paraphrases,
    load_beir,
    load_questions,
)
from knowledge.index import build, ingest, plan_documents
from knowledge.retrieve import MODES, KnowledgeBase, Mode
from knowledge.sources import Document, read_paths

STACKFAQ = ROOT.parent / "shared" / "data" / "stackfaq"
QUESTIONS = ROOT / "bench" / "data" / "kb_questions.jsonl"


def table(eval_set: EvalSet, results: list[StageResult], running: str) -> str:
    lines = [
        f"{len(eval_set.answerable)} questions with an answer.",
        "",
        "| stage | Recall@1 | Recall@5 | Recall@10 | MRR@10 | nDCG@10 | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        name = r.mode + (" (the agent's)" if r.mode == running else "")
        lines.append(
            f"| {name} | {r.recall[1]:.4f} | {r.recall[5]:.4f} | {r.recall[10]:.4f} | "
            f"{r.mrr_at_10:.4f} | {r.ndcg_at_10:.4f} | {r.latency_p50_ms:.1f} | "
            f"{r.latency_p95_ms:.1f} |"
        )
    # "dense + learned wordings" is the dense stage of the learned-wordings table.
    singles = [r for r in results if r.mode.split(" + ")[0] in ("dense", "lexical")]
    agent = next((r for r in results if r.mode == running), None)
    if agent is not None and singles:
        best_r1 = max(r.recall[1] for r in singles)
        best_ndcg = max(r.ndcg_at_10 for r in singles)
        keeps = agent.recall[1] >= best_r1 and agent.ndcg_at_10 >= best_ndcg
        lines += [
            "",
            f"The agent's mode ({running}) against the best single stage: Recall@1 "
            f"{agent.recall[1]:.4f} vs {best_r1:.4f}, nDCG@10 {agent.ndcg_at_10:.4f} vs "
            f"{best_ndcg:.4f}: {'never below' if keeps else 'BELOW'}.",
        ]
    return "\n".join(lines)


def modes(settings: Settings) -> list[Mode]:
    return [m for m in MODES if m != "rerank" or settings.kb_reranker_path is not None]


SETS = ("stackfaq", "stackfaq-wordings", "shop", "shop-wordings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stackfaq", type=Path, default=STACKFAQ)
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    settings = get_settings()
    embedder = SentenceTransformerEmbedder(settings.model_path)
    tables: dict[str, str] = {}

    beir = load_beir(args.stackfaq)
    assert beir.corpus_path is not None
    corpus_root = beir.corpus_path.resolve()
    if "stackfaq" in args.sets:
        beir_dir = settings.var_dir / "eval" / beir.name
        plan = plan_documents(beir.corpus, [corpus_root], beir_dir, model=embedder.name)
        if not plan.up_to_date:
            build(plan, embedder, exact_limit=settings.kb_exact_limit)
        kb = open_knowledge_base(beir_dir, embedder, settings)
        tables["stackfaq"] = table(beir, evaluate(kb, beir, modes(settings)), settings.kb_mode)
        print(tables["stackfaq"])

    if "stackfaq-wordings" in args.sets:
        # The same set when the FAQ has learned other wordings of its questions (10-fold CV).
        wordings_dir = settings.var_dir / "eval" / f"{beir.name}-wordings"

        def open_kb(corpus: Sequence[Document]) -> KnowledgeBase:
            plan = plan_documents(corpus, [corpus_root], wordings_dir, model=embedder.name)
            build(plan, embedder, exact_limit=settings.kb_exact_limit)
            return open_knowledge_base(wordings_dir, embedder, settings)

        learned = evaluate_with_paraphrases(
            open_kb, beir, modes(settings), folds=10, progress=lambda n, k: print(f"fold {n}/{k}")
        )
        tables["stackfaq-wordings"] = table(beir, learned, f"{settings.kb_mode} + learned wordings")
        print(tables["stackfaq-wordings"])

    questions = load_questions(args.questions)
    if "shop" in args.sets:
        shop_dir = settings.var_dir / "eval" / "shop"
        ingest(
            [settings.knowledge_sources], embedder, shop_dir, exact_limit=settings.kb_exact_limit
        )
        kb = open_knowledge_base(shop_dir, embedder, settings)
        tables["shop"] = table(
            questions, evaluate(kb, questions, modes(settings)), settings.kb_mode
        )
        print(tables["shop"])

    if "shop-wordings" in args.sets:
        # The shop's articles once customers' questions are written into their front matter as
        # wordings (10-fold CV): would learning from "was this helpful?" votes pay off here?
        shop_root = settings.knowledge_sources.resolve()
        shop_set = replace(questions, corpus=tuple(read_paths([shop_root])))
        shop_wordings_dir = settings.var_dir / "eval" / "shop-wordings"

        def open_shop(corpus: Sequence[Document]) -> KnowledgeBase:
            plan = plan_documents(corpus, [shop_root], shop_wordings_dir, model=embedder.name)
            build(plan, embedder, exact_limit=settings.kb_exact_limit)
            return open_knowledge_base(shop_wordings_dir, embedder, settings)

        shop_learned = evaluate_with_paraphrases(open_shop, shop_set, modes(settings), folds=10)
        tables["shop-wordings"] = table(
            questions, shop_learned, f"{settings.kb_mode} + learned wordings"
        )
        print(tables["shop-wordings"])

    if args.write:
        for name, text in tables.items():
            write_block(args.write, f"kb-eval-{name}", text)


if __name__ == "__main__":
    main()
