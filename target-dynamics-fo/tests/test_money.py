from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from target_dynamics_fo.ledger import (
    AmountError,
    canonical_amount,
    dumps,
    format_amount,
    loads,
    parse_amount,
)
from target_dynamics_fo.ledger.money import known_amount


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("-12.5", "-12.5"),
        ("100.00", "100.00"),
        ("0", "0"),
        ("-0.92", "-0.92"),
        (7, "7"),
        (Decimal("3546.72"), "3546.72"),
        ("100.000", "100.000"),  # trailing zero beyond 2 places is still exactly 100.00
        (Decimal("1E+3"), "1E+3"),
    ],
)
def test_accepts_plain_decimals(value: object, expected: str) -> None:
    result = parse_amount(value, where="x")
    assert isinstance(result, Decimal)
    assert result == Decimal(expected)


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        True,
        False,
        None,
        "",
        " 1.00",
        "NaN",
        "Infinity",
        "-Infinity",
        "1e3",
        "1,234.56",
        "+5",
        ".5",
        "5.",
        "12.345",
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("1.005"),
        [],
        {},
    ],
)
def test_rejects_everything_else(value: object) -> None:
    with pytest.raises(AmountError) as info:
        parse_amount(value, where="payroll 6bf7: employee_compensations[3].taxes[1].amount")
    message = str(info.value)
    assert "employee_compensations[3].taxes[1].amount" in message
    assert repr(value) in message
    assert "fix the source record" in message


def test_message_shape() -> None:
    with pytest.raises(AmountError) as info:
        parse_amount("1,234.56", where="payroll 6bf7: employee_compensations[3].taxes[1].amount")
    assert str(info.value) == (
        "payroll 6bf7: employee_compensations[3].taxes[1].amount = '1,234.56' is not a plain "
        "decimal amount; fix the source record"
    )


def test_hours_use_three_places() -> None:
    assert parse_amount("40.125", where="hours", max_places=3) == Decimal("40.125")
    with pytest.raises(AmountError, match="more than 3 decimal places"):
        parse_amount("40.1255", where="hours", max_places=3)


def test_helpers() -> None:
    assert format_amount(Decimal("5")) == "5.00"
    assert canonical_amount(Decimal("100.00")) == canonical_amount(Decimal(100)) == "100"
    assert canonical_amount(Decimal("-0.00")) == "0"


@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from([0, 1, 2]))
def test_round_trip_of_strings(cents: int, places: int) -> None:
    value = Decimal(cents).scaleb(-places)
    assert parse_amount(str(value), where="x") == value
    assert parse_amount(value, where="x") == value


def test_decimal_json_keeps_every_digit() -> None:
    body = {"AmountCurDebit": Decimal("1234567890123456789.10"), "Text": "x", "n": 3}
    assert dumps(body) == '{"AmountCurDebit":1234567890123456789.10,"Text":"x","n":3}'
    assert loads(dumps(body)) == body
    assert isinstance(loads(dumps(body))["AmountCurDebit"], Decimal)


def test_decimal_json_stored_form_keeps_its_spaces_and_order() -> None:
    # The audit trail and Singer state compare stored text, written with the default separators.
    value = {"b": Decimal("0.50"), "a": [1, None]}
    assert dumps(value, compact=False, sort_keys=True) == '{"a": [1, null], "b": 0.50}'


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6))
def test_decimal_json_round_trip(value: Decimal) -> None:
    assert loads(dumps({"v": value}))["v"] == value


@given(
    st.one_of(
        st.decimals(),
        st.decimals(places=2, allow_nan=False),
        st.decimals(places=3, allow_nan=False),
        st.sampled_from([Decimal("1E+26"), Decimal("-1.00E+26"), Decimal("0E+30")]),
    ),
    st.integers(min_value=0, max_value=8),
)
def test_known_amount_of_a_decimal_is_what_its_exponent_and_magnitude_allow(
    value: Decimal, places: int
) -> None:
    # The quick glance parse_amount takes before its full checks: a finite Decimal with at
    # most ``places`` places and under 10**26 is taken as it is; anything else is checked.
    exponent = value.as_tuple().exponent
    allowed = isinstance(exponent, int) and exponent >= -places and value.adjusted() < 26
    assert known_amount(value, places) is (value if allowed else None)
