"""FAQ tables in CSV or JSONL: one document per question, since an answer is cited on its own."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from knowledge.sources.document import (
    ALTERNATIVES_SEPARATOR,
    Document,
    SourceError,
    alternatives,
    collapse,
    line_blocks,
    make_document,
    render,
)

_FAQ_FIELDS = ("question", "answer", "id", "url", "topic", "questions")
_FAQ_REQUIRED = ("question", "answer")


def csv_entries(path: Path, text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, fields) of each CSV row; a quoted field may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    columns: dict[str, int] | None = None
    width = 0
    start = 1
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in row):  # blank lines, spreadsheet ",,,"
                continue
            if columns is None:
                columns, width = _csv_columns(path, row), len(row)
                continue
            if any(cell.strip() for cell in row[width:]):
                raise SourceError(
                    f"{path}:{line}: the row has {len(row)} fields but the header has {width}"
                )
            yield line, {key: row[i] if i < len(row) else "" for key, i in columns.items()}
    except csv.Error as error:
        raise SourceError(f"{path}:{reader.line_num}: not valid CSV ({error})") from error
    if columns is None:
        raise SourceError(f"{path}: the file has no header row")


def _csv_columns(path: Path, header: list[str]) -> dict[str, int]:
    """Column positions of the FAQ fields; header names are matched case-insensitively."""
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        key = name.strip().lower()
        if key in _FAQ_FIELDS:
            if key in columns:
                raise SourceError(f"{path}:1: the column {key!r} appears twice")
            columns[key] = index
    missing = [key for key in _FAQ_REQUIRED if key not in columns]
    if missing:
        raise SourceError(f"{path}: missing required column(s): {', '.join(missing)}")
    return columns


def jsonl_entries(path: Path, text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, fields) of each JSON object, one per line; blank lines are skipped."""
    entries = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise SourceError(f"{path}:{number}: not valid JSON ({error.msg})") from error
        if not isinstance(value, dict):
            raise SourceError(f"{path}:{number}: not a JSON object")
        for key in _FAQ_REQUIRED:
            if key not in value:
                raise SourceError(f"{path}:{number}: missing required key {key!r}")
        fields: dict[str, str] = {}
        for key in _FAQ_FIELDS:
            item = value.get(key)
            if item is None:
                continue
            if key == "questions":
                if not isinstance(item, list) or not all(isinstance(q, str) for q in item):
                    raise SourceError(f"{path}:{number}: 'questions' must be a list of texts")
                fields[key] = ALTERNATIVES_SEPARATOR.join(
                    q.replace(ALTERNATIVES_SEPARATOR, " ") for q in item
                )
                continue
            if isinstance(item, bool) or not isinstance(item, str | int):
                raise SourceError(f"{path}:{number}: {key!r} must be text")
            fields[key] = str(item)
        entries += 1
        yield number, fields
    if not entries:
        raise SourceError(f"{path}: the file has no entries")


def faq_documents(
    path: Path,
    entries: Iterable[tuple[int, dict[str, str]]],
    file_id: str,
    source: str,
) -> list[Document]:
    """One document per question; an answer is cited on its own, so each needs its own id."""
    documents: list[Document] = []
    lines: dict[str, int] = {}
    for number, (line, fields) in enumerate(entries, start=1):
        question = collapse(fields.get("question", ""))
        if not question:
            raise SourceError(f"{path}:{line}: the question is empty")
        body = render(line_blocks(fields.get("answer", "").split("\n")))
        if not body:
            raise SourceError(f"{path}:{line}: the answer is empty")
        doc_id = f"{file_id}:{fields.get('id', '').strip() or number}"
        if doc_id in lines:
            raise SourceError(
                f"{path}:{line}: duplicate entry id {doc_id!r} (first on line {lines[doc_id]})"
            )
        lines[doc_id] = line
        wordings = alternatives(fields.get("questions", ""), question)
        documents.append(
            make_document(
                doc_id=doc_id,
                questions=wordings,
                title=question,
                url=fields.get("url", "").strip(),
                topic=fields.get("topic", "").strip() or "general",
                body=body,
                kind="faq",
                source=source,
            )
        )
    if not documents:
        raise SourceError(f"{path}: the file has no entries")
    return documents
