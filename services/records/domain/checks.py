"""Small input checks shared by the aggregates; each raises :class:`ValidationError` naming the field."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ValidationError


def text(value: str, field: str) -> str:
    """A required piece of text: a ``str`` that is not blank. Returned unchanged."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} must not be empty", field=field)
    return value


def optional_text(value: str | None, field: str) -> str | None:
    return None if value is None else text(value, field)


def texts(values: list[str], field: str, *, required: bool = False, unique: bool = True) -> list[str]:
    """A list of non-blank strings, in order; duplicates dropped unless ``unique`` is false."""
    if not isinstance(values, list):
        raise ValidationError(f"{field} must be a list", field=field)
    if required and not values:
        raise ValidationError(f"{field} must not be empty", field=field)
    for index, value in enumerate(values):
        text(value, f"{field}[{index}]")
    return list(dict.fromkeys(values)) if unique else list(values)


def aware(value: datetime, field: str) -> datetime:
    """A datetime with a UTC offset (clinical times without one are ambiguous)."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{field} must be a timezone-aware datetime", field=field)
    return value


def integer(value: int, field: str, low: int, high: int) -> int:
    """An ``int`` (not a ``bool``) between ``low`` and ``high`` inclusive."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(f"{field} must be an integer", field=field)
    if not low <= value <= high:
        raise ValidationError(f"{field} is {value}; it must be between {low} and {high}", field=field)
    return value


def time_zone(value: str, field: str = "time_zone") -> str:
    """An IANA time zone name that this machine's zone database knows."""
    text(value, field)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError(f"{field} is not a known IANA time zone", field=field) from None
    return value


_CODE_SHAPE = re.compile(r"[A-Za-z0-9_.-]{1,32}")


def shown_code(value: object) -> str:
    """A code as an error message may show it: quoted when it looks like a code, else nothing of it.

    Codes (labels, instruments, roles) are not PHI, but a caller may put free text where a code belongs.
    """
    if isinstance(value, str) and _CODE_SHAPE.fullmatch(value):
        return f"'{value}'"
    return "(not a code)"
