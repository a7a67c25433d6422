"""The audit trail's JSON: exact Decimals both ways; record_json reads back as to_json does."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from target_dynamics_fo.audit import from_json, record_sha256, to_json
from target_dynamics_fo.audit.codec import record_json
from target_dynamics_fo.ledger import loads

DECIMALS = st.decimals(allow_nan=False, allow_infinity=False)
# What a Singer message parses to (string keys; non-integer numbers as Decimal), plus what the
# SDK may add (dates), floats (a program embedding the target), and strings that look like
# record_json's marks.
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | DECIMALS
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.sampled_from(["\x00", "\x001.5", '"\x00', "\x00\x00x", "\\u0000"])
    | st.dates()
)
KEYS = st.text() | st.sampled_from(["\x00", "\x001"])
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=25,
)


def same(a: Any, b: Any) -> bool:
    """Equal, with every Decimal of the same digits and exponent, and ints still ints."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Decimal):
        return a.as_tuple() == b.as_tuple()
    return bool(a == b)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_record_json_reads_back_as_to_json_does(record: dict[str, Any]) -> None:
    # The text is parsed again, never compared: its spacing may differ, what it holds may not.
    assert same(from_json(record_json(record)), from_json(to_json(record)))


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_a_parsed_record_reads_back_exactly(value: dict[str, Any]) -> None:
    # What the target gets: a record parsed from a Singer message (5E0 included).
    record = from_json(to_json(value))
    assert same(from_json(record_json(record)), record)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_a_record_text_of_an_older_version_reads_back_the_same(record: dict[str, Any]) -> None:
    # Rows written before record_json went compact (spaced, non-ASCII escaped) are still read.
    assert same(from_json(to_json(record)), from_json(record_json(record)))
    assert same(from_json(to_json(record).encode()), from_json(to_json(record)))


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_decimals_read_back_exactly(value: Any) -> None:
    if _has(value, date | float):
        return  # written as text, and as inexact numbers: neither reads back as it was
    assert same(from_json(to_json(value)), value)


def _has(value: Any, kinds: Any) -> bool:
    if isinstance(value, dict):
        return any(_has(v, kinds) for v in value.values())
    if isinstance(value, list):
        return any(_has(v, kinds) for v in value)
    return isinstance(value, kinds)


def test_an_integral_decimal_reads_back_as_a_decimal() -> None:
    text = to_json({"a": Decimal(5), "b": Decimal("-0"), "c": 5, "d": Decimal("5.0")})
    assert text == '{"a": 5E0, "b": -0E0, "c": 5, "d": 5.0}'
    back = from_json(text)
    assert same(back, {"a": Decimal(5), "b": Decimal("-0"), "c": 5, "d": Decimal("5.0")})
    assert record_json({"a": Decimal(5)}) == '{"a": 5E0}'


def test_a_parsed_record_is_written_compactly_with_its_exact_digits() -> None:
    line = '{"z": [1.50, 2, -0.92, 1E+2, 7e-3], "a": {"n": null, "t": true, "s": "\\u00e9"}}'
    record = json.loads(line, parse_float=Decimal)
    expected = '{"a":{"n":null,"s":"\u00e9","t":true},"z":[1.50,2,-0.92,1E+2,0.007]}'
    assert record_json(record) == expected
    assert same(from_json(expected), record)
    # The same content gives the same hash, whichever order its keys came in.
    assert record_sha256(record) == record_sha256(from_json(expected))


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),  # msgspec would write UTC as Z
        1.5,
        Decimal(5),  # as 5 it would read back as an int
        Decimal("-0"),
    ],
)
def test_what_msgspec_would_write_otherwise_is_written_as_to_json_writes_it(value: Any) -> None:
    for record in ({"a": value, "b": [Decimal("1.50")]}, {"b": [{"c": [value]}]}):
        assert record_json(record) == to_json(record)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), float("nan")])
def test_a_number_json_cannot_carry_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        to_json({"a": value})
    with pytest.raises(ValueError, match="not JSON compliant"):
        record_json({"a": value})


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_loads_reads_what_the_standard_library_reads(value: Any) -> None:
    # msgspec parses what it accepts; its result must be the standard library's, type for type.
    for text in (to_json(value), record_json({"v": value}), json.dumps(value, default=str)):
        assert same(loads(text), json.loads(text, parse_float=Decimal))
        assert same(loads(text.encode()), json.loads(text.encode(), parse_float=Decimal))


@pytest.mark.parametrize(
    "text",
    [
        '{"a": NaN, "b": -Infinity}',  # not JSON, but the standard library reads it
        '"\\ud800"',  # a lone surrogate escape
        '{"a": 1, "a": 2.50}',
        "123456789012345678901234567890.5e-3",
        '{"a": 5E0, "b": -0.0, "c": -0}',
    ],
)
def test_loads_reads_what_msgspec_refuses_as_the_standard_library_does(text: str) -> None:
    expected = json.loads(text, parse_float=Decimal)
    got = loads(text)
    assert repr(got) == repr(expected)


@pytest.mark.parametrize("text", ['{"a": 1', "{}x", '"a\x01b"', "\ufeff{}"])
def test_loads_names_broken_json_as_the_standard_library_does(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text, parse_float=Decimal)
    with pytest.raises(json.JSONDecodeError) as got:
        loads(text)
    assert (got.value.msg, got.value.pos) == (expected.value.msg, expected.value.pos)
