"""The Telegram channel's configuration, checked in the Rasa venv where it runs."""

from __future__ import annotations

import textwrap

import pytest

from tests.unit.bot.rasa_side import run_in_rasa

pytestmark = pytest.mark.slow  # each test runs its check in the Rasa venv

CHECK = textwrap.dedent(
    """
    from bot.channels.telegram import TelegramInput

    off = TelegramInput.from_credentials({"token": "", "secret_token": ""})
    assert not off.configured
    try:
        TelegramInput.from_credentials({"token": "123:abc", "deliveries_url": "sqlite://"})
    except ValueError as error:
        assert "TELEGRAM_SECRET_TOKEN" in str(error), error
    else:
        raise AssertionError("a token without a secret was accepted")

    print("telegram configuration checked")
    """
)


def test_telegram_is_off_without_a_token_and_refuses_a_token_without_a_secret() -> None:
    assert "telegram configuration checked" in run_in_rasa("-c", CHECK)
