import itertools

from knowledge.chunking import chunk_article, clean_inline, split_sentences
from knowledge.documents import parse_markdown

ARTICLE = """---
id: returns-test
title: Returning an item
url: https://larkspur.example/help/returns-test
---
Intro sentence about returns. You have 30 days.

## How to return
1. Open **your account**.
2. Choose [Return items](https://larkspur.example/account).

## Refunds
Refunds take 5 working days. They go to the original payment method.
"""


def test_front_matter_and_body_are_parsed():
    article = parse_markdown(ARTICLE, default_id="fallback")
    assert article.id == "returns-test"
    assert article.title == "Returning an item"
    assert article.url.endswith("/returns-test")
    assert article.body.startswith("Intro sentence")


def test_passages_never_cross_headings_and_keep_their_heading_path():
    chunks = chunk_article(parse_markdown(ARTICLE, default_id="x"))
    assert [c.headings for c in chunks] == [(), ("How to return",), ("Refunds",)]
    assert chunks[1].text == "Open your account. Choose Return items."
    assert [c.chunk_id for c in chunks] == ["returns-test#0", "returns-test#1", "returns-test#2"]
    assert all(c.url == "https://larkspur.example/help/returns-test" for c in chunks)


def test_long_sections_are_split_with_one_sentence_of_overlap():
    body = " ".join(f"Sentence number {i} has exactly seven words." for i in range(40))
    article = parse_markdown(f"---\ntitle: T\nurl: u\n---\n{body}\n", default_id="long")
    chunks = chunk_article(article, max_words=30)
    assert len(chunks) > 5
    for first, second in itertools.pairwise(chunks):
        assert split_sentences(first.text)[-1] == split_sentences(second.text)[0]
        assert len(first.text.split()) <= 30


def test_sentences_keep_prices_and_abbreviations_together():
    assert split_sentences("It costs £3.95 e.g. for UK Standard. Then it ships.") == [
        "It costs £3.95 e.g. for UK Standard.",
        "Then it ships.",
    ]


def test_markup_is_removed_from_quotes():
    assert clean_inline("**Bold** and [a link](https://x) and `code`") == "Bold and a link and code"
