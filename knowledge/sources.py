"""Turn source files (Markdown, HTML, plain text, PDF, FAQ tables) into `Document`s.

Every format is reduced to one small Markdown-like body: `#` heading lines, paragraphs separated
by blank lines and `- ` list items. The chunker, the embedder and the index then never need to
know where a text came from, and no markup or page furniture (menus, cookie banners, scripts)
ends up in a passage that is quoted to a customer.

Ids come from a file's path under the folder it was found in, so they stay the same when the
folder moves and two files of the same name in different folders do not collide. Each document
carries a hash of everything it says, so a changed source is re-indexed and an unchanged one is
not. Anything that cannot be used is a `SourceError` naming the file (and the line), so whoever
maintains the content can fix it without reading this code.

The shop's own articles (`data/knowledge/*.md`, Markdown with id/title/url/topic front matter)
come out exactly as `knowledge.documents.parse_markdown` read them: their body is already in the
body format, and the chunker understands the little Markdown they use (bold, numbered lists).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal, NamedTuple

import yaml
from pypdf import PasswordType, PdfReader

log = logging.getLogger("knowledge")

_MARKDOWN = frozenset({".md", ".markdown"})
_HTML = frozenset({".html", ".htm"})
_TEXT = frozenset({".txt"})
_PDF = frozenset({".pdf"})
_CSV = frozenset({".csv"})
_JSONL = frozenset({".jsonl"})
SUFFIXES: frozenset[str] = _MARKDOWN | _HTML | _TEXT | _PDF | _CSV | _JSONL


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
    file_id = _path_id(path, path.parent if root is None else root)
    source = str(path.resolve())
    if suffix in _MARKDOWN:
        return [_read_markdown(path, _read_text(path), file_id, source)]
    if suffix in _HTML:
        return [_read_html(path, _read_text(path), file_id, source)]
    if suffix in _TEXT:
        return [_read_plain_text(path, _read_text(path), file_id, source)]
    if suffix in _PDF:
        return [_read_pdf(path, file_id, source)]
    if suffix in _CSV:
        return _faq_documents(path, _csv_entries(path, _read_text(path)), file_id, source)
    return _faq_documents(path, _jsonl_entries(path, _read_text(path)), file_id, source)


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


# --- files, ids and documents -------------------------------------------------------------


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


def _path_id(path: Path, root: Path) -> str:
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


def _stem_title(path: Path) -> str:
    """`uk-delivery_options` -> `Uk delivery options`: a readable title when a file gives none."""
    words = " ".join(re.split(r"[-_\s]+", path.stem)).strip()
    return words[:1].upper() + words[1:]


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SourceError(f"{path}: cannot be read ({error.strerror})") from error
    if not data:
        raise SourceError(f"{path}: the file is empty")
    return data


def _read_text(path: Path) -> str:
    """The file as text with Unix line ends; UTF-8, with or without a byte-order mark."""
    data = _read_bytes(path)
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


def _make_document(
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
) -> Document:
    """Build a document whose hash covers every field an answer shows, so any change shows."""
    # JSON keeps the fields apart unambiguously ("ab" + "c" differs from "a" + "bc").
    fields: list[object] = [doc_id, title, url, topic, kind, body]
    if questions or section_questions:  # so documents without them keep their old hashes
        fields.append(list(questions))
    if section_questions:
        fields.append([list(pair) for pair in section_questions])
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
    )


def with_questions(document: Document, questions: Sequence[str]) -> Document:
    """`document` with other wordings of its question attached, hash updated."""
    return _make_document(
        doc_id=document.id,
        title=document.title,
        url=document.url,
        topic=document.topic,
        body=document.body,
        kind=document.kind,
        source=document.source,
        questions=_alternatives(
            _ALTERNATIVES_SEPARATOR.join(
                q.replace(_ALTERNATIVES_SEPARATOR, " ") for q in questions
            ),
            document.title,
        ),
        section_questions=document.section_questions,
    )


# --- the body format ----------------------------------------------------------------------


class _Block(NamedTuple):
    """One line of the body format: a heading, a paragraph or a list item."""

    kind: Literal["heading", "paragraph", "item"]
    text: str
    level: int = 0


_INVISIBLE = str.maketrans({"\xad": None, "\u200b": None, "\u2060": None, "\ufeff": None})


def _collapse(text: str) -> str:
    """One line of text: runs of whitespace (also no-break spaces) become one space."""
    return " ".join(text.translate(_INVISIBLE).split())


def _render(blocks: Iterable[_Block]) -> str:
    """Write blocks in the body format; consecutive list items stay together as one list."""
    out: list[str] = []
    previous: _Block | None = None
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
_LINE_END_HYPHEN = re.compile(r"[^\W\d_]-$")


def _line_blocks(
    lines: Iterable[str],
    *,
    ends_paragraph: Callable[[str], bool] | None = None,
    dehyphenate: bool = False,
) -> list[_Block]:
    """Group lines of plain text into paragraphs and list items.

    A blank line ends a paragraph; so does a line for which `ends_paragraph` is true (PDF text
    has no blank lines). A line that starts with a bullet or a number starts a list item; the
    lines after it continue the item, as wrapped text does.
    """
    blocks: list[_Block] = []
    kind: Literal["paragraph", "item"] = "paragraph"
    parts: list[str] = []

    def flush() -> None:
        if parts:
            blocks.append(_Block(kind, " ".join(parts)))
            parts.clear()

    for raw in lines:
        line = _collapse(raw)
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
            if dehyphenate and parts and _LINE_END_HYPHEN.search(parts[-1]) and line[0].islower():
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


def _take_title_line(lines: list[str], *, more_text: bool = False) -> tuple[str, list[str]]:
    """Split off the first non-empty line as the title if it reads like one ("" otherwise).

    The line stays in the body when nothing else would be left (`more_text`: there is text
    after `lines`, as on a PDF's later pages): a one-line note is content, not a title.
    """
    for index, raw in enumerate(lines):
        line = _collapse(raw)
        if not line:
            continue
        rest = lines[index + 1 :]
        if _is_title_line(line) and (more_text or any(_collapse(other) for other in rest)):
            return line, lines[:index] + rest
        break
    return "", lines


# --- Markdown -----------------------------------------------------------------------------

_FRONT_MATTER_END = ("---", "...")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_MD_TITLE = re.compile(r"^#[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_INNER_SPACE = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")


def _read_markdown(path: Path, text: str, file_id: str, source: str) -> Document:
    """Markdown with optional YAML front matter (id, title, url, topic, questions)."""
    meta, body = _front_matter(path, text)
    lines, title_index = _tidy_markdown(body)
    title = _meta_text(path, meta, "title")
    if title_index is not None:
        heading = _markdown_title(lines[title_index])
        if not title or heading == title:
            title = title or heading
            del lines[title_index]
            blank_left = title_index < len(lines) and not lines[title_index]
            if blank_left and (title_index == 0 or not lines[title_index - 1]):
                del lines[title_index]
    body = "\n".join(lines).strip()
    if not body:
        raise SourceError(f"{path}: the document has no text")
    title = title or _stem_title(path)
    questions, section_questions = _meta_questions(path, meta, title)
    return _make_document(
        doc_id=_meta_text(path, meta, "id") or file_id,
        questions=questions,
        section_questions=section_questions,
        title=title,
        url=_meta_text(path, meta, "url"),
        topic=_meta_text(path, meta, "topic") or "general",
        body=body,
        kind="article",
        source=source,
    )


def _front_matter(path: Path, text: str) -> tuple[dict[str, object], str]:
    """Split YAML front matter (between `---` lines at the very top) from the body."""
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return {}, text
    end = next(
        (i for i in range(1, len(lines)) if lines[i].rstrip() in _FRONT_MATTER_END),
        None,
    )
    if end is None:
        raise SourceError(f"{path}:1: front matter is not closed with '---'")
    try:
        loaded = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 2}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise SourceError(f"{path}{where}: front matter is not valid YAML ({problem})") from error
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise SourceError(f"{path}:2: front matter is not a mapping of fields")
    return {str(key): value for key, value in loaded.items()}, "\n".join(lines[end + 1 :])


def _meta_text(path: Path, meta: dict[str, object], key: str) -> str:
    value = meta.get(key)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise SourceError(f"{path}: front matter field {key!r} must be text")
    return str(value).strip()


def _meta_questions(
    path: Path, meta: dict[str, object], title: str
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Front matter `questions`: wordings of what the article answers, or of what a section does.

    Each item is a text (the article as a whole: its first passage answers it) or a mapping
    `{section: <heading>, question: <text>}` (the first passage under that heading answers it).
    """
    value = meta.get("questions")
    if value is None:
        return (), ()
    if not isinstance(value, list):
        raise SourceError(f"{path}: front matter field 'questions' must be a list")
    whole: list[str] = []
    sections: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = {("", title.casefold())}
    for number, item in enumerate(value, start=1):
        if isinstance(item, str):
            section, wording = "", _collapse(item)
        elif isinstance(item, dict) and set(item) == {"section", "question"}:
            section, wording = _collapse(str(item["section"])), _collapse(str(item["question"]))
        else:
            raise SourceError(
                f"{path}: questions item {number} must be a text or a mapping with "
                "'section' and 'question'"
            )
        if not wording:
            raise SourceError(f"{path}: questions item {number} is empty")
        key = (section.casefold(), wording.casefold())
        if key in seen:
            continue
        seen.add(key)
        if section:
            sections.append((section, wording))
        else:
            whole.append(wording)
    return tuple(whole), tuple(sections)


def _tidy_markdown(body: str) -> tuple[list[str], int | None]:
    """Body lines without comments, trailing spaces and repeated blank lines.

    Returns the lines and the index of the first `# ` heading outside code fences (the title
    candidate). Indentation is kept: it nests Markdown lists.
    """
    lines: list[str] = []
    title_index: int | None = None
    fenced = False
    for raw in _HTML_COMMENT.sub("", body).split("\n"):
        line = raw.rstrip()
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            line = _INNER_SPACE.sub(" ", line)
            if title_index is None and _MD_TITLE.match(line):
                title_index = len(lines)
        if not fenced and not line and (not lines or not lines[-1]):
            continue
        lines.append(line)
    return lines, title_index


def _markdown_title(line: str) -> str:
    """The text of a `# ` heading line without links and emphasis."""
    match = _MD_TITLE.match(line)
    text = match.group(1) if match else line
    return _collapse(_MD_EMPHASIS.sub("", _MD_LINK.sub(r"\1", text)))


# --- HTML ---------------------------------------------------------------------------------


def _tags(names: str) -> frozenset[str]:
    return frozenset(names.split())


_VOID = _tags("area base br col embed hr img input keygen link meta param source track wbr")
# Page furniture and things that are not text. `header` is handled on its own (see _open).
_DROPPED = _tags(
    "nav footer aside script style noscript template svg form button head title iframe object "
    "canvas select textarea audio video"
)
_DROPPED_ROLES = _tags("navigation banner contentinfo search complementary")
_MAIN = frozenset({"main", "article"})
_SECTIONING = frozenset({"main", "article", "section"})
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_BLOCKS = _tags(
    "address article aside blockquote body caption center details dialog dd div dl dt fieldset "
    "figcaption figure footer form header hgroup hr legend li main menu nav ol p pre section "
    "summary table tbody tfoot thead ul h1 h2 h3 h4 h5 h6"
)
# Starting one of these closes an open <p>, as browsers do; real pages rarely close their <p>.
_CLOSES_P = _tags(
    "address article aside blockquote details dialog div dl dd dt fieldset figcaption figure "
    "footer form header hgroup hr li main menu nav ol p pre section table ul h1 h2 h3 h4 h5 h6"
)
# Boundaries that end a list item or heading; other blocks inside one only separate words.
_ENDS_ITEM = _tags("li ul ol menu dl dt dd table caption h1 h2 h3 h4 h5 h6")
_HEAD_CONTENT = _tags("title meta link style script base noscript template")
_SCOPE = _tags("html table td th caption template button object marquee applet")
_TABLE_SCOPE = frozenset({"html", "table", "template"})
_TABLE_PARTS = frozenset({"table", "caption", "thead", "tbody", "tfoot", "tr", "td", "th"})
# Start tag -> (open elements it closes, elements the search for them stops at).
_IMPLIED_END = {
    "li": (frozenset({"li"}), _SCOPE | {"ul", "ol", "menu"}),
    "dt": (frozenset({"dt", "dd"}), _SCOPE | {"dl"}),
    "dd": (frozenset({"dt", "dd"}), _SCOPE | {"dl"}),
    "tr": (frozenset({"tr"}), _TABLE_SCOPE | {"thead", "tbody", "tfoot"}),
    "td": (frozenset({"td", "th"}), _TABLE_SCOPE | {"tr"}),
    "th": (frozenset({"td", "th"}), _TABLE_SCOPE | {"tr"}),
    "thead": (frozenset({"thead", "tbody", "tfoot"}), _TABLE_SCOPE),
    "tbody": (frozenset({"thead", "tbody", "tfoot"}), _TABLE_SCOPE),
    "tfoot": (frozenset({"thead", "tbody", "tfoot"}), _TABLE_SCOPE),
    "option": (frozenset({"option"}), frozenset({"select", "datalist", "optgroup"})),
}
_INVISIBLE_STYLE = re.compile(r"display:none|visibility:hidden")


@dataclass(frozen=True)
class _Open:
    """An open element and what it means for the text inside it."""

    tag: str
    dropped: bool = False  # never content
    headings_only: bool = False  # only headings are content (an article's own <header>)
    main: bool = False  # inside the page's main text
    sectioned: bool = False  # inside main/article/section, where <header> is not the page's
    context: tuple[Literal["heading", "paragraph", "item"], int] = ("paragraph", 0)


_ROOT = _Open("#document")


class _HtmlText(HTMLParser):
    """Collect the visible text of a page as blocks, and the metadata a document needs.

    It keeps its own stack of open elements and closes them the way browsers do (an unclosed
    <p> or <li> ends at the next block, an end tag closes what is still open inside it), so
    that a sloppy page cannot make the parser think it is still inside a <nav> or a <script>.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[_Block, bool]] = []  # with "inside the main text"
        self.title = ""
        self.canonical = ""
        self.og_url = ""
        self.topic = ""
        self.article_id = ""
        self._stack: list[_Open] = []
        self._text: list[str] = []
        self._rows: list[tuple[list[str], list[str]]] = []  # open table rows: cells, outer text
        self._title_parts: list[str] | None = None

    # HTMLParser callbacks

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes: dict[str, str] = {}
        for name, value in attrs:
            attributes.setdefault(name, value or "")
        self._close_implied(tag)
        if tag in _VOID:
            self._void(tag, attributes)
        else:
            self._open(tag, attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            if tag == "br":  # browsers read </br> as <br>
                self._line_break()
            return
        if tag in ("html", "body"):  # text after </body> is still shown, so keep them open
            return
        index = self._find_open(tag)
        if index is not None:
            self._pop_to(index)

    def handle_data(self, data: str) -> None:
        top = self._stack[-1] if self._stack else _ROOT
        if top.tag == "title" and self._title_parts is not None:
            self._title_parts.append(data)
        if top.tag == "head" and data.strip():  # text cannot be in <head>: it has ended
            self._pop_to(len(self._stack) - 1)
            top = self._stack[-1] if self._stack else _ROOT
        if not top.dropped and (not top.headings_only or top.context[0] == "heading"):
            self._text.append(data)

    def close(self) -> None:
        """Finish the page: close whatever is still open and keep its text."""
        super().close()
        self._pop_to(0)
        self._flush()

    # the stack of open elements

    def _open(self, tag: str, attributes: dict[str, str]) -> None:
        parent = self._stack[-1] if self._stack else _ROOT
        roles = set(attributes.get("role", "").lower().split())
        style = attributes.get("style", "").replace(" ", "").lower()
        dropped = (
            parent.dropped
            or tag in _DROPPED
            or bool(roles & _DROPPED_ROLES)
            or "hidden" in attributes
            or attributes.get("aria-hidden", "").strip().lower() == "true"
            or bool(_INVISIBLE_STYLE.search(style))
        )
        headings_only = parent.headings_only
        if tag == "header":
            # The page's header is furniture; an article's own header holds its title.
            if parent.sectioned:
                headings_only = True
            else:
                dropped = True
        context = parent.context
        if tag in _HEADINGS:
            context = ("heading", _HEADINGS[tag])
        elif tag == "li":
            context = ("item", 0)
        element = _Open(
            tag=tag,
            dropped=dropped,
            headings_only=headings_only,
            main=parent.main or tag in _MAIN or "main" in roles,
            sectioned=parent.sectioned or tag in _SECTIONING or "main" in roles,
            context=context,
        )
        if tag in ("td", "th"):
            self._end_cell()
        elif tag == "tr":
            self._start_row()
        elif tag in _BLOCKS or element.main != parent.main:
            self._break(soft=tag not in _ENDS_ITEM and element.main == parent.main)
        elif dropped and not parent.dropped:
            self._text.append(" ")  # "10<button>Buy</button>today" must not read "10today"
        if tag == "title" and self._title_parts is None and not self._inside("svg"):
            self._title_parts = []
        self._stack.append(element)

    def _close(self, element: _Open) -> None:
        """What ending an element means for the text; called before it leaves the stack."""
        parent = self._stack[-2] if len(self._stack) > 1 else _ROOT
        if element.tag in ("td", "th"):
            self._end_cell()
        elif element.tag == "tr":
            self._end_row()
        elif element.tag in _BLOCKS or element.main != parent.main:
            self._break(soft=element.tag not in _ENDS_ITEM and element.main == parent.main)
        elif element.dropped and not parent.dropped:
            self._text.append(" ")
        if element.tag == "title" and self._title_parts is not None and not self.title:
            self.title = _collapse("".join(self._title_parts))

    def _pop_to(self, index: int) -> None:
        while len(self._stack) > index:
            self._close(self._stack[-1])
            self._stack.pop()

    def _inside(self, tag: str) -> bool:
        return any(element.tag == tag for element in self._stack)

    def _search(self, targets: frozenset[str], stops: frozenset[str]) -> int | None:
        """Index of the innermost open element in `targets`, unless one in `stops` is nearer."""
        for index in range(len(self._stack) - 1, -1, -1):
            tag = self._stack[index].tag
            if tag in targets:
                return index
            if tag in stops:
                return None
        return None

    def _find_open(self, tag: str) -> int | None:
        """The element an end tag closes; a stray end tag closes nothing."""
        if tag in _DROPPED:
            # Never leave a <script>, <svg> or <button> open because of a sloppy tag inside it.
            stops: frozenset[str] = frozenset()
        elif tag in _TABLE_PARTS:
            stops = _TABLE_SCOPE
        elif tag in _BLOCKS:
            stops = _SCOPE | {"ul", "ol", "menu"} if tag == "li" else _SCOPE
        else:
            # An inline end tag never reaches past a block: "</b>" must not close a <div>.
            stops = _BLOCKS | _TABLE_PARTS | _SCOPE
        return self._search(frozenset({tag}), stops)

    def _close_implied(self, tag: str) -> None:
        """Close what a new start tag ends, as browsers do for tags left open."""
        if self._stack and self._stack[-1].tag == "title":  # a tag in <title>: it was not closed
            self._pop_to(len(self._stack) - 1)
        if tag not in _HEAD_CONTENT:
            head = self._search(frozenset({"head"}), frozenset())
            if head is not None:
                self._pop_to(head)
        if tag in _CLOSES_P:
            index = self._search(frozenset({"p"}), _SCOPE)
            if index is not None:
                self._pop_to(index)
        if tag in _IMPLIED_END:
            targets, stops = _IMPLIED_END[tag]
            index = self._search(targets, stops)
            if index is not None:
                self._pop_to(index)
        if tag in _HEADINGS and self._stack and self._stack[-1].tag in _HEADINGS:
            self._pop_to(len(self._stack) - 1)

    def _void(self, tag: str, attributes: dict[str, str]) -> None:
        """Elements without content: only line breaks and metadata matter."""
        if tag == "br":
            self._line_break()
        elif tag == "hr":
            self._break()
        elif tag == "meta":
            name = attributes.get("name", "").strip().lower()
            content = attributes.get("content", "").strip()
            if name == "topic" and not self.topic:
                self.topic = content
            elif name == "article-id" and not self.article_id:
                self.article_id = content
            elif attributes.get("property", "").strip().lower() == "og:url" and not self.og_url:
                self.og_url = content
        elif tag == "link":
            rels = attributes.get("rel", "").lower().split()
            if "canonical" in rels and not self.canonical:
                self.canonical = attributes.get("href", "").strip()

    # text into blocks

    def _flush(self) -> None:
        """End the current block: the text so far becomes one heading, item or paragraph."""
        text = _collapse("".join(self._text))
        self._text = []
        if not text:
            return
        top = self._stack[-1] if self._stack else _ROOT
        kind, level = top.context
        self.blocks.append((_Block(kind, text, level), top.main))

    def _break(self, *, soft: bool = False) -> None:
        """A block boundary; inside a table row it only separates words, the row is one line.

        A `soft` boundary (a <p> or <div>) inside a list item or heading is only a space too:
        `<li><p>Step</p><p>details</p></li>` is one item, as a browser shows it.
        """
        top = self._stack[-1] if self._stack else _ROOT
        if self._rows or (soft and top.context[0] != "paragraph"):
            self._text.append(" ")
        else:
            self._flush()

    def _line_break(self) -> None:
        """<br>: a new paragraph, but inside a heading or list item just a space."""
        top = self._stack[-1] if self._stack else _ROOT
        if self._rows or top.context[0] != "paragraph":
            self._text.append(" ")
        else:
            self._flush()

    def _start_row(self) -> None:
        self._break()
        self._rows.append(([], self._text))
        self._text = []

    def _end_cell(self) -> None:
        if not self._rows:  # a cell outside a row: just a block
            self._break()
            return
        cell = _collapse("".join(self._text))
        self._text = []
        if cell:
            self._rows[-1][0].append(cell)

    def _end_row(self) -> None:
        self._end_cell()
        cells, outer = self._rows.pop()
        self._text = outer
        self._text.append(" | ".join(cells))
        self._break()  # a nested table's row stays inside the outer cell


def _read_html(path: Path, text: str, file_id: str, source: str) -> Document:
    """A web page: the main text (or the body) without navigation, banners and scripts."""
    page = _HtmlText()
    page.feed(text)
    page.close()
    main = [block for block, in_main in page.blocks if in_main]
    blocks = main or [block for block, _ in page.blocks]
    title = ""
    for index, block in enumerate(blocks):
        if block.kind == "heading" and block.level == 1:
            title = block.text
            del blocks[index]
            break
    body = _render(blocks)
    if not body:
        raise SourceError(f"{path}: the page has no text")
    return _make_document(
        doc_id=page.article_id or file_id,
        title=title or page.title or _stem_title(path),
        url=page.canonical or page.og_url,
        topic=page.topic or "general",
        body=body,
        kind="article",
        source=source,
    )


# --- plain text and PDF -------------------------------------------------------------------


def _read_plain_text(path: Path, text: str, file_id: str, source: str) -> Document:
    """Plain text: blank-line separated paragraphs, the first line a title if it reads like one."""
    title, lines = _take_title_line(text.split("\n"))
    return _make_document(
        doc_id=file_id,
        title=title or _stem_title(path),
        url="",
        topic="general",
        body=_render(_line_blocks(lines)),
        kind="article",
        source=source,
    )


_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
)


def _read_pdf(path: Path, file_id: str, source: str) -> Document:
    """A PDF's text layer, page by page; a scanned or locked PDF is an error, not empty text."""
    data = _read_bytes(path)
    try:
        reader = PdfReader(io.BytesIO(data))
        # pypdf opens a PDF locked only against editing by itself; this asks for the rest.
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise SourceError(f"{path}: the PDF is encrypted with a password")
        metadata = reader.metadata
        meta_title = _collapse(str(metadata.title or "")) if metadata is not None else ""
        pages = [
            (page.extract_text() or "").translate(_LIGATURES).split("\n") for page in reader.pages
        ]
    except SourceError:
        raise
    except Exception as error:
        # pypdf reports damaged files with many exception types (its own, ValueError, KeyError,
        # ...); whichever it is, the file cannot be used.
        raise SourceError(f"{path}: the PDF cannot be read ({error})") from error
    if not any(_collapse(line) for lines in pages for line in lines):
        raise SourceError(f"{path}: the PDF has no extractable text (a scan needs OCR first)")
    title = meta_title
    first = next(i for i, lines in enumerate(pages) if any(_collapse(x) for x in lines))
    if title:
        lines = pages[first]
        line_index = next(i for i, line in enumerate(lines) if _collapse(line))
        if _collapse(lines[line_index]) == title:
            pages[first] = lines[:line_index] + lines[line_index + 1 :]
    else:
        later = any(_collapse(line) for lines in pages[first + 1 :] for line in lines)
        title, pages[first] = _take_title_line(pages[first], more_text=later)
    body = _render(block for lines in pages for block in _pdf_blocks(lines))
    if not body:
        raise SourceError(f"{path}: the PDF has no text besides its title")
    return _make_document(
        doc_id=file_id,
        title=title or _stem_title(path),
        url="",
        topic="general",
        body=body,
        kind="article",
        source=source,
    )


def _pdf_blocks(lines: list[str]) -> list[_Block]:
    """Paragraphs of one page: PDF text has no blank lines, so a short line ends a paragraph.

    Lines of running text fill the width of the page; the last line of a paragraph, a heading
    or a line of an address is clearly shorter than the longest line of the page.
    """
    longest = max((len(_collapse(line)) for line in lines), default=0)

    def ends_paragraph(line: str) -> bool:
        return len(line) < longest * 2 / 3 and not _LINE_END_HYPHEN.search(line)

    return _line_blocks(lines, ends_paragraph=ends_paragraph, dehyphenate=True)


# --- FAQ tables ---------------------------------------------------------------------------

_FAQ_FIELDS = ("question", "answer", "id", "url", "topic", "questions")
# Other wordings of an entry's question: a JSON list of strings, or in CSV one cell with the
# wordings separated by "|".
_ALTERNATIVES_SEPARATOR = "|"
_FAQ_REQUIRED = ("question", "answer")


def _csv_entries(path: Path, text: str) -> Iterator[tuple[int, dict[str, str]]]:
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


def _jsonl_entries(path: Path, text: str) -> Iterator[tuple[int, dict[str, str]]]:
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
                fields[key] = _ALTERNATIVES_SEPARATOR.join(
                    q.replace(_ALTERNATIVES_SEPARATOR, " ") for q in item
                )
                continue
            if isinstance(item, bool) or not isinstance(item, str | int):
                raise SourceError(f"{path}:{number}: {key!r} must be text")
            fields[key] = str(item)
        entries += 1
        yield number, fields
    if not entries:
        raise SourceError(f"{path}: the file has no entries")


def _alternatives(cell: str, question: str) -> tuple[str, ...]:
    """The other wordings of `question`: trimmed, without blanks, repeats or the question."""
    seen = {question.casefold()}
    wordings: list[str] = []
    for raw in cell.split(_ALTERNATIVES_SEPARATOR):
        wording = _collapse(raw)
        if wording and wording.casefold() not in seen:
            seen.add(wording.casefold())
            wordings.append(wording)
    return tuple(wordings)


def _faq_documents(
    path: Path,
    entries: Iterable[tuple[int, dict[str, str]]],
    file_id: str,
    source: str,
) -> list[Document]:
    """One document per question; an answer is cited on its own, so each needs its own id."""
    documents: list[Document] = []
    lines: dict[str, int] = {}
    for number, (line, fields) in enumerate(entries, start=1):
        question = _collapse(fields.get("question", ""))
        if not question:
            raise SourceError(f"{path}:{line}: the question is empty")
        body = _render(_line_blocks(fields.get("answer", "").split("\n")))
        if not body:
            raise SourceError(f"{path}:{line}: the answer is empty")
        doc_id = f"{file_id}:{fields.get('id', '').strip() or number}"
        if doc_id in lines:
            raise SourceError(
                f"{path}:{line}: duplicate entry id {doc_id!r} (first on line {lines[doc_id]})"
            )
        lines[doc_id] = line
        alternatives = _alternatives(fields.get("questions", ""), question)
        documents.append(
            _make_document(
                doc_id=doc_id,
                questions=alternatives,
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
