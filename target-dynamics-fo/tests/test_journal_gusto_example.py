"""The shape of Gusto's published processed-payroll example, which does not add up.

Our own fixture in that shape (same figures): hourly lines without amounts, a "Reimbursement"
fixed line, an imputed Group Term Life benefit, mixed string/number amounts, and `totals` for
a much larger payroll than the three employees listed. The builder must refuse it with a
reconciliation report, or park the differences in suspense with warnings when configured.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from target_dynamics_fo.ledger import EmployeeRef, JournalError, build_journal
from target_dynamics_fo.mapping import CompanyMapping, parse_mapping

CO = "6bf7807c-a5a0-4f4d-b2e7-3fbb4b2299fb"
PR = "b50e611d-8f3d-4f24-b001-46675f7b5777"
EMPLOYEES = (
    "aa000001-3dbe-491a-bb2f-2f40323a7067",
    "aa000002-3dbe-491a-bb2f-2f40323a7012",
    "aa000003-3dbe-491a-bb2f-2f40323a7781",
)


def example_employee(uuid: str, number_taxes: bool) -> dict[str, Any]:
    tax_amount: Any = Decimal("646.69") if number_taxes else "646.69"
    return {
        "employee_uuid": uuid,
        "excluded": False,
        "gross_pay": "2791.25",
        "net_pay": "1953.31",
        "check_amount": "1953.31",
        "payment_method": "Direct Deposit",
        "fixed_compensations": [
            {"name": "Bonus", "amount": "100.00", "job_uuid": "j1"},
            {"name": "Reimbursement", "amount": "100.00", "job_uuid": "j2"},
        ],
        "hourly_compensations": [
            {
                "name": "Regular Hours",
                "hours": "40.000",
                "job_uuid": "j3",
                "compensation_multiplier": 1,
                "flsa_status": "Nonexempt",
            },
            {
                "name": "Overtime",
                "hours": "15.000",
                "job_uuid": "j4",
                "compensation_multiplier": Decimal("1.5"),
                "flsa_status": "Nonexempt",
            },
            {
                "name": "Double overtime",
                "hours": "0.000",
                "job_uuid": "j5",
                "compensation_multiplier": 2,
                "flsa_status": "Nonexempt",
            },
        ],
        "paid_time_off": [
            {"name": "Vacation Hours", "hours": "20.000"},
            {"name": "Sick Hours", "hours": "0.000"},
        ],
        "benefits": [
            {
                "name": "Group Term Life",
                "employee_deduction": "100.00",
                "company_contribution": "50.00",
                "imputed": True,
            },
            {
                "name": "401K",
                "employee_deduction": "100.00",
                "company_contribution": "50.00",
                "imputed": False,
            },
        ],
        "deductions": [{"name": "Child Support", "amount": "80.00"}],
        "taxes": [
            {"name": "Federal Income Tax", "employer": False, "amount": tax_amount},
            {
                "name": "Social Security",
                "employer": True,
                "amount": Decimal("191.25") if number_taxes else "191.25",
            },
        ],
    }


def example_payroll() -> dict[str, Any]:
    return {
        "payroll_deadline": "2021-02-18T22:00:00Z",
        "check_date": "2021-02-22",
        "off_cycle": False,
        "processed": True,
        "processed_date": "2021-02-18",
        "payroll_uuid": PR,
        "company_uuid": CO,
        "pay_period": {
            "start_date": "2021-02-01",
            "end_date": "2021-02-15",
            "pay_schedule_uuid": "00ebc4a4-ec88-4435-8f45-c505bb63e501",
        },
        "totals": {
            "company_debit": "121747.71",
            "net_pay_debit": "79283.80",
            "tax_debit": "42463.91",
            "reimbursement_debit": "0.00",
            "child_support_debit": "0.00",
            "reimbursements": "0.00",
            "net_pay": "81752.94",
            "gross_pay": "130635.89",
            "employee_bonuses": "0.00",
            "employee_commissions": "18536.37",
            "check_amount": "2469.14",
            "employer_taxes": "6917.19",
            "employee_taxes": "35546.72",
            "benefits": "0.00",
            "employee_benefits_deductions": "13336.23",
            "imputed_pay": "0.00",
            "deferred_payroll_taxes": "0.00",
            "other_deductions": "240.00",
        },
        "company_taxes": [
            {"name": "MO Compensation Deduction", "amount": "-0.92", "employer": True},
            {"name": "NY MCTMT", "amount": "5.00", "employer": True},
        ],
        "employee_compensations": [
            example_employee(EMPLOYEES[0], False),
            example_employee(EMPLOYEES[1], False),
            example_employee(EMPLOYEES[2], True),
        ],
        "employee_compensations_count": 3,
        "payroll_type": "regular",
    }


def example_mapping(suspense: str | None = None) -> CompanyMapping:
    company: dict[str, Any] = {
        "legal_entity": "usmf",
        "journal_name": "Payroll",
        "accounts": {
            "earnings": {
                "Regular Hours": "600100",
                "Overtime": "600110",
                "Double overtime": "600110",
                "Bonus": "600120",
            },
            "other_earnings": "600140",
            "imputed_income": "600140",
            "imputed_offset": "600500",
            "reimbursement_expense": "600400",
            "net_pay": "210400",
            "employee_taxes": {"Federal Income Tax": "210100"},
            "employer_taxes": {
                "Social Security": {"expense": "600200", "payable": "210120"},
                # company-level taxes: posted by default, spread over departments by wages
                "MO Compensation Deduction": {"expense": "600200", "payable": "210130"},
                "NY MCTMT": {"expense": "600200", "payable": "210130"},
            },
            "benefits": {
                "Group Term Life": {"expense": "600300", "payable": "210200"},
                "401K": {"expense": "600300", "payable": "210200"},
            },
            "deductions": {"Child Support": "210300"},
        },
        "dimensions": {"departments": {"Field": {"Department": "110"}}},
        "contractors": {
            "vendor_group": "CONTRACT",
            "vendor_account": "GUS-{uuid8}",
            "invoice_journal_name": "APInvoice",
            "expense_accounts": {"wage": "600700", "bonus": "600700", "reimbursement": "600710"},
        },
        "workers": {"personnel_number": "GUS-{uuid8}"},
    }
    if suspense:
        company["suspense_account"] = suspense
    return parse_mapping({"companies": {CO: company}}).company(CO)


REFS = {uuid: EmployeeRef(uuid, None, "Field", None) for uuid in EMPLOYEES}

EXPECTED_REPORT = [
    f"employee_compensations[{i}] (employee {EMPLOYEES[i]}): gross_pay 2791.25 - imputed 50.00 - "
    "employee taxes 646.69 - benefit deductions 200.00 - other deductions 80.00 = 1814.56, "
    "but net_pay is 1953.31 (difference 138.75)"
    for i in range(3)
] + [
    "totals.gross_pay: Gusto says 130635.89, the employee lines add up to 8373.75 "
    "(difference 122262.14)",
    "totals.employer_taxes: Gusto says 6917.19, the employee lines add up to 577.83 "
    "(difference 6339.36)",
    "totals.benefits: Gusto says 0.00, the employee lines add up to 300.00 (difference -300.00)",
    "totals.reimbursements: Gusto says 0.00, the employee lines add up to 300.00 "
    "(difference -300.00)",
    "totals.employee_taxes: Gusto says 35546.72, the employee lines add up to 1940.07 "
    "(difference 33606.65)",
    "totals.employee_benefits_deductions: Gusto says 13336.23, the employee lines add up to "
    "600.00 (difference 12736.23)",
    "totals.imputed_pay: Gusto says 0.00, the employee lines add up to 150.00 (difference -150.00)",
    "totals.net_pay: Gusto says 81752.94, the employee lines add up to 5859.93 "
    "(difference 75893.01)",
    "the lines do not balance: credits exceed debits by 416.25",
]


def test_published_example_is_refused_with_a_reconciliation_report(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(JournalError) as info:
        build_journal(example_payroll(), REFS, example_mapping())
    problems = info.value.problems
    assert problems[:-1] == EXPECTED_REPORT
    assert "suspense_account" in problems[-1]
    # other_deductions (240.00) is the one total that matches the listed employees
    assert not any("other_deductions" in p for p in problems)
    print(info.value)  # the report, as a user sees it (pytest -s)
    assert "was not posted" in capsys.readouterr().out


def test_published_example_with_suspense_posts_with_warnings() -> None:
    journal = build_journal(example_payroll(), REFS, example_mapping("999999"))
    assert journal.total_debit == journal.total_credit
    suspense = {
        ln.component: ln.debit - ln.credit for ln in journal.lines if ln.main_account == "999999"
    }
    assert suspense == {
        "Suspense: benefit deductions": Decimal("-12736.23"),
        "Suspense: employee taxes": Decimal("-33606.65"),
        "Suspense: gross pay": Decimal("122262.14"),
        "Suspense: imputed pay": Decimal("150.00"),
        "Suspense: net pay": Decimal("-75893.01"),
        "Suspense: unbalanced": Decimal("240.00"),  # Gusto's net_pay total ignores other_deductions
    }
    assert [w.removeprefix(f"payroll {PR}: ") for w in journal.warnings[:-1]] == EXPECTED_REPORT
    assert "posted to suspense account 999999" in journal.warnings[-1]
    # with the suspense lines, each one-sided figure ties out to Gusto's totals
    lines = {ln.component: ln.debit - ln.credit for ln in journal.lines}
    wages = sum(
        v
        for k, v in lines.items()
        if k.startswith("Wages: ") or k in ("Other earnings", "Imputed income")
    )
    assert wages + lines["Suspense: gross pay"] == Decimal("130635.89")
    assert -(lines["Net pay"] + lines["Suspense: net pay"]) - Decimal("300.00") == Decimal(
        "81752.94"
    )
