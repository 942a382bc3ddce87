import json
from pathlib import Path

import numpy as np
import pytest

from knowledge.chunking import Chunk
from knowledge.configured import retrieval_settings
from knowledge.index import ingest, load_index
from knowledge.retrieve import OVERVIEW_WORDS, KnowledgeBase, overview
from tests.conftest import DEFAULTS
from tests.unit.knowledge.test_index import ARTICLES, write_article

RETRIEVAL = retrieval_settings(DEFAULTS)  # the settings' retrieval, as the agent runs it


@pytest.fixture(scope="module")
def index(tmp_path_factory, embedder):
    folder: Path = tmp_path_factory.mktemp("sources")
    for article_id, (title, body) in ARTICLES.items():
        write_article(folder, article_id, title, body)
    write_article(
        folder, "news", "Signing up", "Sign up with your email address.", topic="newsletter"
    )
    write_article(
        folder, "acct", "Signing up", "Sign up with your email address.", topic="accounts"
    )
    # Two articles a dense model finds alike; only the exact product code tells them apart.
    write_article(folder, "tent-a", "Tent care", "How to dry and store the TX-4411 tent model.")
    write_article(folder, "tent-b", "Tent care", "How to dry and store the RB-2090 tent model.")
    index_dir = tmp_path_factory.mktemp("index")
    ingest([folder], embedder, index_dir, exact_limit=DEFAULTS.kb_exact_limit)
    return load_index(index_dir, model_name=embedder.name, dimension=embedder.dimension)


def test_every_mode_ranks_one_passage_per_document_best_first(index, embedder):
    kb = KnowledgeBase(index, embedder, min_score=0.0, settings=RETRIEVAL)
    for mode in ("dense", "lexical", "hybrid"):
        hits = kb.search("Express delivery next working day", k=3, mode=mode)
        assert hits[0].chunk.article_id == "ship", mode
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert len({h.chunk.article_id for h in hits}) == len(hits)
        assert all(-1.0 <= h.dense <= 1.0 for h in hits)


def test_hybrid_scores_are_cosine_plus_weighted_relative_bm25(index, embedder):
    kb = KnowledgeBase(index, embedder, min_score=0.0, settings=RETRIEVAL)
    hits = kb.search("store the RB-2090 tent", k=3, mode="hybrid")
    best_bm25 = max(h.lexical for h in hits)
    for hit in hits:
        expected = hit.dense + kb.settings.lexical_weight * hit.lexical / best_bm25
        assert hit.score == pytest.approx(expected, abs=1e-5)


def test_hybrid_ranks_a_document_by_its_best_cosine_and_its_best_words(tmp_path, embedder):
    entries = [
        {
            "id": "likes",
            "question": "Facebook sharing and likes: what does stop mean?",
            "answer": "Stop means the sharing of a like stops for new posts on Facebook.",
            "questions": ["how do I keep my likes private"],  # the meaning, fewer of the words
        },
        {
            "id": "tags",
            "question": "Can I stop people tagging me on Facebook?",
            "answer": "Turn on tag review, so that nothing you are tagged in is shared first.",
        },
    ]
    faq = tmp_path / "sources" / "faq.jsonl"
    faq.parent.mkdir()
    faq.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    ingest([faq.parent], embedder, tmp_path / "index", exact_limit=DEFAULTS.kb_exact_limit)
    index = load_index(tmp_path / "index", model_name=embedder.name, dimension=embedder.dimension)
    kb = KnowledgeBase(index, embedder, min_score=0.0, settings=RETRIEVAL)
    query = "how do I stop facebook sharing what I liked"
    vector = embedder.encode([query])[0]
    cosines = np.asarray([index.vectors.reconstruct(p) for p in range(len(index.chunks))]) @ vector
    bm25 = index.lexical.scores(query)
    hits = kb.search(query, k=2, mode="hybrid")
    assert len(hits) == 2
    split = False  # is some document's best meaning in one passage and its best words in another?
    for hit in hits:
        mine = [p for p, c in enumerate(index.chunks) if c.article_id == hit.chunk.article_id]
        expected = cosines[mine].max() + kb.settings.lexical_weight * bm25[mine].max() / bm25.max()
        assert hit.score == pytest.approx(expected, abs=1e-5)
        split |= int(np.argmax(cosines[mine])) != int(np.argmax(bm25[mine]))
    assert split
    assert hits[0].score >= hits[1].score


