import io
import logging
from pathlib import Path

import pypdf
import pytest
import yaml

from knowledge.sources import SUFFIXES, Document, SourceError, read_file, read_paths

ROOT = Path(__file__).resolve().parents[3]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def only(documents: list[Document]) -> Document:
    assert len(documents) == 1
    return documents[0]


# --- minimal PDFs, written by hand so that no binary fixture is committed ---------------------


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def make_pdf(pages: list[list[str]], *, title: str | None = None) -> bytes:
    """A valid PDF 1.4: one Helvetica text stream per page, a line per entry, an xref table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        (
            "<< /Type /Pages /Kids ["
            + " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
            + f"] /Count {len(pages)} >>"
        ).encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for index, lines in enumerate(pages):
        operators = ["BT", "/F1 11 Tf", "14 TL", "72 740 Td"]
        for line in lines:
            operators += [f"{_pdf_string(line)} Tj", "T*"]
        operators.append("ET")
        stream = "\n".join(operators).encode("latin-1")
        objects.append(
            (
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * index} 0 R >>"
            ).encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    if title is not None:
        objects.append(f"<< /Title {_pdf_string(title)} >>".encode("latin-1"))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    info = b" /Info %d 0 R" % len(objects) if title is not None else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\n" % (len(objects) + 1, info)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def encrypt(pdf: bytes, *, user_password: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --- Markdown -------------------------------------------------------------------------------


def test_markdown_front_matter_gives_the_fields_and_the_body_is_kept(tmp_path):
    path = write(
        tmp_path / "returns.md",
        "---\nid: returns-test\ntitle: ' Returning an item '\nurl: https://x/returns\n"
        "topic: returns\n---\nIntro.\n\n## How\n1. Open **your account**.\n   - nested item\n",
    )
    document = only(read_file(path))
    assert document == Document(
        id="returns-test",
        title="Returning an item",
        url="https://x/returns",
        topic="returns",
        body="Intro.\n\n## How\n1. Open **your account**.\n   - nested item",
        kind="article",
        source=str(path.resolve()),
        sha256=document.sha256,
    )
    assert len(document.sha256) == 64


def test_markdown_without_front_matter_takes_the_first_h1_as_title(tmp_path):
    path = write(
        tmp_path / "Gift Cards.md",
        "```\n# not a heading\n```\n\n# Buying a [gift card](https://x/g)\n\n"
        "Gift  cards   are sold online.   \n\n\n\n<!-- draft: check prices -->\n# Second h1\n",
    )
    document = only(read_file(path))
    assert document.id == "gift-cards"
    assert document.title == "Buying a gift card"
    assert (document.url, document.topic) == ("", "general")
    assert document.body == (
        "```\n# not a heading\n```\n\nGift cards are sold online.\n\n# Second h1"
    )


def test_markdown_title_falls_back_to_the_stem_and_a_repeated_h1_is_dropped(tmp_path):
    plain = only(read_file(write(tmp_path / "uk_delivery-options.md", "Text only.\n")))
    assert (plain.title, plain.body) == ("Uk delivery options", "Text only.")
    repeated = only(
        read_file(write(tmp_path / "r.md", "---\ntitle: Returns\n---\n# Returns\n\nBody.\n"))
    )
    assert (repeated.title, repeated.body) == ("Returns", "Body.")
    different = only(
        read_file(write(tmp_path / "d.md", "---\ntitle: Returns\n---\n# Other\n\nBody.\n"))
    )
    assert (different.title, different.body) == ("Returns", "# Other\n\nBody.")


def test_an_article_takes_wordings_of_what_it_answers_in_its_front_matter(tmp_path):
    text = (
        "---\ntitle: Returns\nquestions:\n"
        "  - ' can I  send it back? '\n"
        "  - returns\n"  # the title itself: nothing new
        "  - {section: Refunds, question: when is my refund}\n"
        "  - can I send it back?\n"  # a repeat
        "---\nBody.\n\n## Refunds\n\nFive days.\n"
    )
    article = only(read_file(write(tmp_path / "a.md", text)))
    assert article.questions == ("can I send it back?",)
    assert article.section_questions == (("Refunds", "when is my refund"),)
    plain = only(read_file(write(tmp_path / "b.md", "---\ntitle: Returns\n---\n" + "Body.\n")))
    assert plain.questions == () and plain.section_questions == ()
    # The wordings are content: changing one changes the hash, so a re-ingest re-embeds.
    other = only(read_file(write(tmp_path / "c.md", text.replace("is my refund", "is a refund"))))
    assert other.sha256 != article.sha256


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("---\ntitle: Open\nBody\n", r"bad\.md:1: front matter is not closed"),
        ("---\n- a\n- b\n---\nBody\n", r"bad\.md:2: front matter is not a mapping"),
        ("---\ntitle: ok\nurl: [unclosed\n---\nBody\n", r"bad\.md:\d+: front matter is not valid"),
        ("---\ntitle: [a, b]\n---\nBody\n", r"bad\.md: front matter field 'title' must be text"),
        ("---\ntitle: Only a title\n---\n\n", r"bad\.md: the document has no text"),
        ("---\nquestions: why\n---\nBody\n", r"bad\.md: front matter field 'questions' must be"),
        ("---\nquestions: [3]\n---\nBody\n", r"bad\.md: questions item 1 must be a text or"),
        ("---\nquestions: [{section: A}]\n---\nBody\n", r"bad\.md: questions item 1 must be"),
        ("---\nquestions: [ok, '  ']\n---\nBody\n", r"bad\.md: questions item 2 is empty"),
    ],
)
def test_bad_markdown_is_a_source_error_naming_the_file(tmp_path, text, message):
    with pytest.raises(SourceError, match=message):
        read_file(write(tmp_path / "bad.md", text))


def test_the_shops_articles_read_with_their_front_matter():
    folder = ROOT / "data" / "knowledge"
    paths = sorted(folder.glob("*.md"))
    assert len(paths) >= 50
    documents = {document.id: document for document in read_paths([folder])}
    assert len(documents) == len(paths)
    for path in paths:
        document = documents[path.stem]
        meta = yaml.safe_load(path.read_text(encoding="utf-8").split("\n---", 1)[0][3:])
        assert (document.title, document.url, document.topic) == (
            meta["title"],
            meta["url"],
            meta["topic"],
        ), path.name
        assert document.url.startswith("https://larkspur.example/help/")
        assert document.kind == "article"
        assert document.source == str(path.resolve())
        assert not document.body.startswith("---") and "title:" not in document.body[:200]


# --- HTML -----------------------------------------------------------------------------------

MESSY_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Delivery &amp; returns | Larkspur</title>
<link rel="stylesheet" href="/a.css">
<link rel="Canonical" href=" https://larkspur.example/help/delivery ">
<meta property="og:url" content="https://larkspur.example/og">
<meta name="topic" content="shipping">
<style>body { color: red }</style>
<script>var banner = "<div>Accept all cookies</div>";</script>
<body>
<header class="site"><a href="/">Larkspur</a>
  <nav><ul><li>Home<li>Shop<li>Help</ul><img src="logo.png"></nav>
  <form role="search"><input name="q"><button>Search</button></form>
</header>
<div class="crumbs" role="navigation">Help &rsaquo; Delivery</div>
<main>
<article>
<header><h1>Delivery &amp; returns</h1><p class="byline">Updated 3 May</header>
<p>We deliver to the UK&nbsp;and&#160;the EU.
<p>Standard delivery is <b>free</b> over &pound;50.<br>Express costs &pound;5.95.
<img src="van.png" alt="A van" aria-hidden="true">
<h2>Delivery   options</h2>
<ul>
  <li>Standard
    <ul><li>3&ndash;5 working days<li>Free over &pound;50</ul>
  <li>Express<button>Choose</button>next day<br>order by 2&nbsp;pm
</ul>
<table>
<caption>Prices</caption>
<tr><th>Service<th><th>Price
<tr><td>Standard<td><td>&pound;3.95
<tr><td>Express</td><td></td><td><p>&pound;5.95</p><p>(weekdays)</td></tr>
</table>
<div hidden>Secret text</div>
<p style="display: none">Also hidden</p>
<span aria-hidden="true">Icon text</span>
<section><h3>Returns</h3><p>Return within 30 days &lt;free&gt;.</p></section>
</article>
</main>
<aside>Related articles</aside>
<footer>
  <div id="cookie-banner">We use cookies. <button>Accept</button>
  <p>&copy; Larkspur Ltd
</footer>
<script>track("page");</script>
<noscript>Please enable JavaScript</noscript>
</body></html>
"""


