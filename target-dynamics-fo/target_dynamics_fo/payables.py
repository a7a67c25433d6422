"""Gusto contractors -> Dynamics vendors; contractor payments -> AP vendor invoice journals.

Vendors follow the people pattern (decide, then do): the vendor account comes from the mapping
(an explicit link first, then the scheme), so a rerun finds the vendor it created before.
:func:`vendor_fields` and :func:`plan_vendor` are pure.

Each payment posts exactly once, the way payroll journals do (``posting.py``): the journal
batch number is derived from (company, payment), the payment's content hash ends the header
Description, Dynamics is asked first, header and lines go in ONE ``$batch`` changeset, and a
lost answer or "record already exists" is followed by a look-up, never a blind resend.

An F&O vendor invoice journal line is a vendor line (``AccountType`` Vend) whose offset is the
expense: one line per expense part of the built invoice (wage, bonus, reimbursement, department
share), all with the same invoice number and voucher.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from collections.abc import Mapping as AbcMapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Literal

from target_dynamics_fo import audit as outcomes
from target_dynamics_fo.audit import AuditStore
from target_dynamics_fo.fo import (
    JOURNAL_NAMES,
    LEGAL_ENTITIES,
    VENDOR_GROUPS,
    VENDOR_INVOICE_HEADERS,
    VENDOR_INVOICE_LINES,
    VENDORS,
    ODataClient,
    ODataError,
    Operation,
    ReferenceData,
    WriteOutcomeUnknownError,
    dimension_gaps,
    fo_date,
    main_account_gaps,
    odata_literal,
    structure_gaps,
)
from target_dynamics_fo.invoice import (
    InvoiceError,
    VendorInvoice,
    build_vendor_invoice,
    vendor_account_for,
)
from target_dynamics_fo.ledger import DimensionFormat, DimensionFormatError, ledger_display_value
from target_dynamics_fo.mapping import CompanyMapping, Mapping, MappingError
from target_dynamics_fo.posting import (
    HASH_PREFIX_LENGTH,
    described,
    send_once,
    stored_hash,
    worth_another_look,
)
from target_dynamics_fo.workers import (
    DONE,
    DRY_RUN,
    FAILED,
    UNCHANGED,
    SyncSummary,
)

LOGGER = logging.getLogger("target_dynamics_fo.payables")

HEADER_ENTITY = VENDOR_INVOICE_HEADERS
LINE_ENTITY = VENDOR_INVOICE_LINES
INVOICE_JOURNAL_TYPE = "VendInvoiceRegister"
VENDOR_FIELDS = (
    "dataAreaId",
    "VendorAccountNumber",
    "VendorGroupId",
    "VendorPartyType",
    "VendorOrganizationName",
    "PersonFirstName",
    "PersonLastName",
)
# The vendor group is never PATCHed: it drives posting profiles, and AP may have moved the
# vendor on purpose (hotglue's F&O target excludes it from updates for the same reason).
NAME_FIELDS = ("VendorPartyType", "VendorOrganizationName", "PersonFirstName", "PersonLastName")

REPLAY_HINT = "then replay it: target-dynamics-fo-audit replay-payment {uuid} --config <config>"


class VendorError(ValueError):
    """A contractor cannot become a vendor; the message names the contractor and the fix."""


# ---- pure: vendors -------------------------------------------------------------------------


def vendor_fields(contractor: AbcMapping[str, Any]) -> dict[str, str]:
    """VendorsV2 name fields for a Gusto contractor (Organization or Person)."""
    uuid = str(contractor.get("uuid") or "(no uuid)")
    kind = contractor.get("type")
    if kind == "Business":
        name = str(contractor.get("business_name") or "").strip()
        if not name:
            raise VendorError(
                f"contractor {uuid} is a Business without business_name; add the business name "
                "in Gusto"
            )
        return {"VendorPartyType": "Organization", "VendorOrganizationName": name}
    if kind == "Individual":
        first = str(contractor.get("first_name") or "").strip()
        last = str(contractor.get("last_name") or "").strip()
        if not last:
            raise VendorError(
                f"contractor {uuid} is an Individual without last_name; complete the contractor "
                "in Gusto"
            )
        return {"VendorPartyType": "Person", "PersonFirstName": first, "PersonLastName": last}
    raise VendorError(
        f"contractor {uuid} has type {kind!r}; Gusto contractors are 'Individual' or 'Business' "
        "(check the tap's contractors stream)"
    )


@dataclass(frozen=True)
class VendorPlan:
    action: Literal["create", "update", "none", "fail"]
    body: AbcMapping[str, Any]
    detail: str
    fix: str = ""
    # a difference deliberately not written (a linked vendor's identity), for the run's warnings
    report: str = ""


_PARTY_NAME_FIELDS: dict[str, tuple[str, ...]] = {
    "Organization": ("VendorOrganizationName",),
    "Person": ("PersonFirstName", "PersonLastName"),
}


def plan_vendor(
    contractor: AbcMapping[str, Any],
    company: CompanyMapping,
    vendor_account: str,
    existing: AbcMapping[str, Any] | None,
) -> VendorPlan:
    """Create, rename, leave alone or refuse: never a second vendor for one contractor."""
    uuid = str(contractor.get("uuid") or "")
    le = company.legal_entity.lower()
    settings = company.contractors
    try:
        fields = vendor_fields(contractor)
    except VendorError as exc:
        return VendorPlan("fail", {}, str(exc), "correct the contractor in Gusto, then rerun")
    if existing is None:
        if uuid in settings.links:
            return VendorPlan(
                "fail",
                {},
                f"contractor {uuid} is linked to vendor {vendor_account} in the mapping, but "
                f"legal entity {le} has no vendor {vendor_account}",
                f"fix {company.key_path}.contractors.links or create the vendor, then rerun",
            )
        if not settings.create_vendors:
            return VendorPlan(
                "fail",
                {},
                f"contractor {uuid} has no vendor {vendor_account} in {le} and vendor creation "
                f"is off ({company.key_path}.contractors.create_vendors: false)",
                f"create vendor {vendor_account} in Dynamics, link the contractor under "
                f"{company.key_path}.contractors.links, or set create_vendors: true; then rerun",
            )
        body = {
            "dataAreaId": le,
            "VendorAccountNumber": vendor_account,
            "VendorGroupId": settings.vendor_group,
            "CurrencyCode": company.currency,
            **fields,
        }
        return VendorPlan("create", body, f"create vendor {vendor_account} in {le}")
    changed = {k: v for k, v in fields.items() if str(existing.get(k) or "") != v}
    if uuid in settings.links and not settings.update_linked_vendors:
        return _plan_linked(uuid, company, vendor_account, existing, changed)
    if not changed:
        return VendorPlan("none", {}, f"vendor {vendor_account} in {le} is up to date")
    was = ", ".join(f"{k} {str(existing.get(k) or '')!r} -> {v!r}" for k, v in changed.items())
    return VendorPlan("update", changed, f"update vendor {vendor_account} in {le}: {was}")


def _plan_linked(
    uuid: str,
    company: CompanyMapping,
    vendor_account: str,
    existing: AbcMapping[str, Any],
    changed: dict[str, str],
) -> VendorPlan:
    """A linked vendor is the customer's: keep its party type and names, only fill blanks.

    Only the name fields of the vendor's own party type are filled; Gusto's view of the
    contractor as a person or a business never turns an organisation into a person.
    """
    le = company.legal_entity.lower()
    party = str(existing.get("VendorPartyType") or "")
    own = _PARTY_NAME_FIELDS.get(party, ())
    fill = {k: v for k, v in changed.items() if k in own and not str(existing.get(k) or "")}
    kept = {k: v for k, v in changed.items() if k not in fill}
    report = ""
    if kept:
        was = ", ".join(
            f"{k} {str(existing.get(k) or '')!r} (Gusto: {v!r})" for k, v in kept.items()
        )
        report = (
            f"vendor {vendor_account} in {le}, linked to contractor {uuid}, differs from Gusto "
            f"and was left as it is: {was}; change it in Dynamics if Gusto is right, or set "
            f"{company.key_path}.contractors.update_linked_vendors: true to let the connector "
            "overwrite it"
        )
    if fill:
        filled = ", ".join(f"{k} -> {v!r}" for k, v in fill.items())
        return VendorPlan(
            "update",
            fill,
            f"fill empty fields of linked vendor {vendor_account} in {le}: {filled}",
            report=report,
        )
    detail = report or f"linked vendor {vendor_account} in {le} is up to date"
    return VendorPlan("none", {}, detail, report=report)


# ---- pure: the invoice journal -------------------------------------------------------------


def invoice_description(invoice: VendorInvoice) -> str:
    """Header Description ending in ``#<hash prefix>`` (60 characters at most)."""
    return described(invoice.description, invoice.content_hash)


