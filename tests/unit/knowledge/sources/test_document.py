import pytest

from knowledge.sources import SUFFIXES, SourceError, read_file
from tests.unit.knowledge.sources.conftest import only, write

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