def test_messy_html_page_gives_its_main_text_only(tmp_path):
    document = only(read_file(write(tmp_path / "help" / "Delivery Page.html", MESSY_PAGE)))
    assert document.id == "delivery-page"
    assert document.title == "Delivery & returns"
    assert document.url == "https://larkspur.example/help/delivery"
    assert document.topic == "shipping"
    assert document.kind == "article"
    assert document.body == (
        "We deliver to the UK and the EU.\n\n"
        "Standard delivery is free over £50.\n\n"
        "Express costs £5.95.\n\n"
        "## Delivery options\n\n"
        "- Standard\n"
        "- 3–5 working days\n"
        "- Free over £50\n"
        "- Express next day order by 2 pm\n\n"
        "Prices\n\n"
        "Service | Price\n\n"
        "Standard | £3.95\n\n"
        "Express | £5.95 (weekdays)\n\n"
        "### Returns\n\n"
        "Return within 30 days <free>."
    )


def test_html_without_main_uses_the_body_and_the_title_element(tmp_path):
    page = (
        "<html><head><title> Opening   hours </title>"
        '<meta property="og:url" content="https://x/hours">'
        '<meta name="article-id" content="contact-hours"></head>'
        "<body><nav>Menu</nav><h2>Weekdays</h2><p>8:00&ndash;20:00<p>Closed on Sunday."
        '<div role="contentinfo">Footer text</div><div role="banner">Sale!</div>'
        "</body></html>"
    )
    document = only(read_file(write(tmp_path / "hours.htm", page)))
    assert document.id == "contact-hours"
    assert document.title == "Opening hours"
    assert document.url == "https://x/hours"
    assert document.topic == "general"
    assert document.body == "## Weekdays\n\n8:00–20:00\n\nClosed on Sunday."


