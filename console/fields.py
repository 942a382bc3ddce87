"""Text fields of a console request: a plain form post, or JSON from the page's script."""

from __future__ import annotations

from sanic.request import Request


def form(request: Request, name: str) -> str:
    """A field of a plain form post; "" when absent or not text."""
    if not (request.content_type or "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        return ""
    value = request.form.get(name) if request.form else None
    return value if isinstance(value, str) else ""


def json_value(request: Request, name: str) -> str:
    """A text field of a JSON body; "" when absent, not text, or the body is malformed."""
    if not (request.content_type or "").startswith("application/json"):
        return ""
    try:
        body = request.json
    except Exception:  # a malformed body has no fields
        return ""
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, str) else ""


def field(request: Request, name: str) -> str:
    """A text field from the page's script (JSON) or a plain form post."""
    return json_value(request, name) or form(request, name)
