"""`kb`: build, search, inspect and measure a knowledge collection from the command line.

    kb ingest PATH... [--index DIR] [--force]
    kb search "question" [-k N] [--mode MODE] [--json] [--index DIR]
    kb stats [--json] [--index DIR]
    kb eval BEIR_FOLDER | QUESTIONS.jsonl [--mode MODE ...] [--json] [--index DIR]
    kb build                      the shop's help centre (data/knowledge) into its index

`--index` defaults to the shop's index (KNOWLEDGE_INDEX_DIR); give another folder to build a
separate collection without touching the shop's.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from config.settings import Settings, get_settings
from encoder.embedding import SentenceTransformerEmbedder, model_name
from knowledge.configured import open_knowledge_base
from knowledge.evaluate import EvalSet, evaluate, load_beir, load_questions
from knowledge.index import (
    IndexUnavailable,
    IngestReport,
    build,
    ingest,
    load_index,
    plan_documents,
    plan_ingest,
)
from knowledge.retrieve import MODES, Mode
from knowledge.sources import SourceError

log = logging.getLogger("knowledge")


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A tqdm bar on stderr for long work (tqdm hides it when stderr is not a terminal)."""
    from tqdm import tqdm

    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=description, unit="", disable=None)
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


def _parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kb", description=__doc__.split("\n\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--index",
        type=Path,
        default=settings.knowledge_index_dir,
        help="index folder (default: the shop's, %(default)s)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("ingest", parents=[common], help="add or update sources")
    p.add_argument("paths", type=Path, nargs="+", help="files or folders of any supported format")
    p.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    p = commands.add_parser("build", parents=[common], help="the shop's help centre, if changed")
    p.add_argument("--sources", type=Path, default=settings.knowledge_sources)
    p.add_argument("--force", action="store_true")
    p = commands.add_parser("search", parents=[common], help="the best passages for a question")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--mode", choices=MODES, default=None)
    p.add_argument("--json", action="store_true")
    p = commands.add_parser("stats", parents=[common], help="what the collection holds")
    p.add_argument("--json", action="store_true")
    p = commands.add_parser("eval", parents=[common], help="Recall@k, MRR, nDCG and latency")
    p.add_argument("questions", type=Path, help="a BEIR folder, or a JSONL of questions")
    p.add_argument("--split", default="test")
    p.add_argument("--mode", choices=MODES, action="append", help="stages (default: all)")
    p.add_argument("--json", action="store_true")
    return parser


def _print_ingest(report: IngestReport) -> None:
    plan = report.plan
    if report.manifest is None:
        print(f"up to date: {len(plan.documents)} documents, {len(plan.chunks)} passages")
        return
    vector = report.vector_report
    recall = vector.get("recall_at_10")
    print(
        f"{len(plan.documents)} documents ({len(plan.added)} added, {len(plan.changed)} changed, "
        f"{len(plan.removed)} removed), {len(plan.chunks)} passages "
        f"({report.embedded} embedded, {report.reused} reused) in {report.seconds:.1f} s; "
        f"dense index {vector.get('kind')}"
        + (f", recall@10 {recall:.3f} against exact search" if recall is not None else "")
    )


def _ingest(paths: list[Path], index_dir: Path, settings: Settings, *, force: bool) -> int:
    # Planned before loading the model, so an unchanged collection costs no model start-up;
    # `ingest` plans again under the lock, in case another ingest ran meanwhile.
    plan = plan_ingest(paths, index_dir, model=model_name(settings.model_path), force=force)
    if plan.up_to_date:
        _print_ingest(IngestReport(plan=plan))
        return 0
    embedder = SentenceTransformerEmbedder(settings.model_path)
    with progress_bar("embedding") as progress:
        report = ingest(
            paths,
            embedder,
            index_dir,
            force=force,
            exact_limit=settings.kb_exact_limit,
            progress=progress,
        )
    _print_ingest(report)
    return 0


