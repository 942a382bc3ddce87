"""What every reader shares: `Document`, `SourceError`, ids, content hashes and the body format.

Ids come from a file's path under the folder it was found in, so they stay the same when the
folder moves and two files of the same name in different folders do not collide. Each document
carries a hash of everything it says, so a changed source is re-indexed and an unchanged one is
not. Anything that cannot be used is a `SourceError` naming the file (and the line), so whoever
maintains the content can fix it without reading this code.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple


class SourceError(ValueError):
    """A source that cannot be used; the message names the file (and line/row) and the reason."""


@dataclass(frozen=True)
class Document:
    """One source document, with the fields an answer cites and a hash of its content."""

    id: str
    title: str
    url: str
    topic: str
    body: str
    kind: Literal["article", "faq"]
    source: str
    sha256: str
    # Other wordings of the question a FAQ entry (or an article, as a whole) answers.
    questions: tuple[str, ...] = ()
    # An article's wordings that one section answers: (section heading, wording) pairs.
    section_questions: tuple[tuple[str, str], ...] = ()
    # The things an article about one kind of product is about ("cast iron", "skillet").
    about: tuple[str, ...] = ()


# --- files, ids and documents -------------------------------------------------------------


def path_id(path: Path, root: Path) -> str:
    """`shipping/UK delivery.md` under root -> `shipping/uk-delivery`."""
    relative: Path | None = None
    # Lexical first, so a symlink inside the folder keeps its own name; resolved second, so
    # `root` may be given as another spelling of the same folder.
    for file, folder in ((path.absolute(), root.absolute()), (path.resolve(), root.resolve())):
        try:
            relative = file.relative_to(folder)
            break
        except ValueError:
            continue
    if relative is None:
        raise SourceError(f"{path}: not inside {root}, so it has no id")
    return re.sub(r"\s+", "-", relative.with_suffix("").as_posix().lower())


def stem_title(path: Path) -> str:
    """`uk-delivery_options` -> `Uk delivery options`: a readable title when a file gives none."""
    words = " ".join(re.split(r"[-_\s]+", path.stem)).strip()
    return words[:1].upper() + words[1:]


def read_bytes(path: Path) -> bytes:
    """The file's bytes; one that cannot be read or is empty is a `SourceError` naming it."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SourceError(f"{path}: cannot be read ({error.strerror})") from error
    if not data:
        raise SourceError(f"{path}: the file is empty")
    return data


