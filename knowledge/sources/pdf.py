"""PDFs: the text layer (pypdf), regrouped into paragraphs, since PDF text has no blank lines."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PasswordType, PdfReader

from knowledge.sources.document import (
    LINE_END_HYPHEN,
    Block,
    Document,
    SourceError,
    collapse,
    line_blocks,
    make_document,
    read_bytes,
    render,
    stem_title,
    take_title_line,
)

_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
)


def read_pdf(path: Path, file_id: str, source: str) -> Document:
    """A PDF's text layer, page by page; a scanned or locked PDF is an error, not empty text."""
    data = read_bytes(path)
    try:
        reader = PdfReader(io.BytesIO(data))
        # pypdf opens a PDF locked only against editing by itself; this asks for the rest.
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise SourceError(f"{path}: the PDF is encrypted with a password")
        metadata = reader.metadata
        meta_title = collapse(str(metadata.title or "")) if metadata is not None else ""
        pages = [
            (page.extract_text() or "").translate(_LIGATURES).split("\n") for page in reader.pages
        ]
    except SourceError:
        raise
    except Exception as error:
        # pypdf reports damaged files with many exception types (its own, ValueError, KeyError,
        # ...); whichever it is, the file cannot be used.
        raise SourceError(f"{path}: the PDF cannot be read ({error})") from error
    if not any(collapse(line) for lines in pages for line in lines):
        raise SourceError(f"{path}: the PDF has no extractable text (a scan needs OCR first)")
    title = meta_title
    first = next(i for i, lines in enumerate(pages) if any(collapse(x) for x in lines))
    if title:
        lines = pages[first]
        line_index = next(i for i, line in enumerate(lines) if collapse(line))
        if collapse(lines[line_index]) == title:
            pages[first] = lines[:line_index] + lines[line_index + 1 :]
    else:
        later = any(collapse(line) for lines in pages[first + 1 :] for line in lines)
        title, pages[first] = take_title_line(pages[first], more_text=later)
    body = render(block for lines in pages for block in _pdf_blocks(lines))
    if not body:
        raise SourceError(f"{path}: the PDF has no text besides its title")
    return make_document(
        doc_id=file_id,
        title=title or stem_title(path),
        url="",
        topic="general",
        body=body,
        kind="article",
        source=source,
    )


def _pdf_blocks(lines: list[str]) -> list[Block]:
    """Paragraphs of one page: PDF text has no blank lines, so a short line ends a paragraph.

    Lines of running text fill the width of the page; the last line of a paragraph, a heading
    or a line of an address is clearly shorter than the longest line of the page.
    """
    longest = max((len(collapse(line)) for line in lines), default=0)

    def ends_paragraph(line: str) -> bool:
        return len(line) < longest * 2 / 3 and not LINE_END_HYPHEN.search(line)

    return line_blocks(lines, ends_paragraph=ends_paragraph, dehyphenate=True)