def test_exact_words_decide_between_near_identical_passages(index, embedder):
    kb = KnowledgeBase(index, embedder, min_score=0.0, settings=RETRIEVAL)
    for code, article in (("RB-2090", "tent-b"), ("TX-4411", "tent-a")):
        assert kb.search(f"how do I store my {code}", k=1, mode="hybrid")[0].chunk.article_id == (
            article
        )
        assert kb.search(f"how do I store my {code}", k=1, mode="lexical")[0].chunk.article_id == (
            article
        )


def test_lexical_mode_returns_nothing_without_a_shared_word(index, embedder):
    kb = KnowledgeBase(index, embedder, min_score=0.0, settings=RETRIEVAL)
    assert kb.search("zebra xylophone", k=3, mode="lexical") == []
    assert kb.search("zebra xylophone", k=3, mode="hybrid")  # dense still has candidates


def test_abstains_below_the_threshold(index, embedder):
    strict = KnowledgeBase(index, embedder, min_score=0.40, settings=RETRIEVAL)
    assert strict.answer("who won the football world cup in 1966") is None
    answer = strict.answer("which payment methods do you accept")
    assert answer is not None and answer.article_id == "pay"
    assert answer.score >= 0.40


def test_a_topic_with_its_own_threshold_needs_more_evidence(index, embedder):
    question = "how do I sign up with my email"
    kb = KnowledgeBase(
        index, embedder, min_score=0.3, settings=RETRIEVAL, topic_min_scores={"accounts": 0.99}
    )
    assert kb.threshold("accounts") == 0.99
    assert kb.threshold("newsletter") == 0.3
    assert kb.answer(question, topics=("accounts",)) is None
    answer = kb.answer(question, topics=("newsletter",))
    assert answer is not None and answer.article_id == "news"


def test_a_passage_of_the_named_topic_needs_less_unless_its_topic_has_its_own(index, embedder):
    question = "how do I sign up with my email"
    kb = KnowledgeBase(
        index,
        embedder,
        min_score=0.99,
        settings=RETRIEVAL,
        topic_min_scores={"accounts": 0.99},
        hinted_min_score=0.0,
    )
    assert kb.answer(question) is None  # no topic named: the global threshold
    answer = kb.answer(question, topics=("newsletter",))
    assert answer is not None and answer.article_id == "news"
    assert kb.answer(question, topics=("accounts",)) is None  # its own threshold first
    assert kb.threshold("newsletter", hinted=True) == 0.0
    assert kb.threshold("accounts", hinted=True) == 0.99


def test_a_preferred_topic_wins_only_a_near_tie(index, embedder):
    kb = KnowledgeBase(index, embedder, min_score=0.3, settings=RETRIEVAL)
    question = "how do I sign up with my email"
    assert {hit.chunk.article_id for hit in kb.search(question, k=2)} == {"news", "acct"}
    for topic, article_id in (("accounts", "acct"), ("newsletter", "news")):
        answer = kb.answer(question, topics=(topic,))
        assert answer is not None and answer.article_id == article_id
    # A clearly better passage of another topic still wins.
    answer = kb.answer("can I pay with paypal", topics=("newsletter",))
    assert answer is not None and answer.article_id == "pay"
    # The preference never turns an abstention into an answer.
    assert kb.answer("who won the football world cup in 1966", topics=("accounts",)) is None


class LongestFirst:
    """A reranker that prefers longer passages: easy to predict, unlike any retrieval stage."""

    def score(self, query, passages):
        return np.asarray([len(p) for p in passages], dtype=np.float32)


def test_the_reranker_reorders_the_head_and_keeps_the_evidence(index, embedder):
    kb = KnowledgeBase(index, embedder, min_score=0.0, reranker=LongestFirst(), settings=RETRIEVAL)
    hybrid = kb.search("delivery", k=4, mode="hybrid")
    reranked = kb.search("delivery", k=4, mode="rerank")
    lengths = [len(h.chunk.embedding_text()) for h in reranked]
    assert lengths == sorted(lengths, reverse=True)
    by_id = {h.chunk.chunk_id: h for h in hybrid}
    for hit in reranked:
        if hit.chunk.chunk_id in by_id:
            assert hit.dense == by_id[hit.chunk.chunk_id].dense


