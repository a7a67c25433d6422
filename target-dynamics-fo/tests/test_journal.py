"""Unit tests of the journal builder: every rule and every refusal."""

from __future__ import annotations

import copy
from collections import defaultdict
from datetime import date
from decimal import Decimal, localcontext
from typing import Any

import pytest
from target_dynamics_fo.ledger import (
    DimensionFormat,
    DimensionFormatError,
    EmployeeRef,
    Journal,
    JournalError,
    build_journal,
    default_dimension_display_value,
    journal_batch_number,
    ledger_display_value,
    payroll_content_hash,
    split_amount,
    split_display_value,
)
from target_dynamics_fo.mapping import CompanyMapping, parse_mapping

CO = "11111111-1111-5111-8111-111111111111"
PR = "b50e611d-8f3d-4f24-b001-46675f7b5777"
E1 = "187412e1-3dbe-491a-bb2f-2f40323a7067"
E2 = "29a1c6d0-0000-4000-8000-000000000002"
E3 = "3c4d5e6f-0000-4000-8000-000000000003"
DEPT_FIELD = "d0000000-0000-4000-8000-000000000001"
DEPT_ADMIN = "d0000000-0000-4000-8000-000000000002"
DEN = "l0000000-0000-4000-8000-00000000000d"
PHX = "l0000000-0000-4000-8000-00000000000f"
LEDGER = DimensionFormat(("MainAccount", "BusinessUnit", "Department", "CostCenter"), "-")
DEFAULT = DimensionFormat(("BusinessUnit", "Department", "CostCenter"), "-")


def mapping_data(**overrides: Any) -> dict[str, Any]:
    company: dict[str, Any] = {
        "legal_entity": "rsc",
        "journal_name": "Payroll",
        "currency": "USD",
        "summary_level": "department",
        "journal_number_prefix": "GUS",
        "accounts": {
            "earnings": {
                "Regular Hours": "600100",
                "Overtime": "600110",
                "Salary": "600130",
                "Bonus": "600120",
                "Commission": "600120",
            },
            "other_earnings": "600140",
            "imputed_income": "600140",
            "imputed_offset": "600500",
            "reimbursement_expense": "600400",
            "net_pay": "210400",
            "employee_taxes": {
                "Federal Income Tax": "210100",
                "Social Security": "210120",
                "Medicare": "210120",
                "CO State Income Tax": "210110",
            },
            "employer_taxes": {
                "Social Security": {"expense": "600200", "payable": "210120"},
                "Medicare": {"expense": "600200", "payable": "210120"},
                "FUTA": {"expense": "600200", "payable": "210130"},
            },
            "benefits": {
                "401K": {"expense": "600300", "payable": "210200"},
                "Medical Insurance": {"expense": "600300", "payable": "210200"},
                "Group Term Life": {"expense": "600300", "payable": "210200"},
            },
            "deductions": {"Child Support": "210300", "Tool Loan": "210300"},
        },
        "dimensions": {
            "departments": {
                "Field": {"BusinessUnit": "100", "Department": "110"},
                "Administration": {
                    "split": [
                        {
                            "percent": "50",
                            "dimensions": {"BusinessUnit": "100", "Department": "910"},
                        },
                        {
                            "percent": "50",
                            "dimensions": {"BusinessUnit": "200", "Department": "910"},
                        },
                    ]
                },
            },
            "locations": {DEN: {"CostCenter": "DEN"}, PHX: {"CostCenter": "PHX"}},
        },
        "contractors": {
            "vendor_group": "CONTRACT",
            "vendor_account": "GUS-{uuid8}",
            "invoice_journal_name": "APInvoice",
            "expense_accounts": {"wage": "600700", "bonus": "600700", "reimbursement": "600710"},
        },
        "workers": {"personnel_number": "GUS-{uuid8}"},
    }
    for key, value in overrides.items():
        if value is None:
            company.pop(key, None)
        else:
            company[key] = value
    return {"version": 1, "companies": {CO: company}}


def company_mapping(**overrides: Any) -> CompanyMapping:
    return parse_mapping(mapping_data(**overrides)).company(CO)


