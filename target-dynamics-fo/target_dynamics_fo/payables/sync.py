"""Contractor payments -> AP vendor invoice journals in Dynamics, each exactly once.

Each payment posts the way payroll journals do, through the one exactly-once engine
(:mod:`target_dynamics_fo.posting`): the journal batch number is derived from (company,
payment), the payment's content hash ends the header Description, Dynamics is asked first,
header and lines go in ONE ``$batch`` changeset, and a lost answer or "record already exists"
is followed by a look-up, never a blind resend. The payment's vendor is synchronised first
(:class:`~target_dynamics_fo.payables.vendor_sync.VendorSync`).
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from functools import cached_property
from typing import Any

from target_dynamics_fo import audit as outcomes
from target_dynamics_fo.fo import ODataError, Operation
from target_dynamics_fo.ledger import DimensionFormatError
from target_dynamics_fo.mapping import MappingError
from target_dynamics_fo.payables.invoice import (
    InvoiceError,
    VendorInvoice,
    build_vendor_invoice,
    vendor_account_for,
)
from target_dynamics_fo.payables.invoice_journal import (
    HEADER_ENTITY,
    INVOICE_FAULTS,
    REPLAY_HINT,
    RULES,
    invoice_operations,
)
from target_dynamics_fo.payables.vendor_sync import LOGGER, VendorSync
from target_dynamics_fo.posting import Document, ExactlyOnce, PostResult, PrePostCheck, Refusal


class PayablesSync(VendorSync):
    """Vendors for the contractors of a run, and one AP invoice journal per payment."""

    @cached_property
    def results(self) -> list[PostResult]:
        """The outcome of every payment of the run, in order."""
        return []

    @cached_property
    def engine(self) -> ExactlyOnce:
        return ExactlyOnce(self.client, self._file, INVOICE_FAULTS)

    def payment(self, record: AbcMapping[str, Any]) -> PostResult:
        """Store the payment for replay, then post its invoice journal exactly once."""
        self.audit.store_payment(record)
        return self._run(record)

    def replay(self, payment_uuid: str) -> PostResult:
        record = self.audit.load_payment(payment_uuid)
        if record is None:
            raise self.audit.not_stored(f"contractor payment {payment_uuid}", "payment")
        return self._run(record)

    def _run(self, record: AbcMapping[str, Any]) -> PostResult:
        try:
            return self._run_payment(record)
        except ODataError as exc:
            return self._refuse(
                record,
                Refusal(
                    f"contractor payment {record.get('uuid')}: Dynamics could not be read or "
                    f"written: {exc.message}",
                    "nothing was posted; " + REPLAY_HINT.format(uuid=record.get("uuid")),
                ),
            )

    def _run_payment(self, record: AbcMapping[str, Any]) -> PostResult:
        payment_uuid = str(record.get("uuid") or "")
        company_uuid = str(record.get("company_uuid") or "")
        contractor_uuid = str(record.get("contractor_uuid") or "")
        label = (
            f"contractor payment {payment_uuid} ({record.get('date')}) to contractor "
            f"{contractor_uuid}"
        )
        hint = REPLAY_HINT.format(uuid=payment_uuid)
        check = PrePostCheck(label, hint)
        try:
            company = self.mapping.company(company_uuid)
        except MappingError as exc:
            return self._refuse(
                record, Refusal(f"{label}: {exc}", f"add the company to the mapping file, {hint}")
            )
        le = company.legal_entity.lower()
        refusal = check.reference_gaps(self.gaps_for(company))
        if refusal is not None:
            return self._refuse(record, refusal, le=le)
        contractor = self.audit.contractor(company_uuid, contractor_uuid)
        try:
            account = vendor_account_for(contractor or {"uuid": contractor_uuid}, company)
        except MappingError as exc:
            return self._refuse(
                record,
                Refusal(f"{label}: " + "; ".join(exc.problems), f"fix the mapping, {hint}"),
                le=le,
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
            return self._refuse(
                record,
                Refusal(
                    f"{label}{who} has no vendor {account} in {le} ({vendor_problem}); nothing "
                    "was posted for this payment",
                    "select the contractors stream (or link the contractor to an existing "
                    f"vendor under {company.key_path}.contractors.links) and fix the vendor "
                    f"problem above, {hint}",
                ),
                le=le,
                account=account,
            )
        try:
            invoice = build_vendor_invoice(record, contractor, company)
        except InvoiceError as exc:
            return self._refuse(
                record,
                check.not_built(exc.problems, "the payment or the mapping"),
                le=le,
                account=account,
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
        expense = [line for line in invoice.lines if line.account_type == "Ledger"]
        display = check.display_values(
            ref,
            company,
            [(x.line_number, x.account, x.dimensions, x.component) for x in expense],
            "invoice",
        )
        ops: list[Operation] = []
        if not isinstance(display, Refusal):
            try:
                # The vendor account is escaped like a ledger account, and refused alike.
                ops = invoice_operations(invoice, display, ref.delimiter)
            except DimensionFormatError as exc:
                display = check.bad_format(exc)
        if isinstance(display, Refusal):
            return self._refuse(
                record, display, le=le, number=invoice.journal_batch_number, account=account
            )
        for warning in invoice.warnings:
            self.warn(warning)
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
        return self._post(record, invoice, ops)

    def _post(
        self, record: AbcMapping[str, Any], invoice: VendorInvoice, ops: list[Operation]
    ) -> PostResult:
        document = Document(
            kind=outcomes.KIND_AP_INVOICE,
            document_uuid=invoice.payment_uuid,
            header_entity=HEADER_ENTITY,
            legal_entity=invoice.legal_entity.lower(),
            number=invoice.journal_batch_number,
            content_hash=invoice.content_hash,
            company_uuid=_opt(record.get("company_uuid")),
            contractor_uuid=_opt(record.get("contractor_uuid")),
            vendor_account=invoice.vendor_account,
        )
        return self.engine.post(document, ops, RULES)

    def _refuse(
        self,
        record: AbcMapping[str, Any],
        refusal: Refusal,
        *,
        le: str | None = None,
        number: str | None = None,
        account: str | None = None,
    ) -> PostResult:
        return self._finish(
            record, outcomes.REFUSED, le, number, account, refusal.reason, refusal.fix
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
    ) -> PostResult:
        """File an outcome decided before anything was sent."""
        return self.engine.file(
            PostResult(
                str(record.get("uuid") or ""),
                outcome,
                number,
                legal_entity,
                reason,
                fix,
                kind=outcomes.KIND_AP_INVOICE,
                company_uuid=_opt(record.get("company_uuid")),
                contractor_uuid=_opt(record.get("contractor_uuid")),
                vendor_account=vendor_account,
            )
        )

    def _file(self, result: PostResult) -> None:
        """Record a payment's outcome, count it, log it (the engine's record hook)."""
        payment_uuid, outcome, reason, fix = (
            result.document_uuid,
            result.outcome,
            result.reason,
            result.fix,
        )
        self.audit.record_document_outcome(result.kind, payment_uuid, outcome, **result.columns())
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
                result.journal_batch_number or "-",
                f"; {reason}" if reason else "",
            )

    def unsettled(self, payment_uuid: str, why: str) -> None:
        """A payment an earlier run left without an outcome that cannot be settled now."""
        reason = (
            f"contractor payment {payment_uuid} was stored by an earlier run without a final "
            f"outcome and could not be settled now: {why}"
        )
        fix = outcomes.AWAITING_FIX.format(command="replay-payment", uuid=payment_uuid)
        self.summary.fail(f"contractor payment {payment_uuid}", reason, fix)
        LOGGER.error("NO OUTCOME: %s Fix: %s", reason, fix)


def _contractor_name(contractor: AbcMapping[str, Any] | None) -> str:
    if contractor is None:
        return ""
    name = contractor.get("business_name") or " ".join(
        str(p) for p in (contractor.get("first_name"), contractor.get("last_name")) if p
    )
    return f" ({name})" if name else ""


def _opt(value: Any) -> str | None:
    return str(value or "") or None
