"""Workers and employments written to Dynamics: reads, the reconcile engine, the audit trail.

:class:`PeopleSync` reads Dynamics once a run (into the audit store's scratch tables, so
memory does not grow with head count: :mod:`target_dynamics_fo.audit.people`), plans each Gusto
employee with :func:`~target_dynamics_fo.workers.plan.plan_worker`, and writes through the
master-data engine (:mod:`target_dynamics_fo.masterdata`): a write whose answer is lost, or that
finds the record
already there, is followed by a fresh look-up and a new plan, which is empty if the write
committed. Every decision is recorded in the audit store.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping as AbcMapping
from collections.abc import Sequence
from typing import Any

from target_dynamics_fo.audit import from_json, to_json
from target_dynamics_fo.fo import (
    EMPLOYMENTS,
    WORKERS,
    ODataError,
    Operation,
    dimension_gaps,
    odata_literal,
)
from target_dynamics_fo.ledger import DimensionFormatError, default_dimension_display_value
from target_dynamics_fo.mapping import CompanyMapping, MappingError
from target_dynamics_fo.masterdata import (
    DONE,
    DRY_RUN,
    FAILED,
    UNCHANGED,
    GaveUp,
    MasterDataSync,
    MasterRecord,
)
from target_dynamics_fo.workers.plan import (
    EMPLOYMENT_FIELDS,
    WORKER_FIELDS,
    Action,
    DesiredWorker,
    Employment,
    PeopleError,
    WorkerPlan,
    default_format,
    desired_worker,
    employee_location,
    fix_for,
    plan_worker,
    target_key,
)

# The name it had before workers became a package: logging configurations name it.
LOGGER = logging.getLogger("target_dynamics_fo.people")

# What Dynamics holds for one personnel number: the worker (None: none) and its employments.
Held = tuple[dict[str, Any] | None, list[Employment]]
# The run's copy of Dynamics in the audit store's scratch tables (audit.people), by kind.
_WORKER = "worker"
_EMPLOYMENT = "employment"


class PeopleSync(MasterDataSync[WorkerPlan | None]):
    """Keeps Dynamics workers and employments in line with the Gusto employees of a run."""

    label = "workers and employments"
    logger = LOGGER
    # Dynamics has been read into the audit store's scratch tables this run (see _load).
    _loaded = False

    # -- reading Dynamics -----------------------------------------------------------------

    def _load(self) -> None:
        """Read every worker and employment once a run, into the store's scratch tables rather
        than dicts: a read of any size streams through (one server page at a time)."""
        if self._loaded:
            return
        audit = self.audit
        audit.drop_master_rows(_WORKER)
        audit.drop_master_rows(_EMPLOYMENT)
        audit.hold_master_rows(
            _WORKER,
            (
                (str(w.get("PersonnelNumber")).casefold(), to_json(w))
                for w in self.client.iter_all(WORKERS, select=list(WORKER_FIELDS))
            ),
        )
        audit.hold_master_rows(
            _EMPLOYMENT,
            (
                (str(row.get("PersonnelNumber") or "").casefold(), to_json(row))
                for row in self.client.iter_all(
                    EMPLOYMENTS, cross_company=True, select=list(EMPLOYMENT_FIELDS)
                )
            ),
        )
        self._loaded = True

    def _held(self, personnel_number: str) -> Held:
        self._load()
        key = personnel_number.casefold()
        workers = self.audit.held_master_rows(_WORKER, key)
        # Two workers whose numbers differ only in case: the last one read stands, as in a dict.
        worker = from_json(workers[-1]) if workers else None
        rows = self.audit.held_master_rows(_EMPLOYMENT, key)
        return worker, [Employment.from_row(from_json(text)) for text in rows]

    def _refresh(self, personnel_number: str) -> Held:
        self._load()
        literal = odata_literal(personnel_number)
        found = self.client.get_all(WORKERS, filter=f"PersonnelNumber eq {literal}")
        key = personnel_number.casefold()
        self.audit.replace_master_rows(_WORKER, key, [to_json(found[0])] if found else [])
        rows = self.client.get_all(
            EMPLOYMENTS, cross_company=True, filter=f"PersonnelNumber eq {literal}"
        )
        self.audit.replace_master_rows(_EMPLOYMENT, key, [to_json(r) for r in rows])
        return self._held(personnel_number)

    def gaps_for(self, company: CompanyMapping) -> list[str]:
        """Reference data the workers of this company need; checked before any write."""
        if company.company_uuid not in self._gaps:
            ref = self._reference()
            gaps = list(ref.problems)
            gaps.extend(self.legal_entity_gaps(company))
            if not ref.default_segments:
                gaps.append(
                    "no active default dimension format, so employment dimensions cannot be "
                    "written; activate one under General ledger > Chart of accounts > "
                    "Dimensions > Financial dimension configuration for integrating applications"
                )
            gaps.extend(dimension_gaps(ref, company))
            self._gaps[company.company_uuid] = gaps
            if gaps:
                self.summary.gaps(
                    f"workers of company {company.company_uuid} ({company.legal_entity})",
                    gaps,
                    LOGGER,
                )
        return self._gaps[company.company_uuid]

    # -- one employee ---------------------------------------------------------------------

    def unreadable(self, record: AbcMapping[str, Any], error: ODataError) -> None:
        self._failed(
            str(record.get("company_uuid") or ""),
            str(record.get("uuid") or "(no uuid)"),
            "",
            "",
            [f"Dynamics could not be read or written: {error.message}"],
        )

    def bring_in_line(self, record: AbcMapping[str, Any]) -> WorkerPlan | None:
        """One Gusto employee record; bad data is recorded, never raised."""
        company_uuid = str(record.get("company_uuid") or "")
        uuid = str(record.get("uuid") or "(no uuid)")
        company = self.company_of(record, f"employee {uuid}")
        if company is None or self.gaps_for(company):
            return None
        dims, note = self._dimensions(record, company)
        if note:
            self.warn(note)
        try:
            desired = desired_worker(record, company, dims)
        except PeopleError as exc:
            self._failed(company_uuid, uuid, "", company.legal_entity, exc.problems)
            return None
        return self._sync(desired)

    def _dimensions(
        self, record: AbcMapping[str, Any], company: CompanyMapping
    ) -> tuple[str | None, str | None]:
        uuid = record.get("uuid")
        try:
            dims = company.dimensions_for(
                _opt(record.get("department_uuid")),
                _opt(record.get("department")),
                employee_location(record),
            )
            return default_dimension_display_value(dims, default_format(self._reference())), None
        except (MappingError, DimensionFormatError) as exc:
            problems = getattr(exc, "problems", None) or [str(exc)]
            return None, (
                f"employee {uuid}: employment dimensions left unchanged: " + "; ".join(problems)
            )

    def _plan(self, desired: DesiredWorker, held: Held) -> WorkerPlan:
        plan = plan_worker(desired, *held)
        for note in plan.notes:
            self.warn(note)
        return plan

    def _sync(self, desired: DesiredWorker) -> WorkerPlan:
        pn = desired.personnel_number
        done = self.reconcile(
            MasterRecord(
                key=f"worker {pn}",
                current=lambda: self._held(pn),
                look_up=lambda: self._refresh(pn),
                plan=lambda held: self._plan(desired, held),
                has_writes=lambda plan: bool(plan.actions) and not plan.problems,
                write=lambda plan: self._write(plan.actions),
            )
        )
        plan = done.plan
        if plan.problems:
            self._failed(
                desired.company_uuid,
                desired.employee_uuid,
                pn,
                desired.legal_entity,
                list(plan.problems),
            )
        elif done.failure is not None:
            self._write_failed(desired, plan, done.failure)
        elif done.written:
            for action in plan.actions:
                self._remember(pn, action)
                self._record(desired, action, DONE, action.detail)
                LOGGER.info("%s", action.detail)
        elif plan.actions:  # a dry run
            for action in plan.actions:
                self._record(desired, action, DRY_RUN, action.detail, counted=" (dry run)")
        elif done.settled_by_look_up:
            self.summary.bump("confirmed by look-up after an unclear write")
        else:
            self.summary.bump("unchanged")
            self._decide(desired, "worker", pn, "none", UNCHANGED)
        return plan

    def _write_failed(self, desired: DesiredWorker, plan: WorkerPlan, failure: GaveUp) -> None:
        message = failure.error.message
        details = "; ".join(a.detail for a in plan.actions)
        if failure.unclear:
            why, fix = f"{details}: {failure.why}", failure.fix
        else:
            why, fix = f"{details}: nothing was saved: {message}", fix_for(message)
        for action in plan.actions:
            self._decide(
                desired,
                action.record_kind,
                target_key(desired, action),
                action.kind,
                FAILED,
                f"{action.detail}: {message}",
                fix,
            )
        self.summary.fail(
            f"employee {desired.employee_uuid} (worker {desired.personnel_number})", why, fix
        )

    def _write(self, actions: Sequence[Action]) -> None:
        """One person's writes in ONE changeset: a worker never exists without its employment."""
        if len(actions) == 1:
            action = actions[0]
            if action.key is None:
                self.client.post(action.entity, action.body)
            else:
                self.client.patch(action.entity, action.key, action.body)
            return
        self.client.batch(
            [
                Operation(
                    "POST" if a.key is None else "PATCH",
                    a.entity,
                    a.body,
                    key=a.key,
                    odata_type="Worker" if a.entity == WORKERS else "Employment",
                )
                for a in actions
            ]
        )

    def _remember(self, personnel_number: str, action: Action) -> None:
        """Apply a confirmed write to the run's copy of Dynamics (no re-read per person)."""
        key = personnel_number.casefold()
        worker, employments = self._held(personnel_number)
        if action.entity == WORKERS:
            row = {**(worker or {}), **action.body}
            self.audit.replace_master_rows(_WORKER, key, [to_json(row)])
            return
        rows = [_row(e) for e in employments]
        if action.key is None:
            rows.append(dict(action.body))
        else:
            rows = [
                {**row, **action.body} if old.key() == action.key else row
                for old, row in zip(employments, rows, strict=True)
            ]
        self.audit.replace_master_rows(_EMPLOYMENT, key, [to_json(row) for row in rows])

    def _record(
        self, desired: DesiredWorker, action: Action, outcome: str, detail: str, counted: str = ""
    ) -> None:
        self.summary.bump(action.kind + counted)
        self._decide(
            desired, action.record_kind, target_key(desired, action), action.kind, outcome, detail
        )

    def _decide(  # noqa: PLR0917
        self,
        desired: DesiredWorker,
        kind: str,
        target: str,
        action: str,
        outcome: str,
        detail: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.audit.record_people_decision(
            desired.company_uuid,
            kind,
            desired.employee_uuid,
            target,
            desired.legal_entity,
            action,
            outcome,
            detail,
            fix,
        )

    def _failed(
        self,
        company_uuid: str,
        employee_uuid: str,
        personnel_number: str,
        legal_entity: str,
        problems: list[str],
    ) -> None:
        why = "; ".join(problems)
        fix = "correct the employee in Gusto or the mapping/Dynamics as described, then rerun"
        self.audit.record_people_decision(
            company_uuid,
            "worker",
            employee_uuid,
            personnel_number or "-",
            legal_entity.lower(),
            "none",
            FAILED,
            why,
            fix,
        )
        self.summary.fail(
            f"employee {employee_uuid}"
            + (f" (worker {personnel_number})" if personnel_number else ""),
            why,
            fix,
        )
        LOGGER.error("employee %s not synchronised: %s", employee_uuid, why)


def _row(employment: Employment) -> dict[str, Any]:
    """The fields of an employment the planner reads, as F&O returns them."""
    return {
        "PersonnelNumber": employment.personnel_number,
        "LegalEntityId": employment.legal_entity,
        "EmploymentStartDate": employment.raw_start,
        "EmploymentEndDate": employment.raw_end,
        "DimensionDisplayValue": employment.dimension_display,
    }


def _opt(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