def vendor_display_value(account: str, delimiter: str) -> str:
    # F&O escapes the segment delimiter inside a non-ledger account ("US\-108" in its answers).
    return account.replace(delimiter, "\\" + delimiter) if delimiter else account


def invoice_operations(
    invoice: VendorInvoice, offset_display: Sequence[str], delimiter: str
) -> list[Operation]:
    """Header + one vendor line per expense line of the invoice, for one changeset."""
    le = invoice.legal_entity.lower()
    number = invoice.journal_batch_number
    ops = [
        Operation(
            "POST",
            HEADER_ENTITY,
            {
                "dataAreaId": le,
                "JournalBatchNumber": number,
                "JournalName": invoice.journal_name,
                "Description": invoice_description(invoice),
            },
            odata_type="VendInvoiceJournalHeader",
        )
    ]
    expense = [line for line in invoice.lines if line.account_type == "Ledger"]
    vendor = vendor_display_value(invoice.vendor_account, delimiter)
    for number_in_journal, (line, display) in enumerate(
        zip(expense, offset_display, strict=True), start=1
    ):
        ops.append(
            Operation(
                "POST",
                LINE_ENTITY,
                {
                    "dataAreaId": le,
                    "JournalBatchNumber": number,
                    "LineNumber": number_in_journal,
                    # One voucher for the whole invoice: its lines belong together.
                    "Voucher": number,
                    "AccountType": "Vend",
                    "AccountDisplayValue": vendor,
                    # The expense is debited, so the vendor is credited by the same amount.
                    "Credit": line.debit,
                    "Debit": line.credit,
                    "Currency": invoice.currency,
                    "Date": fo_date(invoice.invoice_date),
                    "InvoiceDate": fo_date(invoice.invoice_date),
                    "Invoice": invoice.invoice_number,
                    "Description": line.text,
                    "OffsetAccountType": "Ledger",
                    "OffsetAccountDisplayValue": display,
                },
                odata_type="VendInvoiceJournalLine",
            )
        )
    return ops


