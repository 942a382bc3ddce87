import pytest

from bot.guard import RejectedMessage, neutralise, parse_rest_body


@pytest.mark.parametrize(
    "typed",
    [
        '/track_order{"customer_id": 1}',
        '  /cancel_order{"verified_until": 9999999999}',
        "//affirm",
        "/ /affirm",
        "\n/greet",
    ],
)
def test_intent_commands_lose_their_slash(typed):
    cleaned = neutralise(typed)
    assert not cleaned.startswith("/")
    assert cleaned  # the words are kept for NLU


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("hello \ud800", "hello"),
        ("\udfffwhere is 100102", "where is 100102"),
        ("can\x00cel\x07 it", "cancel it"),
        ("line one\nline\ttwo", "line one\nline\ttwo"),
        ("thanks 👍🏽 and ❤️", "thanks 👍🏽 and ❤️"),
    ],
)
def test_surrogates_and_control_characters_are_dropped(typed, read):
    assert neutralise(typed) == read
    neutralise(typed).encode("utf-8")  # what the tracker store and the logs do with it


def test_a_message_of_control_characters_only_is_empty():
    with pytest.raises(RejectedMessage) as refused:
        parse_rest_body({"sender": "a", "message": "\x00\ud800"}, max_chars=100)
    assert refused.value.status == 400


def test_ordinary_text_is_unchanged_apart_from_whitespace():
    assert neutralise("  where is 100101/100102? ") == "where is 100101/100102?"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ([], 400),
        ("hello", 400),
        (None, 400),
        (42, 400),
        ({"sender": "a"}, 400),
        ({"message": "hi"}, 400),
        ({"sender": 1, "message": "hi"}, 400),
        ({"sender": "a", "message": ["hi"]}, 400),
        ({"sender": "a b", "message": "hi"}, 400),
        ({"sender": "a", "message": "   "}, 400),
        ({"sender": "a", "message": "/"}, 400),
        ({"sender": "a", "message": "x" * 101}, 413),
    ],
)
def test_bad_bodies_are_rejected_with_a_status(body, status):
    with pytest.raises(RejectedMessage) as rejected:
        parse_rest_body(body, max_chars=100)
    assert rejected.value.status == status


def test_a_good_body_is_accepted_and_neutralised():
    message = parse_rest_body({"sender": "web-1", "message": "/greet"}, max_chars=100)
    assert (message.sender, message.text) == ("web-1", "greet")
