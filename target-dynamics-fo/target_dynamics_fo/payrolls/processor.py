"""One payroll record -> checked journal -> Dynamics (or the dry-run CSV), with its outcome.

Shared by the Singer sinks and the ``replay`` command so both take exactly the same path.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from datetime import date
from typing import Any

from target_dynamics_fo import audit as outcomes
from target_dynamics_fo.fo import (
    department_gap,
    location_gap,
)
from target_dynamics_fo.gcpause import paused_gc
from target_dynamics_fo.ledger import (
    EmployeeRef,
    JournalError,
    build_journal,
    journal_batch_number,
    payroll_content_hash,
)
from target_dynamics_fo.mapping import CompanyMapping, MappingError
from target_dynamics_fo.payrolls.base import (
    REPLAY_HINT,
    Original,
    employee_ref,
    ref_dict,
    ref_from_dict,
)
from target_dynamics_fo.payrolls.correcting import CorrectingProcessor
from target_dynamics_fo.payrolls.corrector import (
    cancellation_template,
)
from target_dynamics_fo.payrolls.journals import KnownJournal
from target_dynamics_fo.payrolls.split import StoredCompensations, fetch_id_of
from target_dynamics_fo.posting import PostResult, PrePostCheck, Refusal, stored_hash


class PayrollProcessor(CorrectingProcessor):
    """Builds, checks and posts each payroll's journal, or corrects the one that stands."""

    # -- people and reference records -----------------------------------------------------

    def remember_employee(self, record: AbcMapping[str, Any]) -> None:
        company_uuid = str(record.get("company_uuid") or "")
        ref = employee_ref(record)
        # The store is the company's list; it is read into memory only for a whole-shape
        # payroll (_refs_for), so the employees stream alone holds no reference per employee.
        known = self._refs.get(company_uuid)
        if known is not None:
            known[ref.uuid] = ref
        self.audit.save_employee_ref(company_uuid, ref.uuid, ref_dict(ref))

    def _company_refs(self, company_uuid: str) -> dict[str, EmployeeRef]:
        if company_uuid not in self._refs:
            stored = self.audit.employee_refs(company_uuid)
            self._refs[company_uuid] = {k: ref_from_dict(v) for k, v in stored.items()}
        return self._refs[company_uuid]

    def check_department(self, record: AbcMapping[str, Any]) -> None:
        company = self._company_or_warn(record)
        if company is not None:
            self._warn(department_gap(company, dict(record)))

    def check_location(self, record: AbcMapping[str, Any]) -> None:
        company = self._company_or_warn(record)
        if company is not None:
            self._warn(location_gap(company, dict(record)))

    def _company_or_warn(self, record: AbcMapping[str, Any]) -> CompanyMapping | None:
        company_uuid = str(record.get("company_uuid") or "")
        try:
            return self.mapping.company(company_uuid)
        except MappingError as exc:
            self._warn(str(exc))
            return None

    # -- payrolls -------------------------------------------------------------------------

    def process(self, record: AbcMapping[str, Any]) -> PostResult:
        """Build, check and post (or write) the journal of a record the sink has stored."""
        payroll_uuid = str(record.get("payroll_uuid"))
        if fetch_id_of(record) is not None:
            # Split shape: the rows are in the store; nothing per employee is held here.
            try:
                return self._run(record, {}, StoredCompensations(self.audit, record, pin=True))
            finally:
                self.audit.drop_older_reads(payroll_uuid)
        with paused_gc():
            refs = self._refs_for(record, None)
            self.audit.set_payroll_employee_refs(payroll_uuid, [ref_dict(r) for r in refs.values()])
            return self._run(record, refs)

    def replay(self, payroll_uuid: str) -> PostResult:
        stored = self.audit.load_payroll(payroll_uuid)
        if stored is None:
            raise self.audit.not_stored(f"payroll {payroll_uuid}", "payroll")
        if fetch_id_of(stored.record) is not None:
            return self._run(
                stored.record, {}, StoredCompensations(self.audit, stored.record, pin=False)
            )
        used = {r["uuid"]: ref_from_dict(r) for r in stored.employee_refs or []}
        refs = self._refs_for(stored.record, used)
        return self._run(stored.record, refs)

    def _refs_for(
        self, record: AbcMapping[str, Any], used: dict[str, EmployeeRef] | None
    ) -> dict[str, EmployeeRef]:
        known = self._company_refs(str(record.get("company_uuid") or ""))
        refs: dict[str, EmployeeRef] = {}
        for comp in record.get("employee_compensations") or []:
            if not isinstance(comp, AbcMapping):
                continue
            euuid = str(comp.get("employee_uuid"))
            # A replay uses the references the payroll was first built with; the latest known
            # ones fill in employees that were missing then.
            ref = (used or {}).get(euuid) or known.get(euuid)
            if ref is not None:
                refs[euuid] = ref
        return refs

    def _content_hash(self, record: AbcMapping[str, Any]) -> str:
        """payroll_content_hash of the record _run is on, computed once per run of it."""
        if self._hashed is None or self._hashed[0] is not record:
            source = self._compensations
            digest = payroll_content_hash(record) if source is None else source.content_hash()
            self._hashed = (record, digest)
        return self._hashed[1]

    def _run(
        self,
        record: AbcMapping[str, Any],
        refs: dict[str, EmployeeRef],
        compensations: StoredCompensations | None = None,
    ) -> PostResult:
        self._compensations = compensations
        try:
            return self._run_once(record, refs)
        finally:
            # Never reused for a later call: the same record object may come back changed.
            self._hashed = None
            self._compensations = None

    def _run_once(self, record: AbcMapping[str, Any], refs: dict[str, EmployeeRef]) -> PostResult:
        payroll_uuid = str(record.get("payroll_uuid") or record.get("uuid") or "")
        company_uuid = str(record.get("company_uuid") or "")
        label = f"payroll {payroll_uuid} (check date {record.get('check_date')})"
        hint = REPLAY_HINT.format(uuid=payroll_uuid)
        if record.get("processed") is not True:
            cancelled = self._cancellation(record, payroll_uuid, company_uuid, label)
            if cancelled is not None:
                return cancelled
            return self._record(
                PostResult(
                    payroll_uuid,
                    outcomes.SKIPPED,
                    reason=f"{label} is not processed in Gusto; unprocessed payrolls are never "
                    "posted",
                ),
                company_uuid,
            )
        try:
            company: CompanyMapping | None = self.mapping.company(company_uuid)
        except MappingError as exc:
            company, company_problem = None, exc
        looked_up = False
        original: Original | None = None
        if not self.dry_run:
            # Exactly-once first: a payroll already in Dynamics is already posted whatever the
            # mapping says now (a department renamed or unmapped since), never refused.
            found, looked_up, original = self._posted_before(
                record, payroll_uuid, company_uuid, company
            )
            if found is not None:
                self._log(found)
                self.summary.results.append(found)
                return found
        if company is None:
            return self._refuse(
                payroll_uuid,
                company_uuid,
                None,
                f"{label}: {company_problem}",
                f"add the company to the mapping file, {hint}",
            )
        if not isinstance(record.get("totals"), AbcMapping):
            # The builder can balance a journal without them, but only Gusto's own totals prove
            # that the employee lines read are the whole payroll; never post unchecked.
            return self._refuse(
                payroll_uuid,
                company_uuid,
                company.legal_entity,
                f"{label} carries no totals object, so its journal cannot be checked against "
                "Gusto's own payroll totals",
                f"resend the payroll as Gusto returns it with include=totals (as tap-gusto "
                f"does), {hint}",
            )
        check = PrePostCheck(label, hint)
        refusal = check.reference_gaps(self.gaps_for(company))
        if refusal is not None:
            return self._refuse(
                payroll_uuid, company_uuid, company.legal_entity, refusal.reason, refusal.fix
            )
        try:
            journal = build_journal(
                record, refs, company, self._content_hash(record), self._compensations
            )
        except (JournalError, MappingError) as exc:
            problems = getattr(exc, "problems", [str(exc)])
            refusal = check.not_built(problems, "the mapping or the payroll")
            return self._refuse(
                payroll_uuid, company_uuid, company.legal_entity, refusal.reason, refusal.fix
            )
        if not any(line.debit or line.credit for line in journal.lines):
            if original is not None:
                # Skipping would leave the old journal standing unnoticed; a repost with no
                # lines is a header F&O's posting job stops on.
                return self._refuse(
                    payroll_uuid,
                    company_uuid,
                    original.legal_entity,
                    f"{label} was amended in Gusto to all zero amounts after journal "
                    f"{original.number} was posted; it is not corrected automatically",
                    f"reverse journal {original.number} in Dynamics by hand, or cancel the "
                    "payroll in Gusto (a cancelled payroll is reversed)",
                )
            # F&O's Post journals job stops on a header without lines: never create one.
            return self._record(
                PostResult(
                    payroll_uuid,
                    outcomes.SKIPPED,
                    reason=f"{label}: nothing to post, every amount of the payroll is zero; "
                    "no journal was created",
                ),
                company_uuid,
            )
        keys = [(x.line_number, x.main_account, x.dimensions, x.component) for x in journal.lines]
        display = check.display_values(self.reference, company, keys, "journal")
        if isinstance(display, Refusal):
            return self._refuse(
                payroll_uuid, company_uuid, company.legal_entity, display.reason, display.fix
            )
        for warning in journal.warnings:
            self._warn(warning)
        self._audit_journal(journal, display)
        if self.dry_run:
            self._write_csv(journal, display)
            result = PostResult(
                payroll_uuid,
                outcomes.DRY_RUN,
                journal.journal_batch_number,
                journal.legal_entity,
                reason=f"dry run: {len(journal.lines)} lines, debit {journal.total_debit}, "
                f"credit {journal.total_credit}; nothing posted",
            )
            return self._record(result, company_uuid)
        if original is not None:
            # Checked like any journal above; what stands in Dynamics is corrected to it.
            return self._correct(original, company, journal, journal, label, hint)
        result = self.poster.post(
            journal, display, journal.trans_date.isoformat(), looked_up=looked_up
        )
        self._log(result)
        self.summary.results.append(result)
        return result

    def _posted_before(
        self,
        record: AbcMapping[str, Any],
        payroll_uuid: str,
        company_uuid: str,
        company: CompanyMapping | None,
    ) -> tuple[PostResult | None, bool, Original | None]:
        """(outcome if the journal is already in Dynamics, whether the current key was looked up,
        the journal found when its content differs and the company's mapping corrects it).

        The journal is looked for under the number the current mapping gives it and under every
        number an earlier run recorded for it (the company may be unmapped, or its prefix or
        legal entity changed, since it was posted).
        """
        keys: list[tuple[str, str]] = []
        if company is not None:
            keys.append(
                (
                    company.legal_entity,
                    # Numbered as build_journal numbers it, so both always agree.
                    journal_batch_number(
                        company.journal_number_prefix, company.company_uuid, payroll_uuid
                    ),
                )
            )
        for legal_entity, number in self.audit.journal_targets(payroll_uuid):
            if (legal_entity.lower(), number) not in {(le.lower(), n) for le, n in keys}:
                keys.append((legal_entity, number))
        if not keys:
            return None, False, None
        content_hash = self._content_hash(record)
        for legal_entity, number in keys:
            header = self.poster.find_header(legal_entity, number)
            if header is None:
                continue
            same, _ = stored_hash(header, content_hash)
            # Content equal to the original is not enough once a correction followed it (a
            # cancelled payroll processed again, an amendment undone): the chain decides.
            if (
                company is not None
                and company.corrections != "report"
                and (not same or self.corrector.corrected(company, payroll_uuid, legal_entity))
            ):
                return None, True, Original(legal_entity, number, header)
            known = KnownJournal(payroll_uuid, company_uuid, legal_entity, number, content_hash)
            found = self.poster.classify(known, header, just_sent=False)
            if found.outcome == outcomes.ALREADY_POSTED:
                # F&O holds what Gusto has now: a correction staged earlier is moot.
                self.audit.correction_posted(payroll_uuid, content_hash)
            return found, True, None
        return None, company is not None, None

    def _cancellation(
        self, record: AbcMapping[str, Any], payroll_uuid: str, company_uuid: str, label: str
    ) -> PostResult | None:
        """The reversal of a payroll posted before and no longer processed (cancelled), if any.

        Looked up only for a payroll an earlier run posted or one marked ``cancelled``, so an
        upcoming unprocessed payroll costs no request.
        """
        if self.dry_run or not (
            record.get("cancelled") is True or self.audit.journal_targets(payroll_uuid)
        ):
            return None
        try:
            company = self.mapping.company(company_uuid)
        except MappingError:
            return None
        found, _, original = self._posted_before(record, payroll_uuid, company_uuid, company)
        if found is not None or original is None:
            # Never posted (nothing to reverse), or corrections are only reported.
            return found if found is not None and found.failed else None
        hint = REPLAY_HINT.format(uuid=payroll_uuid)
        try:
            check_date = date.fromisoformat(str(record.get("check_date") or "")[:10])
        except ValueError:
            return self._refuse(
                payroll_uuid,
                company_uuid,
                original.legal_entity,
                f"{label} was cancelled in Gusto after journal {original.number} was posted, "
                "but its check_date is not a date, so the reversal cannot be dated",
                f"fix the source record, {hint}",
            )
        template = cancellation_template(company, payroll_uuid, original.legal_entity, check_date)
        return self._correct(original, company, template, None, label, hint)
