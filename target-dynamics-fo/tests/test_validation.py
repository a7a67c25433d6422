"""The compiled record validator: the SDK's verdicts, names the field, never changes a record."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from singer_sdk.exceptions import InvalidJSONSchema, InvalidRecord
from singer_sdk.sinks.core import JSONSchemaValidator
from target_dynamics_fo.validation import CompiledSchemaValidator

# The shapes tap-gusto's schemas use (singer_sdk.typing): nullable scalars, Decimal numbers,
# dates as formatted strings, nested objects and arrays of objects, a required key.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "uuid": {"type": "string"},
        "company_uuid": {"type": ["string", "null"]},
        "terminated": {"type": ["boolean", "null"]},
        "version": {"type": ["integer", "null"]},
        "rate": {"type": ["number", "null"]},
        "hire_date": {"type": ["string", "null"], "format": "date"},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
        "department": {
            "type": ["object", "null"],
            "properties": {"uuid": {"type": ["string", "null"]}, "title": {"type": "string"}},
        },
        "jobs": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "properties": {
                    "rate": {"type": ["number", "null"], "default": 0},
                    "primary": {"type": ["boolean", "null"]},
                },
            },
        },
    },
    "required": ["uuid"],
}

VALID = {
    "uuid": "e1",
    "company_uuid": None,
    "terminated": False,
    "version": 3,
    "rate": Decimal("31.25"),
    "hire_date": "2026-01-05",
    "updated_at": "2026-01-05T10:00:00Z",
    "department": {"uuid": "d1", "title": "Bakery"},
    "jobs": [{"rate": Decimal("31.25"), "primary": True}, {}],
}


def test_a_valid_record_passes_unchanged() -> None:
    record = copy.deepcopy(VALID)
    CompiledSchemaValidator(SCHEMA).validate(record)
    # No default filled in ("rate": 0 of the second job), nothing converted.
    assert record == VALID


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("terminated", "maybe", "record.terminated must be boolean or null"),
        ("rate", "31.25", "record.rate must be number or null"),
        ("rate", True, "record.rate must be number or null"),
        ("version", Decimal("1.5"), "record.version must be integer or null"),
        ("department", {"title": 7}, "record.department.title must be string"),
        ("jobs", [{"primary": "yes"}], "record.jobs[0].primary must be boolean or null"),
    ],
)
def test_a_record_breaking_its_schema_is_refused_naming_the_field(
    field: str, value: Any, named: str
) -> None:
    record = {**copy.deepcopy(VALID), field: value}
    with pytest.raises(InvalidRecord) as refused:
        CompiledSchemaValidator(SCHEMA).validate(record)
    assert refused.value.error_message == named
    # The value itself is not repeated: records hold personal data and the message is logged.
    assert repr(value) not in refused.value.error_message


def test_a_missing_required_key_is_refused() -> None:
    record = {k: v for k, v in VALID.items() if k != "uuid"}
    with pytest.raises(InvalidRecord, match="uuid"):
        CompiledSchemaValidator(SCHEMA).validate(record)


def test_formats_are_checked_only_when_asked_as_by_the_sdk() -> None:
    record = {**VALID, "hire_date": "the fifth"}
    CompiledSchemaValidator(SCHEMA).validate(record)
    with pytest.raises(InvalidRecord, match="hire_date"):
        CompiledSchemaValidator(SCHEMA, validate_formats=True).validate(record)


def test_a_schema_referring_to_a_remote_document_is_refused_not_fetched() -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": "https://example.com/a.json"}}}
    with pytest.raises(InvalidJSONSchema, match="does not fetch"):
        CompiledSchemaValidator(schema).validate({"a": 1})


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**6), max_value=10**6)
    | st.decimals(allow_nan=False, allow_infinity=False, places=2)
    | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["uuid", "title", "rate", "primary"]), inner, max_size=3)
    ),
    max_leaves=8,
)
RECORDS = st.dictionaries(st.sampled_from(sorted(SCHEMA["properties"])), JSON_VALUES, max_size=9)


@settings(max_examples=400, deadline=None)
@given(RECORDS, st.booleans())
def test_the_verdict_is_the_sdk_validators(record: dict[str, Any], with_uuid: bool) -> None:
    if with_uuid:
        record = {**record, "uuid": "e1"}

    def verdict(validator: Any) -> bool:
        try:
            validator.validate(copy.deepcopy(record))
        except InvalidRecord:
            return False
        return True

    assert verdict(CompiledSchemaValidator(SCHEMA)) == verdict(JSONSchemaValidator(SCHEMA))
