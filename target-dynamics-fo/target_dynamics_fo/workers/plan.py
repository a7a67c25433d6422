"""Gusto employees -> Dynamics workers and employments, decided (pure; nothing here does I/O).

:func:`desired_worker` reads what Gusto says about an employee; :func:`plan_worker`, given that
and what Dynamics holds for its personnel number, returns the writes that make Dynamics agree
(create the worker, rename it, start, end, reopen or re-dimension an employment) or the
conflict a person must resolve. :mod:`target_dynamics_fo.workers.sync` does the writes.

Matching never guesses: a worker IS the personnel number the mapping gives the employee (an
explicit link first, then the scheme), so a rerun finds what the previous run created instead
of creating a second worker.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

from target_dynamics_fo.fo import EMPLOYMENTS, WORKERS, ReferenceData, fo_date
from target_dynamics_fo.ledger import DimensionFormat
from target_dynamics_fo.mapping import CompanyMapping, MappingError

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
        super().__init__(f"employee {employee_uuid}: " + "; ".join(problems))
        self.employee_uuid, self.problems = employee_uuid, list(problems)


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


def default_format(ref: ReferenceData) -> DimensionFormat:
    """The format of an employment's dimensions: F&O's default (not the ledger) format."""
    return DimensionFormat(ref.default_segments, ref.delimiter)


def target_key(desired: DesiredWorker, action: Action) -> str:
    """The Dynamics record an action writes, as the audit trail names it."""
    if action.entity == WORKERS:
        return desired.personnel_number
    start = action.body.get("EmploymentStartDate")
    if start is None and action.key is not None:
        start = action.key.get("EmploymentStartDate")
    when = start.date().isoformat() if isinstance(start, datetime) else str(start or "")[:10]
    return f"{desired.personnel_number}@{desired.legal_entity} from {when}"


def fix_for(message: str) -> str:
    """What a person does about a write Dynamics refused, from its message."""
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
