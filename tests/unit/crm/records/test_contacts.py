from __future__ import annotations

import pytest

from crm.records.contacts import (
    InvalidContact,
    display_phone,
    find_phone,
    normalise_email,
    normalise_name,
    normalise_phone,
)
from crm.records.errors import CRMError

# --- email ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ada@example.com", "ada@example.com"),
        ("  Ada@Example.COM \n", "ada@example.com"),
        ("O'Connor+Shop@Mail.Example.co.uk", "o'connor+shop@mail.example.co.uk"),
        ("first.last@sub-domain.example.org", "first.last@sub-domain.example.org"),
        ("x@xn--bcher-kva.example", "x@xn--bcher-kva.example"),
    ],
)
def test_email_is_trimmed_and_lower_cased(typed: str, stored: str) -> None:
    assert normalise_email(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "ada@localhost",
        "ada..lovelace@example.com",
        ".ada@example.com",
        "ada.@example.com",
        "ada lovelace@example.com",
        "ada@@example.com",
        "ada@exa_mple.com",
        "ada@-example.com",
        "ada@example-.com",
        "ada@example.c",
        "ada@192.168.0.1",
        "adä@example.com",
        "ada@example.com, bob@example.com",
        "a" * 65 + "@example.com",
        "ada@" + "b" * 64 + ".com",  # a domain label is at most 63 characters
    ],
)
def test_invalid_emails_are_refused(typed: str) -> None:
    with pytest.raises(InvalidContact) as caught:
        normalise_email(typed)
    assert caught.value.field == "email"
    assert isinstance(caught.value, CRMError)


def test_email_length_limit_is_254() -> None:
    local = "a" * 64
    domain = ".".join(["b" * 63, "c" * 63, "d" * 57]) + ".com"
    assert len(f"{local}@{domain}") == 254
    assert normalise_email(f"{local}@{domain}") == f"{local}@{domain}"
    with pytest.raises(InvalidContact, match="254"):
        normalise_email(f"{local}@e{domain}")


def test_email_reasons_do_not_echo_the_input() -> None:
    for typed in ("secret-value@@example.com", "secret-value", "x" * 300 + "@example.com"):
        with pytest.raises(InvalidContact) as caught:
            normalise_email(typed)
        assert "secret" not in str(caught.value)
        assert "xxxx" not in str(caught.value)
        assert caught.value.reason in str(caught.value)


# --- phone ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "region", "e164"),
    [
        ("07700 900123", "GB", "+447700900123"),
        ("+44 7700 900123", "GB", "+447700900123"),
        ("+44 (0)20 7946 0958", "GB", "+442079460958"),
        ("020-7946-0958", "GB", "+442079460958"),
        ("+49 30 1234567", "GB", "+49301234567"),
        ("030 1234567", "DE", "+49301234567"),
        ("087 123 4567", "IE", "+353871234567"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("01 99 00 00 05", "FR", "+33199000005"),
        ("+31 20 123 4567", "GB", "+31201234567"),
        ("  +44 7911 123456 ", "gb", "+447911123456"),
    ],
)
def test_phone_numbers_become_e164(typed: str, region: str, e164: str) -> None:
    assert normalise_phone(typed, default_region=region) == e164


def test_phone_default_region_is_gb() -> None:
    assert normalise_phone("07911 123456") == "+447911123456"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "abc",
        "12345",
        "0800 000",
        "07700 9001234",  # one digit too many
        "+44 20 7946 095",  # one digit too few
        "+999 123456",  # no such country code
        "+44 1234",
        "1" * 41,
    ],
)
def test_invalid_phone_numbers_are_refused(typed: str) -> None:
    with pytest.raises(InvalidContact) as caught:
        normalise_phone(typed)
    assert caught.value.field == "phone"


def test_national_number_needs_the_right_region() -> None:
    # A valid French national number is not a valid British one.
    with pytest.raises(InvalidContact):
        normalise_phone("06 12 34 56 78", default_region="GB")


def test_phone_reasons_do_not_echo_the_input() -> None:
    for typed in ("0161 496 0999 9999", "call me maybe 555"):
        with pytest.raises(InvalidContact) as caught:
            normalise_phone(typed)
        message = str(caught.value)
        assert "0999" not in message and "maybe" not in message


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Ada", "Ada"),
        ("  Siobhán ", "Siobhán"),
        ("O'Connor", "O'Connor"),
        ("D’Arcy", "D’Arcy"),
        ("Anne-Marie", "Anne-Marie"),
        ("de   Vries", "de Vries"),
        ("Mu\u0308ller", "Müller"),  # decomposed umlaut is composed
        ("A", "A"),
        ("A" * 60, "A" * 60),
    ],
)
def test_valid_names(typed: str, stored: str) -> None:
    assert normalise_name(typed) == stored


@pytest.mark.parametrize(
    "typed", ["", "  ", "R2D2", "Ada!", "<b>Ada</b>", "-Ann", "'Ann", "Ada_L", "A" * 61]
)
def test_invalid_names(typed: str) -> None:
    with pytest.raises(InvalidContact) as caught:
        normalise_name(typed)
    assert caught.value.field == "name"
    assert "R2D2" not in str(caught.value)


@pytest.mark.parametrize(
    ("said", "found"),
    [
        ("can you change my mobile to 07700 900456 please", "+447700900456"),
        ("my new number is +49 30 1234567, thanks", "+49301234567"),
        ("order 100102 from 12 March", None),
        ("change my phone number", None),
    ],
)
def test_a_phone_number_is_found_inside_a_sentence(said: str, found: str | None) -> None:
    assert find_phone(said) == found


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+447700900552", "07700 900552"),  # Ofcom's fiction range, written as at home
        ("+442079460000", "020 7946 0000"),
        ("+49301234567", "+49 30 1234567"),  # from abroad: with its country code
    ],
)
def test_a_stored_number_is_shown_as_its_owner_writes_it(stored: str, shown: str) -> None:
    assert display_phone(stored, "GB") == shown
    assert normalise_phone(shown, "GB") == stored
