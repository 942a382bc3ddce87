"""JWTs as a shop's server would make them (HS256), for the identity and widget tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(header: dict[str, object], claims: dict[str, object], key: str) -> str:
    """A JWT with any header and claims, signed with HMAC-SHA256 whatever the header says."""
    signed = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
    signature = hmac.new(key.encode(), signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{_b64url(signature)}"


def make_jwt(key: str, customer_id: int | str, ttl_s: int = 3600) -> str:
    """A well-formed HS256 JWT for `customer_id`, valid for `ttl_s` seconds from now."""
    now = int(time.time())
    claims = {"sub": str(customer_id), "iat": now, "exp": now + ttl_s}
    return jwt({"alg": "HS256", "typ": "JWT"}, claims, key)