def test_rerank_without_a_model_is_hybrid(index, embedder):
    kb = KnowledgeBase(index, embedder, min_score=0.0, settings=RETRIEVAL)
    assert kb.search("delivery", k=3, mode="rerank") == kb.search("delivery", k=3, mode="hybrid")


def test_trim_keeps_the_answering_sentence(index, embedder):
    kb = KnowledgeBase(index, embedder, min_score=0.0, settings=RETRIEVAL)
    passage = (
        "Our team loves gardens. Klarna lets you pay in three instalments with no "
        "interest. The weather in Manchester is often rainy. Our cat is called Tom."
    )
    quote = kb.trim("can I split the payment with klarna", passage)
    assert "Klarna lets you pay in three instalments" in quote
    assert "cat" not in quote


def test_a_faq_entry_is_found_by_another_wording_of_its_question(tmp_path, embedder):
    faq = tmp_path / "sources" / "faq.jsonl"
    faq.parent.mkdir()
    index_dir = tmp_path / "index"
    asked = "what could I give a friend as a birthday present?"

    def best_passage(gift_card_wordings: list[str]) -> str:
        entries = [
            {"id": "0", "question": "Can I pay by bank transfer?", "answer": "Only by invoice."},
            {
                "id": "1",
                "question": "Do you sell gift cards?",
                "answer": "Yes, digital cards from 10 to 200 pounds.",
                "questions": gift_card_wordings,
            },
        ]
        faq.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
        ingest([faq.parent], embedder, index_dir, exact_limit=DEFAULTS.kb_exact_limit)
        index = load_index(index_dir, model_name=embedder.name, dimension=embedder.dimension)
        hits = KnowledgeBase(index, embedder, min_score=0.0, settings=RETRIEVAL).search(
            asked, k=3, mode="dense"
        )
        assert len({h.chunk.article_id for h in hits}) == len(hits)  # one passage per entry
        return hits[0].chunk.chunk_id

    assert best_passage([]) in {"faq:0#0", "faq:1#0"}
    assert best_passage(["what can I give a friend as a present?"]) == "faq:1#q1"


def _with_gift_cards(tmp_path: Path, embedder) -> KnowledgeBase:
    """A knowledge base of the articles in tmp_path/sources and a short one about gift cards."""
    sources = tmp_path / "sources"
    write_article(sources, "other", "Gift cards", "Gift cards are sold from 10 to 200 pounds.")
    ingest([sources], embedder, tmp_path / "index", exact_limit=DEFAULTS.kb_exact_limit)
    index = load_index(tmp_path / "index", model_name=embedder.name, dimension=embedder.dimension)
    return KnowledgeBase(index, embedder, min_score=0.0, settings=RETRIEVAL)


def test_a_signpost_introduction_is_quoted_with_the_fact_that_follows(tmp_path, embedder):
    body = (
        "Here's how long refunds take and where the money goes.\n\n"
        "## Returned items\n\n"
        "Our cat is called Tom. We refund a returned item within 5 working days of receiving "
        "it. The warehouse is in Manchester.\n\n"
        "## Where the money goes\n\nRefunds go back to the card you paid with.\n"
    )
    write_article(tmp_path / "sources", "timing", "Refund timing", body)
    kb = _with_gift_cards(tmp_path, embedder)

    answer = kb.answer("how long do refunds take?")
    assert answer is not None and answer.chunk_id == "timing#0"  # the introduction wins...
    assert answer.quote == (  # ...and is quoted with the closest sentence of the next passage
        "Here's how long refunds take and where the money goes. We refund a returned item "
        "within 5 working days of receiving it."
    )
    # A passage under a heading, or a short article with no sections, is trimmed as before.
    assert kb.answer("what gift cards do you sell?").quote == (  # type: ignore[union-attr]
        "Gift cards are sold from 10 to 200 pounds."
    )


