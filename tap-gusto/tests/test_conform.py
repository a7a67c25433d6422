"""tap_gusto.conform gives what the SDK's recursive type conforming gave, for every stream.

The streams switched the SDK's conforming off for speed; a record must come out exactly as
before, with the properties outside the schema (e.g. the employees' ``ssn``) dropped.
"""

from __future__ import annotations

import copy
import logging
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from singer_sdk.helpers._typing import conform_record_data_types
from singer_sdk.helpers.conform import TypeConformanceLevel
from tap_gusto import schemas
from tap_gusto.conform import compile_schema, conform_record

STREAM_SCHEMAS = {
    name: getattr(schemas, name)
    for name in (
        "COMPANIES",
        "EMPLOYEES",
        "DEPARTMENTS",
        "LOCATIONS",
        "PAY_SCHEDULES",
        "PAY_PERIODS",
        "PAYROLLS",
        "CONTRACTORS",
        "CONTRACTOR_PAYMENTS",
    )
}
LOGGER = logging.getLogger("test-conform")

LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.decimals(allow_nan=True, allow_infinity=True, places=2).filter(lambda d: not d.is_snan()),
    st.decimals(min_value=-1000, max_value=1000, places=2),
    st.floats(allow_nan=True),
    st.text(max_size=3),
)
EXTRA = {"ssn": LEAF, "zz_unknown": st.one_of(LEAF, st.lists(LEAF, max_size=2))}


def value_for(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    kinds = schema.get("type", [])
    if "properties" in schema and depth < 4:
        fields = {name: value_for(sub, depth + 1) for name, sub in schema["properties"].items()}
        typed: st.SearchStrategy[Any] = st.fixed_dictionaries({}, optional={**fields, **EXTRA})
    elif "array" in kinds and isinstance(schema.get("items"), dict) and depth < 4:
        typed = st.lists(value_for(schema["items"], depth + 1), max_size=3)
    else:
        return LEAF
    # Now and then a value of the wrong shape, which both must pass on the same way.
    return st.one_of(typed, typed, typed, LEAF)


def record_for(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    fields = {name: value_for(sub, 1) for name, sub in schema["properties"].items()}
    return st.fixed_dictionaries({}, optional={**fields, **EXTRA})


def sdk(record: dict[str, Any], schema: dict[str, Any]) -> Any:
    return conform_record_data_types(
        "s", copy.deepcopy(record), schema, TypeConformanceLevel.RECURSIVE, LOGGER
    )


def ours(record: dict[str, Any], schema: dict[str, Any]) -> Any:
    return conform_record(copy.deepcopy(record), compile_schema(schema), "s", LOGGER, set())


def same(a: Any, b: Any) -> bool:
    """Equal, with types compared too (True == 1 == Decimal(1) must not hide a change)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Decimal | float) and a != a:  # NaN
        return b != b
    return bool(a == b)


@pytest.mark.parametrize("name", sorted(STREAM_SCHEMAS))
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_conform_record_equals_the_sdk_recursive_conforming(name: str, data: Any) -> None:
    schema = STREAM_SCHEMAS[name]
    record = data.draw(record_for(schema))
    assert same(ours(record, schema), sdk(record, schema))


def test_properties_outside_the_schema_are_dropped_and_named_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    schema = STREAM_SCHEMAS["PAYROLLS"]
    record = {
        "uuid": "p",
        "ssn": "123-45-6789",
        "employee_compensations": [{"employee_uuid": "e", "ssn": "x", "taxes": [{"x": 1}]}],
    }
    warned: set[str] = set()
    with caplog.at_level(logging.WARNING):
        out = conform_record(record, compile_schema(schema), "payrolls", LOGGER, warned)
        conform_record(record, compile_schema(schema), "payrolls", LOGGER, warned)
    assert "ssn" not in out
    # Nested objects allow additional properties (the SDK's ObjectType default): kept as before.
    assert out == sdk(record, schema)
    assert out["employee_compensations"][0]["taxes"] == [{"x": 1}]
    assert len([r for r in caplog.records if "ssn" in r.getMessage()]) == 1