def test_html_title_falls_back_to_the_stem_and_role_main_counts_as_main(tmp_path):
    page = (
        "<body><p>Outside the main text.</p>"
        '<div role="main"><p>Inside<br/>the main text.</p><h1></h1></div></body>'
    )
    document = only(read_file(write(tmp_path / "care_guide.html", page)))
    assert document.title == "Care guide"
    assert document.body == "Inside\n\nthe main text."


def test_html_void_elements_and_unclosed_tags_do_not_break_the_dropped_elements(tmp_path):
    # Every dropped element below has something unclosed or void inside it; the text after
    # it must still be read, and nothing inside it may leak out.
    page = (
        "<body>"
        "<nav><ul><li>Home<li><a href=/>Shop</a><img src=x><br><input type=text></ul></nav>"
        "<p>First paragraph"
        "<footer><p>Cookie banner<div>Accept all<hr></footer>"
        "<p>Second <b>bold</i> paragraph</b>"
        "<aside><span>Related<meta name=x content=y></aside>"
        "<ul><li>One<li>Two<p>still two</ul>"
        "<button><div>Buy now</button>"
        "<p>Third</span> paragraph</div>"
        "<svg><title>icon</title><path d='M0'/><g><text>svg text</svg>"
        "<p>After the picture.</p><script>document.write('<p>no</p>')</script>"
        "<template><p>Template text</template>"
        "<p>Intro<nav>Menu</p>still the menu</nav><p>Last."
    )
    document = only(read_file(write(tmp_path / "sloppy.html", page)))
    assert document.body == (
        "First paragraph\n\n"
        "Second bold paragraph\n\n"
        "- One\n"
        "- Two still two\n\n"
        "Third paragraph\n\n"
        "After the picture.\n\n"
        "Intro\n\n"
        "Last."
    )
    assert document.title == "Sloppy"


def test_html_unclosed_head_ends_at_the_body(tmp_path):
    page = "<html><head><title>Page</title><meta name=topic content=care><body><p>Visible text."
    document = only(read_file(write(tmp_path / "p.html", page)))
    assert (document.title, document.topic, document.body) == ("Page", "care", "Visible text.")


def test_html_page_without_text_is_a_source_error(tmp_path):
    page = "<html><head><title>Empty</title></head><body><nav>Menu</nav><script>x()</script>"
    with pytest.raises(SourceError, match=r"empty\.html: the page has no text"):
        read_file(write(tmp_path / "empty.html", page))


# --- plain text -----------------------------------------------------------------------------


