"""Vendors for the contractors of a run: plan (``vendors``), then write through the master-data
reconcile-write engine (:mod:`target_dynamics_fo.masterdata`), which looks a vendor up again
after an unclear outcome instead of resending.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping as AbcMapping
from functools import cached_property
from typing import Any

from target_dynamics_fo.fo import (
    JOURNAL_NAMES,
    VENDOR_GROUPS,
    VENDORS,
    ODataError,
    dimension_gaps,
    main_account_gaps,
    odata_literal,
)
from target_dynamics_fo.mapping import CompanyMapping, MappingError
from target_dynamics_fo.masterdata import (
    DONE,
    DRY_RUN,
    FAILED,
    UNCHANGED,
    MasterDataSync,
    MasterRecord,
)
from target_dynamics_fo.payables.invoice import vendor_account_for
from target_dynamics_fo.payables.vendors import VENDOR_FIELDS, VendorPlan, plan_vendor

LOGGER = logging.getLogger("target_dynamics_fo.payables")

INVOICE_JOURNAL_TYPE = "VendInvoiceRegister"


class VendorSync(MasterDataSync[VendorPlan | None]):
    """The vendors of a run's contractors, and the reference data vendors and invoices need."""

    label = "vendors and contractor payments"
    logger = LOGGER

    # The run's own state beside MasterDataSync's, made on first use (no __init__ to repeat).
    @cached_property
    def _vendors(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {}

    @cached_property
    def _vendor_failures(self) -> dict[tuple[str, str], str]:
        """(company, contractor) -> why the contractor has no vendor in this run."""
        return {}

    @cached_property
    def _dry_run_vendors(self) -> set[tuple[str, str]]:
        return set()

    # -- reference data -------------------------------------------------------------------

    def gaps_for(self, company: CompanyMapping) -> list[str]:
        """Everything vendors and AP invoices of this company need, checked before writing."""
        if company.company_uuid in self._gaps:
            return self._gaps[company.company_uuid]
        ref = self._reference()
        le = company.legal_entity.lower()
        settings = company.contractors
        gaps = list(ref.problems)
        missing = self.legal_entity_gaps(company)
        gaps.extend(missing)
        if not missing:
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
        self.remember(record)

    def sync_vendors(self) -> None:
        """Create or update the vendors of the contractors received so far."""
        self.sync_pending()

    def contractor(self, record: AbcMapping[str, Any]) -> VendorPlan | None:
        """Create or update the contractor's vendor; never raises for bad data."""
        return self.sync_record(record)

    def unreadable(self, record: AbcMapping[str, Any], error: ODataError) -> VendorPlan:
        plan = VendorPlan(
            "fail",
            {},
            f"Dynamics could not be read or written: {error.message}",
            "rerun once Dynamics answers (nothing is created twice)",
        )
        company_uuid = str(record.get("company_uuid") or "")
        self._vendor_failed(company_uuid, str(record.get("uuid") or ""), "-", "", plan)
        return plan

    def bring_in_line(self, record: AbcMapping[str, Any]) -> VendorPlan | None:
        company_uuid = str(record.get("company_uuid") or "")
        uuid = str(record.get("uuid") or "")
        company = self.company_of(record, f"contractor {uuid}")
        if company is None:
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
        key = {"dataAreaId": le, "VendorAccountNumber": account}
        done = self.reconcile(
            MasterRecord(
                key=f"vendor {account} in {le}",
                current=lambda: self._vendors_of(le).get(account.casefold()),
                look_up=lambda: self._vendor_lookup(le, account),
                plan=lambda existing: plan_vendor(record, company, account, existing),
                has_writes=lambda plan: plan.action in ("create", "update"),
                write=lambda plan: self._write_vendor(plan, key),
            )
        )
        plan = done.first
        if plan.report:
            self.warn(plan.report)
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
        if done.failure is not None:
            failed = VendorPlan(
                "fail",
                {},
                f"{plan.detail} failed: {done.failure.error.message}",
                "correct the cause in Dynamics or the mapping, then rerun",
            )
            self._vendor_failed(company_uuid, uuid, account, le, failed)
            return failed
        if done.written:
            self._vendor_lookup(le, account)
        self.summary.bump(f"vendors {'created' if plan.action == 'create' else 'updated'}")
        self.audit.record_people_decision(
            company_uuid, "vendor", uuid, account, le, plan.action, DONE, plan.detail
        )
        LOGGER.info("%s (contractor %s)", plan.detail, uuid)
        return plan

    def _write_vendor(self, plan: VendorPlan, key: AbcMapping[str, Any]) -> None:
        if plan.action == "create":
            self.client.post(VENDORS, plan.body)
        else:
            self.client.patch(VENDORS, key, plan.body)

    def _vendor_failed(
        self, company_uuid: str, uuid: str, account: str, le: str, plan: VendorPlan
    ) -> None:
        self._vendor_failures[(company_uuid, uuid)] = plan.detail
        self.audit.record_people_decision(
            company_uuid, "vendor", uuid, account, le, "none", FAILED, plan.detail, plan.fix
        )
        self.summary.fail(f"contractor {uuid} (vendor {account} in {le})", plan.detail, plan.fix)
        LOGGER.error("contractor %s: %s. Fix: %s", uuid, plan.detail, plan.fix)
