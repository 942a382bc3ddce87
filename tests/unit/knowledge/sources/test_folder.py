import logging

import pytest

from knowledge.sources import SUFFIXES, SourceError, read_file, read_paths
from tests.unit.knowledge.sources.conftest import make_pdf, only, write


def test_suffixes_are_the_formats_read():
    assert frozenset({".md", ".markdown", ".html", ".htm", ".txt", ".pdf", ".csv", ".jsonl"}) == (
        SUFFIXES
    )


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