def _eval_set(args: argparse.Namespace) -> EvalSet:
    if args.questions.is_dir():
        return load_beir(args.questions, split=args.split)
    return load_questions(args.questions)


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    eval_set = _eval_set(args)
    embedder = SentenceTransformerEmbedder(settings.model_path)
    index_dir: Path = args.index
    if eval_set.corpus:
        # A BEIR corpus is a collection of its own, never the shop's.
        if index_dir == settings.knowledge_index_dir:
            index_dir = settings.var_dir / "eval" / eval_set.name
        assert eval_set.corpus_path is not None
        plan = plan_documents(
            eval_set.corpus, [eval_set.corpus_path.resolve()], index_dir, model=embedder.name
        )
        if not plan.up_to_date:
            with progress_bar("embedding corpus") as progress:
                build(plan, embedder, exact_limit=settings.kb_exact_limit, progress=progress)
    kb = open_knowledge_base(index_dir, embedder, settings)
    modes: list[Mode] = args.mode or [m for m in MODES if m != "rerank" or kb.reranker]
    with progress_bar("questions") as progress:
        results = evaluate(kb, eval_set, modes, progress=progress)
    rows = [result.as_dict() for result in results]
    if args.json:
        print(json.dumps({"set": eval_set.name, "results": rows}, indent=2))
        return 0
    print(f"{eval_set.name}: {len(eval_set.answerable)} questions with an answer")
    header = list(rows[0])
    print(" | ".join(f"{h:>9}" for h in header))
    for row in rows:
        print(" | ".join(f"{v!s:>9}" for v in row.values()))
    return 0


def _stats(args: argparse.Namespace, settings: Settings) -> int:
    index = load_index(
        args.index, model_name=model_name(settings.model_path), dimension=_dimension(args.index)
    )
    kinds: dict[str, int] = {}
    for document in index.documents:
        kinds[document.kind] = kinds.get(document.kind, 0) + 1
    stats = {
        "index": str(index.path),
        "documents": len(index.documents),
        "by_kind": kinds,
        "passages": len(index.chunks),
        "terms": len(index.lexical.vocabulary),
        "model": index.manifest.model,
        "dimension": index.manifest.dimension,
        "vector_index": index.manifest.vector_index,
        "built_at": index.manifest.built_at,
        "size_bytes": sum(f.stat().st_size for f in index.path.iterdir()),
    }
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        for key, value in stats.items():
            print(f"{key:>13}: {value}")
    return 0


def _dimension(index_dir: Path) -> int:
    """The stored dimension, so `stats` need not load the embedding model."""
    manifest = json.loads((index_dir / "current" / "manifest.json").read_text(encoding="utf-8"))
    return int(manifest["dimension"])


def _search(args: argparse.Namespace, settings: Settings) -> int:
    embedder = SentenceTransformerEmbedder(settings.model_path)
    kb = open_knowledge_base(args.index, embedder, settings)
    hits = kb.search(args.query, k=args.k, mode=args.mode)
    rows = [
        {
            "score": round(hit.score, 4),
            "cosine": round(hit.dense, 4),
            "bm25": round(hit.lexical, 3),
            "document": hit.chunk.article_id,
            "title": hit.chunk.title,
            "url": hit.chunk.url,
            "headings": list(hit.chunk.headings),
            "text": hit.chunk.text,
        }
        for hit in hits
    ]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no passage matches")
    for row in rows:
        print(f"{row['cosine']:.3f}  {row['document']}  {row['title']}")
        print(f"       {str(row['text'])[:160]}")
    if hits and hits[0].dense < kb.threshold(hits[0].chunk.topic):
        limit = kb.threshold(hits[0].chunk.topic)
        print(f"(the agent would abstain: best cosine below its topic's KB_MIN_SCORE {limit})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one sub-command; returns the process exit code (2 for bad input or a bad index)."""
    settings = get_settings()
    args = _parser(settings).parse_args(argv)
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "ingest":
            return _ingest(args.paths, args.index, settings, force=args.force)
        if args.command == "build":
            return _ingest([args.sources], args.index, settings, force=args.force)
        if args.command == "search":
            return _search(args, settings)
        if args.command == "stats":
            return _stats(args, settings)
        return _eval(args, settings)
    except (SourceError, IndexUnavailable, FileNotFoundError) as error:
        log.error("%s", error)
        return 2


if __name__ == "__main__":
    sys.exit(main())
