import io

import pypdf
import pytest

from knowledge.sources import SourceError, read_file
from tests.unit.knowledge.sources.conftest import make_pdf, only


def encrypt(pdf: bytes, *, user_password: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


LONG = "Standard delivery takes three to five working days from the day we"


def test_pdf_pages_are_read_in_order_with_the_metadata_title(tmp_path):
    pdf = make_pdf(
        [
            ["Delivery guide", LONG, "dispatch your order, and express deliv-", "ery is next day."],
            ["Page two starts here."],
        ],
        title="  The   Delivery Guide ",
    )
    path = tmp_path / "guide.pdf"
    path.write_bytes(pdf)
    document = only(read_file(path))
    assert document.title == "The Delivery Guide"
    assert (document.id, document.url, document.topic) == ("guide", "", "general")
    assert document.body == (
        "Delivery guide\n\n"
        f"{LONG} dispatch your order, and express delivery is next day.\n\n"
        "Page two starts here."
    )


def test_pdf_without_metadata_title_uses_its_first_line(tmp_path):
    pdf = make_pdf(
        [
            ["Returns policy"],
            [
                LONG,
                "receive it.",
                "- Free returns within thirty days of delivery for all items we sell in the",
                "shop",
                "- Refunds in five days",
            ],
        ]
    )
    path = tmp_path / "returns.pdf"
    path.write_bytes(pdf)
    document = only(read_file(path))
    assert document.title == "Returns policy"
    assert document.body == (
        f"{LONG} receive it.\n\n"
        "- Free returns within thirty days of delivery for all items we sell in the shop\n"
        "- Refunds in five days"
    )


def test_pdf_matching_metadata_title_is_not_repeated(tmp_path):
    path = tmp_path / "t.pdf"
    path.write_bytes(make_pdf([["Care guide", "Oil it monthly."]], title="Care guide"))
    document = only(read_file(path))
    assert (document.title, document.body) == ("Care guide", "Oil it monthly.")


def test_pdf_locked_only_against_editing_is_read(tmp_path):
    path = tmp_path / "locked.pdf"
    path.write_bytes(encrypt(make_pdf([["Readable text."]]), user_password=""))
    assert only(read_file(path)).body == "Readable text."


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: encrypt(make_pdf([["Secret."]]), user_password="pw"), "encrypted"),
        (lambda: make_pdf([["Some text that is cut off."]])[:300], "cannot be read"),
        (lambda: b"%PDF-1.4\nnot really a pdf", "cannot be read"),
        (lambda: make_pdf([[], []]), "no extractable text"),
        (lambda: make_pdf([[], ["Guide"]], title="Guide"), "no text besides its title"),
    ],
)
def test_unusable_pdf_is_a_source_error_naming_the_file(tmp_path, make, message):
    path = tmp_path / "bad.pdf"
    path.write_bytes(make())
    with pytest.raises(SourceError, match=rf"bad\.pdf: .*{message}"):
        read_file(path)
