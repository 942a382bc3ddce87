import json
from pathlib import Path

import pytest

from knowledge.documents import SourceError, load_directory, parse_markdown
from knowledge.index import IndexUnavailable, build_index, is_up_to_date, load_index
from knowledge.retrieve import KnowledgeBase

ROOT = Path(__file__).resolve().parents[3]


def article(article_id: str, title: str, body: str):
    text = f"---\nid: {article_id}\ntitle: {title}\nurl: https://x/{article_id}\n---\n{body}\n"
    return parse_markdown(text, default_id=article_id)


ARTICLES = [
    article(
        "pay",
        "Payment methods",
        "We accept Visa, Mastercard and PayPal. Klarna lets you "
        "pay in three instalments. Gift cards work too.",
    ),
    article(
        "ship",
        "Delivery times",
        "UK Standard delivery takes 3 to 5 working days. "
        "Express arrives the next working day if you order before 2 pm.",
    ),
    article(
        "ret",
        "Returns",
        "You can return unused items within 30 days of delivery. "
        "UK returns are free with a prepaid label.",
    ),
]


def test_build_then_load_answers_with_the_right_article(tmp_path, embedder):
    build_index(ARTICLES, embedder, tmp_path)
    index = load_index(tmp_path, model_name=embedder.name, dimension=embedder.dimension)
    kb = KnowledgeBase(index, embedder, min_score=0.3)
    assert kb.search("can I pay with paypal", k=1)[0].chunk.article_id == "pay"
    answer = kb.answer("how many days do I have to send something back")
    assert answer is not None
    assert answer.article_id == "ret"
    assert answer.url == "https://x/ret"


def test_scores_are_cosine_similarities(tmp_path, embedder):
    build_index(ARTICLES, embedder, tmp_path)
    kb = KnowledgeBase(
        load_index(tmp_path, model_name=embedder.name, dimension=embedder.dimension),
        embedder,
        min_score=0.0,
    )
    hits = kb.search("Express delivery next working day", k=3)
    assert next(h.chunk.article_id for h in hits) == "ship"
    assert all(-1.0 <= h.score <= 1.0 for h in hits)
    assert hits == sorted(hits, key=lambda h: -h.score)
    assert len({h.chunk.article_id for h in hits}) == len(hits)


def test_abstains_below_the_threshold(tmp_path, embedder):
    build_index(ARTICLES, embedder, tmp_path)
    index = load_index(tmp_path, model_name=embedder.name, dimension=embedder.dimension)
    strict = KnowledgeBase(index, embedder, min_score=0.40)
    assert strict.answer("who won the football world cup in 1966") is None
    assert strict.answer("which payment methods do you accept") is not None


def test_rebuild_swaps_the_current_index_and_detects_changes(tmp_path, embedder):
    build_index(ARTICLES[:2], embedder, tmp_path)
    assert is_up_to_date(tmp_path, ARTICLES[:2], embedder.name)
    assert not is_up_to_date(tmp_path, ARTICLES, embedder.name)
    first = (tmp_path / "current").resolve()
    build_index(ARTICLES, embedder, tmp_path)
    second = (tmp_path / "current").resolve()
    assert first != second
    index = load_index(tmp_path, model_name=embedder.name, dimension=embedder.dimension)
    assert index.manifest.articles == 3
    build_index(ARTICLES, embedder, tmp_path)
    assert len(list((tmp_path / "builds").iterdir())) == 2  # older builds are pruned


def test_missing_index_is_a_clear_error(tmp_path, embedder):
    with pytest.raises(IndexUnavailable, match="make index"):
        load_index(tmp_path, model_name=embedder.name, dimension=embedder.dimension)


def test_corrupt_index_is_a_clear_error(tmp_path, embedder):
    build_index(ARTICLES, embedder, tmp_path)
    (tmp_path / "current" / "index.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(IndexUnavailable, match="unreadable"):
        load_index(tmp_path, model_name=embedder.name, dimension=embedder.dimension)


def test_index_of_another_model_is_refused(tmp_path, embedder):
    build_index(ARTICLES, embedder, tmp_path)
    manifest = tmp_path / "current" / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "model": "another-model"}))
    with pytest.raises(IndexUnavailable, match="rebuild"):
        load_index(tmp_path, model_name=embedder.name, dimension=embedder.dimension)


def test_trim_keeps_the_answering_sentence(tmp_path, embedder):
    build_index(ARTICLES, embedder, tmp_path)
    kb = KnowledgeBase(
        load_index(tmp_path, model_name=embedder.name, dimension=embedder.dimension),
        embedder,
        min_score=0.0,
    )
    passage = (
        "Our team loves gardens. Klarna lets you pay in three instalments with no "
        "interest. The weather in Manchester is often rainy. Our cat is called Tom."
    )
    quote = kb.trim("can I split the payment with klarna", passage)
    assert "Klarna lets you pay in three instalments" in quote
    assert "cat" not in quote


def test_the_shop_articles_load_and_are_unique():
    articles = load_directory(ROOT / "data" / "knowledge")
    assert len(articles) >= 40
    assert len({a.id for a in articles}) == len(articles)
    assert all(a.url.startswith("https://larkspur.example/help/") for a in articles)


def test_bad_front_matter_is_refused(tmp_path):
    (tmp_path / "a.md").write_text("---\ntitle: no url\n---\nbody\n")
    with pytest.raises(SourceError, match="url"):
        load_directory(tmp_path)


def test_a_preferred_topic_wins_only_a_near_tie(tmp_path, embedder):
    def with_topic(article_id: str, topic: str, title: str, body: str):
        text = (
            f"---\nid: {article_id}\ntitle: {title}\nurl: https://x/{article_id}\n"
            f"topic: {topic}\n---\n{body}\n"
        )
        return parse_markdown(text, default_id=article_id)

    articles = [
        *ARTICLES,
        with_topic("news", "newsletter", "Signing up", "Sign up with your email address."),
        with_topic("acct", "accounts", "Signing up", "Sign up with your email address."),
    ]
    build_index(articles, embedder, tmp_path)
    index = load_index(tmp_path, model_name=embedder.name, dimension=embedder.dimension)
    kb = KnowledgeBase(index, embedder, min_score=0.3)
    question = "how do I sign up with my email"
    top_two = {hit.chunk.article_id for hit in kb.search(question, k=2)}
    assert top_two == {"news", "acct"}
    for topic, article_id in (("accounts", "acct"), ("newsletter", "news")):
        answer = kb.answer(question, topics=(topic,))
        assert answer is not None and answer.article_id == article_id
    # A clearly better passage of another topic still wins.
    answer = kb.answer("can I pay with paypal", topics=("newsletter",))
    assert answer is not None and answer.article_id == "pay"
    # The preference never turns an abstention into an answer.
    assert kb.answer("who won the football world cup in 1966", topics=("accounts",)) is None
