"""Gusto employees -> Dynamics workers and employments (one direction: nothing goes to Gusto).

Decide, then do. :func:`desired_worker` and :func:`plan_worker` are pure: given the Gusto
employee and what Dynamics holds for its personnel number, they return the writes that make
Dynamics agree (create the worker, rename it, start, end, reopen or re-dimension an
employment) or the conflict a person must resolve. :class:`PeopleSync` reads Dynamics, runs the
plan, and records every decision in the audit store.

Matching never guesses: a worker IS the personnel number the mapping gives the employee (an
explicit link first, then the scheme), so a rerun finds what the previous run created instead
of creating a second worker. A write whose answer is lost, or that finds the record already
there, is followed by a fresh look-up and a new plan, which is empty if the write committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from collections.abc import Mapping as AbcMapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

from target_dynamics_fo.audit import AuditStore
from target_dynamics_fo.fo import (
    EMPLOYMENTS,
    LEGAL_ENTITIES,
    WORKERS,
    ODataClient,
    ODataError,
    Operation,
    ReferenceData,
    dimension_gaps,
    fo_date,
    odata_literal,
)
from target_dynamics_fo.ledger import (
    DimensionFormat,
    DimensionFormatError,
    default_dimension_display_value,
)
from target_dynamics_fo.mapping import CompanyMapping, Mapping, MappingError
from target_dynamics_fo.posting import worth_another_look

LOGGER = logging.getLogger("target_dynamics_fo.people")

# F&O's "never" for date-effective records (an employment without an end date).
OPEN_END = "2154-12-31T23:59:59Z"
OPEN_END_YEAR = 2154
WORKER_FIELDS = ("PersonnelNumber", "FirstName", "MiddleName", "LastName", "Name", "WorkerType")
EMPLOYMENT_FIELDS = (
    "PersonnelNumber",
    "LegalEntityId",
    "EmploymentStartDate",
    "EmploymentEndDate",
    "DimensionDisplayValue",
    "WorkerType",
)

# Outcomes of one decision in the audit store.
DONE = "done"
FAILED = "failed"
UNCHANGED = "unchanged"
DRY_RUN = "dry_run"

ActionKind = Literal[
    "create_worker",
    "update_worker",
    "create_employment",
    "end_employment",
    "reopen_employment",
    "update_employment",
]


class PeopleError(ValueError):
    """A Gusto employee cannot be synchronised; `problems` say why and how to fix it."""

    def __init__(self, employee_uuid: str, problems: Sequence[str]) -> None:
        self.employee_uuid = employee_uuid
        self.problems = list(problems)
        super().__init__(f"employee {employee_uuid}: " + "; ".join(self.problems))


@dataclass(frozen=True)
class DesiredWorker:
    """What Dynamics should hold for one Gusto employee."""

    employee_uuid: str
    company_uuid: str
    legal_entity: str
    personnel_number: str
    linked: bool  # an existing worker named in workers.links: matched, never created
    first_name: str
    middle_name: str
    last_name: str
    hire_date: date
    end_date: date | None  # active termination on/after the hire date (last day worked)
    previous_end: date | None  # last termination before a rehire: ends the earlier employment
    dimension_display: str | None  # None: leave the employment's dimensions as they are

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.middle_name, self.last_name) if p)

    def worker_fields(self) -> dict[str, str]:
        return {
            "FirstName": self.first_name,
            "MiddleName": self.middle_name,
            "LastName": self.last_name,
            "Name": self.name,
        }


@dataclass(frozen=True)
class Employment:
    """One row of F&O `Employments` (date-effective; `end` None = open-ended)."""

    personnel_number: str
    legal_entity: str
    start: date
    end: date | None
    dimension_display: str
    raw_start: str
    raw_end: str

    @classmethod
    def from_row(cls, row: AbcMapping[str, Any]) -> Employment:
        raw_start = str(row.get("EmploymentStartDate") or "")
        raw_end = str(row.get("EmploymentEndDate") or OPEN_END)
        end = _date(raw_end)
        return cls(
            personnel_number=str(row.get("PersonnelNumber") or ""),
            legal_entity=str(row.get("LegalEntityId") or "").lower(),
            start=_date(raw_start),
            end=None if end.year >= OPEN_END_YEAR else end,
            dimension_display=str(row.get("DimensionDisplayValue") or ""),
            raw_start=raw_start,
            raw_end=raw_end,
        )

    def key(self) -> dict[str, Any]:
        return {
            "PersonnelNumber": self.personnel_number,
            "LegalEntityId": self.legal_entity,
            "EmploymentStartDate": _datetime(self.raw_start),
            "EmploymentEndDate": _datetime(self.raw_end),
        }

    def overlaps(self, start: date, end: date | None) -> bool:
        mine = self.end or date.max
        theirs = end or date.max
        return self.start <= theirs and start <= mine

    def label(self) -> str:
        return f"{self.start.isoformat()} to {_end_text(self.end)}"


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    entity: str
    key: AbcMapping[str, Any] | None  # None for a create
    body: AbcMapping[str, Any]
    detail: str

    @property
    def record_kind(self) -> str:
        return "worker" if self.entity == WORKERS else "employment"


@dataclass(frozen=True)
class WorkerPlan:
    desired: DesiredWorker
    actions: tuple[Action, ...] = ()
    notes: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def employment_key(self) -> str:
        d = self.desired
        return f"{d.personnel_number}@{d.legal_entity} from {d.hire_date.isoformat()}"


def _date(text: str) -> date:
    return date.fromisoformat(text[:10])


def _datetime(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _end_text(end: date | None) -> str:
    return "open" if end is None else end.isoformat()


def _end_value(end: date | None) -> str:
    return OPEN_END if end is None else fo_date(end)


def _parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


# ---- pure: what Gusto says ----------------------------------------------------------------


def employee_location(employee: AbcMapping[str, Any]) -> str | None:
    jobs = [j for j in employee.get("jobs") or [] if isinstance(j, AbcMapping)]
    primary = next((j for j in jobs if j.get("primary") is True), jobs[0] if jobs else None)
    location = primary.get("location_uuid") if primary else None
    return str(location) if location else None


def desired_worker(
    employee: AbcMapping[str, Any],
    company: CompanyMapping,
    dimension_display: str | None,
) -> DesiredWorker:
    """The worker and employment Dynamics should hold for this Gusto employee.

    The hire date is the latest job hire date (a rehire starts a new job date), falling back
    to `hired_at`; active terminations on or after it end that employment, the latest one
    before it ends the previous employment.
    """
    uuid = str(employee.get("uuid") or "")
    problems: list[str] = []
    if not uuid:
        raise PeopleError("(no uuid)", ["the employee record has no uuid; fix the source record"])
    first = str(employee.get("first_name") or "").strip()
    last = str(employee.get("last_name") or "").strip()
    middle = str(employee.get("middle_initial") or "").strip()
    if not last:
        problems.append("last_name is empty; Dynamics requires a last name for a worker")
    hires = [
        d
        for j in employee.get("jobs") or []
        if isinstance(j, AbcMapping)
        for d in [_parse_date(j.get("hire_date"))]
        if d is not None
    ]
    hired_at = _parse_date(employee.get("hired_at"))
    if not hires and hired_at is not None:
        hires.append(hired_at)
    if not hires:
        problems.append(
            "no job hire_date and no hired_at: the employment start is unknown; complete the "
            "employee's job in Gusto (the tap needs the employees:read scope)"
        )
    ends: list[date] = []
    for termination in employee.get("terminations") or []:
        if not isinstance(termination, AbcMapping) or termination.get("active") is False:
            continue
        end = _parse_date(termination.get("effective_date"))
        if end is None:
            problems.append(
                f"termination {termination.get('uuid')} has no valid effective_date "
                f"({termination.get('effective_date')!r}); fix the termination in Gusto"
            )
        else:
            ends.append(end)
    if employee.get("terminated") is True and not ends and not problems:
        problems.append(
            "Gusto marks the employee terminated but the record carries no active termination "
            "with an effective_date, so the employment end date is unknown; grant the "
            "employments:read scope so the tap reads terminations[]"
        )
    try:
        personnel_number = company.personnel_number_for(employee)
    except MappingError as exc:
        problems.extend(exc.problems)
        personnel_number = ""
    if problems:
        raise PeopleError(uuid, problems)
    hire = max(hires)
    after = sorted(d for d in ends if d >= hire)
    before = sorted(d for d in ends if d < hire)
    return DesiredWorker(
        employee_uuid=uuid,
        company_uuid=company.company_uuid,
        legal_entity=company.legal_entity.lower(),
        personnel_number=personnel_number,
        linked=uuid in company.workers.links,
        first_name=first,
        middle_name=middle,
        last_name=last,
        hire_date=hire,
        end_date=after[-1] if after else None,
        previous_end=before[-1] if before else None,
        dimension_display=dimension_display,
    )


# ---- pure: what to change in Dynamics -----------------------------------------------------


def plan_worker(
    desired: DesiredWorker,
    worker: AbcMapping[str, Any] | None,
    employments: Sequence[Employment],
) -> WorkerPlan:
    """The writes that make Dynamics agree with `desired`, or the conflicts that stop them."""
    pn = desired.personnel_number
    le = desired.legal_entity
    actions: list[Action] = []
    notes: list[str] = []
    if worker is None:
        if desired.linked:
            return WorkerPlan(
                desired,
                problems=(
                    f"employee {desired.employee_uuid} is linked to worker {pn} in the mapping, "
                    f"but Dynamics has no worker {pn}; fix workers.links or create the worker",
                ),
            )
        actions.append(
            Action(
                "create_worker",
                WORKERS,
                None,
                {"PersonnelNumber": pn, **desired.worker_fields(), "WorkerType": "Employee"},
                f"create worker {pn} ({desired.name})",
            )
        )
    else:
        changed = {
            k: v for k, v in desired.worker_fields().items() if str(worker.get(k) or "") != v
        }
        if changed:
            was = {k: str(worker.get(k) or "") for k in changed}
            actions.append(
                Action(
                    "update_worker",
                    WORKERS,
                    {"PersonnelNumber": str(worker.get("PersonnelNumber") or pn)},
                    changed,
                    f"update worker {pn}: "
                    + ", ".join(f"{k} {was[k]!r} -> {v!r}" for k, v in changed.items()),
                )
            )

    mine = sorted(
        (
            e
            for e in employments
            if e.legal_entity == le and e.personnel_number.casefold() == pn.casefold()
        ),
        key=lambda e: e.start,
    )
    # A rehire: the employment that was open before the new hire date ends on the termination.
    if desired.previous_end is not None:
        ended: list[Employment] = []
        for row in mine:
            e = row
            if (
                e.start < desired.hire_date
                and e.start <= desired.previous_end
                and (e.end is None or e.end > desired.previous_end)
            ):
                actions.append(
                    Action(
                        "end_employment",
                        EMPLOYMENTS,
                        e.key(),
                        {"EmploymentEndDate": fo_date(desired.previous_end)},
                        f"end employment of {pn} in {le} ({e.label()}) on "
                        f"{desired.previous_end.isoformat()} (terminated before the rehire on "
                        f"{desired.hire_date.isoformat()})",
                    )
                )
                # The rest of the plan sees it ended.
                e = replace(e, end=desired.previous_end, raw_end=fo_date(desired.previous_end))
            ended.append(e)
        mine = ended

    current = [e for e in mine if e.overlaps(desired.hire_date, desired.end_date)]
    if not current:
        body: dict[str, Any] = {
            "PersonnelNumber": pn,
            "LegalEntityId": le,
            "EmploymentStartDate": fo_date(desired.hire_date),
            "EmploymentEndDate": _end_value(desired.end_date),
            "WorkerType": "Employee",
        }
        if desired.dimension_display:
            body["DimensionDisplayValue"] = desired.dimension_display
        actions.append(
            Action(
                "create_employment",
                EMPLOYMENTS,
                None,
                body,
                f"start employment of {pn} in {le} on {desired.hire_date.isoformat()}"
                + (
                    f", ending {desired.end_date.isoformat()}"
                    if desired.end_date is not None
                    else ""
                ),
            )
        )
    elif len(current) > 1:
        listing = ", ".join(e.label() for e in current)
        return WorkerPlan(
            desired,
            notes=tuple(notes),
            problems=(
                f"worker {pn} has {len(current)} employments in {le} overlapping the Gusto "
                f"employment from {desired.hire_date.isoformat()} to "
                f"{_end_text(desired.end_date)} ({listing}); end or remove the extra ones in "
                "Dynamics (Human resources > Workers > Employment history), then rerun",
            ),
        )
    else:
        e = current[0]
        if e.start != desired.hire_date:
            notes.append(
                f"worker {pn}: the Dynamics employment in {le} starts {e.start.isoformat()}, the "
                f"Gusto hire date is {desired.hire_date.isoformat()}; the start date was left as "
                "it is (it is part of the employment's key)"
            )
        change: dict[str, Any] = {}
        kind: ActionKind = "update_employment"
        words: list[str] = []
        if e.end != desired.end_date:
            change["EmploymentEndDate"] = _end_value(desired.end_date)
            if desired.end_date is None:
                kind = "reopen_employment"
                words.append(f"reopen (the termination of {_end_text(e.end)} was cancelled)")
            else:
                kind = "end_employment"
                words.append(f"end on {desired.end_date.isoformat()}")
        if desired.dimension_display is not None and e.dimension_display != (
            desired.dimension_display
        ):
            change["DimensionDisplayValue"] = desired.dimension_display
            words.append(f"dimensions {e.dimension_display!r} -> {desired.dimension_display!r}")
        if change:
            actions.append(
                Action(
                    kind,
                    EMPLOYMENTS,
                    e.key(),
                    change,
                    f"employment of {pn} in {le} ({e.label()}): " + ", ".join(words),
                )
            )
    return WorkerPlan(desired, tuple(actions), tuple(notes))


# ---- doing it -----------------------------------------------------------------------------


@dataclass
class SyncSummary:
    """Counts and failures of one run, for the log and the target's exit code."""

    label: str
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (what, why, fix)
    warnings: list[str] = field(default_factory=list)
    _warned: set[str] = field(default_factory=set, repr=False)

    def bump(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def fail(self, what: str, why: str, fix: str) -> None:
        self.failures.append((what, why, fix))

    def warn(self, text: str, logger: logging.Logger) -> None:
        """Keep and log a warning once a run, however many records repeat it."""
        if text not in self._warned:
            self._warned.add(text)
            self.warnings.append(text)
            logger.warning("%s", text)

    def gaps(self, what: str, gaps: Sequence[str], logger: logging.Logger) -> None:
        """Dynamics lacks reference data the mapping needs: nothing of ``what`` is written."""
        self.fail(
            what,
            "Dynamics reference data does not cover the mapping: " + "; ".join(gaps),
            "fix Dynamics or the mapping as listed, then rerun (nothing was written)",
        )
        logger.error("%s: nothing written; reference data gaps:\n  - %s", what, "\n  - ".join(gaps))

    def log(self, logger: logging.Logger) -> list[str]:
        lines = self.lines()
        for line in lines:
            logger.info("%s", line)
        return lines

    def lines(self) -> list[str]:
        counted = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items())) or "nothing"
        out = [f"{self.label}: {counted}; {len(self.failures)} failed"]
        for what, why, fix in self.failures:
            out.append(f"  FAILED {what}: {why}")
            out.append(f"    fix: {fix}")
        out.extend(f"  warning: {w}" for w in self.warnings)
        return out