def test_an_article_is_found_and_quoted_by_a_learned_wording(tmp_path, embedder):
    sources = tmp_path / "sources"
    asked = "my parcel never turned up, what now?"
    body = (
        "Most parcels arrive on time.\n\n"
        "## Still missing after five days\n\n"
        "Tell us the order number and we send a replacement free of charge.\n"
    )

    def answer(questions: str) -> object:
        (sources / "late.md").write_text(
            f"---\nid: late\ntitle: Late deliveries\nurl: https://x/late\n{questions}---\n{body}",
            encoding="utf-8",
        )
        ingest([sources], embedder, tmp_path / "index", exact_limit=DEFAULTS.kb_exact_limit)
        index = load_index(
            tmp_path / "index", model_name=embedder.name, dimension=embedder.dimension
        )
        return KnowledgeBase(index, embedder, min_score=0.0, settings=RETRIEVAL).answer(asked)

    write_article(sources, "cake", "Baking", "Our parcels of cake are baked fresh every morning.")
    learned = (
        "questions:\n  - section: Still missing after five days\n"
        "    question: the parcel never came, what do I do?\n"
    )
    before, after = answer(""), answer(learned)
    assert before is not None and after is not None
    assert after.chunk_id == "late#q1" and after.article_id == "late"  # cited as the article
    assert after.quote.startswith("Tell us the order number")
    assert after.score > before.score + 0.1  # the wording is far closer than the article was


def test_an_article_about_one_kind_of_product_answers_only_questions_naming_it(tmp_path, embedder):
    sources = tmp_path / "sources"
    body = "## What to avoid\n\nNever put cast iron in the dishwasher: it rusts.\n"

    def answers(about: str) -> list[str | None]:
        (sources / "pans.md").write_text(
            f"---\nid: pans\ntitle: Caring for cast-iron pans\nurl: https://x/pans\n{about}"
            f"---\n{body}",
            encoding="utf-8",
        )
        ingest([sources], embedder, tmp_path / "index", exact_limit=DEFAULTS.kb_exact_limit)
        index = load_index(
            tmp_path / "index", model_name=embedder.name, dimension=embedder.dimension
        )
        kb = KnowledgeBase(index, embedder, min_score=0.3, settings=RETRIEVAL)
        asked = ("can my frying pans go in the dishwasher?", "is the chef's knife dishwasher safe?")
        return [a.article_id if (a := kb.answer(q)) else None for q in asked]

    write_article(sources, "knives", "Our knives", "Knives are sharpened before they ship.")
    assert answers("") == ["pans", "pans"]  # the knife question gets the pans' care
    # "pans" names "pan"; the knife question goes to the article that may answer it.
    assert answers("about: [cast iron, pan]\n") == ["pans", "knives"]


def test_a_wording_is_quoted_like_the_passage_it_stands_for(tmp_path, embedder):
    """Wordings sit among the article's passages; a whole-article one is answered by its overview.

    Before: the run of the article's passages stopped at the first wording, and a wording of the
    whole article quoted its signpost introduction alone, stating no fact.
    """
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "contact.md").write_text(
        "---\nid: contact\ntitle: How to contact us\nurl: https://x/contact\n"
        "questions:\n  - how can I get in touch with you\n"
        "  - section: Email\n    question: what is your customer service email address\n---\n"
        "There are several ways to get in touch.\n\n"
        "## Phone\n\nOur phone number is 0161 555 0134.\n\n"
        "## Email\n\nEmail help@example.org at any time. We reply within a day.\n",
        encoding="utf-8",
    )
    write_article(sources, "cake", "Baking", "Our cakes are baked fresh every morning.")
    ingest([sources], embedder, tmp_path / "index", exact_limit=DEFAULTS.kb_exact_limit)
    index = load_index(tmp_path / "index", model_name=embedder.name, dimension=embedder.dimension)
    kb = KnowledgeBase(index, embedder, min_score=0.0, settings=RETRIEVAL)
    whole = kb.answer("how do I get in touch with you?")
    assert whole is not None and whole.chunk_id == "contact#q1"
    assert "0161 555 0134" in whole.quote and "help@example.org" in whole.quote
    section = kb.answer("what's your email address for customer service?")
    assert section is not None and section.chunk_id.startswith("contact#q")
    assert section.quote.startswith("Email help@example.org")


