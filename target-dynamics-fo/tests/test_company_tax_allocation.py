"""Company-level taxes spread over departments by wages: parts add up to the tax to the cent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from target_dynamics_fo.ledger import EmployeeRef, build_journal
from target_dynamics_fo.mapping import parse_mapping

CO = "33333333-3333-5333-8333-333333333333"
PR = "99999999-0000-4000-8000-000000000014"
CENT = Decimal("0.01")
DEPARTMENTS = {
    "Field": {"BusinessUnit": "100", "Department": "110"},
    "Office": {"BusinessUnit": "200", "Department": "220"},
    "Administration": {
        "split": [
            {"percent": "33.3333", "dimensions": {"BusinessUnit": "100", "Department": "910"}},
            {"percent": "66.6667", "dimensions": {"BusinessUnit": "200", "Department": "910"}},
        ]
    },
}


def company(allocation: str = "wages") -> Any:
    pair = {"expense": "600200", "payable": "210130"}
    data = {
        "legal_entity": "rsc",
        "journal_name": "Payroll",
        "company_taxes_allocation": allocation,
        "accounts": {
            "earnings": {"Salary": "600130"},
            "other_earnings": "600140",
            "imputed_income": "600140",
            "imputed_offset": "600500",
            "reimbursement_expense": "600400",
            "net_pay": "210400",
            "employer_taxes": {"NY MCTMT": pair, "Denver OPT": pair},
        },
        "dimensions": {
            "departments": DEPARTMENTS,
            "default": {"BusinessUnit": "900", "Department": "910"},
        },
        "contractors": {
            "vendor_group": "CONTRACT",
            "vendor_account": "GUS-{uuid8}",
            "invoice_journal_name": "APInvoice",
            "expense_accounts": {"wage": "600700", "bonus": "600700", "reimbursement": "600710"},
        },
        "workers": {"personnel_number": "GUS-{uuid8}"},
    }
    return parse_mapping({"companies": {CO: data}}).company(CO)


def payroll(gross: list[Decimal], taxes: list[Decimal]) -> dict[str, Any]:
    comps = [
        {
            "employee_uuid": f"e{i:07d}-0000-4000-8000-000000000000",
            "gross_pay": str(amount),
            "net_pay": str(amount),
            "fixed_compensations": [{"name": "Salary", "amount": str(amount)}],
        }
        for i, amount in enumerate(gross)
    ]
    return {
        "payroll_uuid": PR,
        "company_uuid": CO,
        "check_date": "2026-11-30",
        "processed": True,
        "employee_compensations": comps,
        "company_taxes": [
            {"name": name, "amount": str(amount), "employer": True}
            for name, amount in zip(("NY MCTMT", "Denver OPT"), taxes, strict=False)
        ],
    }


def refs(count: int, departments: list[str]) -> dict[str, EmployeeRef]:
    return {
        f"e{i:07d}-0000-4000-8000-000000000000": EmployeeRef(
            f"e{i:07d}-0000-4000-8000-000000000000", None, departments[i], None
        )
        for i in range(count)
    }


money = st.decimals(min_value=Decimal("-500"), max_value=Decimal("9000"), places=2)
tax = st.decimals(min_value=Decimal("-50"), max_value=Decimal("5000"), places=2)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people=st.lists(st.tuples(money, st.sampled_from(sorted(DEPARTMENTS))), min_size=1, max_size=8),
    taxes=st.lists(tax, min_size=1, max_size=2),
)
def test_allocated_parts_add_up_to_each_tax_and_follow_wages(
    people: list[tuple[Decimal, str]], taxes: list[Decimal]
) -> None:
    gross = [g for g, _ in people]
    journal = build_journal(
        payroll(gross, taxes), refs(len(people), [d for _, d in people]), company()
    )
    assert journal.total_debit == journal.total_credit
    by_dims: dict[tuple[tuple[str, str], ...], Decimal] = {}
    for name, amount in zip(("NY MCTMT", "Denver OPT"), taxes, strict=False):
        parts = [
            line
            for line in journal.lines
            if line.component == f"ER tax: {name}" and line.main_account == "600200"
        ]
        assert sum((x.debit - x.credit for x in parts), Decimal(0)) == amount
        assert all(x.dimensions.get("Department") for x in parts)
        for x in parts:
            key = tuple(sorted(x.dimensions.items()))
            by_dims[key] = by_dims.get(key, Decimal(0)) + x.debit - x.credit
    # each dimension set's share of every tax is its exact share of gross pay, within a cent
    # per tax (the largest-remainder rounding)
    wages: dict[tuple[tuple[str, str], ...], Decimal] = {}
    for amount, department in people:
        rule = DEPARTMENTS[department]
        shares = rule.get("split") or [{"percent": "100", "dimensions": rule}]
        for share in shares:
            key = tuple(sorted(share["dimensions"].items()))
            wages[key] = wages.get(key, Decimal(0)) + amount * Decimal(share["percent"]) / 100
    positive = {k: v for k, v in wages.items() if v > 0}
    if positive:
        total_wages = sum(positive.values(), Decimal(0))
        for key, allocated in by_dims.items():
            assert key in positive
            exact = sum(taxes, Decimal(0)) * positive[key] / total_wages
            assert abs(allocated - exact) <= CENT * len(taxes)


def test_default_rule_puts_company_taxes_on_the_default_department() -> None:
    journal = build_journal(
        payroll([Decimal("1000.00")], [Decimal("5.00")]), refs(1, ["Field"]), company("default")
    )
    (line,) = [x for x in journal.lines if x.component == "ER tax: NY MCTMT" and x.debit]
    assert dict(line.dimensions) == {"BusinessUnit": "900", "Department": "910"}


def test_no_positive_wages_falls_back_to_the_default_with_a_warning() -> None:
    journal = build_journal(
        payroll([Decimal("-10.00")], [Decimal("5.00")]), refs(1, ["Field"]), company()
    )
    (line,) = [x for x in journal.lines if x.component == "ER tax: NY MCTMT" and x.debit]
    assert dict(line.dimensions) == {"BusinessUnit": "900", "Department": "910"}
    assert any("dimensions.default" in w for w in journal.warnings)