def with_dimensions(**dims: Any) -> CompanyMapping:
    data = mapping_data()
    data["companies"][CO]["dimensions"].update(dims)
    return parse_mapping(data).company(CO)


REFS = {
    E1: EmployeeRef(E1, DEPT_FIELD, "Field", DEN),
    E2: EmployeeRef(E2, DEPT_ADMIN, "Administration", PHX),
    E3: EmployeeRef(E3, DEPT_FIELD, "Field", PHX),
}


def employee(uuid: str = E1, **over: Any) -> dict[str, Any]:
    # gross 1000.00 = 800 regular + 150 overtime + 50 imputed; PTO none.
    comp: dict[str, Any] = {
        "employee_uuid": uuid,
        "first_name": "Alex",
        "last_name": "Garcia",
        "excluded": False,
        "gross_pay": "1000.00",
        "net_pay": "700.00",
        "check_amount": "725.00",
        "payment_method": "Direct Deposit",
        "fixed_compensations": [{"name": "Reimbursement", "amount": "25.00", "job_uuid": "j"}],
        "hourly_compensations": [
            {"name": "Regular Hours", "hours": "40.000", "amount": "800.00", "job_uuid": "j"},
            {"name": "Overtime", "hours": "5.000", "amount": 150, "job_uuid": "j"},
        ],
        "paid_time_off": [{"name": "Vacation Hours", "hours": "0.000"}],
        "reimbursements": [],
        "benefits": [
            {
                "name": "401K",
                "employee_deduction": "40.00",
                "company_contribution": "20.00",
                "imputed": False,
            },
            {
                "name": "Group Term Life",
                "employee_deduction": "0.00",
                "company_contribution": "50.00",
                "imputed": True,
            },
        ],
        "deductions": [{"name": "Child Support", "amount": "10.00"}],
        # employee taxes 200.00; net = 1000 - 50 - 200 - 40 - 10 = 700
        "taxes": [
            {"name": "Federal Income Tax", "employer": False, "amount": "123.50"},
            {"name": "Social Security", "employer": False, "amount": Decimal("62.00")},
            {"name": "Medicare", "employer": False, "amount": "14.5"},
            {"name": "Social Security", "employer": True, "amount": "62.00"},
            {"name": "Medicare", "employer": True, "amount": "14.50"},
        ],
    }
    comp.update(over)
    return comp


def totals_for(comps: list[dict[str, Any]]) -> dict[str, str]:
    def s(values: Any) -> str:
        return str(sum((Decimal(str(v)) for v in values), Decimal("0.00")))

    live = [c for c in comps if not c.get("excluded")]
    reimb = [
        f["amount"] for c in live for f in c["fixed_compensations"] if f["name"] == "Reimbursement"
    ]
    reimb += [r["amount"] for c in live for r in c.get("reimbursements", [])]
    return {
        "gross_pay": s(c["gross_pay"] for c in live),
        "net_pay": s(c["net_pay"] for c in live),
        "employer_taxes": s(t["amount"] for c in live for t in c["taxes"] if t["employer"]),
        "employee_taxes": s(t["amount"] for c in live for t in c["taxes"] if not t["employer"]),
        "benefits": s(b["company_contribution"] for c in live for b in c["benefits"]),
        "employee_benefits_deductions": s(
            b["employee_deduction"] for c in live for b in c["benefits"]
        ),
        "other_deductions": s(d["amount"] for c in live for d in c["deductions"]),
        "reimbursements": s(reimb),
        "imputed_pay": s(
            b["company_contribution"] for c in live for b in c["benefits"] if b["imputed"]
        ),
        "company_debit": "0.00",  # not reconciled: bank-side figures
    }


def payroll(comps: list[dict[str, Any]] | None = None, **over: Any) -> dict[str, Any]:
    comps = [employee()] if comps is None else comps
    record: dict[str, Any] = {
        "payroll_uuid": PR,
        "company_uuid": CO,
        "check_date": "2026-01-15",
        "processed": True,
        "off_cycle": False,
        "payroll_type": "regular",
        "pay_period": {"start_date": "2026-01-01", "end_date": "2026-01-15"},
        "totals": over.pop("totals") if "totals" in over else totals_for(comps),
        "employee_compensations": comps,
        "employee_compensations_count": len(comps),
    }
    record.update(over)
    return record


