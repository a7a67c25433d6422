"""Exact Decimal parsing of Gusto amounts and exact JSON output through the SDK writer."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

import pytest
from singer_sdk.singerlib.encoding.simple import RecordMessage, SimpleSingerWriter
from tap_gusto.errors import MalformedAmountError
from tap_gusto.money import Kind, Where, convert_fields, parse_decimal

WHERE = Where("company-1", "payrolls", "payroll-9")


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [
        ("20.0", Kind.MONEY, "20.0"),
        ("-0.92", Kind.MONEY, "-0.92"),
        ("1234.50", Kind.MONEY, "1234.50"),
        ("0", Kind.MONEY, "0"),
        (Decimal("646.69"), Kind.MONEY, "646.69"),
        (786, Kind.MONEY, "786"),
        ("40.000", Kind.HOURS, "40.000"),
        (Decimal("1.5"), Kind.RATE, "1.5"),
        ("22.1234", Kind.RATE, "22.1234"),
    ],
)
def test_valid_amounts_are_exact(raw: Any, kind: Kind, expected: str) -> None:
    value = parse_decimal(raw, kind, WHERE, "x")
    assert isinstance(value, Decimal)
    assert str(value) == expected


def test_none_stays_none() -> None:
    assert parse_decimal(None, Kind.MONEY, WHERE, "x") is None


@pytest.mark.parametrize(
    "raw",
    [
        "1,234.56",
        "",
        "NaN",
        "1e3",
        "12.345",
        " 5",
        "+5",
        "$5",
        Decimal("1E+3"),
        Decimal("NaN"),
        True,
        0.1,
    ],
)
def test_malformed_money_names_company_record_field_and_value(raw: Any) -> None:
    with pytest.raises(MalformedAmountError) as err:
        parse_decimal(raw, Kind.MONEY, WHERE, "employee_compensations[3].taxes[1].amount")
    message = str(err.value)
    assert "company-1" in message
    assert "payroll-9" in message
    assert "employee_compensations[3].taxes[1].amount" in message
    assert repr(raw) in message


def test_hours_allow_three_places_money_two() -> None:
    assert parse_decimal("1.125", Kind.HOURS, WHERE, "h") == Decimal("1.125")
    with pytest.raises(MalformedAmountError):
        parse_decimal("1.1255", Kind.HOURS, WHERE, "h")


def test_convert_fields_walks_lists_and_wildcards() -> None:
    record: dict[str, Any] = {
        "totals": {"gross_pay": "10.10", "net_pay": Decimal("5.05")},
        "employee_compensations": [
            {"taxes": [{"amount": "1.01"}, {"amount": 2}]},
            {"taxes": [{"amount": "-0.92"}]},
        ],
    }
    convert_fields(
        record,
        [("totals.*", Kind.MONEY), ("employee_compensations[].taxes[].amount", Kind.MONEY)],
        WHERE,
    )
    assert record["totals"] == {"gross_pay": Decimal("10.10"), "net_pay": Decimal("5.05")}
    amounts = [t["amount"] for c in record["employee_compensations"] for t in c["taxes"]]
    assert amounts == [Decimal("1.01"), Decimal("2"), Decimal("-0.92")]


def test_convert_fields_error_path_has_indexes() -> None:
    record = {"employee_compensations": [{"taxes": []}, {"taxes": [{"amount": "1,0"}]}]}
    with pytest.raises(MalformedAmountError, match=r"employee_compensations\[1\]\.taxes\[0\]"):
        convert_fields(record, [("employee_compensations[].taxes[].amount", Kind.MONEY)], WHERE)


def test_sdk_writer_emits_exact_decimal_numbers() -> None:
    # 0.1 + 0.2 style drift: in float, summing 0.10 a thousand times is not 100.00.
    lines = [parse_decimal("0.10", Kind.MONEY, WHERE, "a") for _ in range(1000)]
    total = sum((v for v in lines if v is not None), Decimal(0))
    assert sum(0.10 for _ in range(1000)) != 100.0  # the drift this guards against
    buffer = io.StringIO()
    writer = SimpleSingerWriter()
    line = writer.format_message(
        RecordMessage(stream="payrolls", record={"total": total, "line": Decimal("0.30")})
    )
    buffer.write(line)
    text = buffer.getvalue()
    assert '"total":100.00' in text.replace(" ", "")
    assert '"line":0.30' in text.replace(" ", "")
    parsed = json.loads(text, parse_float=Decimal)
    assert parsed["record"]["total"] == Decimal("100.00")