def test_text_first_short_line_is_the_title(tmp_path):
    text = (
        "  Caring for   wooden boards  \n\n"
        "Oil the board\nonce a month.\n\n\n"
        "You will need:\n- food-safe oil\n* a soft\n  cloth\n• time\n"
        "2. Let it dry.\n"
    )
    document = only(read_file(write(tmp_path / "boards.txt", text)))
    assert document.title == "Caring for wooden boards"
    assert (document.url, document.topic, document.kind) == ("", "general", "article")
    assert document.body == (
        "Oil the board once a month.\n\n"
        "You will need:\n\n"
        "- food-safe oil\n"
        "- a soft cloth\n"
        "- time\n"
        "- 2. Let it dry."
    )


@pytest.mark.parametrize(
    ("text", "title", "body"),
    [
        ("A sentence.\nMore.\n", "Notes", "A sentence. More."),
        ("Question?\n\nAnswer.\n", "Notes", "Question?\n\nAnswer."),
        ("Steps:\n\nOne.\n", "Notes", "Steps:\n\nOne."),
        ("x" * 121 + "\n\nBody.\n", "Notes", "x" * 121 + "\n\nBody."),
        ("x" * 120 + "\n\nBody.\n", "x" * 120, "Body."),
        ("Just one line\n", "Notes", "Just one line"),
    ],
)
def test_text_title_rule(tmp_path, text, title, body):
    document = only(read_file(write(tmp_path / "notes.txt", text)))
    assert (document.title, document.body) == (title, body)


# --- PDF ------------------------------------------------------------------------------------

LONG = "Standard delivery takes three to five working days from the day we"


def test_pdf_pages_are_read_in_order_with_the_metadata_title(tmp_path):
    pdf = make_pdf(
        [
            ["Delivery guide", LONG, "dispatch your order, and express deliv-", "ery is next day."],
            ["Page two starts here."],
        ],
        title="  The   Delivery Guide ",
    )
    path = tmp_path / "guide.pdf"
    path.write_bytes(pdf)
    document = only(read_file(path))
    assert document.title == "The Delivery Guide"
    assert (document.id, document.url, document.topic) == ("guide", "", "general")
    assert document.body == (
        "Delivery guide\n\n"
        f"{LONG} dispatch your order, and express delivery is next day.\n\n"
        "Page two starts here."
    )


def test_pdf_without_metadata_title_uses_its_first_line(tmp_path):
    pdf = make_pdf(
        [
            ["Returns policy"],
            [
                LONG,
                "receive it.",
                "- Free returns within thirty days of delivery for all items we sell in the",
                "shop",
                "- Refunds in five days",
            ],
        ]
    )
    path = tmp_path / "returns.pdf"
    path.write_bytes(pdf)
    document = only(read_file(path))
    assert document.title == "Returns policy"
    assert document.body == (
        f"{LONG} receive it.\n\n"
        "- Free returns within thirty days of delivery for all items we sell in the shop\n"
        "- Refunds in five days"
    )


def test_pdf_matching_metadata_title_is_not_repeated(tmp_path):
    path = tmp_path / "t.pdf"
    path.write_bytes(make_pdf([["Care guide", "Oil it monthly."]], title="Care guide"))
    document = only(read_file(path))
    assert (document.title, document.body) == ("Care guide", "Oil it monthly.")


def test_pdf_locked_only_against_editing_is_read(tmp_path):
    path = tmp_path / "locked.pdf"
    path.write_bytes(encrypt(make_pdf([["Readable text."]]), user_password=""))
    assert only(read_file(path)).body == "Readable text."


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: encrypt(make_pdf([["Secret."]]), user_password="pw"), "encrypted"),
        (lambda: make_pdf([["Some text that is cut off."]])[:300], "cannot be read"),
        (lambda: b"%PDF-1.4\nnot really a pdf", "cannot be read"),
        (lambda: make_pdf([[], []]), "no extractable text"),
        (lambda: make_pdf([[], ["Guide"]], title="Guide"), "no text besides its title"),
    ],
)
def test_unusable_pdf_is_a_source_error_naming_the_file(tmp_path, make, message):
    path = tmp_path / "bad.pdf"
    path.write_bytes(make())
    with pytest.raises(SourceError, match=rf"bad\.pdf: .*{message}"):
        read_file(path)


# --- FAQ tables -----------------------------------------------------------------------------