def by_component(journal: Journal) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for line in journal.lines:
        out[line.component] += line.debit - line.credit
    return dict(out)


def refusal(
    record: dict[str, Any],
    mapping: CompanyMapping | None = None,
    refs: dict[str, EmployeeRef] | None = None,
) -> str:
    with pytest.raises(JournalError) as info:
        build_journal(record, REFS if refs is None else refs, mapping or company_mapping())
    assert info.value.payroll_uuid == PR
    return str(info.value)


# ---- the happy path -----------------------------------------------------------------------


def test_simple_payroll_lines() -> None:
    journal = build_journal(payroll(), REFS, company_mapping())
    rows = [
        (
            ln.line_number,
            ledger_display_value(ln.main_account, ln.dimensions, LEDGER),
            str(ln.debit),
            str(ln.credit),
            ln.component,
        )
        for ln in journal.lines
    ]
    assert rows == [
        (1, "600110-100-110-DEN", "150.00", "0.00", "Wages: Overtime"),
        (2, "600100-100-110-DEN", "800.00", "0.00", "Wages: Regular Hours"),
        (3, "600140-100-110-DEN", "50.00", "0.00", "Imputed income"),
        (4, "600400-100-110-DEN", "25.00", "0.00", "Reimbursements"),
        (5, "600200-100-110-DEN", "14.50", "0.00", "ER tax: Medicare"),
        (6, "600200-100-110-DEN", "62.00", "0.00", "ER tax: Social Security"),
        (7, "600300-100-110-DEN", "20.00", "0.00", "Benefit: 401K"),
        (8, "600300-100-110-DEN", "50.00", "0.00", "Benefit: Group Term Life"),
        (9, "600500-100-110-DEN", "0.00", "50.00", "Imputed income offset"),
        (10, "210100---", "0.00", "123.50", "EE tax: Federal Income Tax"),
        (11, "210120---", "0.00", "14.50", "EE tax: Medicare"),
        (12, "210120---", "0.00", "62.00", "EE tax: Social Security"),
        (13, "210120---", "0.00", "14.50", "ER tax payable: Medicare"),
        (14, "210120---", "0.00", "62.00", "ER tax payable: Social Security"),
        (15, "210200---", "0.00", "60.00", "Benefit payable: 401K"),
        (16, "210200---", "0.00", "50.00", "Benefit payable: Group Term Life"),
        (17, "210300---", "0.00", "10.00", "Deduction: Child Support"),
        (18, "210400---", "0.00", "725.00", "Net pay"),
    ]
    assert journal.total_debit == journal.total_credit == Decimal("1171.50")
    assert all(
        isinstance(ln.debit, Decimal) and isinstance(ln.credit, Decimal) for ln in journal.lines
    )
    assert journal.warnings == ()


def test_header_fields() -> None:
    journal = build_journal(payroll(), REFS, company_mapping())
    assert journal.trans_date == date(2026, 1, 15)
    assert journal.legal_entity == "rsc"
    assert journal.journal_name == "Payroll"
    assert journal.currency == "USD"
    assert journal.company_uuid == CO and journal.payroll_uuid == PR
    assert journal.content_hash == payroll_content_hash(payroll())
    assert journal.idempotency_key == f"gusto:{CO}:{PR}:{journal.content_hash}"
    assert journal.description == f"Gusto payroll 2026-01-15 b50e611d #{journal.content_hash[:8]}"
    assert len(journal.description) <= 60
    assert journal.journal_batch_number == journal_batch_number("GUS", CO, PR)
    for line in journal.lines:
        assert len(line.text) <= 60
        assert line.text.startswith("2026-01-15 0101-0115 b50e611d ")
        assert "Alex" not in line.text and "Garcia" not in line.text


def test_off_cycle_is_labelled() -> None:
    journal = build_journal(
        payroll(payroll_type="off_cycle", off_cycle=True), REFS, company_mapping()
    )
    assert "off-cycle" in journal.description
    assert all("off-cycle" in line.text for line in journal.lines)


