import pytest

from knowledge.sources import read_file
from tests.unit.knowledge.sources.conftest import only, write


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
