"""Signed identities from a host website: which customer a logged-in shopper is. No Rasa imports.

A shop that embeds the widget for a signed-in shopper passes proof of who the shopper is, made
on its server with a secret it shares with us (`WIDGET_IDENTITY_SECRET`), in one of two forms:

- `{"customer_id": "42", "signature": hex(HMAC-SHA256(secret, "42"))}`, the common "identity
  verification" scheme of support widgets; it never expires, so it suits a page rendered per
  request;
- `{"jwt": "<HS256 JWT>"}` whose `sub` is the customer id and which carries `exp`.

Anything else (absent, malformed, forged, expired, another algorithm) yields None: the shopper
is then verified in the conversation like anyone else. Only the widget channel reads these, and
it passes the result to the actions as message metadata under `SIGNED_IN_CUSTOMER`
(config/contract.py), a key no channel copies from a client.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from typing import Any, TypeGuard

CLOCK_SKEW_S = 60
_CUSTOMER_ID = re.compile(r"^[1-9][0-9]{0,17}$")


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign_customer(secret: str | bytes, customer_id: int | str) -> str:
    """The HMAC signature a host site sends with `customer_id` (hex SHA-256)."""
    return hmac.new(_key(secret), str(customer_id).encode(), hashlib.sha256).hexdigest()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_claims(token: str, secret: str | bytes) -> dict[str, Any] | None:
    """The claims of an HS256 JWT whose signature `secret` made, or None.

    Only HS256 is accepted: the header's `alg` is never trusted to pick the check ("none" and
    key-confusion attacks). Times are not checked here; `verified_customer` does that.
    """
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 4096:
        return None
    header_part, claims_part, signature_part = parts
    try:
        header = json.loads(_unb64url(header_part))
        claims = json.loads(_unb64url(claims_part))
        signature = _unb64url(signature_part)
    except (ValueError, binascii.Error):
        return None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        return None
    expected = hmac.new(
        _key(secret), f"{header_part}.{claims_part}".encode(), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(signature, expected) or not isinstance(claims, dict):
        return None
    return claims


def _numeric(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def verified_customer(proof: object, secret: str, now: float | None = None) -> int | None:
    """The customer id that `proof` (what the host page passed) proves, or None."""
    if not secret or not isinstance(proof, dict):
        return None
    now = time.time() if now is None else now
    token = proof.get("jwt")
    if isinstance(token, str):
        claims = jwt_claims(token, secret)
        if claims is None:
            return None
        expires, not_before = claims.get("exp"), claims.get("nbf", 0)
        if not _numeric(expires) or not _numeric(not_before):
            return None
        if now > float(expires) + CLOCK_SKEW_S or now < float(not_before) - CLOCK_SKEW_S:
            return None
        customer = claims.get("sub")
    else:
        customer, signature = proof.get("customer_id"), proof.get("signature")
        if not isinstance(signature, str) or not isinstance(customer, str | int):
            return None
        expected = sign_customer(secret, customer).encode()
        if not hmac.compare_digest(signature.lower().encode(), expected):
            return None
    if isinstance(customer, int) and not isinstance(customer, bool):
        customer = str(customer)
    if not isinstance(customer, str) or not _CUSTOMER_ID.match(customer):
        return None
    return int(customer)