def test_batch_number_shape() -> None:
    number = journal_batch_number("GUS", CO, PR)
    assert number == journal_batch_number("GUS", CO, PR)
    assert number != journal_batch_number("GUS", CO, "another")
    assert len(number) <= 20 and number.startswith("GUS-")
    assert all(ch.isupper() or ch.isdigit() or ch == "-" for ch in number)
    assert len(journal_batch_number("ABCDEFGH", CO, PR)) == 20
    with pytest.raises(ValueError, match="prefix"):
        journal_batch_number("G_S", CO, PR)


# ---- earnings rules -----------------------------------------------------------------------


def test_remainder_goes_to_other_earnings_and_reimbursements_are_not_wages() -> None:
    comp = employee(
        gross_pay="1100.00",  # 100 of PTO pay Gusto does not itemise
        net_pay="800.00",
        fixed_compensations=[{"name": "Reimbursement", "amount": "25.00"}],
        reimbursements=[{"amount": "5.00", "description": "parking"}],
    )
    journal = build_journal(payroll([comp]), REFS, company_mapping())
    parts = by_component(journal)
    assert parts["Other earnings"] == Decimal("100.00")
    assert parts["Reimbursements"] == Decimal("30.00")
    assert parts["Net pay"] == Decimal("-830.00")
    assert "Wages: Reimbursement" not in parts


def test_hourly_lines_without_amount_fall_into_the_remainder() -> None:
    comp = employee(hourly_compensations=[{"name": "Regular Hours", "hours": "40.000"}])
    parts = by_component(build_journal(payroll([comp]), REFS, company_mapping()))
    assert parts["Other earnings"] == Decimal("950.00")


def test_reimbursements_to_their_own_payable() -> None:
    data = mapping_data()
    data["companies"][CO]["accounts"]["reimbursement_payable"] = "210500"
    journal = build_journal(payroll(), REFS, parse_mapping(data).company(CO))
    parts = by_component(journal)
    assert parts["Net pay"] == Decimal("-700.00")
    assert parts["Reimbursements payable"] == Decimal("-25.00")


def test_imputed_benefit_has_offsetting_credit() -> None:
    parts = by_component(build_journal(payroll(), REFS, company_mapping()))
    assert parts["Imputed income"] == Decimal("50.00")
    assert parts["Imputed income offset"] == Decimal("-50.00")
    # gross 1000 = itemised 950 + imputed 50, so nothing is left for other earnings
    assert "Other earnings" not in parts


def test_negative_group_goes_to_the_opposite_side() -> None:
    comp = employee(
        gross_pay="1000.00",
        hourly_compensations=[
            {"name": "Regular Hours", "hours": "40.000", "amount": "1000.00"},
            {
                "name": "Overtime",
                "hours": "-2.000",
                "amount": "-50.00",
            },  # correction of a prior run
        ],
    )
    journal = build_journal(payroll([comp]), REFS, company_mapping())
    overtime = [ln for ln in journal.lines if ln.component == "Wages: Overtime"]
    assert [(ln.debit, ln.credit) for ln in overtime] == [(Decimal(0), Decimal("50.00"))]
    assert all((ln.debit > 0) != (ln.credit > 0) for ln in journal.lines)


def test_negative_tax_correction() -> None:
    comp = employee()
    comp["taxes"].append({"name": "Medicare", "employer": True, "amount": "-20.00"})
    record = payroll([comp])
    journal = build_journal(record, REFS, company_mapping())
    parts = by_component(journal)
    assert parts["ER tax: Medicare"] == Decimal("-5.50")
    assert parts["ER tax payable: Medicare"] == Decimal("5.50")
    line = next(ln for ln in journal.lines if ln.component == "ER tax: Medicare")
    assert line.credit == Decimal("5.50") and line.debit == 0


