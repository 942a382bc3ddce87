"""How each messaging platform signs its webhook requests, checked in constant time.

Every function takes what the request carried and the shared secret and returns whether the
request is the platform's; none raises on malformed input. No Rasa imports.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

SLACK_TOLERANCE_S = 300  # Slack's own advice: refuse requests more than five minutes old


def slack_signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    """`v0=` + HMAC-SHA256 of `v0:<timestamp>:<body>`, as Slack computes it."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def slack_request_is_genuine(
    signing_secret: str,
    timestamp: str,
    signature: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: float = SLACK_TOLERANCE_S,
) -> bool:
    """The signature matches and the timestamp is recent (a replayed request is stale)."""
    if not signing_secret or not timestamp.isdigit() or not signature:
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance_s:
        return False
    expected = slack_signature(signing_secret, timestamp, body)
    return hmac.compare_digest(expected.encode(), signature.encode())


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Base64 HMAC-SHA1 of the URL, then each POST parameter's name and value by name."""
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_request_is_genuine(
    auth_token: str, url: str, params: Mapping[str, str], signature: str
) -> bool:
    """`X-Twilio-Signature` matches the URL Twilio called and the form it posted."""
    if not auth_token or not signature:
        return False
    expected = twilio_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), signature.encode())


def messenger_signature(app_secret: str, body: bytes) -> str:
    """`sha256=` + HMAC-SHA256 of the raw body with the app secret, as Meta computes it."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def messenger_request_is_genuine(app_secret: str, body: bytes, signature: str) -> bool:
    """`X-Hub-Signature-256` matches the raw body."""
    if not app_secret or not signature:
        return False
    return hmac.compare_digest(messenger_signature(app_secret, body).encode(), signature.encode())
