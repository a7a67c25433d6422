"""Vendors for the contractors of a run: plan (``vendors``), then write, then look up again.

Kept as it was when payables was one module; the lead moves vendors onto the master-data
reconcile-write engine (``target_dynamics_fo.masterdata``) when the branches meet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Mapping as AbcMapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from target_dynamics_fo.audit import AuditStore
from target_dynamics_fo.fo import (
    JOURNAL_NAMES,
    LEGAL_ENTITIES,
    VENDOR_GROUPS,
    VENDORS,
    ODataClient,
    ODataError,
    ReferenceData,
    dimension_gaps,
    main_account_gaps,
    odata_literal,
)
from target_dynamics_fo.mapping import CompanyMapping, Mapping, MappingError
from target_dynamics_fo.payables.invoice import vendor_account_for
from target_dynamics_fo.payables.vendors import VENDOR_FIELDS, VendorPlan, plan_vendor
from target_dynamics_fo.posting import worth_another_look
from target_dynamics_fo.workers import DONE, DRY_RUN, FAILED, UNCHANGED, SyncSummary

LOGGER = logging.getLogger("target_dynamics_fo.payables")

INVOICE_JOURNAL_TYPE = "VendInvoiceRegister"


class VendorSync:
    """The vendors of a run's contractors, and the reference data vendors and invoices need."""

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

    def _warn(self, text: str) -> None:
        self.summary.warn(text, LOGGER)