def test_zero_lines_dropped_and_excluded_skipped() -> None:
    zero = employee(
        E3,
        gross_pay="0.00",
        net_pay="0.00",
        fixed_compensations=[],
        hourly_compensations=[{"name": "Regular Hours", "hours": "0.000", "amount": "0.00"}],
        benefits=[],
        deductions=[],
        taxes=[],
    )
    excluded = employee(E2, excluded=True, gross_pay="NOT PARSED")
    journal = build_journal(payroll([employee(), zero, excluded]), REFS, company_mapping())
    assert all(ln.debit != 0 or ln.credit != 0 for ln in journal.lines)
    assert len(journal.lines) == 18


# ---- dimensions, splits and summary levels -------------------------------------------------


def test_split_department_with_largest_remainder() -> None:
    comp = employee(
        E2,
        gross_pay="100.01",
        net_pay="100.01",
        fixed_compensations=[{"name": "Salary", "amount": "100.01"}],
        hourly_compensations=[],
        benefits=[],
        deductions=[],
        taxes=[],
    )
    journal = build_journal(payroll([comp]), REFS, company_mapping())
    salary = [
        (ledger_display_value(ln.main_account, ln.dimensions, LEDGER), ln.debit)
        for ln in journal.lines
        if ln.component == "Wages: Salary"
    ]
    assert salary == [
        ("600130-100-910-PHX", Decimal("50.01")),
        ("600130-200-910-PHX", Decimal("50.00")),
    ]


def test_split_amount_adds_up_exactly() -> None:
    parts = split_amount(
        Decimal("0.10"), (Decimal("33.3333"), Decimal("33.3333"), Decimal("33.3334"))
    )
    assert sum(parts) == Decimal("0.10")
    assert parts == (Decimal("0.03"), Decimal("0.03"), Decimal("0.04"))
    assert split_amount(Decimal("-0.01"), (Decimal(50), Decimal(50))) == (
        Decimal("-0.01"),
        Decimal("0.00"),
    )
    with pytest.raises(ValueError, match="fractions of a cent"):
        split_amount(Decimal("0.005"), (Decimal(100),))


def test_employee_level_names_uuid_only() -> None:
    comps = [employee(), employee(E3)]
    journal = build_journal(payroll(comps), REFS, company_mapping(summary_level="employee"))
    department = build_journal(payroll(comps), REFS, company_mapping())
    assert len(journal.lines) > len(department.lines)
    assert any(f"ee {E1[:8]}" in ln.text for ln in journal.lines)
    assert not any("Alex" in ln.text or "Garcia" in ln.text for ln in journal.lines)
    assert all(len(ln.text) <= 60 for ln in journal.lines)
    assert journal.total_debit == department.total_debit
    assert not any("ee " in ln.text for ln in department.lines)


def test_payroll_level_keeps_only_fixed_dimensions() -> None:
    data = mapping_data(summary_level="payroll")
    data["companies"][CO]["dimensions"]["fixed"] = {"BusinessUnit": "900"}
    del data["companies"][CO]["dimensions"]["departments"]
    data["companies"][CO]["dimensions"]["departments"] = {
        "Field": {"Department": "110"},
        "Administration": {"Department": "910"},
    }
    mapping = parse_mapping(data).company(CO)
    comps = [employee(), employee(E3)]
    journal = build_journal(payroll(comps), {}, mapping)  # no employee refs needed
    assert {tuple(ln.dimensions.items()) for ln in journal.lines} == {(("BusinessUnit", "900"),)}
    assert by_component(journal)["Net pay"] == Decimal("-1450.00")


def test_dimensions_on_liabilities() -> None:
    journal = build_journal(payroll(), REFS, company_mapping(dimensions_on_liabilities=True))
    net = next(ln for ln in journal.lines if ln.component == "Net pay")
    assert ledger_display_value(net.main_account, net.dimensions, LEDGER) == "210400-100-110-DEN"


def test_company_taxes_posted_by_default() -> None:
    # Gusto's employer_taxes total includes company_taxes (docs/accounting.md).
    record = payroll(company_taxes=[{"name": "FUTA", "amount": "4.20", "employer": True}])
    record["totals"]["employer_taxes"] = "80.70"
    journal = build_journal(record, REFS, company_mapping())
    assert by_component(journal)["ER tax: FUTA"] == Decimal("4.20")
    message = refusal(record, company_mapping(post_company_taxes=False))
    assert "totals.employer_taxes: Gusto says 80.70, the employee lines add up to 76.50" in message
    assert "exactly the payroll's company_taxes: set companies." in message
    assert "post_company_taxes: true" in message


