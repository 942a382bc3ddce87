"""Signed shopper identities from a host site (bot/channels/identity.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from bot.channels.identity import jwt_claims, sign_customer, verified_customer
from tests.tokens import jwt, make_jwt

SECRET = "shared-secret-of-the-shop"

# RFC 7515, appendix A.1: an HS256 JWS with its key, as published.
RFC_TOKEN = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
RFC_KEY = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"


def token(header: dict[str, object], claims: dict[str, object], key: str = SECRET) -> str:
    return jwt(header, claims, key)


def test_the_published_rfc_7515_example_verifies() -> None:
    key = base64.urlsafe_b64decode(RFC_KEY + "=" * (-len(RFC_KEY) % 4))
    claims = jwt_claims(RFC_TOKEN, key)
    assert claims == {"iss": "joe", "exp": 1300819380, "http://example.com/is_root": True}
    assert jwt_claims(RFC_TOKEN, key[:-1]) is None
    tampered = RFC_TOKEN.replace("eyJpc3MiOiJqb2Ui", "eyJpc3MiOiJqb2Ei")
    assert jwt_claims(tampered, key) is None


def test_an_hmac_signed_customer_id_is_verified() -> None:
    signature = sign_customer(SECRET, 42)
    assert signature == hmac.new(SECRET.encode(), b"42", hashlib.sha256).hexdigest()
    assert verified_customer({"customer_id": "42", "signature": signature}, SECRET) == 42
    assert verified_customer({"customer_id": 42, "signature": signature.upper()}, SECRET) == 42


@pytest.mark.parametrize(
    "proof",
    [
        None,
        "42",
        {},
        {"customer_id": "42"},
        {"customer_id": "42", "signature": "0" * 64},
        {"customer_id": "43", "signature": sign_customer(SECRET, 42)},
        {"customer_id": "42", "signature": sign_customer("another secret", 42)},
        {"customer_id": "42", "signature": 7},
        {"customer_id": "42", "signature": "é" * 64},
        {"customer_id": True, "signature": sign_customer(SECRET, True)},
        {"customer_id": "042", "signature": sign_customer(SECRET, "042")},
        {"customer_id": "-1", "signature": sign_customer(SECRET, "-1")},
        {"customer_id": "ada", "signature": sign_customer(SECRET, "ada")},
    ],
)
def test_anything_but_a_valid_signature_of_a_customer_id_is_refused(proof: object) -> None:
    assert verified_customer(proof, SECRET) is None


def test_without_a_secret_nothing_is_verified() -> None:
    assert verified_customer({"customer_id": "42", "signature": sign_customer("", 42)}, "") is None


def test_a_jwt_names_the_customer_until_it_expires() -> None:
    now = time.time()
    jwt = make_jwt(SECRET, 42, ttl_s=600)
    assert verified_customer({"jwt": jwt}, SECRET, now=now) == 42
    assert verified_customer({"jwt": jwt}, SECRET, now=now + 600 + 30) == 42  # clock skew
    assert verified_customer({"jwt": jwt}, SECRET, now=now + 600 + 120) is None
    assert verified_customer({"jwt": jwt}, "another secret", now=now) is None


@pytest.mark.parametrize(
    ("header", "claims"),
    [
        ({"alg": "none"}, {"sub": "42", "exp": 4_000_000_000}),
        ({"alg": "HS512"}, {"sub": "42", "exp": 4_000_000_000}),
        ({"typ": "JWT"}, {"sub": "42", "exp": 4_000_000_000}),
        ({"alg": "HS256"}, {"sub": "42"}),
        ({"alg": "HS256"}, {"sub": "42", "exp": "tomorrow"}),
        ({"alg": "HS256"}, {"sub": "42", "exp": True}),
        ({"alg": "HS256"}, {"sub": "42", "exp": 4_000_000_000, "nbf": 3_900_000_000}),
        ({"alg": "HS256"}, {"sub": "ada", "exp": 4_000_000_000}),
        ({"alg": "HS256"}, {"exp": 4_000_000_000}),
    ],
)
def test_a_jwt_with_another_algorithm_or_bad_claims_is_refused(
    header: dict[str, object], claims: dict[str, object]
) -> None:
    assert verified_customer({"jwt": token(header, claims)}, SECRET) is None


def test_a_well_formed_jwt_made_elsewhere_is_accepted() -> None:
    jwt = token({"alg": "HS256", "typ": "JWT"}, {"sub": 42, "exp": 4_000_000_000})
    assert verified_customer({"jwt": jwt}, SECRET) == 42


@pytest.mark.parametrize("jwt", ["", "a.b", "a.b.c", "!!.??.**", "x" * 5000, 42])
def test_garbage_instead_of_a_jwt_is_refused(jwt: object) -> None:
    assert verified_customer({"jwt": jwt}, SECRET) is None
