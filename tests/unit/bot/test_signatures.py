"""Platform signatures, checked against the platforms' published examples."""

from __future__ import annotations

from bot.channels.signatures import (
    messenger_request_is_genuine,
    messenger_signature,
    slack_request_is_genuine,
    slack_signature,
    twilio_request_is_genuine,
    twilio_signature,
)

# Slack's worked example in "Verifying requests from Slack".
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TS = "1531420618"
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
    b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
    b"command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
    b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_EXPECTED = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

# The example of Twilio's own request-validator tests.
TWILIO_TOKEN = "12345"
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
TWILIO_EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_slack_signature_matches_slacks_example() -> None:
    assert slack_signature(SLACK_SECRET, SLACK_TS, SLACK_BODY) == SLACK_EXPECTED
    now = int(SLACK_TS) + 10
    assert slack_request_is_genuine(SLACK_SECRET, SLACK_TS, SLACK_EXPECTED, SLACK_BODY, now=now)


def test_slack_refuses_a_changed_body_a_wrong_secret_and_a_stale_timestamp() -> None:
    now = int(SLACK_TS) + 10
    assert not slack_request_is_genuine(
        SLACK_SECRET, SLACK_TS, SLACK_EXPECTED, SLACK_BODY + b"&x=1", now=now
    )
    assert not slack_request_is_genuine("other", SLACK_TS, SLACK_EXPECTED, SLACK_BODY, now=now)
    stale = int(SLACK_TS) + 301
    assert not slack_request_is_genuine(
        SLACK_SECRET, SLACK_TS, SLACK_EXPECTED, SLACK_BODY, now=stale
    )
    future = int(SLACK_TS) - 301
    assert not slack_request_is_genuine(
        SLACK_SECRET, SLACK_TS, SLACK_EXPECTED, SLACK_BODY, now=future
    )
    assert not slack_request_is_genuine(SLACK_SECRET, "abc", SLACK_EXPECTED, SLACK_BODY, now=now)
    assert not slack_request_is_genuine("", SLACK_TS, SLACK_EXPECTED, SLACK_BODY, now=now)


def test_twilio_signature_matches_twilios_example() -> None:
    assert twilio_signature(TWILIO_TOKEN, TWILIO_URL, TWILIO_PARAMS) == TWILIO_EXPECTED
    assert twilio_request_is_genuine(TWILIO_TOKEN, TWILIO_URL, TWILIO_PARAMS, TWILIO_EXPECTED)


def test_twilio_refuses_other_parameters_urls_and_empty_signatures() -> None:
    changed = {**TWILIO_PARAMS, "Digits": "9999"}
    assert not twilio_request_is_genuine(TWILIO_TOKEN, TWILIO_URL, changed, TWILIO_EXPECTED)
    other_url = TWILIO_URL.replace("foo=1", "foo=2")
    assert not twilio_request_is_genuine(TWILIO_TOKEN, other_url, TWILIO_PARAMS, TWILIO_EXPECTED)
    assert not twilio_request_is_genuine(TWILIO_TOKEN, TWILIO_URL, TWILIO_PARAMS, "")
    assert not twilio_request_is_genuine("", TWILIO_URL, TWILIO_PARAMS, TWILIO_EXPECTED)


def test_messenger_signature_is_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"object":"page","entry":[]}'
    signature = messenger_signature("app-secret", body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert messenger_request_is_genuine("app-secret", body, signature)
    assert not messenger_request_is_genuine("app-secret", body + b" ", signature)
    assert not messenger_request_is_genuine("other", body, signature)
    assert not messenger_request_is_genuine("app-secret", body, signature.replace("sha256=", ""))
    assert not messenger_request_is_genuine("", body, signature)
