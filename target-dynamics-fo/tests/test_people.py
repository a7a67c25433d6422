"""The pure people logic: what Gusto says about an employee, and what that means for Dynamics."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from target_dynamics_fo.fo import format_key
from target_dynamics_fo.mapping import CompanyMapping, load_mapping, parse_mapping
from target_dynamics_fo.workers import (
    OPEN_END,
    DesiredWorker,
    Employment,
    PeopleError,
    desired_worker,
    plan_worker,
)

MAPPING = Path(__file__).resolve().parents[2] / "config" / "mapping.yml"
RIDGELINE = "0c991fcc-d01e-50c4-90c6-d27026b49396"
EMP = "3f2a9c1e-0000-4000-8000-000000000001"
PN = "GUS-3F2A9C1E"
DIMS = "100-110-DEN"


@pytest.fixture(scope="module")
def company() -> CompanyMapping:
    return load_mapping(MAPPING).company(RIDGELINE)


def employee(**over: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "uuid": EMP,
        "company_uuid": RIDGELINE,
        "first_name": "Avery",
        "middle_initial": None,
        "last_name": "Stone",
        "department": "Commercial Field Operations",
        "terminated": False,
        "jobs": [{"hire_date": "2021-03-01", "primary": True, "location_uuid": None}],
        "terminations": [],
    }
    record.update(over)
    return record


def termination(day: str, active: bool = True) -> dict[str, Any]:
    return {"uuid": f"t-{day}", "effective_date": day, "active": active}


def employment(start: str, end: str | None = None, dims: str = DIMS, pn: str = PN) -> Employment:
    return Employment.from_row(
        {
            "PersonnelNumber": pn,
            "LegalEntityId": "rsc",
            "EmploymentStartDate": f"{start}T12:00:00Z",
            "EmploymentEndDate": f"{end}T12:00:00Z" if end else OPEN_END,
            "DimensionDisplayValue": dims,
        }
    )


def worker_row(**over: Any) -> dict[str, Any]:
    row = {
        "PersonnelNumber": PN,
        "FirstName": "Avery",
        "MiddleName": "",
        "LastName": "Stone",
        "Name": "Avery Stone",
        "WorkerType": "Employee",
    }
    row.update(over)
    return row


def desired(company: CompanyMapping, dims: str | None = DIMS, **over: Any) -> DesiredWorker:
    return desired_worker(employee(**over), company, dims)


# ---- what Gusto says ------------------------------------------------------------------------


def test_a_hire_is_a_worker_with_an_open_employment_from_the_job_hire_date(
    company: CompanyMapping,
) -> None:
    d = desired(company)
    assert d.personnel_number == PN
    assert (d.hire_date, d.end_date, d.previous_end) == (date(2021, 3, 1), None, None)
    assert d.legal_entity == "rsc" and d.name == "Avery Stone" and not d.linked


def test_an_active_termination_ends_the_employment_and_a_cancelled_one_does_not(
    company: CompanyMapping,
) -> None:
    d = desired(company, terminated=True, terminations=[termination("2026-06-30")])
    assert d.end_date == date(2026, 6, 30)
    d = desired(company, terminations=[termination("2026-06-30", active=False)])
    assert d.end_date is None


def test_a_rehire_ends_the_previous_employment_on_the_last_termination_before_it(
    company: CompanyMapping,
) -> None:
    d = desired(
        company,
        jobs=[{"hire_date": "2025-02-01", "primary": True}],
        hired_at="2019-05-06",
        terminations=[termination("2022-01-31"), termination("2024-08-15")],
    )
    assert (d.hire_date, d.end_date, d.previous_end) == (
        date(2025, 2, 1),
        None,
        date(2024, 8, 15),
    )


def test_terminated_without_a_termination_date_is_refused_with_the_fix(
    company: CompanyMapping,
) -> None:
    with pytest.raises(PeopleError) as exc:
        desired(company, terminated=True, terminations=[])
    assert EMP in str(exc.value) and "employments:read" in str(exc.value)


def test_no_hire_date_and_no_last_name_are_both_reported(company: CompanyMapping) -> None:
    with pytest.raises(PeopleError) as exc:
        desired(company, jobs=[], last_name="")
    assert len(exc.value.problems) == 2
    assert "hire_date" in exc.value.problems[1] and "last name" in exc.value.problems[0]


def test_an_explicit_link_names_the_existing_worker() -> None:
    raw = yaml.safe_load(MAPPING.read_text())
    raw["companies"][RIDGELINE]["workers"]["links"] = {EMP: "000101"}
    linked = parse_mapping(raw).company(RIDGELINE)
    d = desired_worker(employee(), linked, DIMS)
    assert d.personnel_number == "000101" and d.linked


# ---- what to change in Dynamics -------------------------------------------------------------


def test_new_employee_creates_worker_and_open_employment(company: CompanyMapping) -> None:
    plan = plan_worker(desired(company), None, [])
    assert [a.kind for a in plan.actions] == ["create_worker", "create_employment"]
    worker, job = (a.body for a in plan.actions)
    assert worker == {
        "PersonnelNumber": PN,
        "FirstName": "Avery",
        "MiddleName": "",
        "LastName": "Stone",
        "Name": "Avery Stone",
        "WorkerType": "Employee",
    }
    assert job == {
        "PersonnelNumber": PN,
        "LegalEntityId": "rsc",
        "EmploymentStartDate": "2021-03-01T12:00:00Z",
        "EmploymentEndDate": OPEN_END,
        "WorkerType": "Employee",
        "DimensionDisplayValue": DIMS,
    }


def test_nothing_changed_means_no_write(company: CompanyMapping) -> None:
    plan = plan_worker(desired(company), worker_row(), [employment("2021-03-01")])
    assert plan.actions == () and plan.problems == () and plan.notes == ()


def test_a_name_change_patches_only_the_changed_name_fields(company: CompanyMapping) -> None:
    plan = plan_worker(
        desired(company, last_name="Stone-Reyes"), worker_row(), [employment("2021-03-01")]
    )
    [action] = plan.actions
    assert action.kind == "update_worker"
    assert action.key == {"PersonnelNumber": PN}
    assert action.body == {"LastName": "Stone-Reyes", "Name": "Avery Stone-Reyes"}


def test_a_termination_moves_the_end_date_of_the_open_employment(company: CompanyMapping) -> None:
    d = desired(company, terminated=True, terminations=[termination("2026-06-30")])
    plan = plan_worker(d, worker_row(), [employment("2021-03-01")])
    [action] = plan.actions
    assert action.kind == "end_employment"
    assert action.body == {"EmploymentEndDate": "2026-06-30T12:00:00Z"}
    assert action.key == {
        "PersonnelNumber": PN,
        "LegalEntityId": "rsc",
        "EmploymentStartDate": datetime(2021, 3, 1, 12, tzinfo=UTC),
        "EmploymentEndDate": datetime(2154, 12, 31, 23, 59, 59, tzinfo=UTC),
    }
    # Date-effective keys are Edm.DateTimeOffset literals in the URL, not strings.
    assert format_key(action.key) == (
        f"PersonnelNumber='{PN}',LegalEntityId='rsc',EmploymentStartDate=2021-03-01T12:00:00Z,"
        "EmploymentEndDate=2154-12-31T23:59:59Z"
    )
    # The next run finds it ended and writes nothing.
    assert plan_worker(d, worker_row(), [employment("2021-03-01", "2026-06-30")]).actions == ()


def test_a_cancelled_termination_reopens_the_employment(company: CompanyMapping) -> None:
    plan = plan_worker(desired(company), worker_row(), [employment("2021-03-01", "2026-06-30")])
    [action] = plan.actions
    assert action.kind == "reopen_employment"
    assert action.body == {"EmploymentEndDate": OPEN_END}


def test_a_department_change_updates_the_employment_dimensions(company: CompanyMapping) -> None:
    plan = plan_worker(
        desired(company, dims="200-220-DEN"), worker_row(), [employment("2021-03-01")]
    )
    [action] = plan.actions
    assert action.kind == "update_employment"
    assert action.body == {"DimensionDisplayValue": "200-220-DEN"}


def test_unknown_dimensions_leave_the_employment_dimensions_alone(company: CompanyMapping) -> None:
    plan = plan_worker(desired(company, dims=None), worker_row(), [employment("2021-03-01")])
    assert plan.actions == ()


def test_a_rehire_ends_the_old_employment_and_starts_a_new_one(company: CompanyMapping) -> None:
    d = desired(
        company,
        jobs=[{"hire_date": "2025-02-01", "primary": True}],
        terminations=[termination("2024-08-15")],
    )
    plan = plan_worker(d, worker_row(), [employment("2021-03-01")])
    assert [a.kind for a in plan.actions] == ["end_employment", "create_employment"]
    assert plan.actions[0].body == {"EmploymentEndDate": "2024-08-15T12:00:00Z"}
    assert plan.actions[1].body["EmploymentStartDate"] == "2025-02-01T12:00:00Z"
    assert plan.actions[1].body["EmploymentEndDate"] == OPEN_END
    # Rerun after both writes: nothing to do, no third employment.
    done = [employment("2021-03-01", "2024-08-15"), employment("2025-02-01")]
    assert plan_worker(d, worker_row(), done).actions == ()


def test_a_linked_worker_missing_from_dynamics_is_a_problem_not_a_new_worker() -> None:
    raw = yaml.safe_load(MAPPING.read_text())
    raw["companies"][RIDGELINE]["workers"]["links"] = {EMP: "000999"}
    d = desired_worker(employee(), parse_mapping(raw).company(RIDGELINE), DIMS)
    plan = plan_worker(d, None, [])
    assert plan.actions == ()
    assert "000999" in plan.problems[0] and "workers.links" in plan.problems[0]


def test_two_overlapping_employments_are_left_for_a_person(company: CompanyMapping) -> None:
    plan = plan_worker(
        desired(company),
        worker_row(),
        [employment("2021-03-01", "2023-01-01"), employment("2022-06-01")],
    )
    assert plan.actions == ()
    assert "2 employments" in plan.problems[0] and "Employment history" in plan.problems[0]


def test_a_different_start_date_in_dynamics_is_kept_and_reported(company: CompanyMapping) -> None:
    plan = plan_worker(desired(company), worker_row(), [employment("2021-02-15")])
    assert plan.actions == ()
    assert "2021-02-15" in plan.notes[0] and "2021-03-01" in plan.notes[0]


def test_employments_in_other_legal_entities_are_not_touched(company: CompanyMapping) -> None:
    other = Employment.from_row(
        {
            "PersonnelNumber": PN,
            "LegalEntityId": "SBC",
            "EmploymentStartDate": "2020-01-01T12:00:00Z",
            "EmploymentEndDate": OPEN_END,
        }
    )
    plan = plan_worker(desired(company), worker_row(), [other])
    assert [a.kind for a in plan.actions] == ["create_employment"]
