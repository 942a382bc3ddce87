from pathlib import Path

import pytest
import yaml

from knowledge.sources import Document, SourceError, read_file, read_paths
from tests.unit.knowledge.sources.conftest import only, write

ROOT = Path(__file__).resolve().parents[4]


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


def test_an_article_about_one_kind_of_product_says_what_in_its_front_matter(tmp_path):
    text = "---\ntitle: Pans\nabout: [cast iron, ' skillet ']\n---\nBody.\n"
    article = only(read_file(write(tmp_path / "a.md", text)))
    assert article.about == ("cast iron", "skillet")
    plain = only(read_file(write(tmp_path / "b.md", "---\ntitle: Pans\n---\nBody.\n")))
    assert plain.about == ()
    # What it is about decides which questions it answers: a change must re-ingest it.
    assert plain.sha256 != article.sha256


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
        ("---\nabout: pans\n---\nBody\n", r"bad\.md: front matter 'about' must be a list"),
        ("---\nabout: [pan, 3]\n---\nBody\n", r"bad\.md: front matter 'about' must be a list"),
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
