"""Split documents into passages that respect headings and sentences, with a sentence of overlap.

A passage keeps its document's id, title and URL and its heading path, so an answer can cite it.
A FAQ entry stays whole: its answer is one passage, however long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from knowledge.sources import Document, SourceError

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
# A sentence ends at . ! ? followed by space and an upper-case letter, digit or quote; this keeps
# "e.g. the" and "£3.95" together.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(£])")


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage."""

    chunk_id: str
    article_id: str
    title: str
    url: str
    topic: str
    headings: tuple[str, ...]
    position: int
    text: str
    kind: str = "article"  # or "faq": a whole FAQ entry
    question: str = ""  # another way of asking a FAQ entry's question (see chunk_document)

    def embedding_text(self) -> str:
        """Text that is embedded: the title and headings give a short passage its context."""
        return ". ".join([self.question or self.title, *self.headings, self.text])

    def heading_text(self) -> str:
        """What the passage is about: a FAQ entry's question (an article's title and headings)."""
        return ". ".join([self.question or self.title, *self.headings])


def clean_inline(text: str) -> str:
    """Drop Markdown markup that a customer should not see in a quote."""
    return _EMPHASIS.sub("", _LINK.sub(r"\1", text)).strip()


def split_sentences(text: str) -> list[str]:
    """Split plain text into sentences (good enough for help-centre prose)."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def _sections(body: str) -> list[tuple[tuple[str, ...], list[str]]]:
    """Group paragraphs under their heading path; list items become sentences of their own."""
    path: list[tuple[int, str]] = []
    sections: list[tuple[tuple[str, ...], list[str]]] = []
    paragraph: list[str] = []
    current: list[str] = []

    def flush_paragraph() -> None:
        if paragraph:
            current.append(" ".join(paragraph))
            paragraph.clear()

    def flush_section() -> None:
        flush_paragraph()
        if current:
            sections.append((tuple(title for _, title in path), list(current)))
            current.clear()

    for raw in body.splitlines():
        line = raw.rstrip()
        heading = _HEADING.match(line)
        if heading:
            flush_section()
            level = len(heading.group(1))
            path[:] = [(lvl, title) for lvl, title in path if lvl < level]
            path.append((level, clean_inline(heading.group(2))))
        elif not line.strip():
            flush_paragraph()
        elif _LIST_MARK.match(line):
            flush_paragraph()
            item = clean_inline(_LIST_MARK.sub("", line))
            current.append(item if item.endswith((".", "!", "?", ":")) else item + ".")
        else:
            paragraph.append(clean_inline(line))
    flush_section()
    return sections


def chunk_document(article: Document, *, max_words: int = 110, overlap: int = 1) -> list[Chunk]:
    """Cut a document into passages of at most about `max_words` words.

    Passages never cross a heading; consecutive passages of one section share `overlap`
    sentences so that an answer split across a boundary is still found whole in one of them.
    A FAQ entry is one passage, plus one more per alternative wording of its question
    (`Document.questions`): the same answer, found by whichever wording is closest. An article's
    wordings work the same way: each is one more passage with the text of the passage that
    answers it (the first, or the first under the named section), cited as that article.
    """
    if article.kind == "faq":
        text = " ".join(p for _, paragraphs in _sections(article.body) for p in paragraphs)
        return [
            Chunk(
                chunk_id=f"{article.id}#0" if n == 0 else f"{article.id}#q{n}",
                article_id=article.id,
                title=article.title,
                url=article.url,
                topic=article.topic,
                headings=(),
                position=0,
                text=text,
                kind="faq",
                question=question,
            )
            for n, question in enumerate(("", *article.questions))
        ]
    chunks: list[Chunk] = []
    for headings, paragraphs in _sections(article.body):
        sentences = [s for p in paragraphs for s in split_sentences(p)]
        start = 0
        while start < len(sentences):
            end, words = start, 0
            while end < len(sentences) and (
                end == start or words + _words(sentences[end]) <= max_words
            ):
                words += _words(sentences[end])
                end += 1
            chunks.append(
                Chunk(
                    chunk_id=f"{article.id}#{len(chunks)}",
                    article_id=article.id,
                    title=article.title,
                    url=article.url,
                    topic=article.topic,
                    headings=headings,
                    position=len(chunks),
                    text=" ".join(sentences[start:end]),
                )
            )
            if end >= len(sentences):
                break
            start = max(end - overlap, start + 1)
    return chunks + _wording_chunks(article, chunks)


def _wording_chunks(article: Document, chunks: list[Chunk]) -> list[Chunk]:
    """One passage per learned wording of an article, placed after the article's own."""
    if not chunks:
        return []
    first_under: dict[str, Chunk] = {}
    for chunk in chunks:
        if chunk.headings:
            first_under.setdefault(chunk.headings[-1].casefold(), chunk)
    targets: list[tuple[Chunk, str]] = [(chunks[0], wording) for wording in article.questions]
    for section, wording in article.section_questions:
        target = first_under.get(section.casefold())
        if target is None:
            raise SourceError(
                f"{article.source}: article {article.id!r} has no section {section!r} "
                f"for the question {wording!r}"
            )
        targets.append((target, wording))
    return [
        replace(target, chunk_id=f"{article.id}#q{n}", question=wording)
        for n, (target, wording) in enumerate(targets, start=1)
    ]


def _words(sentence: str) -> int:
    return len(sentence.split())