def test_a_question_that_is_the_articles_own_gets_its_overview(tmp_path, embedder):
    body = (
        "You can pay with any of the following methods.\n\n"
        "## Cards\n\nWe accept Visa and Mastercard. Cards are charged when the order ships.\n\n"
        "## Digital wallets\n\n- PayPal: log in and approve the payment.\n"
        "- Apple Pay: available in Safari.\n\n"
        "## Methods we don't accept\n\nWe don't accept cash or cheques.\n"
    )
    write_article(tmp_path / "sources", "pay", "Which payment methods do you accept?", body)
    kb = _with_gift_cards(tmp_path, embedder)

    # No section answers the article's own question: its outline does, section by section.
    answer = kb.answer("what payment methods do you accept?")
    assert answer is not None and answer.article_id == "pay"
    assert answer.quote == (
        "You can pay with any of the following methods.\n"
        "Cards: We accept Visa and Mastercard.\n"
        "Digital wallets: PayPal: log in and approve the payment. Apple Pay: available in Safari.\n"
        "Methods we don't accept: We don't accept cash or cheques."
    )
    # A question about one section is answered from that section alone.
    answer = kb.answer("can I pay with PayPal?")
    assert answer is not None and answer.quote.startswith("PayPal: log in")
    assert "Visa" not in answer.quote


def test_an_overview_keeps_within_its_length_and_skips_heading_questions():
    sections = [
        ((), "Forgotten your password? You can set a new one in minutes."),
        (
            ("Hours",),
            "We are open: Monday: 8-20. Saturday: 9-17. Sunday: closed. "
            "During these hours you can call us on our phone line or ask the assistant.",
        ),
        *[
            ((f"Part {n}",), "A sentence of exactly nine words for the length limit.")
            for n in range(9)
        ],
    ]
    passages = [
        Chunk(f"a#{n}", "a", "Title", "https://x/a", "t", headings, n, text)
        for n, (headings, text) in enumerate(sections)
    ]
    text = overview(passages)
    lines = text.split("\n")
    assert lines[0] == "You can set a new one in minutes."
    assert lines[1] == "Hours: We are open: Monday: 8-20. Saturday: 9-17. Sunday: closed."
    assert len(text.split()) <= OVERVIEW_WORDS < len(text.split()) + len(lines[-1].split())


def test_a_product_guide_gives_way_to_the_topic_the_nlu_recognised(tmp_path, embedder):
    """A question naming a product is close to its guide whatever it asks.

    "How soon can the fire pit get to Leeds?" read as a delivery question is answered from the
    delivery article, even when the fire pit's guide is far closer than the topic margin.
    """
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "pit.md").write_text(
        "---\nid: pit\ntitle: Caring for your fire pit bowl\nurl: https://x/pit\ntopic: products\n"
        "about: [fire pit]\n---\n"
        "Our fire pit bowl is a steel bowl for the garden.\n\n"
        "## After each fire\n\nLet the fire pit cool, then empty the ash from the bowl.\n",
        encoding="utf-8",
    )
    write_article(
        sources,
        "days",
        "Delivery days",
        "UK Standard delivery takes 3 to 5 working days after you order.",
        topic="shipping",
    )
    ingest([sources], embedder, tmp_path / "index", exact_limit=DEFAULTS.kb_exact_limit)
    index = load_index(tmp_path / "index", model_name=embedder.name, dimension=embedder.dimension)
    kb = KnowledgeBase(index, embedder, min_score=0.0, settings=RETRIEVAL)
    asked = "I want the fire pit bowl for the garden this weekend, how soon can it get to Leeds?"

    alone = kb.search(asked, k=2)
    assert alone[0].chunk.article_id == "pit"
    assert alone[0].dense - alone[1].dense > 0.10  # beyond the topic margin
    answer = kb.answer(asked, topics=("shipping",))
    assert answer is not None and answer.article_id == "days"
    # Read as no other topic, the same question gets the guide, as does a care question.
    assert kb.answer(asked).article_id == "pit"  # type: ignore[union-attr]
    care = kb.answer("how do I clean the fire pit after use?", topics=("products",))
    assert care is not None and care.article_id == "pit"
