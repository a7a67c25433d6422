"""The state and the recording a payroll run shares: reference data, the audit journal rows,
the dry-run CSV, each outcome recorded and logged, and the run summary."""

from __future__ import annotations

import csv
import logging
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gd_vault.private import private_file

from target_dynamics_fo import audit as outcomes
from target_dynamics_fo.audit import AuditStore
from target_dynamics_fo.faults import hit
from target_dynamics_fo.fo import (
    FISCAL_PERIODS,
    ODataClient,
    ReferenceData,
    company_gaps,
    load_reference,
)
from target_dynamics_fo.ledger import (
    DimensionFormat,
    EmployeeRef,
    Journal,
)
from target_dynamics_fo.mapping import CompanyMapping, Mapping
from target_dynamics_fo.payrolls.correction import (
    CorrectionPolicy,
)
from target_dynamics_fo.payrolls.corrector import (
    Corrector,
)
from target_dynamics_fo.payrolls.journals import JournalPoster, header_description
from target_dynamics_fo.payrolls.summary import RunSummary
from target_dynamics_fo.posting import PostResult

if TYPE_CHECKING:
    from target_dynamics_fo.payrolls.split import StoredCompensations

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


def ref_dict(ref: EmployeeRef) -> dict[str, Any]:
    return {
        "uuid": ref.uuid,
        "department_uuid": ref.department_uuid,
        "department_title": ref.department_title,
        "location_uuid": ref.location_uuid,
    }


def ref_from_dict(data: AbcMapping[str, Any]) -> EmployeeRef:
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


@dataclass(frozen=True)
class Original:
    """A payroll's journal found in Dynamics with other content than the payroll has now."""

    legal_entity: str
    number: str
    header: dict[str, Any]


class ProcessorBase:
    """Mapping, audit store, client and journal poster of a run, and how its outcomes are kept."""

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
        self.corrector = Corrector(self.poster, self._audit_journal)
        self.dry_run = dry_run
        self.summary = RunSummary()
        self._reference: ReferenceData | None = None
        self._gaps: dict[str, list[str]] = {}
        self._refs: dict[str, dict[str, EmployeeRef]] = {}
        self._warned: set[str] = set()
        # (record, its content hash) of the payroll _run is on: the lookup and the builder both
        # need it, and it is the largest single cost of a big payroll.
        self._hashed: tuple[AbcMapping[str, Any], str] | None = None
        # The stored compensations of the split payroll _run is on (None: a whole record).
        self._compensations: StoredCompensations | None = None
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

    def _warn(self, text: str | None) -> None:
        if text and text not in self._warned:
            self._warned.add(text)
            self.summary.warnings.append(text)
            LOGGER.warning("%s", text)

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
        result = replace(result, company_uuid=company_uuid)
        self.poster.record(result)
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
                result.document_uuid,
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
                f"  {r.document_uuid} -> journal {r.journal_batch_number} in {r.legal_entity}: "
                f"{r.reason}"
                for r in self.summary.results
                if r.outcome == outcomes.DRY_RUN
            ]
            text = "\n".join([*header, *lines, "", "journals:", *journals]) + "\n"
            private_file(self._dry_dir / "summary.txt").write_text(text, encoding="utf-8")
        for line in lines:
            LOGGER.info("%s", line)
        return lines
