"""Read files and folders: each file by the reader for its suffix, ids unique across them all."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

from knowledge.sources.document import Document, SourceError, path_id, read_text
from knowledge.sources.faq import csv_entries, faq_documents, jsonl_entries
from knowledge.sources.html import read_html
from knowledge.sources.markdown import read_markdown
from knowledge.sources.pdf import read_pdf
from knowledge.sources.text import read_plain_text

log = logging.getLogger("knowledge")

_MARKDOWN = frozenset({".md", ".markdown"})
_HTML = frozenset({".html", ".htm"})
_TEXT = frozenset({".txt"})
_PDF = frozenset({".pdf"})
_CSV = frozenset({".csv"})
_JSONL = frozenset({".jsonl"})
SUFFIXES: frozenset[str] = _MARKDOWN | _HTML | _TEXT | _PDF | _CSV | _JSONL


def read_file(path: Path, *, root: Path | None = None) -> list[Document]:
    """Read one file; FAQ tables give one document per entry, every other format one document.

    `root` is the folder the file was found under (default: the file's own folder); the
    document id is the path relative to it, so it is stable wherever the folder lives.
    """
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SourceError(
            f"{path}: unknown file type {path.suffix or '(none)'!r}; "
            f"readable types are {', '.join(sorted(SUFFIXES))}"
        )
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if not path.is_file():
        raise SourceError(f"{path}: not a file")
    file_id = path_id(path, path.parent if root is None else root)
    source = str(path.resolve())
    if suffix in _MARKDOWN:
        return [read_markdown(path, read_text(path), file_id, source)]
    if suffix in _HTML:
        return [read_html(path, read_text(path), file_id, source)]
    if suffix in _TEXT:
        return [read_plain_text(path, read_text(path), file_id, source)]
    if suffix in _PDF:
        return [read_pdf(path, file_id, source)]
    if suffix in _CSV:
        return faq_documents(path, csv_entries(path, read_text(path)), file_id, source)
    return faq_documents(path, jsonl_entries(path, read_text(path)), file_id, source)


def read_paths(paths: Sequence[Path]) -> list[Document]:
    """Read files and folders (walked recursively) into one collection, sorted by id.

    In a folder, hidden entries and files of unknown type are skipped, so editor backups and
    `.git` never become content; a file named explicitly must be readable. Ids must be unique
    across the whole collection, because an answer cites a document by its id.
    """
    if not paths:
        raise SourceError("no source paths given")
    documents: dict[str, Document] = {}
    read: set[Path] = set()
    for path in paths:
        if not path.exists():
            raise SourceError(f"{path}: no such file or folder")
        found = [(file, path) for file in _walk(path)] if path.is_dir() else [(path, path.parent)]
        for file, root in found:
            real = file.resolve()
            if real in read:
                log.debug("skipping %s: already read", file)
                continue
            read.add(real)
            for document in read_file(file, root=root):
                other = documents.get(document.id)
                if other is not None:
                    raise SourceError(
                        f"duplicate document id {document.id!r}: "
                        f"{other.source} and {document.source}"
                    )
                documents[document.id] = document
    if not documents:
        raise SourceError(f"no documents found in {', '.join(str(p) for p in paths)}")
    return [documents[key] for key in sorted(documents)]


def _walk(folder: Path) -> Iterator[Path]:
    """Readable files under `folder` in sorted order; a symlinked folder is entered once."""
    entered: set[Path] = set()

    def walk(current: Path) -> Iterator[Path]:
        real = current.resolve()
        if real in entered:
            log.debug("skipping %s: folder already read", current)
            return
        entered.add(real)
        try:
            entries = sorted(current.iterdir(), key=lambda entry: entry.name)
        except OSError as error:
            raise SourceError(f"{current}: cannot list folder ({error.strerror})") from error
        for entry in entries:
            if entry.name.startswith("."):
                log.debug("skipping hidden %s", entry)
            elif entry.is_dir():
                yield from walk(entry)
            elif entry.is_file() and entry.suffix.lower() in SUFFIXES:
                yield entry
            else:
                log.debug("skipping %s: not a readable file type", entry)

    yield from walk(folder)
