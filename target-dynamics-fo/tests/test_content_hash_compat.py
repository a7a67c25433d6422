"""The content hash stamped on journals is unchanged by its faster implementation.

Journals posted before carry the old hash (description ``#xxxxxxxx``, idempotency key, the
corrections chain and the audit store); a payroll must never look "changed after posting" only
because the connector was upgraded. So the new ``payroll_content_hash`` is compared with a
frozen copy of the first implementation on realistic payrolls and on arbitrary JSON shapes.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping as AbcMapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import target_dynamics_fo.ledger.canonical_text as canonical_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from target_dynamics_fo.ledger import (
    AmountError,
    build_journal,
    canonical_amount,
    canonical_compensation,
    parse_amount,
    payroll_content_hash,
    recanonical_compensation,
)
from target_dynamics_fo.payrolls import JournalPoster, header_description
from tdfo_fakes import RecordingAudit
from test_journal import REFS, company_mapping, employee, payroll
from test_posting_audit import FakeClient

# ---- frozen copy of the first implementation (do not edit: it defines the stamped hashes) --

_OLD_MONEY_KEYS = frozenset(
    {
        "amount",
        "hours",
        "gross_pay",
        "net_pay",
        "check_amount",
        "employee_deduction",
        "company_contribution",
    }
)
_OLD_TOP = (
    "payroll_uuid",
    "company_uuid",
    "check_date",
    "processed",
    "off_cycle",
    "payroll_type",
    "pay_period",
    "totals",
    "company_taxes",
)
_OLD_EMPLOYEE = (
    "employee_uuid",
    "excluded",
    "gross_pay",
    "net_pay",
    "check_amount",
    "fixed_compensations",
    "hourly_compensations",
    "paid_time_off",
    "reimbursements",
    "benefits",
    "deductions",
    "taxes",
)
_OLD_ITEM = frozenset(
    {"name", "amount", "hours", "employer", "imputed", "employee_deduction", "company_contribution"}
)


def _old_canonical(value: Any, money_keys: frozenset[str], key: str = "") -> Any:
    if isinstance(value, AbcMapping):
        return {str(k): _old_canonical(v, money_keys, str(k)) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        items = [_old_canonical(v, money_keys, key) for v in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if key in money_keys and not isinstance(value, bool) and value is not None:
        try:
            return canonical_amount(parse_amount(value, where=key, max_places=6))
        except AmountError:
            return f"!{value!r}"
    if isinstance(value, Decimal):
        return canonical_amount(value)
    return value


def old_payroll_content_hash(payroll: AbcMapping[str, Any]) -> str:
    top: dict[str, Any] = {k: payroll.get(k) for k in _OLD_TOP if k in payroll}
    totals = top.get("totals")
    money_keys = _OLD_MONEY_KEYS | (
        frozenset(str(k) for k in totals) if isinstance(totals, AbcMapping) else frozenset()
    )
    employees: list[Any] = []
    for comp in payroll.get("employee_compensations") or []:
        if not isinstance(comp, AbcMapping):
            employees.append(repr(comp))
            continue
        entry: dict[str, Any] = {}
        for key in _OLD_EMPLOYEE:
            value = comp.get(key)
            if isinstance(value, list):
                value = [
                    {k: v for k, v in item.items() if k in _OLD_ITEM}
                    if isinstance(item, AbcMapping)
                    else item
                    for item in value
                ]
            entry[key] = value
        employees.append(entry)
    top["employee_compensations"] = employees
    text = json.dumps(
        _old_canonical(top, money_keys), sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---- strategies ---------------------------------------------------------------------------

# Keys the hash treats specially, plus others it ignores or passes through.
KEYS = st.sampled_from(
    [
        *sorted(_OLD_MONEY_KEYS | _OLD_ITEM | set(_OLD_EMPLOYEE) | set(_OLD_TOP)),
        *("memo", "job_uuid", "compensation_multiplier", "employee_compensations", "x", "1"),
    ]
)
AMOUNT_TEXT = st.one_of(
    st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False).map(str),
    st.sampled_from(["0.00", "0", "-0.00", "100.000", "1e3", " 1", "1.0000001", "abc", ""]),
)
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False),
    st.text(max_size=6),
    AMOUNT_TEXT,
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.decimals(min_value=-(10**6), max_value=10**6),
)
JSONISH = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(KEYS, inner, max_size=5),
    ),
    max_leaves=25,
)
ITEM = st.dictionaries(KEYS, st.one_of(LEAVES, AMOUNT_TEXT), max_size=7)
EMPLOYEE = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            **{k: st.one_of(AMOUNT_TEXT, LEAVES) for k in _OLD_EMPLOYEE},
            **{
                k: st.lists(st.one_of(ITEM, LEAVES), max_size=4)
                for k in (
                    "fixed_compensations",
                    "hourly_compensations",
                    "taxes",
                    "benefits",
                    "deductions",
                )
            },
            "first_name": st.text(max_size=4),
        },
    ),
    JSONISH,
)
PAYROLL = st.fixed_dictionaries(
    {"employee_compensations": st.lists(EMPLOYEE, max_size=6)},
    optional={
        **{k: JSONISH for k in _OLD_TOP},
        "totals": st.dictionaries(KEYS, st.one_of(AMOUNT_TEXT, LEAVES), max_size=6),
        "version": st.text(max_size=4),
    },
)


# The shape the made-text path takes (plain dicts; text, boolean and null values), with the
# texts that could trip it: separators and quotes in names, non-ASCII, amounts that are and are
# not their canonical text, and text that is no amount.
TEXT = st.one_of(
    AMOUNT_TEXT,
    st.sampled_from(["Overtime", "a, b", "x: y", 'q"', "back\\slash", "é", "💰", "-0.5", "007"]),
    st.sampled_from(["-0", "-00", "-0.0", "00.10", "1.000000", "1.0000001", "1E+2", "-0.000001"]),
    st.text(max_size=5),
    st.decimals(min_value=-(10**27), max_value=10**27, places=7, allow_nan=False).map(str),
)
PLAIN = st.one_of(TEXT, st.booleans(), st.none())
PLAIN_ITEM = st.dictionaries(
    st.sampled_from([*sorted(_OLD_ITEM), "job_uuid", "flsa_status"]), PLAIN, max_size=7
)
PLAIN_EMPLOYEE = st.fixed_dictionaries(
    {},
    optional={
        **{k: PLAIN for k in _OLD_EMPLOYEE},
        # The list keys: the compensations, time off, reimbursements, benefits, deductions, taxes.
        **{k: st.lists(PLAIN_ITEM, max_size=4) for k in _OLD_EMPLOYEE[5:]},
        "first_name": st.text(max_size=4),
    },
)
# Totals keys are money keys too: also ones that name an employee or item key.
TOTALS_KEYS = st.sampled_from(
    ["gross_pay", "benefits", "name", "employer", "employee_uuid", "excluded", "taxes", "x"]
)
PLAIN_PAYROLL = st.fixed_dictionaries(
    {"employee_compensations": st.lists(PLAIN_EMPLOYEE, max_size=6)},
    optional={
        "payroll_uuid": st.text(max_size=4),
        "totals": st.dictionaries(TOTALS_KEYS, TEXT, max_size=3),
    },
)


# Amounts as tap-gusto sends them: JSON numbers, read as Decimal (also integral, signed zero,
# exponent forms, beyond the places or the magnitude an amount may have, and not numbers),
# in the same slots as booleans (True == Decimal(1): the item memo must keep them apart).
DECIMAL = st.one_of(
    st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False),
    st.decimals(min_value=-(10**27), max_value=10**27, places=7, allow_nan=False),
    st.sampled_from(
        [
            Decimal("0"),
            Decimal("1"),
            Decimal("0.00"),
            Decimal("-0.00"),
            Decimal("1.50"),
            Decimal("1.5"),
            Decimal("1E+2"),
            Decimal("1E0"),
            Decimal("1.0000001"),
            Decimal("1.000000"),
            Decimal("1E+30"),
            Decimal("1.0E+30"),
            Decimal("NaN"),
            Decimal("-Infinity"),
            Decimal("sNaN"),
        ]
    ),
)
NUMERIC = st.one_of(DECIMAL, TEXT, st.booleans(), st.none())
NUMERIC_ITEM = st.dictionaries(
    st.sampled_from([*sorted(_OLD_ITEM), "job_uuid", "compensation_multiplier"]),
    NUMERIC,
    max_size=7,
)
NUMERIC_EMPLOYEE = st.fixed_dictionaries(
    {},
    optional={
        **{k: NUMERIC for k in _OLD_EMPLOYEE},
        **{k: st.lists(NUMERIC_ITEM, max_size=4) for k in _OLD_EMPLOYEE[5:]},
    },
)
NUMERIC_PAYROLL = st.fixed_dictionaries(
    {"employee_compensations": st.lists(NUMERIC_EMPLOYEE, max_size=6)},
    optional={
        "payroll_uuid": st.text(max_size=4),
        "totals": st.dictionaries(TOTALS_KEYS, st.one_of(TEXT, DECIMAL), max_size=3),
    },
)


PINNED = "c34634ffa1de5f1859bf33ecef936254ba2de99c6c296dba066a320fafae284b"


def outcome(function: Any, record: Any) -> str:
    """The hash, or the error type both versions must raise alike."""
    try:
        return str(function(record))
    except (TypeError, ValueError, ArithmeticError) as exc:
        return f"raised {type(exc).__name__}"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PAYROLL)
def test_new_hash_equals_the_stamped_hash_for_any_payroll(record: dict[str, Any]) -> None:
    assert outcome(payroll_content_hash, record) == outcome(old_payroll_content_hash, record)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PLAIN_PAYROLL)
def test_new_hash_equals_the_stamped_hash_for_plain_payrolls(record: dict[str, Any]) -> None:
    assert outcome(payroll_content_hash, record) == outcome(old_payroll_content_hash, record)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NUMERIC_PAYROLL)
def test_new_hash_equals_the_stamped_hash_for_decimal_amounts(record: dict[str, Any]) -> None:
    assert outcome(payroll_content_hash, record) == outcome(old_payroll_content_hash, record)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        PLAIN_EMPLOYEE, NUMERIC_EMPLOYEE, EMPLOYEE.filter(lambda comp: isinstance(comp, dict))
    )
)
def test_made_rows_equal_the_generic_rows(comp: dict[str, Any]) -> None:
    # A mapping that is not a dict takes the generic path: the row made directly must equal
    # it in all three texts, the sort key and the keys it depends on included.
    assert outcome(canonical_compensation, comp) == outcome(
        canonical_compensation, MappingProxyType(comp)
    )
    for totals in ({"name": "1"}, {"employee_uuid": "1", "gross_pay": "2"}, {}):
        again = functools.partial(recanonical_compensation, {"totals": totals})
        assert outcome(again, comp) == outcome(again, MappingProxyType(comp))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(JSONISH, PLAIN_EMPLOYEE), max_size=6))
def test_compact_texts_sort_as_the_sort_keys(values: list[Any]) -> None:
    # The hash sorts lists and employees by their compact text instead of the spaced sort key
    # the first version used: the same order.
    def compact(value: Any) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)

    def spaced(value: Any) -> str:
        return json.dumps(value, sort_keys=True, default=str)

    try:
        by_key = [compact(v) for v in sorted(values, key=spaced)]
    except TypeError:
        return  # keys of mixed types: both versions raise
    assert by_key == sorted(compact(v) for v in values)


def test_made_rows_with_separators_in_their_text_equal_the_generic_path() -> None:
    comp = {
        "employee_uuid": "u, v: w",
        "taxes": [{"name": "a,b", "amount": "1.50"}, {"name": "c:d", "amount": "1"}],
    }
    row = canonical_compensation(comp)
    compact = json.dumps(json.loads(row.canonical), sort_keys=True, separators=(",", ":"))
    assert row.canonical == compact
    # A MappingProxyType is not a dict: the generic path makes that row.
    assert row == canonical_compensation(MappingProxyType(comp))


def test_an_item_memo_never_gives_a_boolean_the_text_of_an_equal_decimal() -> None:
    # True == Decimal(1) and False == Decimal(0), with equal hashes: the same item with either
    # must still get its own text, in whichever order they come.
    for values in (
        (Decimal(1), True),
        (True, Decimal(1)),
        (Decimal(0), False),
        (False, Decimal(0)),
    ):
        for value in values:
            comp = {"employee_uuid": "e", "taxes": [{"name": "T", "amount": value}]}
            assert canonical_compensation(comp) == canonical_compensation(MappingProxyType(comp))


def test_decimal_amounts_make_the_text_of_their_value() -> None:
    # tap-gusto's records hold Decimals: their rows are made directly (not by the generic
    # path), with the canonical text the same amounts have as text.
    as_text = {"employee_uuid": "e", "gross_pay": "1780.20", "taxes": [{"amount": "0.00"}]}
    as_decimal = {
        "employee_uuid": "e",
        "gross_pay": Decimal("1780.20"),
        "taxes": [{"amount": Decimal("0.00")}],
    }
    made = canonical_text._entry_text(as_decimal, canonical_text._plan(_OLD_MONEY_KEYS))
    assert made is not None
    assert canonical_compensation(as_decimal) == canonical_compensation(as_text)


def test_memos_stay_bounded_on_a_payroll_of_many_distinct_items() -> None:
    comps = [
        employee(f"e{n}", taxes=[{"name": f"Tax {n}", "amount": f"{n}.10", "employer": False}])
        for n in range(2 * canonical_text._ITEM_MEMO_LIMIT + 10)
    ]
    record = payroll(comps)
    assert payroll_content_hash(record) == old_payroll_content_hash(record)
    for plan in canonical_text._plans.values():
        assert len(plan.items) + len(plan.older) <= 2 * canonical_text._ITEM_MEMO_LIMIT
    assert len(canonical_text._money_texts) <= canonical_text._MONEY_TEXT_LIMIT
    assert len(canonical_text._plans) <= canonical_text._PLAN_LIMIT


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.builds(
            employee,
            name=st.sampled_from(["Salary", "Regular Hours", "Bonus"]),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_new_hash_equals_the_stamped_hash_for_built_payrolls(comps: list[dict[str, Any]]) -> None:
    record = payroll(comps)
    assert payroll_content_hash(record) == old_payroll_content_hash(record)


def test_hash_of_a_known_payroll_is_pinned() -> None:
    # Computed with the first implementation; a change here means posted journals would look
    # changed after posting.
    assert payroll_content_hash(payroll()) == PINNED
    assert old_payroll_content_hash(payroll()) == PINNED


def test_amounts_seen_twice_hash_as_the_first_time() -> None:
    # The amount cache must not carry one value's text to an equal value of another type.
    once = payroll_content_hash(payroll())
    for _ in range(3):
        assert payroll_content_hash(payroll()) == once
    record = payroll()
    record["totals"] = {**record["totals"], "gross_pay": 1.5}
    assert payroll_content_hash(record) == old_payroll_content_hash(record)


def test_journal_posted_under_the_old_hash_is_already_posted_not_changed() -> None:
    record = payroll()
    journal = build_journal(record, REFS, company_mapping())
    stamped = f"Gusto payroll 2026-01-15 #{old_payroll_content_hash(record)[:8]}"
    client = FakeClient([])
    client.headers.append({"Description": stamped})
    result = JournalPoster(client, RecordingAudit()).post(  # type: ignore[arg-type]
        journal, ["v"] * len(journal.lines), "2026-01-15"
    )
    assert result.outcome == "already_posted" and client.batches == []
    assert header_description(journal).endswith(stamped[-9:])
