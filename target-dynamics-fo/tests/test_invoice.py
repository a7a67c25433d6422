"""Contractor payment -> vendor invoice journal."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from target_dynamics_fo.ledger import journal_batch_number
from target_dynamics_fo.mapping import CompanyMapping, MappingError, parse_mapping
from target_dynamics_fo.payables import (
    InvoiceError,
    build_vendor_invoice,
    invoice_number,
    payment_content_hash,
    vendor_account_for,
)

CO = "44444444-4444-5444-8444-444444444444"
PAY = "04552eb9-7829-4b18-ae96-6983552948df"
CON = "bc57832c-d8bc-43a7-ae99-3a03380ff037"


def mapping(**contractors: Any) -> CompanyMapping:
    settings_: dict[str, Any] = {
        "vendor_group": "CONTRACT",
        "vendor_account": "GUS-{uuid8}",
        "invoice_journal_name": "APInvoice",
        "expense_accounts": {"wage": "600700", "bonus": "600720", "reimbursement": "600710"},
    }
    settings_.update(contractors)
    data = {
        "companies": {
            CO: {
                "legal_entity": "rsc",
                "journal_name": "Payroll",
                "accounts": {
                    "other_earnings": "600140",
                    "imputed_income": "600140",
                    "imputed_offset": "600500",
                    "reimbursement_expense": "600400",
                    "net_pay": "210400",
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
                    }
                },
                "contractors": settings_,
                "workers": {"personnel_number": "GUS-{uuid8}"},
            }
        }
    }
    return parse_mapping(data).company(CO)


def payment(**over: Any) -> dict[str, Any]:
    # Gusto's sample shape: 40.0 h x 18.0 + 0.0 wage + 20.0 bonus = 740.00; 100.0 reimbursement.
    record: dict[str, Any] = {
        "uuid": PAY,
        "company_uuid": CO,
        "contractor_uuid": CON,
        "bonus": "20.0",
        "date": "2020-10-19",
        "hours": "40.0",
        "payment_method": "Direct Deposit",
        "reimbursement": "100.0",
        "status": "Funded",
        "hourly_rate": "18.0",
        "may_cancel": True,
        "wage": "0.0",
        "wage_type": "Hourly",
        "wage_total": "740.00",
    }
    record.update(over)
    return record


CONTRACTOR = {
    "uuid": CON,
    "type": "Individual",
    "first_name": "Kory",
    "last_name": "Gottlieb",
    "department_uuid": "dep-1",
    "department": "Field",
}


def refusal(
    record: dict[str, Any],
    contractor: dict[str, Any] | None = CONTRACTOR,
    company: CompanyMapping | None = None,
) -> str:
    with pytest.raises(InvoiceError) as info:
        build_vendor_invoice(record, contractor, company or mapping())
    return str(info.value)


def test_hourly_payment_with_bonus_and_reimbursement() -> None:
    invoice = build_vendor_invoice(payment(), CONTRACTOR, mapping())
    rows = [
        (
            ln.line_number,
            ln.account_type,
            ln.account,
            dict(ln.dimensions),
            str(ln.debit),
            str(ln.credit),
            ln.component,
        )
        for ln in invoice.lines
    ]
    assert rows == [
        (
            1,
            "Ledger",
            "600700",
            {"BusinessUnit": "100", "Department": "110"},
            "720.00",
            "0.00",
            "Contractor wage",
        ),
        (
            2,
            "Ledger",
            "600720",
            {"BusinessUnit": "100", "Department": "110"},
            "20.00",
            "0.00",
            "Contractor bonus",
        ),
        (
            3,
            "Ledger",
            "600710",
            {"BusinessUnit": "100", "Department": "110"},
            "100.00",
            "0.00",
            "Contractor reimbursement",
        ),
        (4, "Vend", "GUS-BC57832C", {}, "0.00", "840.00", "Vendor"),
    ]
    assert invoice.total_debit == invoice.total_credit == invoice.amount == Decimal("840.00")
    assert invoice.vendor_account == "GUS-BC57832C"
    assert invoice.vendor_group == "CONTRACT"
    assert invoice.journal_name == "APInvoice"
    assert invoice.legal_entity == "rsc"
    assert invoice.invoice_number == invoice_number(PAY) == "GUS04552EB978294B18A"
    assert len(invoice.invoice_number) <= 20
    assert invoice.journal_batch_number == journal_batch_number(
        "GUS", CO, f"contractor-payment:{PAY}"
    )
    assert invoice.content_hash == payment_content_hash(payment())
    assert invoice.idempotency_key == f"gusto-contractor:{CO}:{PAY}:{invoice.content_hash}"
    assert (
        invoice.description
        == f"Gusto contractor payment 2020-10-19 04552eb9 #{invoice.content_hash[:8]}"
    )
    assert len(invoice.description) <= 60
    for line in invoice.lines:
        assert len(line.text) <= 60
        assert "Kory" not in line.text and "Gottlieb" not in line.text
    assert invoice.warnings == ()


def test_split_department_adds_up() -> None:
    contractor = dict(CONTRACTOR, department="Administration", department_uuid=None)
    invoice = build_vendor_invoice(
        payment(bonus="0", wage_total="720.01", wage="0.01", reimbursement="0"),
        contractor,
        mapping(),
    )
    wage = [
        (ln.dimensions["BusinessUnit"], ln.debit)
        for ln in invoice.lines
        if ln.component == "Contractor wage"
    ]
    assert wage == [("100", Decimal("360.01")), ("200", Decimal("360.00"))]
    assert invoice.amount == Decimal("720.01")


def test_contractor_without_department_or_record() -> None:
    invoice = build_vendor_invoice(
        payment(), dict(CONTRACTOR, department=None, department_uuid=None), mapping()
    )
    assert all(ln.dimensions == {} for ln in invoice.lines)
    invoice = build_vendor_invoice(payment(), None, mapping())
    assert invoice.vendor_account == "GUS-BC57832C"
    assert "not in the contractors stream" in invoice.warnings[0]


def test_links_and_long_accounts() -> None:
    company = mapping(links={CON: "V00001"})
    assert build_vendor_invoice(payment(), CONTRACTOR, company).vendor_account == "V00001"
    assert vendor_account_for({"uuid": CON}, company) == "V00001"
    with pytest.raises(MappingError, match="longer than 20 characters"):
        vendor_account_for({"uuid": CON}, mapping(vendor_account="CONTRACTOR-{uuid}"))


def test_correction_payment_debits_the_vendor() -> None:
    invoice = build_vendor_invoice(
        payment(
            hours="0",
            hourly_rate="0",
            wage="-50.00",
            bonus="0",
            reimbursement="0",
            wage_total="-50.00",
            payment_method="Correction Payment",
        ),
        CONTRACTOR,
        mapping(),
    )
    vendor = invoice.lines[-1]
    assert (vendor.debit, vendor.credit) == (Decimal("50.00"), Decimal(0))
    assert invoice.lines[0].credit == Decimal("50.00")
    assert invoice.amount == Decimal("-50.00")


def test_unfunded_payment_is_flagged() -> None:
    invoice = build_vendor_invoice(payment(status="Unfunded"), CONTRACTOR, mapping())
    assert "status is 'Unfunded'" in invoice.warnings[0]


def test_refusals_name_the_payment_and_fix() -> None:
    message = refusal(payment(wage_total="741.00"))
    assert (
        f"contractor payment {PAY}: wage_total 741.00 should be hours 40.0 x hourly_rate 18.0"
        in message
    )
    assert "check the payment in Gusto" in message
    message = refusal(payment(bonus="1,000", date="19/10/2020", company_uuid="x"))
    assert f"contractor payment {PAY}: bonus = '1,000' is not a plain decimal amount" in message
    assert "date = '19/10/2020' is not a YYYY-MM-DD date" in message
    assert "company_uuid 'x' does not match" in message
    # A zero payment is not refused here: it builds, and the sync records it as nothing to post.
    zero = build_vendor_invoice(
        payment(bonus="0", wage_total="0", hours="0", reimbursement="0"), CONTRACTOR, mapping()
    )
    assert zero.amount == 0
    message = refusal(payment(), dict(CONTRACTOR, uuid="other"))
    assert "not the payment's contractor" in message
    message = refusal(payment(), dict(CONTRACTOR, department="Night shift", department_uuid="dx"))
    assert "department 'Night shift' (uuid dx) has no dimension values" in message


def test_hash_ignores_number_formatting() -> None:
    assert payment_content_hash(payment()) == payment_content_hash(
        payment(bonus=Decimal("20"), hours="40.000", wage_total=Decimal("740"))
    )
    assert payment_content_hash(payment()) != payment_content_hash(payment(bonus="20.01"))


@settings(max_examples=50, deadline=None)
@given(
    st.integers(min_value=0, max_value=2000),
    st.integers(min_value=0, max_value=20000),
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**5),
    st.integers(min_value=0, max_value=10**5),
    st.sampled_from(["Field", "Administration"]),
)
def test_invoice_always_balances(
    tenth_hours: int,
    rate_cents: int,
    wage_cents: int,
    bonus_cents: int,
    reimb_cents: int,
    department: str,
) -> None:
    hours = Decimal(tenth_hours) / 10
    rate = Decimal(rate_cents) / 100
    wage = Decimal(wage_cents) / 100
    bonus = Decimal(bonus_cents) / 100
    total = (hours * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) + wage + bonus
    record = payment(
        hours=str(hours),
        hourly_rate=str(rate),
        wage=str(wage),
        bonus=str(bonus),
        reimbursement=str(Decimal(reimb_cents) / 100),
        wage_total=str(total),
    )
    if total + Decimal(reimb_cents) / 100 == 0:
        return
    invoice = build_vendor_invoice(record, dict(CONTRACTOR, department=department), mapping())
    assert invoice.total_debit == invoice.total_credit == total + Decimal(reimb_cents) / 100
    assert all((ln.debit > 0) != (ln.credit > 0) for ln in invoice.lines)
    assert all(type(ln.debit) is Decimal for ln in invoice.lines)