def test_company_taxes_already_in_employee_taxes_names_the_setting() -> None:
    record = payroll(company_taxes=[{"name": "FUTA", "amount": "4.20", "employer": True}])
    message = refusal(record)
    assert "employee taxes already include: set companies." in message
    assert "post_company_taxes: false" in message


# ---- refusals -----------------------------------------------------------------------------


def test_refuses_unprocessed() -> None:
    message = refusal(payroll(processed=False))
    assert f"payroll {PR}: is not processed" in message
    assert "wait until Gusto processes it" in message


def test_refuses_missing_pages() -> None:
    message = refusal(payroll(employee_compensations_count=3))
    assert "employee_compensations has 1 entries but Gusto reported 3" in message
    assert "run the tap again" in message


def test_refuses_malformed_amounts_listing_all() -> None:
    comp = employee()
    comp["taxes"][1]["amount"] = "1,234.56"
    comp["benefits"][0]["company_contribution"] = 20.0
    comp["hourly_compensations"][0]["hours"] = "40.0001"
    message = refusal(payroll([comp], totals=None))
    assert (
        f"payroll {PR}: employee_compensations[0] (employee {E1}).taxes[1].amount = '1,234.56' "
        "is not a plain decimal amount; fix the source record"
    ) in message
    assert "benefits[0].company_contribution = 20.0 is not a plain decimal amount" in message
    assert "hourly_compensations[0].hours = '40.0001' has more than 3 decimal places" in message


def test_refuses_unknown_employee_unless_default() -> None:
    message = refusal(payroll(), refs={})
    assert f"employee {E1} is not in the employees stream" in message
    assert "select the `employees` stream" in message
    mapping = with_dimensions(
        default={"BusinessUnit": "900", "Department": "910", "CostCenter": "DEN"}
    )
    journal = build_journal(payroll(), {}, mapping)
    assert {ln.dimensions.get("Department") for ln in journal.lines if ln.dimensions} == {"910"}


def test_employee_without_department() -> None:
    refs = {E1: EmployeeRef(E1, None, None, PHX)}
    message = refusal(payroll(), refs=refs)
    assert f"employee {E1} has no department; give the employee a department in Gusto" in message
    assert "dimensions.default" in message
    mapping = with_dimensions(
        default={"BusinessUnit": "900", "Department": "910", "CostCenter": "DEN"}
    )
    journal = build_journal(payroll(), refs, mapping)
    wages = next(ln for ln in journal.lines if ln.component == "Wages: Overtime")
    assert (
        ledger_display_value(wages.main_account, wages.dimensions, LEDGER) == "600110-900-910-PHX"
    )


def test_refuses_unmapped_department_and_location() -> None:
    refs = {E1: EmployeeRef(E1, "dx", "Night Shift", "loc-x")}
    message = refusal(payroll(), refs=refs)
    assert "department 'Night Shift' (uuid dx) has no dimension values" in message
    assert f"companies.'{CO}'.dimensions.departments.'Night Shift'" in message
    refs = {E1: EmployeeRef(E1, DEPT_FIELD, "Field", "loc-x")}
    message = refusal(payroll(), refs=refs)
    assert "location loc-x has no dimension values" in message
    assert "dimensions.locations.'loc-x'" in message


def test_department_by_uuid() -> None:
    data = mapping_data()
    data["companies"][CO]["dimensions"]["departments"] = {
        DEPT_FIELD: {"BusinessUnit": "100", "Department": "110"}
    }
    journal = build_journal(payroll(), REFS, parse_mapping(data).company(CO))
    assert journal.lines[0].dimensions["Department"] == "110"


