"""Web pages: only the main text, read as a browser shows it, so no menu or banner is quoted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal

from knowledge.sources.document import (
    Block,
    Document,
    SourceError,
    collapse,
    make_document,
    render,
    stem_title,
)


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
        self.blocks: list[tuple[Block, bool]] = []  # with "inside the main text"
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
            self.title = collapse("".join(self._title_parts))

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
        text = collapse("".join(self._text))
        self._text = []
        if not text:
            return
        top = self._stack[-1] if self._stack else _ROOT
        kind, level = top.context
        self.blocks.append((Block(kind, text, level), top.main))

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
        cell = collapse("".join(self._text))
        self._text = []
        if cell:
            self._rows[-1][0].append(cell)

    def _end_row(self) -> None:
        self._end_cell()
        cells, outer = self._rows.pop()
        self._text = outer
        self._text.append(" | ".join(cells))
        self._break()  # a nested table's row stays inside the outer cell


def read_html(path: Path, text: str, file_id: str, source: str) -> Document:
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
    body = render(blocks)
    if not body:
        raise SourceError(f"{path}: the page has no text")
    return make_document(
        doc_id=page.article_id or file_id,
        title=title or page.title or stem_title(path),
        url=page.canonical or page.og_url,
        topic=page.topic or "general",
        body=body,
        kind="article",
        source=source,
    )