def test_csv_faq_gives_one_document_per_row(tmp_path):
    text = (
        "\ufeffQuestion, ANSWER ,Id,url,Topic,notes\r\n"
        'How long is delivery?,"Three to five days.\r\n\r\nExpress is next day.",,'
        "https://x/d,shipping,internal\r\n"
        '"Can I return, and how?","Yes:\n- free\n- within 30 days",returns,,,\r\n'
        ",,,,,\r\n"
    )
    path = write(tmp_path / "faq" / "Shop FAQ.csv", text)
    first, second = read_file(path, root=tmp_path)
    assert first == Document(
        id="faq/shop-faq:1",
        title="How long is delivery?",
        url="https://x/d",
        topic="shipping",
        body="Three to five days.\n\nExpress is next day.",
        kind="faq",
        source=str(path.resolve()),
        sha256=first.sha256,
    )
    assert (second.id, second.title, second.url, second.topic, second.kind) == (
        "faq/shop-faq:returns",
        "Can I return, and how?",
        "",
        "general",
        "faq",
    )
    assert second.body == "Yes:\n\n- free\n- within 30 days"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("question,reply\nQ?,A.\n", r"faq\.csv: missing required column\(s\): answer"),
        ("id,url\n1,x\n", r"faq\.csv: missing required column\(s\): question, answer"),
        ("question,answer\nQ?,A.\n\n ,A.\n", r"faq\.csv:4: the question is empty"),
        ('question,answer\n"Q\n?","A\nB"\nQ2?, \n', r"faq\.csv:5: the answer is empty"),
        ('question,answer\nQ?,A.\n"Multi\nline?",\n', r"faq\.csv:3: the answer is empty"),
        ("question,answer,id\nQ?,A.,x\nR?,B.,y\nS?,C.,x\n", r"faq\.csv:4: duplicate entry id"),
        ("question,answer\nQ?,A.\nQ?,A.,extra\n", r"faq\.csv:3: the row has 3 fields"),
        ('question,answer\nQ?,"unterminated\n', r"faq\.csv:\d+: not valid CSV"),
        ("question,Question,answer\nQ?,Q?,A.\n", r"faq\.csv:1: the column 'question' appears"),
        ("question,answer\n", r"faq\.csv: the file has no entries"),
    ],
)
def test_bad_csv_is_a_source_error_naming_the_file_and_line(tmp_path, text, message):
    with pytest.raises(SourceError, match=message):
        read_file(write(tmp_path / "faq.csv", text))


def test_jsonl_faq_gives_one_document_per_line(tmp_path):
    text = (
        '{"question": "Do you ship abroad?", "answer": "Yes, to the EU.", "topic": "shipping"}\n'
        "\n"
        '{"question": "Gift  wrap?", "answer": "No.", "id": 7, "url": "https://x/g"}\n'
    )
    first, second = read_file(write(tmp_path / "faq.jsonl", text))
    assert (first.id, first.title, first.body, first.topic, first.url) == (
        "faq:1",
        "Do you ship abroad?",
        "Yes, to the EU.",
        "shipping",
        "",
    )
    assert (second.id, second.title, second.body, second.topic, second.url) == (
        "faq:7",
        "Gift wrap?",
        "No.",
        "general",
        "https://x/g",
    )