def test_refuses_unmapped_names() -> None:
    comp = employee()
    comp["taxes"].append({"name": "NY MCTMT", "employer": True, "amount": "1.00"})
    comp["deductions"].append({"name": "Union Dues", "amount": "0.00"})  # zero: no account needed
    comp["fixed_compensations"].append({"name": "Tips", "amount": "5.00"})
    comp["gross_pay"] = "1005.00"
    comp["net_pay"] = "705.00"
    message = refusal(payroll([comp]))
    assert (
        f"employer tax 'NY MCTMT' has no account; add "
        f"companies.'{CO}'.accounts.employer_taxes.'NY MCTMT'" in message
    )
    assert "accounts.earnings.'Tips'" in message and "earnings_default" in message
    assert "Union Dues" not in message
    data = mapping_data()
    data["companies"][CO]["accounts"]["earnings_default"] = "600140"
    data["companies"][CO]["accounts"]["employer_tax_default"] = {
        "expense": "600200",
        "payable": "210130",
    }
    build_journal(payroll([comp]), REFS, parse_mapping(data).company(CO))


def test_refuses_wrong_company_and_bad_dates() -> None:
    message = refusal(payroll(company_uuid="other", check_date="15/01/2026"))
    assert "company_uuid 'other' does not match" in message
    assert "check_date = '15/01/2026' is not a YYYY-MM-DD date" in message


def test_refuses_bad_shapes() -> None:
    comp = employee(taxes={"name": "x"})
    comp["benefits"][0] = "401K"
    message = refusal(payroll([comp], employee_compensations_count=None, totals=None))
    assert "taxes must be a list" in message
    assert "benefits[0] must be an object" in message
    comp = employee()
    comp["taxes"][0]["employer"] = "false"
    assert "taxes[0].employer = 'false' must be true or false" in refusal(payroll([comp]))
    assert "employee_compensations is missing" in refusal(payroll(employee_compensations=None))


# ---- reconciliation -----------------------------------------------------------------------


def test_refuses_employee_that_does_not_add_up() -> None:
    comp = employee(net_pay="701.00")
    record = payroll([comp])
    message = refusal(record)
    assert (
        f"employee_compensations[0] (employee {E1}): gross_pay 1000.00 - imputed 50.00 - "
        "employee taxes 200.00 - benefit deductions 40.00 - other deductions 10.00 = 700.00, "
        "but net_pay is 701.00"
    ) in message
    assert "the lines do not balance: credits exceed debits by 1.00" in message
    assert "suspense_account" in message


def test_refuses_totals_difference_with_figures() -> None:
    record = payroll()
    record["totals"]["gross_pay"] = "1000.10"
    record["totals"]["net_pay"] = "700.10"
    message = refusal(record)
    assert (
        "totals.gross_pay: Gusto says 1000.10, the employee lines add up to 1000.00 "
        "(difference 0.10)" in message
    )
    assert (
        "totals.net_pay: Gusto says 700.10, the employee lines add up to 700.00 (difference 0.10)"
        in message
    )


def test_suspense_takes_differences_with_warnings() -> None:
    record = payroll([employee(net_pay="701.00")])
    record["totals"]["gross_pay"] = "1000.10"
    journal = build_journal(record, REFS, company_mapping(suspense_account="999999"))
    parts = by_component(journal)
    assert parts["Suspense: gross pay"] == Decimal("0.10")
    # the per-employee difference (1.00 too much net pay) plus the unmatched 0.10 of gross
    assert parts["Suspense: unbalanced"] == Decimal("0.90")
    assert "Suspense: net pay" not in parts  # net pay total matches the lines (701.00)
    assert journal.total_debit == journal.total_credit
    text = "\n".join(journal.warnings)
    assert "net_pay is 701.00" in text
    assert "totals.gross_pay: Gusto says 1000.10" in text
    assert "posted to suspense account 999999" in text
    assert all(
        ln.main_account == "999999" for ln in journal.lines if ln.component.startswith("Suspense")
    )


def test_suspense_never_hides_other_problems() -> None:
    record = payroll([employee(net_pay="701.00")], processed=False)
    message = refusal(record, company_mapping(suspense_account="999999"))
    assert "is not processed" in message and "net_pay is 701.00" in message


# ---- content hash -------------------------------------------------------------------------


