"""Canonical JSON: known answers of RFC 8785, and the fast check against the definition on generated data."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from services.tlog.canonical import NotCanonical, canonical, is_canonical, parse_canonical


def by_definition(line: bytes) -> bool:
    """RFC 8785 as the task states it: parses as JSON and re-canonicalizes to the same bytes."""
    try:
        return rfc8785.dumps(json.loads(line.decode("utf-8"))) == line
    except (ValueError, RecursionError):
        return False


def test_keys_sort_by_utf16_code_units() -> None:
    # RFC 8785 3.2.3: U+1F600 (a surrogate pair, D83D) sorts before U+FB33, unlike by code point.
    value = {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6, "\u00f6": 7}
    line = canonical(value)
    expected = '{"\\r":2,"1":4,"\u0080":6,"\u00f6":7,"\u20ac":1,"\U0001f600":5,"\ufb33":3}'
    assert line.decode("utf-8") == expected
    assert is_canonical(line)
    assert not is_canonical(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))  # code point order


@pytest.mark.parametrize(
    "line",
    [
        b'{"a":[true,false,null],"b":{"c":"d"},"e":-12}',
        b'{"m":-9007199254740991,"n":9007199254740991}',
        b'{"f":1.5,"g":1e+21,"h":1e-7,"i":0.1}',
        b'{"s":"tab\\tnl\\nq\\"bs\\\\ctl\\u001f\x7f/"}',
        '{"name":"Z\u00fcrich \u2014 \U0001f600"}'.encode(),
        b"[]",
        b"[" * 300 + b"]" * 300,  # deeper than orjson writes: the reference decides
        b'"text"',
        b"0",
    ],
)
def test_canonical_lines(line: bytes) -> None:
    assert by_definition(line)
    assert is_canonical(line)
    assert parse_canonical(line) == json.loads(line)


@pytest.mark.parametrize(
    "line",
    [
        b'{"b":1,"a":2}',  # keys out of order
        b'{"a": 1}',  # whitespace
        b'{"a":1}\n',  # a newline is a line terminator, not part of the leaf
        b'{"a":1.0}',  # 1, in canonical form
        b'{"a":1E3}',
        b'{"a":10000000000000000}',  # 1e16 is beyond the integers RFC 8785 keeps exact
        b'{"a":9007199254740992}',
        b'{"a":-0}',
        b'{"a":NaN}',
        b'{"a":"\\u0041"}',  # "A" needs no escape
        b'{"a":"\\/"}',
        b'{"a":"\\u001F"}',  # lowercase hex
        b'{"a":"\\ud800"}',  # a lone surrogate has no UTF-8 form
        b'{"a":1,"a":1}',  # duplicate keys
        b'{"a":"\xff"}',  # not UTF-8
        '{"a":1}'.encode("utf-16"),
        b"",
        b"{",
    ],
)
def test_lines_that_are_not_canonical(line: bytes) -> None:
    assert not by_definition(line)
    assert not is_canonical(line)
    with pytest.raises(NotCanonical):
        parse_canonical(line)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


def spellings(value: Any) -> list[bytes]:
    """The same value written by several serializers, canonical or not."""
    lines = [json.dumps(value).encode()]
    for ascii_only in (True, False):
        text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=ascii_only)
        lines.append(text.encode("utf-8", "replace"))
    for option in (orjson.OPT_SORT_KEYS, 0):
        with contextlib.suppress(orjson.JSONEncodeError):
            lines.append(orjson.dumps(value, option=option))
    with contextlib.suppress(rfc8785.CanonicalizationError):
        lines.append(rfc8785.dumps(value))
    return lines


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_the_fast_check_agrees_with_the_definition(value: Any) -> None:
    for line in spellings(value):
        assert is_canonical(line) == by_definition(line), line


@settings(max_examples=300, deadline=None)
@given(json_values, st.data())
def test_the_fast_check_agrees_on_damaged_lines(value: Any, data: st.DataObject) -> None:
    line = bytearray(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
    position = data.draw(st.integers(0, len(line) - 1))
    line[position] = data.draw(st.sampled_from(b' ".\\e0123456789:,{}[]-+Eatfnul\x7f\xc3'))
    assert is_canonical(bytes(line)) == by_definition(bytes(line))
