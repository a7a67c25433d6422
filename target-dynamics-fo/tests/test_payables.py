"""Vendors and AP invoices: the pure decisions, then exactly-once posting over HTTP.

The HTTP tests run PayablesSync against the Dynamics sandbox (real TLS, Entra token, OData,
`$batch`), in process so they stay fast; the pipeline-level tests are in tests/test_e2e_people.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from gd_sandbox.dynamics import DynamicsSandbox
from target_dynamics_fo.audit import AuditStore
from target_dynamics_fo.mapping import CompanyMapping, Mapping, load_mapping, parse_mapping
from target_dynamics_fo.payables import (
    PayablesSync,
    build_vendor_invoice,
    invoice_description,
    invoice_operations,
    plan_vendor,
    vendor_fields,
)
from target_dynamics_fo.payrolls import PayrollProcessor
from target_dynamics_fo.settings import build_client

MAPPING = Path(__file__).resolve().parents[2] / "config" / "mapping.yml"
RIDGELINE = "0c991fcc-d01e-50c4-90c6-d27026b49396"
CON = "bc57832c-d8bc-43a7-ae99-3a03380ff037"
VENDOR = "GUS-BC57832C"
PAY = "04552eb9-7829-4b18-ae96-6983552948df"


@pytest.fixture(scope="module")
def company() -> CompanyMapping:
    return load_mapping(MAPPING).company(RIDGELINE)


def contractor(**over: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "uuid": CON,
        "company_uuid": RIDGELINE,
        "type": "Individual",
        "first_name": "Dana",
        "last_name": "Whitfield",
        "business_name": None,
        "department": "Commercial Field Operations",
    }
    record.update(over)
    return record


def payment(**over: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "uuid": PAY,
        "company_uuid": RIDGELINE,
        "contractor_uuid": CON,
        "date": "2026-05-15",
        "wage_type": "Hourly",
        "hours": Decimal("40.0"),
        "hourly_rate": Decimal("65.17"),
        "wage": Decimal("0.0"),
        "bonus": Decimal("250.0"),
        "reimbursement": Decimal("57.25"),
        "wage_total": Decimal("2856.80"),
        "payment_method": "Direct Deposit",
        "status": "Funded",
    }
    record.update(over)
    return record


def mapping_with(**contractors: Any) -> Mapping:
    raw = yaml.safe_load(MAPPING.read_text())
    raw["companies"][RIDGELINE]["contractors"].update(contractors)
    return parse_mapping(raw)


# ---- pure ------------------------------------------------------------------------------------


def test_vendor_fields_follow_the_contractor_type() -> None:
    assert vendor_fields(contractor()) == {
        "VendorPartyType": "Person",
        "PersonFirstName": "Dana",
        "PersonLastName": "Whitfield",
    }
    business = contractor(type="Business", business_name="Front Range Crane LLC")
    assert vendor_fields(business) == {
        "VendorPartyType": "Organization",
        "VendorOrganizationName": "Front Range Crane LLC",
    }


def test_a_new_contractor_becomes_a_vendor_in_the_mapped_group(company: CompanyMapping) -> None:
    plan = plan_vendor(contractor(), company, VENDOR, None)
    assert plan.action == "create"
    assert plan.body == {
        "dataAreaId": "rsc",
        "VendorAccountNumber": VENDOR,
        "VendorGroupId": "CONTRACT",
        "CurrencyCode": "USD",
        "VendorPartyType": "Person",
        "PersonFirstName": "Dana",
        "PersonLastName": "Whitfield",
    }


def test_an_existing_vendor_is_renamed_but_never_regrouped(company: CompanyMapping) -> None:
    existing = {**plan_vendor(contractor(), company, VENDOR, None).body, "VendorGroupId": "OTHER"}
    assert plan_vendor(contractor(), company, VENDOR, existing).action == "none"
    plan = plan_vendor(contractor(last_name="Whitfield-Ng"), company, VENDOR, existing)
    assert plan.action == "update"
    assert plan.body == {"PersonLastName": "Whitfield-Ng"}


def test_no_vendor_is_created_for_a_link_or_when_creation_is_off() -> None:
    linked = mapping_with(links={CON: "V09999"}).company(RIDGELINE)
    plan = plan_vendor(contractor(), linked, "V09999", None)
    assert plan.action == "fail" and "V09999" in plan.detail and "links" in plan.fix
    off = mapping_with(create_vendors=False).company(RIDGELINE)
    plan = plan_vendor(contractor(), off, VENDOR, None)
    assert plan.action == "fail" and "create_vendors" in plan.detail


def test_bad_contractors_are_refused_naming_the_fix(company: CompanyMapping) -> None:
    plan = plan_vendor(contractor(type="Business", business_name=""), company, VENDOR, None)
    assert plan.action == "fail" and CON in plan.detail and "business name" in plan.detail


def test_invoice_journal_operations_credit_the_vendor_and_debit_the_expenses(
    company: CompanyMapping,
) -> None:
    invoice = build_vendor_invoice(payment(), contractor(), company)
    expense = [line for line in invoice.lines if line.account_type == "Ledger"]
    display = [f"{line.account}-100-110-" for line in expense]
    ops = invoice_operations(invoice, display, "-")
    header, *lines = ops
    assert header.entity == "VendInvoiceJournalHeaders"
    assert header.body is not None
    assert header.body["JournalBatchNumber"] == invoice.journal_batch_number
    assert header.body["Description"] == invoice_description(invoice)
    assert header.body["Description"].endswith(invoice.content_hash[:8])
    assert len(header.body["Description"]) <= 60
    bodies = [op.body for op in lines if op.body is not None]
    assert {b["AccountType"] for b in bodies} == {"Vend"}
    assert {b["AccountDisplayValue"] for b in bodies} == {"GUS\\-BC57832C"}
    assert {b["Voucher"] for b in bodies} == {invoice.journal_batch_number}
    assert {b["Invoice"] for b in bodies} == {invoice.invoice_number}
    assert [b["OffsetAccountDisplayValue"] for b in bodies] == display
    credit = sum((b["Credit"] - b["Debit"] for b in bodies), Decimal(0))
    assert credit == Decimal("2856.80") + Decimal("57.25") == invoice.amount


# ---- over HTTP against the Dynamics sandbox ---------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox(port=0) as dyn:
        yield dyn


@pytest.fixture
def dyn(sandbox: DynamicsSandbox) -> DynamicsSandbox:
    sandbox.reset()
    return sandbox


def sync_for(dyn: DynamicsSandbox, tmp_path: Path, mapping: Mapping | None = None) -> PayablesSync:
    mapping = mapping or load_mapping(MAPPING)
    audit = AuditStore(tmp_path / "audit.sqlite")
    client = build_client(
        {
            **dyn.client_settings(),
            "request_deadline_seconds": 30,
        },
        audit,
    )
    client.backoff_base_seconds = 0.01
    processor = PayrollProcessor(mapping, audit, client)
    return PayablesSync(mapping, audit, client, lambda: processor.reference)


def headers(dyn: DynamicsSandbox) -> list[dict[str, Any]]:
    return list(dyn.entities["VendInvoiceJournalHeaders"])


def test_contractor_then_payment_posts_one_invoice_and_a_rerun_posts_none(
    dyn: DynamicsSandbox, tmp_path: Path
) -> None:
    sync = sync_for(dyn, tmp_path)
    sync.remember_contractor(contractor())
    sync.sync_vendors()
    vendors = [v for v in dyn.entities["VendorsV2"] if v["VendorAccountNumber"] == VENDOR]
    assert len(vendors) == 1 and vendors[0]["PersonLastName"] == "Whitfield"
    assert sync.payment(payment()).outcome == "posted"
    assert len(headers(dyn)) == 1
    lines = dyn.entities["VendInvoiceJournalLines"]
    assert sum((Decimal(str(x["Credit"])) for x in lines), Decimal(0)) == Decimal("2914.05")

    again = sync_for(dyn, tmp_path)
    again.remember_contractor(contractor())
    again.sync_vendors()
    assert again.payment(payment()).outcome == "already_posted"
    assert len(headers(dyn)) == 1
    assert len([v for v in dyn.entities["VendorsV2"] if v["VendorAccountNumber"] == VENDOR]) == 1
    assert again.summary.counts["vendors unchanged"] == 1


def test_a_lost_answer_is_looked_up_not_resent(dyn: DynamicsSandbox, tmp_path: Path) -> None:
    sync = sync_for(dyn, tmp_path)
    sync.remember_contractor(contractor())
    dyn.set_faults({"lose_response_next_write": 1})
    sync.sync_vendors()  # the vendor POST commits, its answer is lost
    dyn.set_faults({"lose_response_next_write": 1})
    result = sync.payment(payment())  # so does the $batch
    assert result.outcome == "posted" and "lost response" in (result.reason or "")
    assert len([v for v in dyn.entities["VendorsV2"] if v["VendorAccountNumber"] == VENDOR]) == 1
    assert len(headers(dyn)) == 1
    assert sync.summary.failures == []


def test_a_payment_changed_after_posting_is_not_posted_again(
    dyn: DynamicsSandbox, tmp_path: Path
) -> None:
    sync = sync_for(dyn, tmp_path)
    sync.remember_contractor(contractor())
    sync.sync_vendors()
    assert sync.payment(payment()).outcome == "posted"
    changed = payment(bonus=Decimal("20.0"), wage_total=Decimal("2626.80"))
    result = sync.payment(changed)
    assert result.outcome == "changed_after_posting" and result.failed
    assert "NOT posted again" in (result.reason or "")
    assert len(headers(dyn)) == 1


def test_a_payment_to_an_unknown_contractor_fails_naming_both_and_posts_nothing(
    dyn: DynamicsSandbox, tmp_path: Path
) -> None:
    sync = sync_for(dyn, tmp_path)
    result = sync.payment(payment())
    assert result.outcome == "refused"
    assert PAY in (result.reason or "") and CON in (result.reason or "")
    assert VENDOR in (result.reason or "") and "contractors stream" in (result.reason or "")
    assert "replay-payment" in (result.fix or "")
    assert headers(dyn) == []
    assert sync.audit.latest_payment_outcomes()[0]["outcome"] == "refused"


def test_a_failed_vendor_blocks_its_payments_only(dyn: DynamicsSandbox, tmp_path: Path) -> None:
    other = "aa000000-0000-4000-8000-000000000002"
    sync = sync_for(dyn, tmp_path, mapping_with(links={CON: "V09999"}))
    sync.remember_contractor(contractor())
    sync.remember_contractor(contractor(uuid=other, last_name="Okafor"))
    sync.sync_vendors()
    refused = sync.payment(payment())
    posted = sync.payment(
        payment(uuid="bb000000-0000-4000-8000-000000000003", contractor_uuid=other)
    )
    assert refused.outcome == "refused" and "V09999" in (refused.reason or "")
    assert posted.outcome == "posted"
    assert len(headers(dyn)) == 1
    assert len(sync.summary.failures) == 2  # the vendor and its payment, each with a fix


def test_reference_gaps_are_reported_together_before_anything_is_written(
    dyn: DynamicsSandbox, tmp_path: Path
) -> None:
    mapping = mapping_with(vendor_group="NOPE", invoice_journal_name="Payroll")
    sync = sync_for(dyn, tmp_path, mapping)
    sync.remember_contractor(contractor())
    sync.sync_vendors()
    result = sync.payment(payment())
    assert result.outcome == "refused"
    reason = result.reason or ""
    assert "vendor group 'NOPE'" in reason and "'Payroll' in rsc is of type 'Daily'" in reason
    assert [v for v in dyn.entities["VendorsV2"] if v["VendorAccountNumber"] == VENDOR] == []
    assert headers(dyn) == []


def test_dry_run_writes_nothing_and_counts_new_vendors_as_there(
    dyn: DynamicsSandbox, tmp_path: Path
) -> None:
    sync = sync_for(dyn, tmp_path)
    sync.dry_run = True
    sync.remember_contractor(contractor())
    sync.sync_vendors()
    result = sync.payment(payment())
    assert result.outcome == "dry_run" and not result.failed
    assert sync.summary.failures == []
    assert [v for v in dyn.entities["VendorsV2"] if v["VendorAccountNumber"] == VENDOR] == []
    assert headers(dyn) == []


def test_a_zero_payment_creates_no_empty_invoice(dyn: DynamicsSandbox, tmp_path: Path) -> None:
    sync = sync_for(dyn, tmp_path)
    sync.remember_contractor(contractor())
    sync.sync_vendors()
    zero = payment(
        hours=Decimal("0.0"),
        bonus=Decimal("0.0"),
        reimbursement=Decimal("0.0"),
        wage_total=Decimal("0.00"),
    )
    result = sync.payment(zero)
    assert result.outcome == "skipped"
    assert "nothing to post" in (result.reason or "")
    assert headers(dyn) == []


def test_a_vendor_account_with_a_backslash_is_refused_before_posting(
    dyn: DynamicsSandbox, tmp_path: Path
) -> None:
    # F&O escapes the delimiter with a backslash, so one inside the account cannot be written.
    sync = sync_for(dyn, tmp_path, mapping_with(vendor_account="V\\{uuid8}"))
    sync.remember_contractor(contractor())
    sync.sync_vendors()
    result = sync.payment(payment())
    assert result.outcome == "refused" and "backslash" in (result.reason or "")
    assert "dimension format or the mapping" in (result.fix or "")
    assert headers(dyn) == []
