from __future__ import annotations

import pytest

from crm.records.addresses import (
    AddressInput,
    InvalidAddress,
    country_code,
    find_address,
    format_postcode,
    normalise_postcode,
    parse_address,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # GB, with and without country, odd spacing and case in the postcode
        (
            "12 Ancoats Way, Manchester, M4 6AB, GB",
            AddressInput("12 Ancoats Way", None, "Manchester", "M4 6AB", "GB"),
        ),
        (
            "12 Ancoats Way, Manchester, m46ab",
            AddressInput("12 Ancoats Way", None, "Manchester", "M4 6AB", "GB"),
        ),
        (
            "Flat 2, 12 Ancoats Way, Manchester,  m4  6ab , United Kingdom",
            AddressInput("Flat 2", "12 Ancoats Way", "Manchester", "M4 6AB", "GB"),
        ),
        (
            "41 Marchmont Road, Edinburgh, EH9 1HX, Scotland",
            AddressInput("41 Marchmont Road", None, "Edinburgh", "EH9 1HX", "GB"),
        ),
        (
            "1 Downing Street, London, SW1A 2AA, England",
            AddressInput("1 Downing Street", None, "London", "SW1A 2AA", "GB"),
        ),
        (
            "3 Kings Parade, Cambridge CB2 1SJ",
            AddressInput("3 Kings Parade", None, "Cambridge", "CB2 1SJ", "GB"),
        ),
        (
            "Rose Cottage, Church Lane, Ashford, TN25 5AB, uk",
            AddressInput("Rose Cottage", "Church Lane", "Ashford", "TN25 5AB", "GB"),
        ),
        (
            "Stratford House, Stratford-upon-Avon, CV37 6BB, Wales",
            AddressInput("Stratford House", None, "Stratford-upon-Avon", "CV37 6BB", "GB"),
        ),
        # IE Eircodes
        (
            "14 Baggot Street Lower, Dublin, d02x285, Ireland",
            AddressInput("14 Baggot Street Lower", None, "Dublin", "D02 X285", "IE"),
        ),
        (
            "14 Baggot Street Lower, Dublin 2, D02 X285, IE",
            AddressInput("14 Baggot Street Lower", None, "Dublin 2", "D02 X285", "IE"),
        ),
        # DE and FR: five digits, city before or after the postcode
        (
            "Torstraße 112, Berlin, 10119, Deutschland",
            AddressInput("Torstraße 112", None, "Berlin", "10119", "DE"),
        ),
        (
            "Torstraße 112, 10119 Berlin, Germany",
            AddressInput("Torstraße 112", None, "Berlin", "10119", "DE"),
        ),
        (
            "5 Rue de Rivoli, Paris, 75001, FR",
            AddressInput("5 Rue de Rivoli", None, "Paris", "75001", "FR"),
        ),
        (
            "12 Rue Paradis, 13001 Marseille, France",
            AddressInput("12 Rue Paradis", None, "Marseille", "13001", "FR"),
        ),
        # NL: "1015 CJ", letters upper-cased, space inserted
        (
            "Keizersgracht 123, Amsterdam, 1015cj, Holland",
            AddressInput("Keizersgracht 123", None, "Amsterdam", "1015 CJ", "NL"),
        ),
        (
            "Lange Voorhout 8, 2514 EA Den Haag, the Netherlands",
            AddressInput("Lange Voorhout 8", None, "Den Haag", "2514 EA", "NL"),
        ),
    ],
)
def test_parse_valid_addresses(text: str, expected: AddressInput) -> None:
    assert parse_address(text) == expected


def test_parse_accepts_one_part_per_line() -> None:
    text = "12 Ancoats Way\r\n\nManchester\nM4 6AB\n"
    address = parse_address(text)
    assert address == AddressInput("12 Ancoats Way", None, "Manchester", "M4 6AB", "GB")


def test_parse_joins_extra_lines_into_line2() -> None:
    address = parse_address("Flat 4, Ancoats House, 12 Ancoats Way, Manchester, M4 6AB")
    assert address.line1 == "Flat 4"
    assert address.line2 == "Ancoats House, 12 Ancoats Way"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("", "format"),
        (" , \n ,", "format"),
        ("Manchester, M4 6AB", "format"),
        ("M4 6AB", "format"),
        ("12, Manchester, M4 6AB", "line1"),
        ("Ancoats Way, Manchester, M4 6AB", "line1"),
        ("Torstraße, Berlin, 10119, DE", "line1"),
        ("1" * 101 + " Long Road, Manchester, M4 6AB", "line1"),
        ("12 Ancoats Way, Manch3ster, M4 6AB", "city"),
        ("12 Ancoats Way, M, M4 6AB", "city"),
        ("12 Ancoats Way, " + "A" * 61 + ", M4 6AB", "city"),
        ("12 Ancoats Way, Manchester", "postcode"),
        ("12 Ancoats Way, Manchester, M4 6A", "postcode"),
        ("12 Ancoats Way, Manchester, QQ1 1AA", "postcode"),
        ("12 Ancoats Way, Manchester, 75001", "postcode"),
        ("5 Rue de Rivoli, Paris, 7500, France", "postcode"),
        ("5 Rue de Rivoli, Paris, M4 6AB, France", "postcode"),
        ("Keizersgracht 123, Amsterdam, 1015 SA, NL", "postcode"),
        ("Keizersgracht 123, Amsterdam, 0123 AB, NL", "postcode"),
        ("14 Baggot Street, Dublin, D02 X28, Ireland", "postcode"),
        ("1 Calle Mayor, Madrid, 28001, Spain", "country"),
        ("1 Calle Mayor, Madrid, 28001, ES", "country"),
        ("350 Fifth Avenue, New York, 10118, US", "country"),
    ],
)
def test_parse_invalid_names_the_field(text: str, field: str) -> None:
    with pytest.raises(InvalidAddress) as caught:
        parse_address(text)
    assert caught.value.field == field
    assert caught.value.reason


