"""Load help-centre articles: Markdown files with YAML front matter (id, title, url, topic)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml


class SourceError(ValueError):
    """An article that cannot be used: bad front matter or missing fields."""


@dataclass(frozen=True)
class Article:
    """One article, with the fields an answer cites."""

    id: str
    title: str
    url: str
    topic: str
    body: str
    sha256: str


REQUIRED = ("title", "url")


def parse_markdown(text: str, *, default_id: str) -> Article:
    """Parse one Markdown document; front matter sits between two `---` lines at the top."""
    meta: dict[str, object] = {}
    body = text
    if text.startswith("---"):
        parts = text.split("\n---", 1)
        if len(parts) != 2:
            raise SourceError(f"{default_id}: front matter is not closed with '---'")
        loaded = yaml.safe_load(parts[0].removeprefix("---"))
        if loaded is not None and not isinstance(loaded, dict):
            raise SourceError(f"{default_id}: front matter is not a mapping")
        meta = loaded or {}
        body = parts[1].split("\n", 1)[1] if "\n" in parts[1] else ""
    missing = [key for key in REQUIRED if not str(meta.get(key) or "").strip()]
    if missing:
        raise SourceError(f"{default_id}: front matter lacks {', '.join(missing)}")
    return Article(
        id=str(meta.get("id") or default_id),
        title=str(meta["title"]).strip(),
        url=str(meta["url"]).strip(),
        topic=str(meta.get("topic") or "general"),
        body=body.strip(),
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def load_directory(root: Path) -> list[Article]:
    """Load every `*.md` under `root`, sorted by id; duplicate ids are an error."""
    articles: dict[str, Article] = {}
    for path in sorted(root.rglob("*.md")):
        article = parse_markdown(path.read_text(encoding="utf-8"), default_id=path.stem)
        if article.id in articles:
            raise SourceError(f"duplicate article id {article.id!r} in {path}")
        articles[article.id] = article
    if not articles:
        raise SourceError(f"no Markdown articles found under {root}")
    return [articles[key] for key in sorted(articles)]


def fingerprint(articles: list[Article]) -> str:
    """Identify a set of sources, so an unchanged knowledge base is not rebuilt."""
    digest = hashlib.sha256()
    for article in sorted(articles, key=lambda a: a.id):
        digest.update(f"{article.id}\0{article.sha256}\n".encode())
    return digest.hexdigest()
