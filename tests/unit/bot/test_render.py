"""Cutting replies and drawing buttons for the messaging platforms."""

from __future__ import annotations

from bot.channels.render import (
    TELEGRAM_MAX_TEXT,
    inline_keyboard,
    messenger_quick_replies,
    numbered_list,
    slack_blocks,
    slack_escape,
    split_text,
)


def test_a_short_text_is_one_piece() -> None:
    assert split_text("  Hello there.  ") == ["Hello there."]
    assert split_text("") == []


def test_a_long_text_is_cut_at_lines_then_spaces_and_nothing_is_lost() -> None:
    lines = [f"Line {n}: " + "word " * 30 for n in range(200)]
    text = "\n".join(line.strip() for line in lines)
    pieces = split_text(text)
    assert len(pieces) > 1
    assert all(len(piece) <= TELEGRAM_MAX_TEXT for piece in pieces)
    assert all(piece.startswith("Line ") for piece in pieces)  # cut between lines
    assert " ".join(" ".join(pieces).split()) == " ".join(text.split())


def test_one_endless_word_is_cut_at_the_limit() -> None:
    pieces = split_text("x" * 10_000, limit=4096)
    assert [len(p) for p in pieces] == [4096, 4096, 1808]


def test_buttons_become_an_inline_keyboard_of_their_payloads() -> None:
    keyboard = inline_keyboard(
        [
            {"title": "Track an order", "payload": "track my order"},
            {"title": "Talk to a person", "payload": "talk to a person"},
        ]
    )
    assert keyboard == {
        "inline_keyboard": [
            [{"text": "Track an order", "callback_data": "track my order"}],
            [{"text": "Talk to a person", "callback_data": "talk to a person"}],
        ]
    }


def test_a_payload_over_64_bytes_falls_back_to_the_numbered_list() -> None:
    assert inline_keyboard([{"title": "Long", "payload": "é" * 33}]) is None  # 66 bytes
    assert inline_keyboard([{"title": "Fits", "payload": "é" * 32}]) is not None
    assert inline_keyboard([]) is None


def test_slack_text_is_escaped_and_sections_are_plain_text() -> None:
    assert slack_escape("<script>a & b</script>") == "&lt;script&gt;a &amp; b&lt;/script&gt;"
    blocks = slack_blocks("*not bold* <b>", [])
    assert blocks == [
        {"type": "section", "text": {"type": "plain_text", "text": "*not bold* <b>", "emoji": True}}
    ]


def test_slack_buttons_are_one_actions_block_of_payload_values() -> None:
    buttons = [{"title": f"Option {n}", "payload": f"option {n}"} for n in range(30)]
    blocks = slack_blocks("Pick one", buttons)
    actions = blocks[1]
    assert actions["type"] == "actions"
    assert len(actions["elements"]) == 25  # Slack's limit per block
    first = actions["elements"][0]
    assert first["text"]["text"] == "Option 0" and first["value"] == "option 0"
    assert len({e["action_id"] for e in actions["elements"]}) == 25


def test_buttons_become_a_numbered_list_of_their_titles() -> None:
    buttons = [{"title": "Track an order", "payload": "track my order"}, {"payload": "help"}]
    assert numbered_list(buttons) == "1. Track an order\n2. help"


def test_messenger_quick_replies_keep_within_messengers_limits() -> None:
    buttons = [{"title": f"A rather long option title {n}", "payload": f"p{n}"} for n in range(20)]
    replies = messenger_quick_replies(buttons)
    assert len(replies) == 13
    assert replies[0] == {"content_type": "text", "title": "A rather long option", "payload": "p0"}