def read_text(path: Path) -> str:
    """The file as text with Unix line ends; UTF-8, with or without a byte-order mark."""
    data = read_bytes(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SourceError(
            f"{path}:{line}: not UTF-8 text (byte {error.start}: {error.reason})"
        ) from error
    if not text.strip():
        raise SourceError(f"{path}: the file has no text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def make_document(
    *,
    doc_id: str,
    title: str,
    url: str,
    topic: str,
    body: str,
    kind: Literal["article", "faq"],
    source: str,
    questions: tuple[str, ...] = (),
    section_questions: tuple[tuple[str, str], ...] = (),
    about: tuple[str, ...] = (),
) -> Document:
    """Build a document whose hash covers every field an answer shows, so any change shows."""
    # JSON keeps the fields apart unambiguously ("ab" + "c" differs from "a" + "bc").
    fields: list[object] = [doc_id, title, url, topic, kind, body]
    if questions or section_questions:  # so documents without them keep their old hashes
        fields.append(list(questions))
    if section_questions:
        fields.append([list(pair) for pair in section_questions])
    if about:
        fields.append({"about": list(about)})
    payload = json.dumps(fields, ensure_ascii=False)
    return Document(
        id=doc_id,
        title=title,
        url=url,
        topic=topic,
        body=body,
        kind=kind,
        source=source,
        sha256=hashlib.sha256(payload.encode("utf-8")).hexdigest(),
        questions=questions,
        section_questions=section_questions,
        about=about,
    )


def with_questions(document: Document, questions: Sequence[str]) -> Document:
    """`document` with other wordings of its question attached, hash updated."""
    return make_document(
        doc_id=document.id,
        title=document.title,
        url=document.url,
        topic=document.topic,
        body=document.body,
        kind=document.kind,
        source=document.source,
        questions=alternatives(
            ALTERNATIVES_SEPARATOR.join(q.replace(ALTERNATIVES_SEPARATOR, " ") for q in questions),
            document.title,
        ),
        section_questions=document.section_questions,
    )


# --- other wordings of a question ---------------------------------------------------------

# Other wordings of an entry's question: a JSON list of strings, or in CSV one cell with the
# wordings separated by "|".
ALTERNATIVES_SEPARATOR = "|"


def alternatives(cell: str, question: str) -> tuple[str, ...]:
    """The other wordings of `question`: trimmed, without blanks, repeats or the question."""
    seen = {question.casefold()}
    wordings: list[str] = []
    for raw in cell.split(ALTERNATIVES_SEPARATOR):
        wording = collapse(raw)
        if wording and wording.casefold() not in seen:
            seen.add(wording.casefold())
            wordings.append(wording)
    return tuple(wordings)


# --- the body format ----------------------------------------------------------------------


class Block(NamedTuple):
    """One line of the body format: a heading, a paragraph or a list item."""

    kind: Literal["heading", "paragraph", "item"]
    text: str
    level: int = 0


_INVISIBLE = str.maketrans({"\xad": None, "\u200b": None, "\u2060": None, "\ufeff": None})


def collapse(text: str) -> str:
    """One line of text: runs of whitespace (also no-break spaces) become one space."""
    return " ".join(text.translate(_INVISIBLE).split())


def render(blocks: Iterable[Block]) -> str:
    """Write blocks in the body format; consecutive list items stay together as one list."""
    out: list[str] = []
    previous: Block | None = None
    for block in blocks:
        if not block.text:
            continue
        if previous is not None:
            out.append("\n" if block.kind == previous.kind == "item" else "\n\n")
        if block.kind == "heading":
            out.append(f"{'#' * block.level} {block.text}")
        elif block.kind == "item":
            out.append(f"- {block.text}")
        else:
            out.append(block.text)
        previous = block
    return "".join(out)


# A bullet glyph starts a list item and is replaced by `- `; a number starts one and is kept,
# because "step 3" may be referred to.
_BULLET = re.compile(r"^[-*+•◦▪‣·–]\s+")
_NUMBERED = re.compile(r"^\d{1,3}[.)]\s+")
LINE_END_HYPHEN = re.compile(r"[^\W\d_]-$")


def line_blocks(
    lines: Iterable[str],
    *,
    ends_paragraph: Callable[[str], bool] | None = None,
    dehyphenate: bool = False,
) -> list[Block]:
    """Group lines of plain text into paragraphs and list items.

    A blank line ends a paragraph; so does a line for which `ends_paragraph` is true (PDF text
    has no blank lines). A line that starts with a bullet or a number starts a list item; the
    lines after it continue the item, as wrapped text does.
    """
    blocks: list[Block] = []
    kind: Literal["paragraph", "item"] = "paragraph"
    parts: list[str] = []

    def flush() -> None:
        if parts:
            blocks.append(Block(kind, " ".join(parts)))
            parts.clear()

    for raw in lines:
        line = collapse(raw)
        if not line:
            flush()
            continue
        bullet = _BULLET.match(line)
        if bullet or _NUMBERED.match(line):
            flush()
            kind = "item"
            parts.append(line[bullet.end() :] if bullet else line)
        else:
            if not parts:
                kind = "paragraph"
            if dehyphenate and parts and LINE_END_HYPHEN.search(parts[-1]) and line[0].islower():
                parts[-1] = parts[-1][:-1] + line
            else:
                parts.append(line)
        if ends_paragraph is not None and ends_paragraph(line):
            flush()
    flush()
    return blocks


def _is_title_line(line: str) -> bool:
    """A first line that reads like a title: short, not a sentence, not a list item."""
    return (
        len(line) <= 120
        and not line.endswith((".", "!", "?", ":"))
        and not _BULLET.match(line)
        and not _NUMBERED.match(line)
    )


def take_title_line(lines: list[str], *, more_text: bool = False) -> tuple[str, list[str]]:
    """Split off the first non-empty line as the title if it reads like one ("" otherwise).

    The line stays in the body when nothing else would be left (`more_text`: there is text
    after `lines`, as on a PDF's later pages): a one-line note is content, not a title.
    """
    for index, raw in enumerate(lines):
        line = collapse(raw)
        if not line:
            continue
        rest = lines[index + 1 :]
        if _is_title_line(line) and (more_text or any(collapse(other) for other in rest)):
            return line, lines[:index] + rest
        break
    return "", lines
