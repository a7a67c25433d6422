"""One payroll record -> checked journal -> Dynamics (or the dry-run CSV), with its outcome.

Shared by the Singer sinks and the ``replay`` command so both take exactly the same path.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from gd_vault.private import private_file

from target_dynamics_fo import audit as outcomes
from target_dynamics_fo.audit import AuditStore
from target_dynamics_fo.correction import (
    CorrectionPolicy,
    cancelled_state_hash,
    first_open_day,
    plan_difference,
    plan_digest,
)
from target_dynamics_fo.corrector import (
    Chain,
    Correction,
    CorrectionError,
    Corrector,
    cancellation_template,
)
from target_dynamics_fo.faults import hit
from target_dynamics_fo.fo import (
    FISCAL_PERIODS,
    ODataClient,
    ODataError,
    ReferenceData,
    company_gaps,
    department_gap,
    load_reference,
    location_gap,
    odata_literal,
    structure_gaps,
)
from target_dynamics_fo.gcpause import paused_gc
from target_dynamics_fo.ledger import (
    DimensionFormat,
    DimensionFormatError,
    EmployeeRef,
    Journal,
    JournalError,
    build_journal,
    journal_batch_number,
    ledger_display_value,
    payroll_content_hash,
)
from target_dynamics_fo.mapping import CompanyMapping, Mapping, MappingError
from target_dynamics_fo.posting import (
    JournalPoster,
    KnownJournal,
    PostResult,
    header_description,
    stored_hash,
)

LOGGER = logging.getLogger("target_dynamics_fo")

CSV_COLUMNS = (
    "company_uuid",
    "payroll_uuid",
    "legal_entity",
    "journal_name",
    "journal_batch_number",
    "description",
    "trans_date",
    "line_number",
    "account_display_value",
    "main_account",
    "dimensions",
    "debit",
    "credit",
    "currency",
    "text",
    "component",
)


def employee_ref(record: AbcMapping[str, Any]) -> EmployeeRef:
    """Department and work location of a Gusto employee (primary job's location)."""
    jobs = [j for j in record.get("jobs") or [] if isinstance(j, AbcMapping)]
    primary = next((j for j in jobs if j.get("primary") is True), jobs[0] if jobs else None)
    location = primary.get("location_uuid") if primary else None
    return EmployeeRef(
        uuid=str(record.get("uuid")),
        department_uuid=_opt(record.get("department_uuid")),
        department_title=_opt(record.get("department")),
        location_uuid=_opt(location),
    )


def _opt(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _ref_dict(ref: EmployeeRef) -> dict[str, Any]:
    return {
        "uuid": ref.uuid,
        "department_uuid": ref.department_uuid,
        "department_title": ref.department_title,
        "location_uuid": ref.location_uuid,
    }


def _ref_from_dict(data: AbcMapping[str, Any]) -> EmployeeRef:
    return EmployeeRef(
        uuid=str(data["uuid"]),
        department_uuid=data.get("department_uuid"),
        department_title=data.get("department_title"),
        location_uuid=data.get("location_uuid"),
    )


# Where the target reads a legal entity's fiscal periods and their status (correction_date:
# first_open_day). The reference notes (dynamics-fo.md) name no period-status entity, only that
# posting needs an open fiscal period: this name is the sandbox's; on a real environment it must
# be exposed under it (or use correction_date: check_date). Status "Open" is the only one
# accepted; any other ("OnHold", "Closed") refuses postings.
FISCAL_PERIOD_ENTITY = FISCAL_PERIODS
APPROVE_FIX = (
    "review it with `target-dynamics-fo-audit corrections`, then approve it with "
    "`target-dynamics-fo-audit corrections approve {uuid}` (posted by the next run, or at once "
    "with --config <target config>); or set corrections_approval: automatic"
)

REPLAY_HINT = "then replay it: target-dynamics-fo-audit replay {uuid} --config <target config>"


@dataclass
class RunSummary:
    results: list[PostResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Payrolls an earlier run stored without a final outcome, settled at this run's start.
    resumed: list[PostResult] = field(default_factory=list)

    def unsettled(self, payroll_uuid: str, why: str) -> PostResult:
        """A payroll an earlier run left without an outcome that cannot be settled now."""
        result = PostResult(
            payroll_uuid,
            outcomes.AWAITING,
            reason=f"payroll {payroll_uuid} was stored by an earlier run without a final "
            f"outcome and could not be settled now: {why}",
            fix=outcomes.AWAITING_FIX.format(command="replay", uuid=payroll_uuid),
        )
        LOGGER.error("NO OUTCOME: %s Fix: %s", result.reason, result.fix)
        self.results.append(result)
        return result

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def failures(self) -> list[PostResult]:
        return [r for r in self.results if r.failed]

    def lines(self) -> list[str]:
        out = [
            f"payrolls: {self.count(outcomes.POSTED)} posted, "
            f"{self.count(outcomes.ALREADY_POSTED)} already posted, "
            f"{self.count(outcomes.CORRECTED)} corrected, "
            f"{self.count(outcomes.CORRECTION_STAGED)} correction(s) staged for approval, "
            f"{self.count(outcomes.DRY_RUN)} validated (dry run), "
            f"{self.count(outcomes.SKIPPED)} skipped (not processed), "
            f"{self.count(outcomes.REFUSED)} refused, "
            f"{self.count(outcomes.CHANGED_AFTER_POSTING)} changed after posting, "
            f"{self.count(outcomes.AWAITING)} left without an outcome"
        ]
        if self.resumed:
            settled = Counter(r.outcome for r in self.resumed)
            out.append(
                f"  {len(self.resumed)} of them stored by an earlier run without an outcome, "
                "settled at start: " + ", ".join(f"{n} {o}" for o, n in sorted(settled.items()))
            )
        for result in self.results:
            if result.outcome == outcomes.CORRECTION_STAGED:
                out.append(f"  CORRECTION STAGED payroll {result.payroll_uuid}: {result.reason}")
                out.append(f"    fix: {result.fix}")
        for result in self.failures:
            out.append(
                f"  {result.outcome.upper()} payroll {result.payroll_uuid} "
                f"(journal {result.journal_batch_number or '-'}): {result.reason}"
            )
            if result.fix:
                out.append(f"    fix: {result.fix}")
        return out


@dataclass(frozen=True)
class Original:
    """A payroll's journal found in Dynamics with other content than the payroll has now."""

    legal_entity: str
    number: str
    header: dict[str, Any]


class PayrollProcessor:
    def __init__(
        self,
        mapping: Mapping,
        audit: AuditStore,
        client: ODataClient,
        *,
        dry_run: bool = False,
        dry_run_output: str | Path | None = None,
        corrections: CorrectionPolicy | None = None,
    ) -> None:
        self.mapping = mapping
        # Default manual: no correction moves money before a person approved it.
        self.corrections = corrections or CorrectionPolicy()
        self.audit = audit
        self.client = client
        self.poster = JournalPoster(client, audit)
        self.corrector = Corrector(self.poster, audit, self._audit_journal)
        self.dry_run = dry_run
        self.summary = RunSummary()
        self._reference: ReferenceData | None = None
        self._gaps: dict[str, list[str]] = {}
        self._refs: dict[str, dict[str, EmployeeRef]] = {}
        self._warned: set[str] = set()
        # (record, its content hash) of the payroll _run is on: the lookup and the builder both
        # need it, and it is the largest single cost of a big payroll.
        self._hashed: tuple[AbcMapping[str, Any], str] | None = None
        self._csv_path: Path | None = None
        self._dry_dir: Path | None = None
        if dry_run:
            self._dry_dir = Path(dry_run_output or "output/dry-run")
            self._csv_path = private_file(self._dry_dir / "journals.csv")
            with self._csv_path.open("w", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerow(CSV_COLUMNS)

    # -- reference data -------------------------------------------------------------------

    @property
    def reference(self) -> ReferenceData:
        if self._reference is None:
            entities = {c.legal_entity for c in self.mapping.companies.values()}
            hit("target.reference.before")
            self._reference = load_reference(self.client, entities)
        return self._reference

    def gaps_for(self, company: CompanyMapping) -> list[str]:
        if company.company_uuid not in self._gaps:
            gaps = company_gaps(self.reference, company)
            self._gaps[company.company_uuid] = gaps
            if gaps:
                LOGGER.error(
                    "Dynamics reference data does not cover the mapping of company %s "
                    "(legal entity %s):\n%s",
                    company.company_uuid,
                    company.legal_entity,
                    "\n".join(f"  - {g}" for g in gaps),
                )
        return self._gaps[company.company_uuid]

    def dimension_format(self) -> DimensionFormat:
        ref = self.reference
        return DimensionFormat(ref.ledger_segments, ref.delimiter)

    # -- people and reference records -----------------------------------------------------

    def remember_employee(self, record: AbcMapping[str, Any]) -> None:
        company_uuid = str(record.get("company_uuid") or "")
        ref = employee_ref(record)
        self._company_refs(company_uuid)[ref.uuid] = ref
        self.audit.save_employee_ref(company_uuid, ref.uuid, _ref_dict(ref))

    def _company_refs(self, company_uuid: str) -> dict[str, EmployeeRef]:
        if company_uuid not in self._refs:
            stored = self.audit.employee_refs(company_uuid)
            self._refs[company_uuid] = {k: _ref_from_dict(v) for k, v in stored.items()}
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

    def _warn(self, text: str | None) -> None:
        if text and text not in self._warned:
            self._warned.add(text)
            self.summary.warnings.append(text)
            LOGGER.warning("%s", text)

    # -- payrolls -------------------------------------------------------------------------

    def process(self, record: AbcMapping[str, Any]) -> PostResult:
        """Build, check and post (or write) the journal of a record the sink has stored."""
        with paused_gc():
            refs = self._refs_for(record, None)
            self.audit.set_payroll_employee_refs(
                str(record.get("payroll_uuid")), [_ref_dict(r) for r in refs.values()]
            )
            return self._run(record, refs)

    def replay(self, payroll_uuid: str) -> PostResult:
        stored = self.audit.load_payroll(payroll_uuid)
        if stored is None:
            raise LookupError(
                f"payroll {payroll_uuid} is not in the audit store {self.audit.path}; run the "
                "pipeline for its company first (the store keeps every payroll it received)."
            )
        used = {r["uuid"]: _ref_from_dict(r) for r in stored.employee_refs or []}
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
            self._hashed = (record, payroll_content_hash(record))
        return self._hashed[1]

    def _run(self, record: AbcMapping[str, Any], refs: dict[str, EmployeeRef]) -> PostResult:
        try:
            return self._run_once(record, refs)
        finally:
            # Never reused for a later call: the same record object may come back changed.
            self._hashed = None

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
        gaps = self.gaps_for(company)
        if gaps:
            listing = "; ".join(gaps)
            return self._refuse(
                payroll_uuid,
                company_uuid,
                company.legal_entity,
                f"{label}: Dynamics reference data does not cover the mapping: {listing}",
                f"fix Dynamics or the mapping as listed, {hint}",
            )
        try:
            journal = build_journal(record, refs, company, self._content_hash(record))
        except (JournalError, MappingError) as exc:
            problems = getattr(exc, "problems", [str(exc)])
            return self._refuse(
                payroll_uuid,
                company_uuid,
                company.legal_entity,
                f"{label}: " + "; ".join(problems),
                f"correct the mapping or the payroll as listed, {hint}",
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
        fmt = self.dimension_format()
        try:
            display = [
                ledger_display_value(x.main_account, x.dimensions, fmt) for x in journal.lines
            ]
        except DimensionFormatError as exc:
            return self._refuse(
                payroll_uuid,
                company_uuid,
                company.legal_entity,
                f"{label}: {exc}",
                f"fix the dimension format or the mapping, {hint}",
            )
        lacking = structure_gaps(
            self.reference,
            company,
            ((x.line_number, x.main_account, x.dimensions, x.component) for x in journal.lines),
            "journal",
        )
        if lacking:
            return self._refuse(
                payroll_uuid,
                company_uuid,
                company.legal_entity,
                f"{label}: " + "; ".join(lacking),
                f"set the dimensions in the mapping as listed, {hint}",
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

    def _correct(  # noqa: PLR0917
        self,
        original: Original,
        company: CompanyMapping,
        template: Journal,
        current: Journal | None,
        label: str,
        hint: str,
    ) -> PostResult:
        """Post the next correction step of a payroll that stands in Dynamics, exactly once."""
        payroll_uuid = template.payroll_uuid
        fmt = self.dimension_format()
        chain = self.corrector.chain(
            company, payroll_uuid, original.legal_entity, original.number, original.header
        )
        target = current.content_hash if current is not None else None
        target = target or cancelled_state_hash(payroll_uuid)
        if chain.state and target.startswith(chain.state):
            self.audit.correction_posted(payroll_uuid, target)
            result = self.corrector.finish(
                chain,
                company.company_uuid,
                payroll_uuid,
                outcomes.ALREADY_POSTED,
                f"{label}: Dynamics already holds its current content (journal "
                f"{original.number} and {chain.next_sequence - 1} correction(s))",
                None,
            )
        elif chain.cancelled:
            result = self.corrector.finish(
                chain,
                company.company_uuid,
                payroll_uuid,
                outcomes.REFUSED,
                f"{label} was reversed in Dynamics as cancelled in Gusto, and Gusto now lists "
                "it as processed again; it was NOT posted again",
                f"check the payroll in Gusto; post it by hand if it really stands, {hint}",
            )
        else:
            try:
                posted = self.corrector.ledger_lines(chain.legal_entity, chain.standing, fmt)
                trans_date = self._correction_date(chain.legal_entity, template.trans_date)
                plan = self.corrector.plan(
                    company, chain, posted, template, current, trans_date=trans_date
                )
            except ODataError as exc:
                if (
                    exc.status is None
                    or exc.status >= 500
                    or exc.status == 429
                    or (exc.entity != FISCAL_PERIOD_ENTITY)
                ):
                    raise  # Dynamics not answering: the payroll stays unsettled, as for any read.
                return self._refuse(
                    payroll_uuid,
                    company.company_uuid,
                    chain.legal_entity,
                    f"{label} changed or was cancelled after journal {original.number} was "
                    f"posted; correction_date is first_open_day but the fiscal periods of "
                    f"{chain.legal_entity} cannot be read ({FISCAL_PERIOD_ENTITY}: {exc}). "
                    "Nothing was posted",
                    "expose the fiscal period status to the integration user, or set "
                    f"correction_date: check_date; {hint}",
                )
            except (CorrectionError, DimensionFormatError, ValueError) as exc:
                return self._refuse(
                    payroll_uuid,
                    company.company_uuid,
                    chain.legal_entity,
                    f"{label} changed or was cancelled after journal {original.number} was "
                    f"posted, and the correction cannot be made: {exc}. Nothing was posted",
                    f"correct the cause named, {hint}",
                )
            if plan is None:
                result = self.corrector.finish(
                    chain,
                    company.company_uuid,
                    payroll_uuid,
                    outcomes.SKIPPED,
                    f"{label} changed after journal {original.number} was posted, but no "
                    "account or dimension amount changed; nothing to correct",
                    None,
                )
            elif self.corrections.approval == "automatic":
                result = self.corrector.post(chain, plan, fmt, company.company_uuid)
            else:
                result = self._approved_or_staged(chain, plan, fmt, company, label)
            if result.outcome in (outcomes.CORRECTED, outcomes.ALREADY_POSTED) and plan:
                self.audit.correction_posted(payroll_uuid, plan.state_hash)
        self._log(result)
        self.summary.results.append(result)
        return result

    def _correction_date(self, legal_entity: str, check_date: date) -> date:
        """The date a correction is posted on (``correction_date``); raises when none can be.

        ``check_date`` posts on the payroll's check date and lets Dynamics refuse a closed
        period (the refusal names the setting). ``first_open_day`` reads the legal entity's
        fiscal periods first and moves the date past a period that is not open.
        """
        if self.corrections.dating == "check_date":
            return check_date
        rows = self.client.get_all(
            FISCAL_PERIOD_ENTITY,
            cross_company=True,
            filter=(
                f"dataAreaId eq {odata_literal(legal_entity.lower())} and "
                f"EndDate ge {check_date.isoformat()}T00:00:00Z"
            ),
        )
        periods = []
        for row in rows:
            try:
                start = date.fromisoformat(str(row.get("StartDate") or "")[:10])
                end = date.fromisoformat(str(row.get("EndDate") or "")[:10])
            except ValueError as exc:
                raise CorrectionError(
                    f"fiscal period {row.get('PeriodName')!r} of {legal_entity} has no readable "
                    f"dates ({FISCAL_PERIOD_ENTITY})"
                ) from exc
            periods.append((start, end, str(row.get("PeriodStatus") or "")))
        day, why = first_open_day(check_date, periods)
        if day is None:
            raise CorrectionError(
                f"correction_date is first_open_day, but in legal entity {legal_entity} {why} "
                f"({FISCAL_PERIOD_ENTITY}); open a period in Dynamics"
            )
        if day != check_date:
            LOGGER.info("correction in %s: %s", legal_entity, why)
        return day

    def _approved_or_staged(
        self,
        chain: Chain,
        plan: Correction,
        fmt: DimensionFormat,
        company: CompanyMapping,
        label: str,
    ) -> PostResult:
        """Post a correction a person approved exactly as planned now; stage any other.

        The plan is built afresh from what Dynamics holds on every run, and posted only when it
        is the very plan that was approved (same digest): numbers, dates, lines and amounts.
        """
        first = plan.documents[0]
        payroll_uuid = first.payroll_uuid
        digest = plan_digest(plan.documents)
        difference = [
            {
                "account": ledger_display_value(account, dict(dims), fmt),
                "amount": amount,
            }
            for (account, dims), amount in sorted(plan_difference(plan.documents).items())
        ]
        documents = [
            {
                "journal_batch_number": doc.journal_batch_number,
                "description": doc.description,
                "trans_date": doc.trans_date.isoformat(),
                "total_debit": doc.total_debit,
                "total_credit": doc.total_credit,
                "lines": [
                    {
                        "line_number": line.line_number,
                        "account": ledger_display_value(line.main_account, line.dimensions, fmt),
                        "debit": line.debit,
                        "credit": line.credit,
                        "text": line.text,
                    }
                    for line in doc.lines
                ],
            }
            for doc in plan.documents
        ]
        status = self.audit.stage_correction(
            payroll_uuid,
            plan.sequence,
            company.company_uuid,
            chain.legal_entity,
            chain.original,
            plan.state_hash,
            digest,
            plan.what,
            documents,
            difference,
        )
        if status == outcomes.STAGE_APPROVED:
            return self.corrector.post(chain, plan, fmt, company.company_uuid)
        names = " + ".join(
            f"{d.description.split(' of ')[0].lower()} {d.journal_batch_number} on "
            f"{d.trans_date.isoformat()}"
            for d in plan.documents
        )
        moves = ", ".join(f"{d['account']} {d['amount']:+}" for d in difference) or "none"
        return self.corrector.finish(
            chain,
            company.company_uuid,
            payroll_uuid,
            outcomes.CORRECTION_STAGED,
            f"{label} {plan.what} after journal {chain.original} was posted: correction "
            f"{plan.sequence} ({names}) is staged for approval, NOT posted; difference per "
            f"account (debit +, credit -): {moves}",
            APPROVE_FIX.format(uuid=payroll_uuid),
        )

    def _audit_journal(self, journal: Journal, display: list[str]) -> None:
        self.audit.record_journal(
            payroll_uuid=journal.payroll_uuid,
            company_uuid=journal.company_uuid,
            legal_entity=journal.legal_entity,
            journal_batch_number=journal.journal_batch_number,
            content_hash=journal.content_hash,
            trans_date=journal.trans_date.isoformat(),
            currency=journal.currency,
            description=header_description(journal),
            total_debit=journal.total_debit,
            total_credit=journal.total_credit,
            warnings=list(journal.warnings),
            lines=[
                {
                    "line_number": line.line_number,
                    "main_account": line.main_account,
                    "account_display_value": value,
                    "dimensions": dict(line.dimensions),
                    "debit": line.debit,
                    "credit": line.credit,
                    "text": line.text,
                    "component": line.component,
                }
                for line, value in zip(journal.lines, display, strict=True)
            ],
            dry_run=self.dry_run,
        )

    def _write_csv(self, journal: Journal, display: list[str]) -> None:
        assert self._csv_path is not None
        with self._csv_path.open("a", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            for line, value in zip(journal.lines, display, strict=True):
                writer.writerow(
                    [
                        journal.company_uuid,
                        journal.payroll_uuid,
                        journal.legal_entity,
                        journal.journal_name,
                        journal.journal_batch_number,
                        header_description(journal),
                        journal.trans_date.isoformat(),
                        line.line_number,
                        value,
                        line.main_account,
                        ";".join(f"{k}={v}" for k, v in sorted(line.dimensions.items())),
                        str(line.debit),
                        str(line.credit),
                        journal.currency,
                        line.text,
                        line.component,
                    ]
                )

    def _refuse(
        self, payroll_uuid: str, company_uuid: str, legal_entity: str | None, reason: str, fix: str
    ) -> PostResult:
        return self._record(
            PostResult(payroll_uuid, outcomes.REFUSED, None, legal_entity, reason, fix),
            company_uuid,
        )

    def _record(self, result: PostResult, company_uuid: str) -> PostResult:
        self.audit.record_outcome(
            result.payroll_uuid,
            result.outcome,
            company_uuid=company_uuid,
            legal_entity=result.legal_entity,
            journal_batch_number=result.journal_batch_number,
            reason=result.reason,
            fix=result.fix,
        )
        self._log(result)
        self.summary.results.append(result)
        return result

    def _log(self, result: PostResult) -> None:
        if result.failed:
            LOGGER.error("%s: %s Fix: %s", result.outcome.upper(), result.reason, result.fix)
        elif result.outcome == outcomes.CORRECTION_STAGED:
            LOGGER.warning("CORRECTION STAGED: %s Fix: %s", result.reason, result.fix)
        elif result.outcome == outcomes.SKIPPED:
            LOGGER.info("%s", result.reason)
        else:
            LOGGER.info(
                "payroll %s: %s (journal %s in %s)%s",
                result.payroll_uuid,
                result.outcome,
                result.journal_batch_number,
                result.legal_entity,
                f"; {result.reason}" if result.reason else "",
            )

    def finish(self) -> list[str]:
        """Log the run summary (and write it next to the dry-run CSV); return its lines."""
        lines = self.summary.lines()
        if self.summary.warnings:
            lines.append(f"warnings ({len(self.summary.warnings)}):")
            lines.extend(f"  {w}" for w in self.summary.warnings)
        if self._dry_dir is not None:
            header = [
                "DRY RUN: nothing was posted to Dynamics.",
                f"journal lines: {self._csv_path}",
                "",
            ]
            journals = [
                f"  {r.payroll_uuid} -> journal {r.journal_batch_number} in {r.legal_entity}: "
                f"{r.reason}"
                for r in self.summary.results
                if r.outcome == outcomes.DRY_RUN
            ]
            text = "\n".join([*header, *lines, "", "journals:", *journals]) + "\n"
            private_file(self._dry_dir / "summary.txt").write_text(text, encoding="utf-8")
        for line in lines:
            LOGGER.info("%s", line)
        return lines
