"""Command line: `python -m knowledge build` and `python -m knowledge search "question"`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from bot.settings import get_settings
from knowledge.documents import SourceError, load_directory
from knowledge.embedding import SentenceTransformerEmbedder, model_name
from knowledge.index import IndexUnavailable, build_index, is_up_to_date, load_index
from knowledge.retrieve import KnowledgeBase

log = logging.getLogger("knowledge")


def main(argv: list[str] | None = None) -> int:
    """Run one sub-command; returns the process exit code."""
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m knowledge", description=__doc__)
    parser.add_argument("--index", type=Path, default=settings.knowledge_index_dir)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the index if its sources changed")
    build.add_argument("--sources", type=Path, default=settings.knowledge_sources)
    build.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    search = commands.add_parser("search", help="show the best passages for a question")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=5)
    search.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")

    try:
        if args.command == "build":
            articles = load_directory(args.sources)
            # Checked before loading the model, so an unchanged index costs no model start-up.
            if not args.force and is_up_to_date(
                args.index, articles, model_name(settings.model_path)
            ):
                log.info("knowledge index is up to date (%d articles)", len(articles))
                return 0
            embedder = SentenceTransformerEmbedder(settings.model_path)
            manifest = build_index(articles, embedder, args.index)
            log.info(
                "built knowledge index: %d articles, %d passages",
                manifest.articles,
                manifest.chunks,
            )
            return 0
        embedder = SentenceTransformerEmbedder(settings.model_path)
        index = load_index(args.index, model_name=embedder.name, dimension=embedder.dimension)
        kb = KnowledgeBase(index, embedder, min_score=settings.kb_min_score)
        hits = kb.search(args.query, k=args.k)
        rows: list[dict[str, Any]] = [
            {
                "score": round(h.score, 4),
                "article": h.chunk.article_id,
                "title": h.chunk.title,
                "url": h.chunk.url,
                "text": h.chunk.text,
            }
            for h in hits
        ]
        if args.json:
            print(json.dumps(rows, indent=2, ensure_ascii=False))
        else:
            for row in rows:
                print(f"{row['score']:.3f}  {row['article']}  {row['text'][:100]}")
        return 0
    except (SourceError, IndexUnavailable, FileNotFoundError) as error:
        log.error("%s", error)
        return 2


if __name__ == "__main__":
    sys.exit(main())