@dataclass(frozen=True)
class PaymentResult:
    payment_uuid: str
    outcome: str
    journal_batch_number: str | None = None
    vendor_account: str | None = None
    reason: str | None = None
    fix: str | None = None

    @property
    def failed(self) -> bool:
        return self.outcome in outcomes.FAILURE_OUTCOMES


# ---- doing it ------------------------------------------------------------------------------


class PayablesSync:
    """Vendors for the contractors of a run, and one AP invoice journal per payment."""

    def __init__(
        self,
        mapping: Mapping,
        audit: AuditStore,
        client: ODataClient,
        reference: Callable[[], ReferenceData],
        *,
        dry_run: bool = False,
        document: Callable[[], AbstractContextManager[object]] = nullcontext,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.mapping = mapping
        self.audit = audit
        self.client = client
        self._reference = reference
        self.dry_run = dry_run
        # Each vendor or worker is one document for a stop signal (target_dynamics_fo.interrupt).
        self.document = document
        self.sleep = sleep or client.sleep
        self.summary = SyncSummary("vendors and contractor payments")
        self.results: list[PaymentResult] = []
        self._gaps: dict[str, list[str]] = {}
        self._vendors: dict[str, dict[str, dict[str, Any]]] = {}
        # (company, contractor) -> why the contractor has no vendor in this run
        self._vendor_failures: dict[tuple[str, str], str] = {}
        self._pending: list[dict[str, Any]] = []
        self._dry_run_vendors: set[tuple[str, str]] = set()

    # -- reference data -------------------------------------------------------------------

    def gaps_for(self, company: CompanyMapping) -> list[str]:
        """Everything vendors and AP invoices of this company need, checked before writing."""
        if company.company_uuid in self._gaps:
            return self._gaps[company.company_uuid]
        ref = self._reference()
        le = company.legal_entity.lower()
        settings = company.contractors
        gaps = list(ref.problems)
        entities = {
            str(r.get("LegalEntityId") or "").lower()
            for r in self.client.get_all(LEGAL_ENTITIES, select=["LegalEntityId"])
        }
        if le not in entities:
            gaps.append(
                f"legal entity {company.legal_entity!r} does not exist in Dynamics; fix "
                f"{company.key_path}.legal_entity"
            )
        else:
            groups = self.client.get_all(
                VENDOR_GROUPS,
                cross_company=True,
                filter=f"dataAreaId eq {odata_literal(le)}",
                select=["VendorGroupId"],
            )
            if settings.vendor_group.casefold() not in {
                str(g.get("VendorGroupId") or "").casefold() for g in groups
            }:
                known = ", ".join(sorted(str(g.get("VendorGroupId")) for g in groups)) or "none"
                gaps.append(
                    f"vendor group {settings.vendor_group!r} does not exist in {le} (groups "
                    f"there: {known}); create it under Accounts payable > Vendors > Vendor "
                    f"groups or fix {company.key_path}.contractors.vendor_group"
                )
            names = self.client.get_all(
                JOURNAL_NAMES,
                cross_company=True,
                filter=f"dataAreaId eq {odata_literal(le)}",
                select=["Name", "Type"],
            )
            found = next((n for n in names if n.get("Name") == settings.invoice_journal_name), None)
            if found is None:
                known = ", ".join(
                    sorted(
                        str(n.get("Name")) for n in names if n.get("Type") == INVOICE_JOURNAL_TYPE
                    )
                )
                gaps.append(
                    f"invoice journal name {settings.invoice_journal_name!r} does not exist in "
                    f"{le} (invoice journal names there: {known or 'none'}); create it under "
                    "Accounts payable > Setup > Journal names (type Invoice register) or fix "
                    f"{company.key_path}.contractors.invoice_journal_name"
                )
            elif found.get("Type") not in (None, INVOICE_JOURNAL_TYPE):
                gaps.append(
                    f"journal name {settings.invoice_journal_name!r} in {le} is of type "
                    f"{found.get('Type')!r}, not {INVOICE_JOURNAL_TYPE!r}; use an invoice "
                    f"register journal name in {company.key_path}.contractors.invoice_journal_name"
                )
        gaps.extend(
            main_account_gaps(
                ref,
                (settings.wage_account, settings.bonus_account, settings.reimbursement_account),
            )
        )
        gaps.extend(dimension_gaps(ref, company))
        self._gaps[company.company_uuid] = gaps
        if gaps:
            self.summary.gaps(
                f"vendors and AP invoices of company {company.company_uuid} ({le})", gaps, LOGGER
            )
        return gaps

    # -- vendors --------------------------------------------------------------------------

    def _vendors_of(self, legal_entity: str) -> dict[str, dict[str, Any]]:
        le = legal_entity.lower()
        if le not in self._vendors:
            rows = self.client.get_all(
                VENDORS,
                cross_company=True,
                filter=f"dataAreaId eq {odata_literal(le)}",
                select=list(VENDOR_FIELDS),
            )
            self._vendors[le] = {str(r.get("VendorAccountNumber")).casefold(): r for r in rows}
        return self._vendors[le]

    def _vendor_lookup(self, legal_entity: str, account: str) -> dict[str, Any] | None:
        le = legal_entity.lower()
        row = self.client.get_one(
            VENDORS, {"dataAreaId": le, "VendorAccountNumber": account}, cross_company=True
        )
        vendors = self._vendors_of(le)
        if row is None:
            vendors.pop(account.casefold(), None)
        else:
            vendors[account.casefold()] = row
        return row

    def remember_contractor(self, record: AbcMapping[str, Any]) -> None:
        """Keep the contractor for replay and queue its vendor for :meth:`sync_vendors`."""
        company_uuid = str(record.get("company_uuid") or "")
        self.audit.save_contractor(company_uuid, record)
        self._pending.append(dict(record))

    def sync_vendors(self) -> None:
        """Create or update the vendors of the contractors received so far."""
        pending, self._pending = self._pending, []
        for record in pending:
            with self.document():
                self.contractor(record)

    def contractor(self, record: AbcMapping[str, Any]) -> VendorPlan | None:
        """Create or update the contractor's vendor; never raises for bad data."""
        try:
            return self._contractor(record)
        except ODataError as exc:
            company_uuid = str(record.get("company_uuid") or "")
            uuid = str(record.get("uuid") or "")
            plan = VendorPlan(
                "fail",
                {},
                f"Dynamics could not be read or written: {exc.message}",
                "rerun once Dynamics answers (nothing is created twice)",
            )
            self._vendor_failed(company_uuid, uuid, "-", "", plan)
            return plan

    def _contractor(self, record: AbcMapping[str, Any]) -> VendorPlan | None:
        company_uuid = str(record.get("company_uuid") or "")
        uuid = str(record.get("uuid") or "")
        try:
            company = self.mapping.company(company_uuid)
        except MappingError as exc:
            self._warn(f"contractor {uuid} not synchronised to Dynamics: {exc}")
            return None
        self.audit.save_contractor(company_uuid, record)
        if self.gaps_for(company):
            self._vendor_failures[(company_uuid, uuid)] = "the reference data check failed"
            return None
        le = company.legal_entity.lower()
        try:
            account = vendor_account_for(record, company)
        except MappingError as exc:
            plan = VendorPlan("fail", {}, "; ".join(exc.problems), "fix the mapping, then rerun")
            self._vendor_failed(company_uuid, uuid, "-", le, plan)
            return plan
        plan = plan_vendor(record, company, account, self._vendors_of(le).get(account.casefold()))
        if plan.report:
            self._warn(plan.report)
        if plan.action == "fail":
            self._vendor_failed(company_uuid, uuid, account, le, plan)
            return plan
        if plan.action == "none":
            self.summary.bump("vendors unchanged")
            self.audit.record_people_decision(
                company_uuid, "vendor", uuid, account, le, "none", UNCHANGED, plan.detail
            )
            return plan
        if self.dry_run:
            # The dry run's invoices may name this vendor: it would exist by then.
            self._dry_run_vendors.add((le, account.casefold()))
            self.summary.bump(f"vendor {plan.action} (dry run)")
            self.audit.record_people_decision(
                company_uuid, "vendor", uuid, account, le, plan.action, DRY_RUN, plan.detail
            )
            return plan
        attempt = 0
        current = plan
        while current.action in ("create", "update"):
            attempt += 1
            try:
                if current.action == "create":
                    self.client.post(VENDORS, current.body)
                else:
                    self.client.patch(
                        VENDORS, {"dataAreaId": le, "VendorAccountNumber": account}, current.body
                    )
            except ODataError as exc:
                if not worth_another_look(self.client, exc, attempt, self.sleep):
                    failed = VendorPlan(
                        "fail",
                        {},
                        f"{plan.detail} failed: {exc.message}",
                        "correct the cause in Dynamics or the mapping, then rerun",
                    )
                    self._vendor_failed(company_uuid, uuid, account, le, failed)
                    return failed
                current = plan_vendor(record, company, account, self._vendor_lookup(le, account))
                continue
            self._vendor_lookup(le, account)
            break
        self.summary.bump(f"vendors {'created' if plan.action == 'create' else 'updated'}")
        self.audit.record_people_decision(
            company_uuid, "vendor", uuid, account, le, plan.action, DONE, plan.detail
        )
        LOGGER.info("%s (contractor %s)", plan.detail, uuid)
        return plan

    def _vendor_failed(
        self, company_uuid: str, uuid: str, account: str, le: str, plan: VendorPlan
    ) -> None:
        self._vendor_failures[(company_uuid, uuid)] = plan.detail
        self.audit.record_people_decision(
            company_uuid, "vendor", uuid, account, le, "none", FAILED, plan.detail, plan.fix
        )
        self.summary.fail(f"contractor {uuid} (vendor {account} in {le})", plan.detail, plan.fix)
        LOGGER.error("contractor %s: %s. Fix: %s", uuid, plan.detail, plan.fix)

    # -- payments -------------------------------------------------------------------------

    def payment(self, record: AbcMapping[str, Any]) -> PaymentResult:
        """Store the payment for replay, then post its invoice journal exactly once."""
        self.audit.store_payment(record)
        return self._run(record)

    def replay(self, payment_uuid: str) -> PaymentResult:
        record = self.audit.load_payment(payment_uuid)
        if record is None:
            raise LookupError(
                f"contractor payment {payment_uuid} is not in the audit store {self.audit.path}; "
                "run the pipeline for its company first (the store keeps every payment it "
                "received)."
            )
        return self._run(record)

    def _run(self, record: AbcMapping[str, Any]) -> PaymentResult:
        try:
            return self._run_payment(record)
        except ODataError as exc:
            return self._finish(
                record,
                outcomes.REFUSED,
                None,
                None,
                None,
                f"contractor payment {record.get('uuid')}: Dynamics could not be read or "
                f"written: {exc.message}",
                "nothing was posted; " + REPLAY_HINT.format(uuid=record.get("uuid")),
            )

    def _run_payment(self, record: AbcMapping[str, Any]) -> PaymentResult:
        payment_uuid = str(record.get("uuid") or "")
        company_uuid = str(record.get("company_uuid") or "")
        contractor_uuid = str(record.get("contractor_uuid") or "")
        label = (
            f"contractor payment {payment_uuid} ({record.get('date')}) to contractor "
            f"{contractor_uuid}"
        )
        hint = REPLAY_HINT.format(uuid=payment_uuid)
        try:
            company = self.mapping.company(company_uuid)
        except MappingError as exc:
            return self._finish(
                record,
                outcomes.REFUSED,
                None,
                None,
                None,
                f"{label}: {exc}",
                f"add the company to the mapping file, {hint}",
            )
        le = company.legal_entity.lower()
        gaps = self.gaps_for(company)
        if gaps:
            return self._finish(
                record,
                outcomes.REFUSED,
                le,
                None,
                None,
                f"{label}: Dynamics reference data does not cover the mapping: " + "; ".join(gaps),
                f"fix Dynamics or the mapping as listed, {hint}",
            )
        contractor = self.audit.contractor(company_uuid, contractor_uuid)
        try:
            account = vendor_account_for(contractor or {"uuid": contractor_uuid}, company)
        except MappingError as exc:
            return self._finish(
                record,
                outcomes.REFUSED,
                le,
                None,
                None,
                f"{label}: " + "; ".join(exc.problems),
                f"fix the mapping, {hint}",
            )
        who = _contractor_name(contractor)
        vendor_problem = self._vendor_failures.get((company_uuid, contractor_uuid))
        if (
            vendor_problem is None
            and (le, account.casefold()) not in self._dry_run_vendors
            and self._vendors_of(le).get(account.casefold()) is None
            and self._vendor_lookup(le, account) is None
        ):
            vendor_problem = (
                "the contractor is not in the contractors stream of this or an earlier run"
                if contractor is None
                else "the vendor was not created"
            )
        if vendor_problem is not None:
            return self._finish(
                record,
                outcomes.REFUSED,
                le,
                None,
                account,
                f"{label}{who} has no vendor {account} in {le} ({vendor_problem}); nothing was "
                "posted for this payment",
                "select the contractors stream (or link the contractor to an existing vendor "
                f"under {company.key_path}.contractors.links) and fix the vendor problem above, "
                f"{hint}",
            )
        try:
            invoice = build_vendor_invoice(record, contractor, company)
        except InvoiceError as exc:
            return self._finish(
                record,
                outcomes.REFUSED,
                le,
                None,
                account,
                f"{label}: " + "; ".join(exc.problems),
                f"correct the payment or the mapping as listed, {hint}",
            )
        if not invoice.amount:
            # An AP invoice of zero is an empty document to F&O: never create one.
            return self._finish(
                record,
                outcomes.SKIPPED,
                le,
                None,
                account,
                f"{label}{who}: nothing to post, the payment's amount is zero; no invoice was "
                "created",
            )
        ref = self._reference()
        fmt = DimensionFormat(ref.ledger_segments, ref.delimiter)
        expense = [line for line in invoice.lines if line.account_type == "Ledger"]
        try:
            display = [ledger_display_value(x.account, x.dimensions, fmt) for x in expense]
        except DimensionFormatError as exc:
            return self._finish(
                record,
                outcomes.REFUSED,
                le,
                invoice.journal_batch_number,
                account,
                f"{label}: {exc}",
                f"fix the dimension format or the mapping, {hint}",
            )
        lacking = structure_gaps(
            ref,
            company,
            ((x.line_number, x.account, x.dimensions, x.component) for x in expense),
            "invoice",
        )
        if lacking:
            return self._finish(
                record,
                outcomes.REFUSED,
                le,
                invoice.journal_batch_number,
                account,
                f"{label}: " + "; ".join(lacking),
                f"set the dimensions in the mapping as listed, {hint}",
            )
        for warning in invoice.warnings:
            self._warn(warning)
        self.audit.record_invoice(
            invoice.payment_uuid,
            invoice.company_uuid,
            invoice.contractor_uuid,
            le,
            invoice.journal_batch_number,
            invoice.vendor_account,
            invoice.invoice_number,
            invoice.invoice_date.isoformat(),
            invoice.content_hash,
            invoice.amount,
            [
                {
                    "line_number": line.line_number,
                    "offset_account": value,
                    "dimensions": dict(line.dimensions),
                    "expense": line.debit - line.credit,
                    "text": line.text,
                    "component": line.component,
                }
                for line, value in zip(expense, display, strict=True)
            ],
            self.dry_run,
        )
        if self.dry_run:
            return self._finish(
                record,
                outcomes.DRY_RUN,
                le,
                invoice.journal_batch_number,
                account,
                f"dry run: invoice {invoice.invoice_number} for {invoice.amount} to vendor "
                f"{account}; nothing posted",
            )
        ops = invoice_operations(invoice, display, ref.delimiter)
        return self._post(record, invoice, ops)

    def _post(
        self, record: AbcMapping[str, Any], invoice: VendorInvoice, ops: list[Operation]
    ) -> PaymentResult:
        le = invoice.legal_entity.lower()
        number = invoice.journal_batch_number
        hint = REPLAY_HINT.format(uuid=invoice.payment_uuid)

        def finish(
            outcome: str, reason: str | None = None, fix: str | None = None
        ) -> PaymentResult:
            return self._finish(record, outcome, le, number, invoice.vendor_account, reason, fix)

        sent = send_once(
            self.client,
            ops,
            number,
            lambda: self._find_header(le, number),
            self.sleep,
            ("target.invoice.batch.before", "target.invoice.batch.after"),
            "Invoice journal",
        )
        if sent.header is not None:
            return self._classify(invoice, sent.header, finish, just_sent=sent.just_sent)
        if isinstance(sent.error, WriteOutcomeUnknownError):
            return finish(
                outcomes.REFUSED,
                f"Dynamics did not confirm invoice journal {number} after {sent.attempts} "
                f"attempts and it is not there: {sent.error.message}",
                f"nothing was posted; {hint} once Dynamics is reachable",
            )
        if sent.error is not None:
            return finish(
                outcomes.REFUSED,
                f"Dynamics rejected invoice journal {number} for contractor payment "
                f"{invoice.payment_uuid}; nothing was saved: {sent.error.message}",
                _fix_for(sent.error.message, hint),
            )
        return finish(outcomes.POSTED)

    def _find_header(self, legal_entity: str, number: str) -> dict[str, Any] | None:
        rows = self.client.get_all(
            HEADER_ENTITY,
            cross_company=True,
            filter=(
                f"dataAreaId eq {odata_literal(legal_entity)} and "
                f"JournalBatchNumber eq {odata_literal(number)}"
            ),
            journal_number=number,
        )
        return rows[0] if rows else None

    @staticmethod
    def _classify(
        invoice: VendorInvoice,
        header: AbcMapping[str, Any],
        finish: Callable[..., PaymentResult],
        *,
        just_sent: bool,
    ) -> PaymentResult:
        number = invoice.journal_batch_number
        same, stored = stored_hash(header, invoice.content_hash)
        if same:
            if just_sent:
                return finish(outcomes.POSTED, "confirmed by lookup after a lost response")
            return finish(
                outcomes.ALREADY_POSTED,
                f"invoice journal {number} is already in Dynamics with the same content",
            )
        return finish(
            outcomes.CHANGED_AFTER_POSTING,
            f"contractor payment {invoice.payment_uuid} changed after it was posted: invoice "
            f"journal {number} holds content #{stored or 'unknown'}, the payment now hashes to "
            f"#{invoice.content_hash[:HASH_PREFIX_LENGTH]}. It was NOT posted again.",
            f"compare the payment in Gusto with invoice journal {number} in Dynamics and book "
            "the difference by hand (or reverse the invoice).",
        )

    def _finish(  # noqa: PLR0917
        self,
        record: AbcMapping[str, Any],
        outcome: str,
        legal_entity: str | None,
        number: str | None,
        vendor_account: str | None,
        reason: str | None = None,
        fix: str | None = None,
    ) -> PaymentResult:
        payment_uuid = str(record.get("uuid") or "")
        result = PaymentResult(payment_uuid, outcome, number, vendor_account, reason, fix)
        self.audit.record_payment_outcome(
            payment_uuid,
            outcome,
            str(record.get("company_uuid") or "") or None,
            str(record.get("contractor_uuid") or "") or None,
            legal_entity,
            number,
            vendor_account,
            reason,
            fix,
        )
        self.results.append(result)
        self.summary.bump(f"payments {outcome}")
        if result.failed:
            self.summary.fail(f"contractor payment {payment_uuid}", reason or outcome, fix or "")
            LOGGER.error("%s: %s Fix: %s", outcome.upper(), reason, fix)
        else:
            LOGGER.info(
                "contractor payment %s: %s (invoice journal %s)%s",
                payment_uuid,
                outcome,
                number or "-",
                f"; {reason}" if reason else "",
            )
        return result

    def unsettled(self, payment_uuid: str, why: str) -> None:
        """A payment an earlier run left without an outcome that cannot be settled now."""
        reason = (
            f"contractor payment {payment_uuid} was stored by an earlier run without a final "
            f"outcome and could not be settled now: {why}"
        )
        fix = outcomes.AWAITING_FIX.format(command="replay-payment", uuid=payment_uuid)
        self.summary.fail(f"contractor payment {payment_uuid}", reason, fix)
        LOGGER.error("NO OUTCOME: %s Fix: %s", reason, fix)

    def _warn(self, text: str) -> None:
        self.summary.warn(text, LOGGER)

    def finish(self) -> list[str]:
        return self.summary.log(LOGGER)


def _contractor_name(contractor: AbcMapping[str, Any] | None) -> str:
    if contractor is None:
        return ""
    name = contractor.get("business_name") or " ".join(
        str(p) for p in (contractor.get("first_name"), contractor.get("last_name")) if p
    )
    return f" ({name})" if name else ""


def _fix_for(message: str, hint: str) -> str:
    text = message.lower()
    if "number sequence" in text or "manual" in text:
        return (
            "allow manual journal batch numbers for the invoice journal (Organization "
            "administration > Number sequences: allow changes to a lower and a higher number), "
            + hint
        )
    if "vendor account" in text:
        return f"create or link the contractor's vendor, {hint}"
    if "dimension" in text or "ledger account" in text or "main account" in text:
        return f"check the contractor expense accounts and dimensions in Dynamics, {hint}"
    return f"correct the cause in Dynamics or the mapping, {hint}"
