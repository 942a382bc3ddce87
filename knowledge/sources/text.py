"""Plain text files, which have no markup: blank lines and bullets give the structure."""

from __future__ import annotations

from pathlib import Path

from knowledge.sources.document import (
    Document,
    line_blocks,
    make_document,
    render,
    stem_title,
    take_title_line,
)


def read_plain_text(path: Path, text: str, file_id: str, source: str) -> Document:
    """Plain text: blank-line separated paragraphs, the first line a title if it reads like one."""
    title, lines = take_title_line(text.split("\n"))
    return make_document(
        doc_id=file_id,
        title=title or stem_title(path),
        url="",
        topic="general",
        body=render(line_blocks(lines)),
        kind="article",
        source=source,
    )
