"""Opaque cursors for lists: base64url of a small JSON object; a tampered or foreign cursor is refused."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class BadCursor(ValueError):
    """A cursor this service did not issue (services answer it with a 422 problem)."""


def encode_cursor(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str, parse: Callable[[Any], T]) -> T | None:
    """The position after which the next page starts, parsed; None without a cursor."""
    if cursor is None:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(position, dict) or position.get("k") != kind:
            raise ValueError("foreign cursor")
        return parse(position["after"])
    except (ValueError, TypeError, KeyError, AttributeError):
        raise BadCursor("the cursor is not one this service issued") from None