def test_faq_entries_keep_other_wordings_of_their_question(tmp_path):
    jsonl = (
        '{"question": "Do you ship abroad?", "answer": "Yes, to the EU.", '
        '"questions": [" Can I order from  France? ", "", "do you ship abroad?", "EU delivery?"]}\n'
        '{"question": "Gift wrap?", "answer": "No."}\n'
    )
    with_wordings, without = read_file(write(tmp_path / "faq.jsonl", jsonl))
    # Trimmed; blanks and repeats of the question itself dropped.
    assert with_wordings.questions == ("Can I order from France?", "EU delivery?")
    assert without.questions == ()
    csv_text = (
        "question,answer,questions\n"
        'Do you ship abroad?,"Yes, to the EU.",Can I order from France? | EU delivery?\n'
    )
    from_csv = only(read_file(write(tmp_path / "faq.csv", csv_text)))
    assert from_csv.questions == with_wordings.questions
    # The wordings are content: changing them changes the hash, so a re-ingest re-embeds.
    plain = '{"question": "Do you ship abroad?", "answer": "Yes, to the EU."}\n'
    assert only(read_file(write(tmp_path / "plain" / "faq.jsonl", plain))).sha256 != (
        with_wordings.sha256
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"question": "Q?", "answer": "A."}\n["a list"]\n', r"faq\.jsonl:2: not a JSON object"),
        ('{"question": "Q?", "answer": "A."}\n{oops\n', r"faq\.jsonl:2: not valid JSON"),
        ('\n{"question": "Q?"}\n', r"faq\.jsonl:2: missing required key 'answer'"),
        ('{"question": "", "answer": "A."}\n', r"faq\.jsonl:1: the question is empty"),
        ('{"question": "Q?", "answer": "  "}\n', r"faq\.jsonl:1: the answer is empty"),
        ('{"question": "Q?", "answer": ["A"]}\n', r"faq\.jsonl:1: 'answer' must be text"),
        (
            '{"question": "Q?", "answer": "A.", "questions": "R?"}\n',
            r"faq\.jsonl:1: 'questions' must be a list of texts",
        ),
        (
            '{"question": "Q?", "answer": "A.", "questions": ["R?", 3]}\n',
            r"faq\.jsonl:1: 'questions' must be a list of texts",
        ),
        (
            '{"question": "Q?", "answer": "A.", "id": "a"}\n\n'
            '{"question": "R?", "answer": "B.", "id": "a"}\n',
            r"faq\.jsonl:3: duplicate entry id 'faq:a' \(first on line 1\)",
        ),
    ],
)
def test_bad_jsonl_is_a_source_error_naming_the_file_and_line(tmp_path, text, message):
    with pytest.raises(SourceError, match=message):
        read_file(write(tmp_path / "faq.jsonl", text))


# --- encoding and empty files ---------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".md", ".html", ".txt", ".csv", ".jsonl"])
def test_undecodable_bytes_are_a_source_error_with_the_line(tmp_path, suffix):
    path = tmp_path / f"latin{suffix}"
    path.write_bytes("question,answer\nCaf\u00e9?,Oui.\n".encode("latin-1"))
    with pytest.raises(SourceError, match=rf"latin\{suffix}:2: not UTF-8 text"):
        read_file(path)


@pytest.mark.parametrize("suffix", sorted(SUFFIXES))
def test_empty_files_are_a_source_error(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    with pytest.raises(SourceError, match=rf"empty\{suffix}: the file is empty"):
        read_file(path)


@pytest.mark.parametrize("suffix", [".md", ".html", ".txt", ".csv", ".jsonl"])
def test_files_of_whitespace_are_a_source_error(tmp_path, suffix):
    path = tmp_path / f"blank{suffix}"
    path.write_bytes(b"\xef\xbb\xbf \n\t\r\n")
    with pytest.raises(SourceError, match=rf"blank\{suffix}: the file has no text"):
        read_file(path)


def test_suffixes_are_the_formats_read():
    assert frozenset({".md", ".markdown", ".html", ".htm", ".txt", ".pdf", ".csv", ".jsonl"}) == (
        SUFFIXES
    )


# --- folders, ids and errors across files ---------------------------------------------------


def test_folder_of_every_format_is_read_recursively_sorted_by_id(tmp_path, caplog):
    folder = tmp_path / "kb"
    write(folder / "shipping" / "UK Delivery.md", "# UK delivery\n\nThree days.\n")
    write(folder / "shipping" / "eu.markdown", "EU text.\n")
    write(folder / "Returns.html", "<main><h1>Returns</h1><p>Free.</p></main>")
    write(folder / "care" / "pans.htm", "<p>Oil your pan.</p>")
    write(folder / "notes.txt", "Opening hours\n\n9 to 5.\n")
    (folder / "manual.pdf").write_bytes(make_pdf([["Manual", "Assemble the table."]]))
    write(folder / "faq.csv", "question,answer\nQ1?,A1.\n")
    write(folder / "more" / "faq.jsonl", '{"question": "Q2?", "answer": "A2."}\n')
    write(folder / ".hidden.md", "Hidden file.\n")
    write(folder / ".git" / "notes.md", "Hidden folder.\n")
    write(folder / "image.png", "not an image")
    write(folder / "README", "no suffix")
    with caplog.at_level(logging.DEBUG, logger="knowledge"):
        documents = read_paths([folder])
    assert [(d.id, d.kind, d.title) for d in documents] == [
        ("care/pans", "article", "Pans"),
        ("faq:1", "faq", "Q1?"),
        ("manual", "article", "Manual"),
        ("more/faq:1", "faq", "Q2?"),
        ("notes", "article", "Opening hours"),
        ("returns", "article", "Returns"),
        ("shipping/eu", "article", "Eu"),
        ("shipping/uk-delivery", "article", "UK delivery"),
    ]
    assert [d.body for d in documents] == [
        "Oil your pan.",
        "A1.",
        "Assemble the table.",
        "A2.",
        "9 to 5.",
        "Free.",
        "EU text.",
        "Three days.",
    ]
    assert documents[-1].source == str((folder / "shipping" / "UK Delivery.md").resolve())
    skipped = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)
    for name in (".hidden.md", ".git", "image.png", "README"):
        assert name in skipped


