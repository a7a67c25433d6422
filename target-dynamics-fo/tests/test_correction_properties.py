"""Hypothesis properties of the correction documents (target_dynamics_fo.payrolls)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from target_dynamics_fo.ledger import (
    NO_AMOUNT,
    EmployeeRef,
    Journal,
    JournalLine,
    build_journal,
    journal_batch_number,
)
from target_dynamics_fo.payrolls import (
    cancelled_state_hash,
    correction_batch_number,
    correction_journal,
    difference_lines,
    net_position,
    reversal_lines,
)
from test_journal_properties import MAPPINGS  # the builder's own property fixtures

PROPERTIES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ACCOUNTS = ("600100", "600200", "210100", "210400", "999999")
DIMENSION_SETS = (
    {},
    {"BusinessUnit": "100", "Department": "110"},
    {"BusinessUnit": "200", "Department": "210", "CostCenter": "PHX"},
)
CO = "22222222-2222-5222-8222-222222222222"
PR = "99999999-0000-4000-8000-000000000009"


@st.composite
def balanced_lines(draw: st.DrawFn) -> tuple[JournalLine, ...]:
    """Lines that balance, as the builder makes them: one positive side each."""
    count = draw(st.integers(min_value=1, max_value=8))
    signed: list[tuple[str, int, Decimal]] = []
    for _ in range(count):
        cents = draw(st.integers(min_value=-(10**9), max_value=10**9).filter(lambda c: c != 0))
        signed.append(
            (
                draw(st.sampled_from(ACCOUNTS)),
                draw(st.integers(0, len(DIMENSION_SETS) - 1)),
                Decimal(cents).scaleb(-2),
            )
        )
    rest = -sum((amount for _, _, amount in signed), Decimal("0.00"))
    if rest != 0:
        signed.append((draw(st.sampled_from(ACCOUNTS)), 0, rest))
    return tuple(
        JournalLine(
            line_number=i + 1,
            main_account=account,
            dimensions=dict(DIMENSION_SETS[dims]),
            debit=amount if amount > 0 else NO_AMOUNT,
            credit=-amount if amount < 0 else NO_AMOUNT,
            text=f"line {i + 1}",
            component=f"Wages: {account}",
        )
        for i, (account, dims, amount) in enumerate(signed)
    )


def total(net: dict[object, Decimal], other: dict[object, Decimal]) -> dict[object, Decimal]:
    keys = {*net, *other}
    summed = {k: net.get(k, Decimal(0)) + other.get(k, Decimal(0)) for k in keys}
    return {k: v for k, v in summed.items() if v != 0}


def well_formed(lines: tuple[JournalLine, ...]) -> None:
    assert [x.line_number for x in lines] == list(range(1, len(lines) + 1))
    for line in lines:
        # Exactly one positive side, two decimal places, as F&O expects.
        assert (line.debit > 0) != (line.credit > 0)
        assert min(line.debit, line.credit) == 0
        assert line.debit.as_tuple().exponent == -2
        assert line.credit.as_tuple().exponent == -2
        assert len(line.text) <= 60
    assert sum(x.debit for x in lines) == sum(x.credit for x in lines)


@PROPERTIES
@given(balanced_lines())
def test_reversal_and_original_net_to_zero_per_account_and_dimensions(
    original: tuple[JournalLine, ...],
) -> None:
    reversal = reversal_lines(original, "Reversal 1")
    well_formed(reversal)
    assert len(reversal) == len(original)
    assert net_position((*original, *reversal)) == {}
    for before, after in zip(original, reversal, strict=True):
        assert (before.main_account, dict(before.dimensions)) == (
            after.main_account,
            dict(after.dimensions),
        )
        assert (before.debit, before.credit) == (after.credit, after.debit)


@PROPERTIES
@given(balanced_lines(), balanced_lines())
def test_reversal_plus_repost_equals_the_difference_journal(
    original: tuple[JournalLine, ...], current: tuple[JournalLine, ...]
) -> None:
    reversal = reversal_lines(original, "Reversal 1")
    difference = difference_lines(original, current, "Difference 1")
    if difference:
        well_formed(difference)
    assert net_position((*reversal, *current)) == net_position(difference)
    # Either way the ledger ends at exactly the current journal.
    assert total(net_position(original), net_position(difference)) == net_position(current)  # type: ignore[arg-type]


@PROPERTIES
@given(st.lists(balanced_lines(), min_size=1, max_size=4), balanced_lines())
def test_a_chain_of_differences_lands_on_the_current_journal(
    versions: list[tuple[JournalLine, ...]], current: tuple[JournalLine, ...]
) -> None:
    posted: list[JournalLine] = list(versions[0])
    for version in (*versions[1:], current):
        posted.extend(difference_lines(posted, version, "Difference"))
        assert net_position(posted) == net_position(version)
    # Reversing everything posted leaves nothing on any account.
    assert net_position((*posted, *reversal_lines(posted, "Reversal"))) == {}


def test_difference_of_the_same_content_is_empty() -> None:
    lines = (
        JournalLine(1, "600100", {"Department": "110"}, Decimal("10.00"), NO_AMOUNT, "a", "Wages"),
        JournalLine(2, "210400", {}, NO_AMOUNT, Decimal("10.00"), "b", "Net pay"),
    )
    assert difference_lines(lines, tuple(reversed(lines)), "Difference") == ()


def test_correction_batch_numbers_are_deterministic_distinct_and_fit() -> None:
    numbers = {
        correction_batch_number("GUS", CO, PR, seq, role)
        for seq in range(1, 50)
        for role in ("first", "repost")
    }
    assert len(numbers) == 98
    assert journal_batch_number("GUS", CO, PR) not in numbers
    assert correction_batch_number("gus", CO, PR, 3, "first") == correction_batch_number(
        "GUS", CO, PR, 3, "first"
    )
    assert all(len(n) <= 20 and n.startswith("GUS-") for n in numbers)
    with pytest.raises(ValueError, match="sequence"):
        correction_batch_number("GUS", CO, PR, 0, "first")
    assert cancelled_state_hash(PR) == cancelled_state_hash(PR)
    assert cancelled_state_hash(PR) != cancelled_state_hash(CO)


def test_correction_journal_of_a_built_payroll() -> None:
    company = MAPPINGS[("department", False)]
    comp = {
        "employee_uuid": "e1",
        "gross_pay": "1000.00",
        "net_pay": "800.00",
        "hourly_compensations": [{"name": "Regular Hours", "amount": "1000.00"}],
        "taxes": [{"name": "Federal Income Tax", "employer": False, "amount": "200.00"}],
    }
    payroll = {
        "payroll_uuid": PR,
        "company_uuid": CO,
        "check_date": "2026-03-31",
        "processed": True,
        "employee_compensations": [comp],
    }
    amended = {
        **payroll,
        "employee_compensations": [
            {
                **comp,
                "gross_pay": "1100.00",
                "net_pay": "880.00",
                "hourly_compensations": [{"name": "Regular Hours", "amount": "1100.00"}],
                "taxes": [{"name": "Federal Income Tax", "employer": False, "amount": "220.00"}],
            }
        ],
    }
    refs = {"e1": EmployeeRef("e1", None, "Field", "loc-den")}
    original: Journal = build_journal(payroll, refs, company)
    current = build_journal(amended, refs, company)
    number = correction_batch_number("GUS", CO, PR, 1, "first")
    diff = correction_journal(
        current,
        lines=difference_lines(original.lines, current.lines, "Difference 1"),
        journal_batch_number=number,
        description=f"Difference 1 of {original.journal_batch_number}",
        state_hash=current.content_hash,
        trans_date=date(2026, 3, 31),
    )
    # Wages +100 on the debit side; withholding +20 and net pay +80 on the credit side.
    assert diff.total_debit == diff.total_credit == Decimal("100.00")
    assert diff.journal_batch_number == number
    assert diff.content_hash == current.content_hash
    assert net_position((*original.lines, *diff.lines)) == net_position(current.lines)
