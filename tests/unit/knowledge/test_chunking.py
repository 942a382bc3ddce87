import itertools
from pathlib import Path

import pytest

from knowledge.chunking import chunk_document, clean_inline, split_sentences
from knowledge.sources import Document, SourceError, read_file

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


def parse_markdown(text: str, tmp_path: Path, name: str = "x.md") -> Document:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    [document] = read_file(path)
    return document


def test_passages_never_cross_headings_and_keep_their_heading_path(tmp_path):
    chunks = chunk_document(parse_markdown(ARTICLE, tmp_path))
    assert [c.headings for c in chunks] == [(), ("How to return",), ("Refunds",)]
    assert chunks[1].text == "Open your account. Choose Return items."
    assert [c.chunk_id for c in chunks] == ["returns-test#0", "returns-test#1", "returns-test#2"]
    assert all(c.url == "https://larkspur.example/help/returns-test" for c in chunks)


def test_long_sections_are_split_with_one_sentence_of_overlap(tmp_path):
    body = " ".join(f"Sentence number {i} has exactly seven words." for i in range(40))
    article = parse_markdown(f"---\ntitle: T\nurl: u\n---\n{body}\n", tmp_path, "long.md")
    chunks = chunk_document(article, max_words=30)
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


def test_a_faq_entry_stays_one_passage_however_long(tmp_path):
    answer = " ".join(f"Sentence number {i} has exactly seven words." for i in range(40))
    path = tmp_path / "faq.csv"
    path.write_text(f'question,answer\nHow long is this?,"{answer}"\n', encoding="utf-8")
    [entry] = read_file(path)
    [chunk] = chunk_document(entry, max_words=30)
    assert chunk.text == answer
    assert chunk.title == "How long is this?"
    assert chunk.heading_text() == "How long is this?"
    assert chunk.embedding_text() == f"How long is this?. {answer}"


def test_each_other_wording_of_a_faq_question_is_a_passage_of_the_same_answer(tmp_path):
    path = tmp_path / "faq.csv"
    path.write_text(
        "question,answer,questions\n"
        'Do you ship abroad?,"Yes, to the EU.",EU delivery? | To Paris?\n',
        encoding="utf-8",
    )
    [entry] = read_file(path)
    chunks = chunk_document(entry)
    assert [c.chunk_id for c in chunks] == ["faq:1#0", "faq:1#q1", "faq:1#q2"]
    assert {(c.article_id, c.title, c.text) for c in chunks} == {
        ("faq:1", "Do you ship abroad?", "Yes, to the EU.")
    }  # an answer found by another wording is cited exactly as the entry
    assert [c.heading_text() for c in chunks] == [
        "Do you ship abroad?",
        "EU delivery?",
        "To Paris?",
    ]
    assert chunks[2].embedding_text() == "To Paris?. Yes, to the EU."


def test_heading_text_is_the_title_and_heading_path(tmp_path):
    chunks = chunk_document(parse_markdown(ARTICLE, tmp_path))
    assert chunks[2].heading_text() == "Returning an item. Refunds"


def test_an_article_s_learned_wordings_are_passages_of_the_section_that_answers_them(tmp_path):
    wordings = (
        "questions:\n"
        "  - what is the return policy\n"
        "  - section: refunds\n"
        "    question: when do I get my money back\n"
        "---\n"
    )
    article = parse_markdown(ARTICLE.replace("---\nIntro", wordings + "Intro", 1), tmp_path)
    chunks = chunk_document(article)
    plain = chunk_document(parse_markdown(ARTICLE, tmp_path, "plain.md"))
    assert chunks[: len(plain)] == plain  # the article's own passages are unchanged
    first, refunds = chunks[len(plain) :]
    assert (first.chunk_id, first.text) == ("returns-test#q1", plain[0].text)
    assert first.heading_text() == "what is the return policy"
    assert (refunds.chunk_id, refunds.text, refunds.headings) == (
        "returns-test#q2",
        "Refunds take 5 working days. They go to the original payment method.",
        ("Refunds",),
    )
    assert refunds.embedding_text().startswith("when do I get my money back. Refunds. Refunds take")


def test_a_wording_for_a_section_the_article_lacks_is_a_source_error(tmp_path):
    wordings = "questions:\n  - {section: Exchanges, question: can I swap it}\n---\n"
    article = parse_markdown(ARTICLE.replace("---\nIntro", wordings + "Intro", 1), tmp_path)
    with pytest.raises(SourceError, match=r"x\.md: article 'returns-test' has no section"):
        chunk_document(article)
