"""Markdown with optional YAML front matter (id, title, url, topic, questions, about).

The shop's own articles (`data/knowledge/*.md`, Markdown with id/title/url/topic front matter)
come out of `read_markdown` with their body exactly as written: it is already in the body
format, and the chunker understands the little Markdown they use (bold, numbered lists).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from knowledge.sources.document import Document, SourceError, collapse, make_document, stem_title

_FRONT_MATTER_END = ("---", "...")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_MD_TITLE = re.compile(r"^#[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_INNER_SPACE = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")


def read_markdown(path: Path, text: str, file_id: str, source: str) -> Document:
    """Markdown with optional YAML front matter (id, title, url, topic, questions, about)."""
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
    title = title or stem_title(path)
    questions, section_questions = _meta_questions(path, meta, title)
    return make_document(
        doc_id=_meta_text(path, meta, "id") or file_id,
        questions=questions,
        section_questions=section_questions,
        about=_meta_about(path, meta),
        title=title,
        url=_meta_text(path, meta, "url"),
        topic=_meta_text(path, meta, "topic") or "general",
        body=body,
        kind="article",
        source=source,
    )


def _meta_about(path: Path, meta: dict[str, object]) -> tuple[str, ...]:
    """`about:`, the things an article about one kind of product is about: a list of texts."""
    value = meta.get("about")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SourceError(f"{path}: front matter 'about' must be a list of texts")
    return tuple(v.strip() for v in value)


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
            section, wording = "", collapse(item)
        elif isinstance(item, dict) and set(item) == {"section", "question"}:
            section, wording = collapse(str(item["section"])), collapse(str(item["question"]))
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
    return collapse(_MD_EMPHASIS.sub("", _MD_LINK.sub(r"\1", text)))