def default_format(ref: ReferenceData) -> DimensionFormat:
    return DimensionFormat(ref.default_segments, ref.delimiter)


class PeopleSync:
    """Keeps Dynamics workers and employments in line with the Gusto employees of a run."""

    def __init__(
        self,
        mapping: Mapping,
        audit: AuditStore,
        client: ODataClient,
        reference: Callable[[], ReferenceData],
        *,
        dry_run: bool = False,
        document: Callable[[], AbstractContextManager[object]] = nullcontext,
    ) -> None:
        self.mapping = mapping
        self.audit = audit
        self.client = client
        self._reference = reference
        self.dry_run = dry_run
        # Each vendor or worker is one document for a stop signal (target_dynamics_fo.interrupt).
        self.document = document
        self.summary = SyncSummary("workers and employments")
        self._gaps: dict[str, list[str]] = {}
        self._workers: dict[str, dict[str, Any]] | None = None
        self._employments: dict[str, list[Employment]] = {}
        self._legal_entities: set[str] | None = None
        self._pending: list[dict[str, Any]] = []

    # -- reading Dynamics -----------------------------------------------------------------

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._workers is None:
            workers = self.client.get_all(WORKERS, select=list(WORKER_FIELDS))
            self._workers = {str(w.get("PersonnelNumber")).casefold(): w for w in workers}
            self._employments = {}
            for row in self.client.get_all(
                EMPLOYMENTS, cross_company=True, select=list(EMPLOYMENT_FIELDS)
            ):
                emp = Employment.from_row(row)
                self._employments.setdefault(emp.personnel_number.casefold(), []).append(emp)
        return self._workers

    def _refresh(self, personnel_number: str) -> None:
        workers = self._load()
        literal = odata_literal(personnel_number)
        found = self.client.get_all(WORKERS, filter=f"PersonnelNumber eq {literal}")
        key = personnel_number.casefold()
        if found:
            workers[key] = found[0]
        else:
            workers.pop(key, None)
        rows = self.client.get_all(
            EMPLOYMENTS, cross_company=True, filter=f"PersonnelNumber eq {literal}"
        )
        self._employments[key] = [Employment.from_row(r) for r in rows]

    def legal_entities(self) -> set[str]:
        if self._legal_entities is None:
            rows = self.client.get_all(LEGAL_ENTITIES, select=["LegalEntityId"])
            self._legal_entities = {str(r.get("LegalEntityId") or "").lower() for r in rows}
        return self._legal_entities

    def gaps_for(self, company: CompanyMapping) -> list[str]:
        """Reference data the workers of this company need; checked before any write."""
        if company.company_uuid not in self._gaps:
            ref = self._reference()
            gaps = list(ref.problems)
            if company.legal_entity.lower() not in self.legal_entities():
                gaps.append(
                    f"legal entity {company.legal_entity!r} does not exist in Dynamics; fix "
                    f"{company.key_path}.legal_entity"
                )
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

    def remember(self, record: AbcMapping[str, Any]) -> None:
        """Queue an employee; :meth:`sync_pending` runs after the payrolls are posted."""
        self._pending.append(dict(record))

    def sync_pending(self) -> None:
        pending, self._pending = self._pending, []
        for record in pending:
            with self.document():
                self.employee(record)

    def employee(self, record: AbcMapping[str, Any]) -> WorkerPlan | None:
        """Bring Dynamics in line with one Gusto employee record; never raises for bad data."""
        try:
            return self._employee(record)
        except ODataError as exc:
            self._failed(
                str(record.get("company_uuid") or ""),
                str(record.get("uuid") or "(no uuid)"),
                "",
                "",
                [f"Dynamics could not be read or written: {exc.message}"],
            )
            return None

    def _employee(self, record: AbcMapping[str, Any]) -> WorkerPlan | None:
        company_uuid = str(record.get("company_uuid") or "")
        uuid = str(record.get("uuid") or "(no uuid)")
        try:
            company = self.mapping.company(company_uuid)
        except MappingError as exc:
            self._warn(f"employee {uuid} not synchronised to Dynamics: {exc}")
            return None
        if self.gaps_for(company):
            return None
        dims, note = self._dimensions(record, company)
        if note:
            self._warn(note)
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

    def _sync(self, desired: DesiredWorker, attempt: int = 1) -> WorkerPlan:
        workers = self._load()
        key = desired.personnel_number.casefold()
        plan = plan_worker(desired, workers.get(key), self._employments.get(key, []))
        for note in plan.notes:
            self._warn(note)
        if plan.problems:
            self._failed(
                desired.company_uuid,
                desired.employee_uuid,
                desired.personnel_number,
                desired.legal_entity,
                list(plan.problems),
            )
            return plan
        if not plan.actions:
            if attempt == 1:
                self.summary.bump("unchanged")
                self._decide(desired, "worker", desired.personnel_number, "none", UNCHANGED)
            else:
                self.summary.bump("confirmed by look-up after an unclear write")
            return plan
        if self.dry_run:
            for action in plan.actions:
                self.summary.bump(f"{action.kind} (dry run)")
                self._decide(
                    desired,
                    action.record_kind,
                    _target_key(desired, action),
                    action.kind,
                    DRY_RUN,
                    action.detail,
                )
            return plan
        try:
            self._write(plan.actions)
        except ODataError as exc:
            details = "; ".join(a.detail for a in plan.actions)
            if worth_another_look(self.client, exc, attempt, self.client.sleep):
                LOGGER.warning("%s failed (%s); looking it up again", details, exc.message)
                self._refresh(desired.personnel_number)
                return self._sync(desired, attempt + 1)
            fix = _fix_for(exc.message)
            for action in plan.actions:
                self._decide(
                    desired,
                    action.record_kind,
                    _target_key(desired, action),
                    action.kind,
                    FAILED,
                    f"{action.detail}: {exc.message}",
                    fix,
                )
            self.summary.fail(
                f"employee {desired.employee_uuid} (worker {desired.personnel_number})",
                f"{details}: nothing was saved: {exc.message}",
                fix,
            )
            return plan
        for action in plan.actions:
            self._remember(desired.personnel_number, action)
            self.summary.bump(action.kind)
            self._decide(
                desired,
                action.record_kind,
                _target_key(desired, action),
                action.kind,
                DONE,
                action.detail,
            )
            LOGGER.info("%s", action.detail)
        return plan

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
        workers = self._load()
        if action.entity == WORKERS:
            workers[key] = {**workers.get(key, {}), **action.body}
            return
        employments = self._employments.setdefault(key, [])
        if action.key is None:
            employments.append(Employment.from_row(action.body))
            return
        for index, old in enumerate(employments):
            if old.key() == action.key:
                row = {
                    "PersonnelNumber": old.personnel_number,
                    "LegalEntityId": old.legal_entity,
                    "EmploymentStartDate": old.raw_start,
                    "EmploymentEndDate": old.raw_end,
                    "DimensionDisplayValue": old.dimension_display,
                    **action.body,
                }
                employments[index] = Employment.from_row(row)

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

    def _warn(self, text: str) -> None:
        self.summary.warn(text, LOGGER)

    def finish(self) -> list[str]:
        return self.summary.log(LOGGER)


def _target_key(desired: DesiredWorker, action: Action) -> str:
    if action.entity == WORKERS:
        return desired.personnel_number
    start = action.body.get("EmploymentStartDate")
    if start is None and action.key is not None:
        start = action.key.get("EmploymentStartDate")
    when = start.date().isoformat() if isinstance(start, datetime) else str(start or "")[:10]
    return f"{desired.personnel_number}@{desired.legal_entity} from {when}"


def _opt(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _fix_for(message: str) -> str:
    text = message.lower()
    if "overlap" in text:
        return (
            "end or remove the overlapping employment in Dynamics (Human resources > Workers > "
            "Employment history), then rerun"
        )
    if "dimension" in text:
        return "check the mapping's department dimensions against Dynamics, then rerun"
    if "does not exist" in text:
        return "create the missing record in Dynamics or fix the mapping, then rerun"
    return "read the Dynamics message, correct the cause in Dynamics or the mapping, then rerun"