def test_files_and_folders_together_and_a_file_read_once(tmp_path):
    a = write(tmp_path / "one" / "a.md", "A.\n")
    write(tmp_path / "two" / "sub" / "b.txt", "B.\n")
    documents = read_paths([tmp_path / "one", a, tmp_path / "two" / "sub" / "b.txt"])
    assert [(d.id, d.body) for d in documents] == [("a", "A."), ("b", "B.")]


def test_read_file_takes_the_id_from_the_path_under_root(tmp_path):
    path = write(tmp_path / "Help Centre" / "Shipping" / "UK Delivery.md", "Text.\n")
    assert only(read_file(path, root=tmp_path)).id == "help-centre/shipping/uk-delivery"
    assert only(read_file(path)).id == "uk-delivery"
    with pytest.raises(SourceError, match="not inside"):
        read_file(path, root=tmp_path / "elsewhere")


def test_missing_paths_and_unknown_suffixes_are_source_errors(tmp_path):
    with pytest.raises(SourceError, match=r"nothere: no such file or folder"):
        read_paths([tmp_path / "nothere"])
    with pytest.raises(SourceError, match=r"gone\.md: no such file"):
        read_file(tmp_path / "gone.md")
    picture = write(tmp_path / "picture.png", "x")
    with pytest.raises(SourceError, match=r"picture\.png: unknown file type '\.png'"):
        read_paths([picture])
    with pytest.raises(SourceError, match=r"picture\.png: unknown file type"):
        read_file(picture)
    with pytest.raises(SourceError, match="no source paths given"):
        read_paths([])


def test_folder_without_documents_is_a_source_error(tmp_path):
    write(tmp_path / "image.png", "x")
    write(tmp_path / ".draft.md", "Hidden.\n")
    with pytest.raises(SourceError, match="no documents found"):
        read_paths([tmp_path])


def test_duplicate_ids_name_both_files(tmp_path):
    first = write(tmp_path / "returns.md", "Returns.\n")
    second = write(tmp_path / "returns.txt", "Also returns.\n")
    with pytest.raises(SourceError) as raised:
        read_paths([tmp_path])
    assert str(raised.value) == (
        f"duplicate document id 'returns': {first.resolve()} and {second.resolve()}"
    )
    write(tmp_path / "other" / "x.md", "---\nid: returns\n---\nX.\n")
    with pytest.raises(SourceError, match="duplicate document id 'returns'"):
        read_paths([first, tmp_path / "other"])


def test_an_error_in_one_file_of_a_folder_names_that_file(tmp_path):
    write(tmp_path / "good.md", "Good.\n")
    write(tmp_path / "sub" / "bad.jsonl", "[1]\n")
    with pytest.raises(SourceError, match=r"sub/bad\.jsonl:1: not a JSON object"):
        read_paths([tmp_path])


# --- the content hash -----------------------------------------------------------------------


def test_sha256_changes_with_the_content_and_nothing_else(tmp_path):
    text = "---\nid: care\ntitle: Care\nurl: https://x/care\ntopic: products\n---\nOil it.\n"
    original = only(read_file(write(tmp_path / "a" / "care.md", text)))
    again = only(read_file(write(tmp_path / "b" / "care.md", text + "\n\n")))
    assert again.source != original.source
    assert again.sha256 == original.sha256
    changes = {
        "body": text.replace("Oil it.", "Oil it monthly."),
        "title": text.replace("title: Care", "title: Caring"),
        "url": text.replace("https://x/care", "https://x/care2"),
        "topic": text.replace("topic: products", "topic: home"),
        "id": text.replace("id: care", "id: care2"),
    }
    hashes = {original.sha256}
    for name, changed in changes.items():
        document = only(read_file(write(tmp_path / name / "care.md", changed)))
        hashes.add(document.sha256)
    assert len(hashes) == len(changes) + 1