def test_invalid_address_does_not_echo_the_input() -> None:
    with pytest.raises(InvalidAddress) as caught:
        parse_address("12 Secret Lane, Manchester, ZZ9 9ZZ")
    assert "Secret" not in str(caught.value)
    assert "ZZ9" not in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "12 Ancoats Way, Manchester, M4 6AB, GB",
        "Flat 2, 12 Ancoats Way, Manchester, M4 6AB, GB",
        "Keizersgracht 123, Amsterdam, 1015 CJ, NL",
        "14 Baggot Street Lower, Dublin, D02 X285, IE",
    ],
)
def test_formatted_round_trips(text: str) -> None:
    address = parse_address(text)
    assert address.formatted() == text
    assert parse_address(address.formatted()) == address


def test_as_dict_has_every_field() -> None:
    address = parse_address("Flat 2, 12 Ancoats Way, Manchester, M4 6AB")
    assert address.as_dict() == {
        "line1": "Flat 2",
        "line2": "12 Ancoats Way",
        "city": "Manchester",
        "postcode": "M4 6AB",
        "country": "GB",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [("m4 6ab", "M46AB"), (" M4  6AB ", "M46AB"), ("d02\tx285", "D02X285"), ("75001", "75001")],
)
def test_normalise_postcode(text: str, expected: str) -> None:
    assert normalise_postcode(text) == expected


@pytest.mark.parametrize(
    ("text", "country", "expected"),
    [
        ("sw1a2aa", "GB", "SW1A 2AA"),
        ("gir0aa", "GB", "GIR 0AA"),
        ("EC1A 1BB", "GB", "EC1A 1BB"),
        ("d6wk2x5", "IE", "D6W K2X5"),
        ("1012ab", "NL", "1012 AB"),
        ("80539", "DE", "80539"),
    ],
)
def test_format_postcode(text: str, country: str, expected: str) -> None:
    assert format_postcode(text, country) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("United Kingdom", "GB"),
        ("uk", "GB"),
        ("England", "GB"),
        ("Scotland", "GB"),
        ("Wales", "GB"),
        ("Ireland", "IE"),
        ("Deutschland", "DE"),
        ("germany", "DE"),
        ("France", "FR"),
        ("Holland", "NL"),
        ("Netherlands", "NL"),
        ("nl", "NL"),
        ("Spain", None),
        ("US", None),
    ],
)
def test_country_code(text: str, expected: str | None) -> None:
    assert country_code(text) == expected


# --- an address inside a sentence ------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "found"),
    [
        (
            "I need the delivery address on order 100102 changed to 14 Canal Street, "
            "Manchester M1 3HE",
            "14 Canal Street, Manchester, M1 3HE, GB",
        ),
        (
            "Could you send it to the new place please, 7 Beech Road, Didsbury, M20 6TQ? Ta",
            "7 Beech Road, Didsbury, M20 6TQ, GB",
        ),
        (
            "send it to 1 Hauptstrasse, Berlin, 10115, Germany please",
            "1 Hauptstrasse, Berlin, 10115, DE",
        ),
        (
            "Flat 2, 14 Canal Street, Manchester M1 3HE",
            "Flat 2, 14 Canal Street, Manchester, M1 3HE, GB",
        ),
        (
            "I need 2 things: 14 Canal Street, Manchester M1 3HE",
            "14 Canal Street, Manchester, M1 3HE, GB",
        ),
        # No country named: a known city gives it, where a bare 5-digit code would be refused.
        (
            "can you send order 100201 to 8 rue Oberkampf, 75011 Paris instead?",
            "8 rue Oberkampf, Paris, 75011, FR",
        ),
        ("I move to Lyon, 8 rue Mercière, 69002 Lyon.", "8 rue Mercière, Lyon, 69002, FR"),
        # No commas: the UK postcode, the known city (or the last word) before it, the street.
        (
            "change address on 100101 to 5 piccadilly manchester m1 1aa",
            "5 piccadilly, manchester, M1 1AA, GB",
        ),
        ("send it to 9 mill lane didsbury m20 6tq", "9 mill lane, didsbury, M20 6TQ, GB"),
    ],
)
def test_an_address_is_found_inside_a_sentence(said: str, found: str) -> None:
    address = find_address(said)
    assert address is not None
    assert address.formatted() == found


@pytest.mark.parametrize(
    "said",
    [
        "please change the delivery address of order 100101",
        "send order 100101 to 7 Beech Road instead",  # no town, no postcode: asked for
        "send 100101 to 7 Beech Road, Didsbury, NOTAPOSTCODE",
        "I ordered 3 mugs on 12 March",
        "send 100101 to 7 beech road m20 6tq",  # a street and a postcode, no town
        "send it to 8 rue Oberkampf, 75011 Madrid",  # a city we don't know is no country
    ],
)
def test_no_address_is_made_up(said: str) -> None:
    assert find_address(said) is None
