import json
from pathlib import Path

import pytest

from config.settings import Settings
from knowledge.cli import main
from knowledge.configured import open_knowledge_base
from knowledge.evaluate import (
    _ndcg,
    evaluate_with_paraphrases,
    load_beir,
    load_questions,
    question_folds,
    with_paraphrases,
)
from knowledge.index import build, plan_documents
from knowledge.sources import SourceError
from tests.conftest import DEFAULTS

CORPUS = [
    {"_id": "d1", "title": "Paying by card", "text": "We accept Visa and Mastercard."},
    {"_id": "d2", "title": "Paying by card", "text": "Amex works for orders over £20."},
    {"_id": "d3", "title": "Delivery to Ireland", "text": "It costs £9.95 and takes 3 days."},
    {"_id": "d4", "title": "Returning an item", "text": "Send it back within 30 days."},
]
QUERIES = [
    {"_id": "q1", "text": "which cards can I pay with"},
    {"_id": "q2", "text": "how much is shipping to Dublin"},
    {"_id": "q3", "text": "how long do I have to send something back"},
    {"_id": "q4", "text": "a query without judgements"},
]
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t1\nq2\td3\t1\nq3\td4\t1\n"


def beir(folder: Path) -> Path:
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(c) for c in CORPUS))
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in QUERIES))
    (folder / "qrels" / "test.tsv").write_text(QRELS)
    return folder


def test_a_beir_folder_loads_as_whole_faq_entries(tmp_path):
    eval_set = load_beir(beir(tmp_path / "mini"))
    assert eval_set.name == "mini"
    assert [d.id for d in eval_set.corpus] == ["d1", "d2", "d3", "d4"]
    assert all(d.kind == "faq" for d in eval_set.corpus)
    assert eval_set.relevant["q1"] == {"d1": 1, "d2": 1}
    assert sorted(eval_set.queries) == ["q1", "q2", "q3"]  # q4 has no judgements


def test_a_folder_without_qrels_is_refused(tmp_path):
    folder = beir(tmp_path / "mini")
    (folder / "qrels" / "test.tsv").unlink()
    with pytest.raises(SourceError, match=r"test\.tsv"):
        load_beir(folder)


def test_questions_without_an_article_are_unanswerable(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "a?", "article": "x"}\n{"question": "b?", "article": null}\n')
    eval_set = load_questions(path)
    assert eval_set.answerable == ["q1"]
    assert eval_set.relevant["q2"] == {}


def test_ndcg_is_one_for_the_ideal_order_and_discounts_later_hits():
    grades = {"a": 1, "b": 1}
    assert _ndcg(["a", "b", "c"], grades) == pytest.approx(1.0)
    assert _ndcg(["c", "a", "b"], grades) < 1.0
    assert _ndcg(["c", "d"], grades) == 0.0
    # one of two relevant at rank 1: 1 / (1 + 1/log2(3))
    assert _ndcg(["a", "c"], grades) == pytest.approx(1 / (1 + 1 / 1.584962500721156))


def test_kb_eval_reports_every_stage_as_json(tmp_path, capsys, embedder):
    folder = beir(tmp_path / "mini")
    assert main(["eval", str(folder), "--index", str(tmp_path / "idx"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["set"] == "mini"
    assert [row["mode"] for row in report["results"]] == ["dense", "lexical", "hybrid"]
    dense = report["results"][0]
    assert dense["queries"] == 3
    assert dense["recall@10"] == 1.0  # four documents: every relevant one is in the top 10
    assert 0.0 < dense["ndcg@10"] <= 1.0
    assert dense["recall@1"] <= dense["recall@5"] <= dense["recall@10"]
    assert dense["p95_ms"] >= dense["p50_ms"] > 0


def test_kb_ingest_search_and_stats(tmp_path, capsys, embedder):
    folder = tmp_path / "faq"
    folder.mkdir()
    (folder / "faq.csv").write_text(
        "question,answer,url\n"
        "Do you ship to Norway?,Yes: Norway takes 5 to 7 working days.,https://x/norway\n"
        "Can I pay by invoice?,Only trade accounts can pay by invoice.,https://x/invoice\n"
    )
    (folder / "care.html").write_text(
        "<html><head><title>Care</title></head><body><nav>Home</nav>"
        "<main><h1>Caring for oak</h1><p>Oil oak boards once a month.</p></main></body></html>"
    )
    index = str(tmp_path / "idx")
    assert main(["ingest", str(folder), "--index", index]) == 0
    assert "3 documents (3 added" in capsys.readouterr().out
    assert main(["ingest", str(folder), "--index", index]) == 0
    assert capsys.readouterr().out.startswith("up to date")
    assert main(["search", "how often should I oil a board", "--index", index, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["document"] == "care"
    assert rows[0]["title"] == "Caring for oak"
    assert "Home" not in rows[0]["text"]
    assert main(["stats", "--index", index, "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["documents"] == 3
    assert stats["by_kind"] == {"article": 1, "faq": 2}
    assert stats["vector_index"]["kind"] == "flat"


def test_kb_reports_bad_input_without_a_traceback(tmp_path, capsys, caplog):
    assert main(["ingest", str(tmp_path / "missing"), "--index", str(tmp_path / "i")]) == 2
    assert main(["search", "anything", "--index", str(tmp_path / "empty")]) == 2
    assert "make index" in caplog.text


def test_question_folds_split_every_answerable_question_once(tmp_path):
    eval_set = load_beir(beir(tmp_path / "mini"))
    folds = question_folds(eval_set, 2, seed=3)
    assert sorted(q for fold in folds for q in fold) == ["q1", "q2", "q3"]
    assert sorted(len(fold) for fold in folds) == [1, 2]
    assert folds == question_folds(eval_set, 2, seed=3)  # fixed by the seed


def test_known_questions_become_other_wordings_of_every_relevant_entry(tmp_path):
    eval_set = load_beir(beir(tmp_path / "mini"))
    corpus = {d.id: d for d in with_paraphrases(eval_set, ["q1", "q3"])}
    assert corpus["d1"].questions == corpus["d2"].questions == ("which cards can I pay with",)
    assert corpus["d4"].questions == ("how long do I have to send something back",)
    assert corpus["d3"] == next(d for d in eval_set.corpus if d.id == "d3")  # untouched
    assert corpus["d1"].sha256 != next(d for d in eval_set.corpus if d.id == "d1").sha256


def test_paraphrase_evaluation_never_asks_a_question_of_an_index_holding_it(tmp_path, embedder):
    eval_set = load_beir(beir(tmp_path / "mini"))
    indexed: list[set[str]] = []

    def open_kb(corpus):
        indexed.append({q for d in corpus for q in d.questions})
        index_dir = tmp_path / f"index{len(indexed)}"
        build(
            plan_documents(corpus, [tmp_path / "mini"], index_dir, model=embedder.name),
            embedder,
            exact_limit=DEFAULTS.kb_exact_limit,
        )
        return open_knowledge_base(index_dir, embedder, Settings())

    [result] = evaluate_with_paraphrases(open_kb, eval_set, ["dense"], folds=3)
    assert len(indexed) == 3
    for fold, wordings in zip(question_folds(eval_set, 3), indexed, strict=True):
        asked = {eval_set.queries[q] for q in fold}
        others = {eval_set.queries[q] for q in eval_set.answerable} - asked
        assert wordings == others
    assert result.mode == "dense + learned wordings"
    assert result.queries == 3
    assert 0.0 <= result.recall[1] <= result.recall[5] <= 1.0
    assert result.recall[10] == 1.0  # four entries: every relevant one is in the first ten
