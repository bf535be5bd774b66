"""Opaque cursors: base64url of a small JSON object; a tampered or foreign cursor is a 422."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any, TypeVar

from services.records.api.errors import BadRequestInput

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


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
        raise BadRequestInput("the cursor is not one this service issued") from None