def test_content_hash_ignores_formatting_order_and_names() -> None:
    base = payroll([employee(), employee(E3)])
    variant = copy.deepcopy(base)
    variant["employee_compensations"].reverse()
    first = variant["employee_compensations"][1]
    first["gross_pay"] = Decimal("1000")
    first["taxes"][0]["amount"] = "123.5"
    first["first_name"] = "Someone"
    first["taxes"].reverse()
    variant["payroll_status_meta"] = {"payroll_late": False}
    assert payroll_content_hash(base) == payroll_content_hash(variant)
    changed = copy.deepcopy(base)
    changed["employee_compensations"][0]["taxes"][0]["amount"] = "123.51"
    assert payroll_content_hash(base) != payroll_content_hash(changed)


def test_deterministic_and_order_independent_lines() -> None:
    comps = [employee(), employee(E2), employee(E3)]
    one = build_journal(payroll(comps), REFS, company_mapping())
    two = build_journal(payroll(list(reversed(comps))), REFS, company_mapping())
    assert one.lines == two.lines
    assert one == build_journal(payroll(comps), REFS, company_mapping())


# ---- display values -----------------------------------------------------------------------


def test_ledger_display_value() -> None:
    assert (
        ledger_display_value("600100", {"BusinessUnit": "100", "CostCenter": "DEN"}, LEDGER)
        == "600100-100--DEN"
    )
    assert ledger_display_value("600100", {}, LEDGER) == "600100---"
    assert ledger_display_value("600100", {"Department": "A-1"}, LEDGER) == "600100--A\\-1-"
    assert default_dimension_display_value({"Department": "910"}, DEFAULT) == "-910-"
    assert split_display_value("600100--A\\-1-", "-") == ["600100", "", "A-1", ""]


def test_display_value_errors_name_the_dimension() -> None:
    with pytest.raises(DimensionFormatError, match="Region"):
        ledger_display_value("600100", {"Region": "W"}, LEDGER)
    with pytest.raises(DimensionFormatError, match="must start with MainAccount"):
        ledger_display_value("600100", {}, DEFAULT)
    with pytest.raises(DimensionFormatError, match="contains MainAccount"):
        default_dimension_display_value({}, LEDGER)
    with pytest.raises(DimensionFormatError, match="backslash"):
        ledger_display_value("600100", {"Department": "A\\1"}, LEDGER)


def test_exact_even_if_the_caller_lowered_decimal_precision() -> None:
    record = payroll()
    with localcontext() as ctx:
        ctx.prec = 3
        journal = build_journal(record, REFS, company_mapping())
    assert journal.total_debit == journal.total_credit == Decimal("1171.50")


def test_refuses_an_employee_listed_twice() -> None:
    message = refusal(payroll([employee(), employee(E3), employee()]))
    assert f"employee {E1} appears twice in employee_compensations ([0] and [2])" in message
    assert "run the tap again" in message


def test_count_as_text_is_understood() -> None:
    build_journal(payroll(employee_compensations_count="1"), REFS, company_mapping())


def test_a_missing_account_is_reported_once() -> None:
    comps = []
    for uuid in (E1, E3):
        comp = employee(uuid, gross_pay="1005.00", net_pay="705.00")
        comp["fixed_compensations"].append({"name": "Tips", "amount": "5.00"})
        comps.append(comp)
    with pytest.raises(JournalError) as info:
        build_journal(payroll(comps), REFS, company_mapping())
    tips = [p for p in info.value.problems if "'Tips'" in p]
    assert len(tips) == 1
    assert "employee_compensations[0]" in tips[0] and "(and any later ones)" in tips[0]


def test_suspense_warning_says_nothing_was_posted_for_two_sided_differences() -> None:
    record = payroll()
    record["totals"]["employer_taxes"] = str(Decimal(record["totals"]["employer_taxes"]) + 1)
    journal = build_journal(record, REFS, company_mapping(suspense_account="999999"))
    assert not [ln for ln in journal.lines if ln.main_account == "999999"]
    assert "nothing was posted to suspense account 999999" in journal.warnings[-1]
    assert "not posted anywhere" in journal.warnings[-1]
    assert "employer_taxes 1.00" in journal.warnings[-1]
