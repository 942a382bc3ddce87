import pytest

from knowledge.sources import Document, SourceError, read_file
from tests.unit.knowledge.sources.conftest import only, write


def test_csv_faq_gives_one_document_per_row(tmp_path):
    text = (
        "\ufeffQuestion, ANSWER ,Id,url,Topic,notes\r\n"
        'How long is delivery?,"Three to five days.\r\n\r\nExpress is next day.",,'
        "https://x/d,shipping,internal\r\n"
        '"Can I return, and how?","Yes:\n- free\n- within 30 days",returns,,,\r\n'
        ",,,,,\r\n"
    )
    path = write(tmp_path / "faq" / "Shop FAQ.csv", text)
    first, second = read_file(path, root=tmp_path)
    assert first == Document(
        id="faq/shop-faq:1",
        title="How long is delivery?",
        url="https://x/d",
        topic="shipping",
        body="Three to five days.\n\nExpress is next day.",
        kind="faq",
        source=str(path.resolve()),
        sha256=first.sha256,
    )
    assert (second.id, second.title, second.url, second.topic, second.kind) == (
        "faq/shop-faq:returns",
        "Can I return, and how?",
        "",
        "general",
        "faq",
    )
    assert second.body == "Yes:\n\n- free\n- within 30 days"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("question,reply\nQ?,A.\n", r"faq\.csv: missing required column\(s\): answer"),
        ("id,url\n1,x\n", r"faq\.csv: missing required column\(s\): question, answer"),
        ("question,answer\nQ?,A.\n\n ,A.\n", r"faq\.csv:4: the question is empty"),
        ('question,answer\n"Q\n?","A\nB"\nQ2?, \n', r"faq\.csv:5: the answer is empty"),
        ('question,answer\nQ?,A.\n"Multi\nline?",\n', r"faq\.csv:3: the answer is empty"),
        ("question,answer,id\nQ?,A.,x\nR?,B.,y\nS?,C.,x\n", r"faq\.csv:4: duplicate entry id"),
        ("question,answer\nQ?,A.\nQ?,A.,extra\n", r"faq\.csv:3: the row has 3 fields"),
        ('question,answer\nQ?,"unterminated\n', r"faq\.csv:\d+: not valid CSV"),
        ("question,Question,answer\nQ?,Q?,A.\n", r"faq\.csv:1: the column 'question' appears"),
        ("question,answer\n", r"faq\.csv: the file has no entries"),
    ],
)
def test_bad_csv_is_a_source_error_naming_the_file_and_line(tmp_path, text, message):
    with pytest.raises(SourceError, match=message):
        read_file(write(tmp_path / "faq.csv", text))


def test_jsonl_faq_gives_one_document_per_line(tmp_path):
    text = (
        '{"question": "Do you ship abroad?", "answer": "Yes, to the EU.", "topic": "shipping"}\n'
        "\n"
        '{"question": "Gift  wrap?", "answer": "No.", "id": 7, "url": "https://x/g"}\n'
    )
    first, second = read_file(write(tmp_path / "faq.jsonl", text))
    assert (first.id, first.title, first.body, first.topic, first.url) == (
        "faq:1",
        "Do you ship abroad?",
        "Yes, to the EU.",
        "shipping",
        "",
    )
    assert (second.id, second.title, second.body, second.topic, second.url) == (
        "faq:7",
        "Gift wrap?",
        "No.",
        "general",
        "https://x/g",
    )


def test_faq_entries_keep_other_wordings_of_their_question(tmp_path):
    jsonl = (
        '{"question": "Do you ship abroad?", "answer": "Yes, to the EU.", '
        '"questions": [" Can I order from  France? ", "", "do you ship abroad?", "EU delivery?"]}\n'
        '{"question": "Gift wrap?", "answer": "No."}\n'
    )
    with_wordings, without = read_file(write(tmp_path / "faq.jsonl", jsonl))
    # Trimmed; blanks and repeats of the question itself dropped.
    assert with_wordings.questions == ("Can I order from France?", "EU delivery?")
    assert without.questions == ()
    csv_text = (
        "question,answer,questions\n"
        'Do you ship abroad?,"Yes, to the EU.",Can I order from France? | EU delivery?\n'
    )
    from_csv = only(read_file(write(tmp_path / "faq.csv", csv_text)))
    assert from_csv.questions == with_wordings.questions
    # The wordings are content: changing them changes the hash, so a re-ingest re-embeds.
    plain = '{"question": "Do you ship abroad?", "answer": "Yes, to the EU."}\n'
    assert only(read_file(write(tmp_path / "plain" / "faq.jsonl", plain))).sha256 != (
        with_wordings.sha256
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"question": "Q?", "answer": "A."}\n["a list"]\n', r"faq\.jsonl:2: not a JSON object"),
        ('{"question": "Q?", "answer": "A."}\n{oops\n', r"faq\.jsonl:2: not valid JSON"),
        ('\n{"question": "Q?"}\n', r"faq\.jsonl:2: missing required key 'answer'"),
        ('{"question": "", "answer": "A."}\n', r"faq\.jsonl:1: the question is empty"),
        ('{"question": "Q?", "answer": "  "}\n', r"faq\.jsonl:1: the answer is empty"),
        ('{"question": "Q?", "answer": ["A"]}\n', r"faq\.jsonl:1: 'answer' must be text"),
        (
            '{"question": "Q?", "answer": "A.", "questions": "R?"}\n',
            r"faq\.jsonl:1: 'questions' must be a list of texts",
        ),
        (
            '{"question": "Q?", "answer": "A.", "questions": ["R?", 3]}\n',
            r"faq\.jsonl:1: 'questions' must be a list of texts",
        ),
        (
            '{"question": "Q?", "answer": "A.", "id": "a"}\n\n'
            '{"question": "R?", "answer": "B.", "id": "a"}\n',
            r"faq\.jsonl:3: duplicate entry id 'faq:a' \(first on line 1\)",
        ),
    ],
)
def test_bad_jsonl_is_a_source_error_naming_the_file_and_line(tmp_path, text, message):
    with pytest.raises(SourceError, match=message):
        read_file(write(tmp_path / "faq.jsonl", text))
