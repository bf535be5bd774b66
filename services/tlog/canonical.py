"""RFC 8785 (JCS) canonical JSON: the exact bytes of an access-log entry, and so of its Merkle leaf.

One value has one canonical serialization, so a verifier can hash an export line as it is and also check that
it is the canonical form of what it says (a line that is not canonical was not written by the log).

``rfc8785`` is the reference, but it is pure Python (about 30 us for an entry), too slow for a verifier that
must check 100,000 entries a second. :func:`parse_canonical` therefore first tries orjson, but only on lines
where orjson's sorted compact output provably equals RFC 8785's: ASCII (so keys sort the same by UTF-16 code
units as by bytes), without a backslash (so no string needs an escape, where the two could differ), without
floats (whose formats differ: 1e+21 against 1e21), and with integers within +-(2**53 - 1) (orjson's
OPT_STRICT_INTEGER is exactly RFC 8785's domain). Any other line takes the reference path, so the answer is
always the reference's; the tests compare both paths on generated values.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import rfc8785

_FAST_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER


class NotCanonical(ValueError):
    """A line that is not the RFC 8785 serialization of a JSON value; the message says what is wrong."""


def canonical(obj: Any) -> bytes:
    """The RFC 8785 bytes of a JSON value (dicts, lists, str, int, float, bool, None)."""
    return rfc8785.dumps(obj)


def is_canonical(line: bytes) -> bool:
    """Whether the line parses as JSON and re-canonicalizes to exactly the same bytes."""
    try:
        parse_canonical(line)
    except NotCanonical:
        return False
    return True


def parse_canonical(line: bytes) -> Any:
    """The value of a canonical line; raises :class:`NotCanonical` for any other line."""
    value = _parse_fast(line)
    return _parse_reference(line) if value is _UNDECIDED else value


def _parse_fast(line: bytes) -> Any:
    """The value, or :class:`NotCanonical`, or ``_UNDECIDED`` where orjson could differ from RFC 8785."""
    if not line.isascii() or b"\\" in line:
        return _UNDECIDED
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return _UNDECIDED  # e.g. NaN, which only the standard parser reads
    if not _fast_path_applies(value):
        return _UNDECIDED
    try:
        again = orjson.dumps(value, option=_FAST_OPTIONS)
    except orjson.JSONEncodeError:
        return _UNDECIDED  # an integer beyond 2**53, or deeper nesting than orjson writes
    if again != line:
        raise NotCanonical("the line is not in RFC 8785 canonical form")
    return value


def _parse_reference(line: bytes) -> Any:
    try:
        value = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise NotCanonical("the line is not UTF-8") from None
    except ValueError:
        raise NotCanonical("the line is not JSON") from None
    except RecursionError:
        raise NotCanonical("the line is nested too deeply to read") from None
    try:
        again = canonical(value)
    except (ValueError, RecursionError):  # rfc8785's errors are ValueErrors: NaN, big integers, surrogates
        raise NotCanonical(
            "the value has no RFC 8785 form (NaN, infinity, huge integer, lone surrogate)"
        ) from None
    if again != line:
        raise NotCanonical("the line is not in RFC 8785 canonical form")
    return value


def _fast_path_applies(value: Any) -> bool:
    try:
        return _without_floats(value)
    except RecursionError:  # nested deeper than Python recurses: the reference decides
        return False


class _Undecided:
    pass


_UNDECIDED: Any = _Undecided()


def _without_floats(value: Any) -> bool:
    # Loops rather than all(...): this runs on every line of an export, and generators cost twice as much.
    kind = type(value)
    if kind is dict:
        value = value.values()
    elif kind is not list:
        return kind is not float
    for item in value:  # noqa: SIM110
        if not _without_floats(item):
            return False
    return True
