"""PeopleSync over HTTP against the Dynamics sandbox: what a run does to workers and employments.

In process (fast); the pipeline-level tests are in tests/test_e2e_people.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from gd_sandbox.dynamics import DynamicsSandbox
from target_dynamics_fo.audit import AuditStore
from target_dynamics_fo.mapping import Mapping, load_mapping, parse_mapping
from target_dynamics_fo.payrolls import PayrollProcessor
from target_dynamics_fo.settings import build_client
from target_dynamics_fo.workers import OPEN_END, PeopleSync

MAPPING = Path(__file__).resolve().parents[2] / "config" / "mapping.yml"
RIDGELINE = "0c991fcc-d01e-50c4-90c6-d27026b49396"
EMP = "3f2a9c1e-0000-4000-8000-000000000001"
PN = "GUS-3F2A9C1E"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox(port=0) as dyn:
        yield dyn


@pytest.fixture
def dyn(sandbox: DynamicsSandbox) -> DynamicsSandbox:
    sandbox.reset()
    return sandbox


def employee(**over: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "uuid": EMP,
        "company_uuid": RIDGELINE,
        "first_name": "Avery",
        "middle_initial": None,
        "last_name": "Stone",
        "department": "Commercial Field Operations",
        "department_uuid": None,
        "terminated": False,
        "jobs": [{"hire_date": "2021-03-01", "primary": True, "location_uuid": None}],
        "terminations": [],
    }
    record.update(over)
    return record


def run(
    dyn: DynamicsSandbox, tmp_path: Path, *records: dict[str, Any], mapping: Mapping | None = None
) -> PeopleSync:
    mapping = mapping or load_mapping(MAPPING)
    audit = AuditStore(tmp_path / "audit.sqlite")
    client = build_client(
        {
            **dyn.client_settings(),
            "request_deadline_seconds": 30,
        },
        audit,
    )
    client.backoff_base_seconds = 0.01
    processor = PayrollProcessor(mapping, audit, client)
    sync = PeopleSync(mapping, audit, client, lambda: processor.reference)
    for record in records:
        sync.remember(record)
    sync.sync_pending()
    return sync


def worker(dyn: DynamicsSandbox, number: str = PN) -> list[dict[str, Any]]:
    return [w for w in dyn.entities["Workers"] if w["PersonnelNumber"] == number]


def employments(dyn: DynamicsSandbox, number: str = PN) -> list[dict[str, Any]]:
    rows = [e for e in dyn.entities["Employments"] if e["PersonnelNumber"] == number]
    return sorted(rows, key=lambda e: e["EmploymentStartDate"])


def test_hire_then_rerun_then_rename_then_department_change(
    dyn: DynamicsSandbox, tmp_path: Path
) -> None:
    first = run(dyn, tmp_path, employee())
    assert first.summary.failures == []
    [w] = worker(dyn)
    assert (w["FirstName"], w["LastName"], w["Name"]) == ("Avery", "Stone", "Avery Stone")
    [e] = employments(dyn)
    assert e["LegalEntityId"] == "rsc"
    assert (e["EmploymentStartDate"], e["EmploymentEndDate"]) == ("2021-03-01T12:00:00Z", OPEN_END)
    assert e["DimensionDisplayValue"] == "100-110-"

    rerun = run(dyn, tmp_path, employee())
    assert rerun.summary.counts == {"unchanged": 1}

    run(dyn, tmp_path, employee(last_name="Stone-Reyes", department="Residential Service"))
    [w] = worker(dyn)
    assert (w["LastName"], w["Name"]) == ("Stone-Reyes", "Avery Stone-Reyes")
    [e] = employments(dyn)
    assert e["DimensionDisplayValue"] == "200-220-"
    kinds = [r["action"] for r in rerun.audit.people_decisions() if r["outcome"] == "done"]
    assert kinds == ["create_worker", "create_employment", "update_worker", "update_employment"]


def test_termination_then_rehire(dyn: DynamicsSandbox, tmp_path: Path) -> None:
    run(dyn, tmp_path, employee())
    left = employee(terminated=True, terminations=[{"uuid": "t1", "effective_date": "2024-08-15"}])
    run(dyn, tmp_path, left)
    [e] = employments(dyn)
    assert e["EmploymentEndDate"] == "2024-08-15T12:00:00Z"
    assert worker(dyn)[0]["WorkerStatus"] in ("Terminated", "Employed")  # status is F&O's

    back = employee(
        jobs=[{"hire_date": "2025-02-01", "primary": True}],
        terminations=[{"uuid": "t1", "effective_date": "2024-08-15"}],
    )
    sync = run(dyn, tmp_path, back)
    assert sync.summary.failures == []
    old, new = employments(dyn)
    assert old["EmploymentEndDate"] == "2024-08-15T12:00:00Z"
    assert (new["EmploymentStartDate"], new["EmploymentEndDate"]) == (
        "2025-02-01T12:00:00Z",
        OPEN_END,
    )
    assert len(worker(dyn)) == 1
    assert run(dyn, tmp_path, back).summary.counts == {"unchanged": 1}


def test_a_lost_answer_is_looked_up_and_nothing_is_created_twice(
    dyn: DynamicsSandbox, tmp_path: Path
) -> None:
    dyn.set_faults({"lose_response_next_write": 1})
    sync = run(dyn, tmp_path, employee())
    assert sync.summary.failures == []
    assert len(worker(dyn)) == 1 and len(employments(dyn)) == 1
    assert sync.summary.counts == {"confirmed by look-up after an unclear write": 1}


def test_a_linked_existing_worker_is_matched_not_created(
    dyn: DynamicsSandbox, tmp_path: Path
) -> None:
    raw = yaml.safe_load(MAPPING.read_text())
    raw["companies"][RIDGELINE]["workers"]["links"] = {EMP: "000101"}
    seeded = employee(first_name="Maria", last_name="Alvarez", jobs=[{"hire_date": "2019-03-04"}])
    before = len(dyn.entities["Workers"])
    sync = run(dyn, tmp_path, seeded, mapping=parse_mapping(raw))
    assert sync.summary.failures == []
    assert len(dyn.entities["Workers"]) == before
    [e] = employments(dyn, "000101")
    assert e["DimensionDisplayValue"] == "100-110-"  # the department mapping was applied


def test_missing_reference_data_stops_every_write_for_the_company(
    dyn: DynamicsSandbox, tmp_path: Path
) -> None:
    raw = yaml.safe_load(MAPPING.read_text())
    raw["companies"][RIDGELINE]["legal_entity"] = "xyz"
    sync = run(dyn, tmp_path, employee(), mapping=parse_mapping(raw))
    [(_what, why, fix)] = sync.summary.failures
    assert "legal entity 'xyz' does not exist" in why and fix
    assert worker(dyn) == []


def test_a_terminated_employee_without_a_date_fails_alone(
    dyn: DynamicsSandbox, tmp_path: Path
) -> None:
    other = employee(uuid="aa000000-0000-4000-8000-000000000002", first_name="Sam")
    sync = run(dyn, tmp_path, employee(terminated=True), other)
    assert len(sync.summary.failures) == 1
    assert EMP in sync.summary.failures[0][0]
    assert worker(dyn) == [] and len(worker(dyn, "GUS-AA000000")) == 1


def test_a_queue_longer_than_a_page_goes_through_the_store_in_order(
    dyn: DynamicsSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("target_dynamics_fo.masterdata.sync.PAGE", 2)
    others = [
        employee(uuid=f"7{n}2a9c1e-0000-4000-8000-000000000001", last_name=f"Other{n}")
        for n in range(3)
    ]
    renamed = employee(last_name="Stone-Reyes", department="Residential Service")
    # The same employee three times in one run: each time planned against the run's copy of
    # Dynamics as the previous writes left it, so the repeat is unchanged and the rename and
    # the new department are one update each.
    sync = run(dyn, tmp_path, employee(), *others, employee(), renamed)
    assert sync.summary.failures == []
    assert sync.summary.counts == {
        "create_employment": 4,
        "create_worker": 4,
        "unchanged": 1,
        "update_employment": 1,
        "update_worker": 1,
    }
    [w] = worker(dyn)
    assert w["Name"] == "Avery Stone-Reyes"
    [e] = employments(dyn)
    assert e["DimensionDisplayValue"] == "200-220-"
    assert {w["LastName"] for w in dyn.entities["Workers"]} >= {"Other0", "Other1", "Other2"}
    # Every queued record was consumed: nothing is left for a later sync_pending.
    assert sync.audit.master_queue_end(sync.label) == 0
    sync.sync_pending()
    assert sum(sync.summary.counts.values()) == 11
