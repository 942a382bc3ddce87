import numpy as np
import pytest

from knowledge.lexical import LexicalIndex, LexicalIndexError, tokenize

TEXTS = [
    "We accept Visa, Mastercard and PayPal.",
    "Klarna lets you pay in three instalments.",
    "Returns are free within 30 days of delivery.",
    "Delivery to Ireland costs £9.95 and takes 3 to 5 days.",
]


def test_tokens_are_stemmed_folded_and_free_of_stop_words():
    assert tokenize("The Cafés were DELIVERING parcels!") == ["cafe", "deliv", "parcel"]
    assert tokenize("what is it") == []


def test_search_ranks_by_bm25_and_skips_passages_without_a_query_word():
    index = LexicalIndex.build(TEXTS)
    scores, positions = index.search("can I pay with paypal", k=10)
    # "pay" occurs in 1 (Klarna ... pay) and "paypal" in 0; both and only both are returned.
    assert sorted(positions.tolist()) == [0, 1]
    assert scores[0] >= scores[1] > 0
    assert index.search("delivery to ireland", k=1)[1].tolist() == [3]


def test_rarer_words_weigh_more():
    index = LexicalIndex.build(["returns returns free", "returns label", "returns label"])
    scores = index.scores("free label")
    # "free" occurs once in the collection, "label" twice: the passage with "free" wins.
    assert int(np.argmax(scores)) == 0


def test_unknown_words_give_no_results():
    index = LexicalIndex.build(TEXTS)
    assert index.search("zebra xylophone", k=5)[1].size == 0
    assert not index.scores("zebra").any()


def test_written_index_reads_back_identically(tmp_path):
    index = LexicalIndex.build(TEXTS)
    index.write(tmp_path)
    again = LexicalIndex.read(tmp_path)
    assert again.vocabulary == index.vocabulary
    np.testing.assert_array_equal(again.scores("refund delivery"), index.scores("refund delivery"))


def test_a_damaged_index_is_refused(tmp_path):
    LexicalIndex.build(TEXTS).write(tmp_path)
    (tmp_path / "lexical.npz").write_bytes(b"garbage")
    with pytest.raises(LexicalIndexError, match="unreadable"):
        LexicalIndex.read(tmp_path)


def test_a_vocabulary_that_does_not_fit_is_refused(tmp_path):
    LexicalIndex.build(TEXTS).write(tmp_path)
    (tmp_path / "vocabulary.json").write_text('["only"]')
    with pytest.raises(LexicalIndexError, match="vocabulary"):
        LexicalIndex.read(tmp_path)


def test_zero_passages_cannot_be_indexed():
    with pytest.raises(ValueError, match="zero"):
        LexicalIndex.build([])
