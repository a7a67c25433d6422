"""Benchmark: the target on a large company's ``employees`` stream plus one split payroll.

Runs the real target as a subprocess through bench/target_post.py's launcher (so the peak RSS
printed is the target's own) on the ``employees`` records tap-gusto emits for the Gusto
sandbox's large company (the tap runs in this process with only that stream selected), followed
by one payroll in the ``split`` shape, each run with a fresh audit store (the payroll is posted
each time). ``first``: the Dynamics sandbox starts empty and the run creates every worker and
employment (one $batch each; the sandbox checks each new employment against all the others,
so this run grows quadratically in the sandbox and is impractical at 50,000). ``steady``: the
sandbox already holds every worker and employment, as the target's own planner would write
them (seeded straight into its store, so any size is quick), and the run writes nothing (the
operations inside $batch printed are those of the payroll only).

Prints, per size and run: requests to Dynamics (data requests, and operations inside $batch),
wall and CPU time of the target, and its peak RSS; then the ratio of the peaks between the
largest and the smallest size. Not a test: `.venv/bin/python bench/target_people.py`.
BENCH_EMPLOYEES=500,5000,50000 chooses the sizes (default 500,5000); BENCH_PEOPLE_RUNS the runs
(default first,steady; at 50,000 use steady); BENCH_KEEP=1 keeps the work directory.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from target_post import (
    bench_mapping,
    large_company,
    large_sandbox,
    payroll_messages,
    run_target,
    tap_messages,
    work_directory,
    write_target_config,
)

SIZES = [int(n) for n in os.environ.get("BENCH_EMPLOYEES", "500,5000").split(",") if n.strip()]
RUNS = [r.strip() for r in os.environ.get("BENCH_PEOPLE_RUNS", "first,steady").split(",")]


def employees_messages(gusto: GustoSandbox, company_uuid: str, path: Path) -> int:
    """tap-gusto's SCHEMA and RECORD messages of the ``employees`` stream, written to ``path``."""
    tap_messages(gusto, company_uuid, {"employees"}, path)
    return sum(json.loads(line)["type"] == "RECORD" for line in path.read_text().splitlines())


def bench_size(employees: int) -> dict[str, float]:
    with work_directory("bench-people-") as work:
        return _bench_size(employees, work)


def _bench_size(employees: int, work: Path) -> dict[str, float]:
    with large_sandbox(employees) as gusto:
        big = large_company(gusto, employees)
        staff = list(gusto.company(big["uuid"]).employees)
        people = work / "employees.jsonl"
        count = employees_messages(gusto, big["uuid"], people)
        payroll = work / "split.jsonl"
        payroll_messages(gusto, big["uuid"], "split", payroll)
    titles = sorted({e.department.title for e in staff if e.department})
    locations = sorted({e.location.uuid for e in staff})
    mapping_file = work / "mapping.yml"
    mapping_file.write_text(yaml.safe_dump(bench_mapping(big["uuid"], titles, locations)))
    messages = work / "messages.jsonl"
    messages.write_text(people.read_text() + payroll.read_text())
    del staff
    size_mb = messages.stat().st_size / 1e6
    print(f"== {employees} employees ({count} employee records, input {size_mb:.1f} MB)")
    peaks: dict[str, float] = {}
    for run in RUNS:
        with DynamicsSandbox(port=0) as dyn:
            config = work / f"{run}.json"
            write_target_config(config, dyn, mapping_file, work / f"{run}.sqlite")
            if run == "steady":
                seed_workers(dyn, config, people, big["uuid"])
            before = dyn.stats
            code, elapsed, cpu, peak_mb = run_target(config, messages, work)
            after = dyn.stats
            if code != 0:
                sys.stderr.write((work / "target.err").read_text()[-4000:])
            data, ops = _requests(before, after)
            workers = len(dyn.entities["Workers"])
        peaks[run] = peak_mb
        print(
            f"{run:>6} run: exit {code}, {data} data requests to Dynamics ({ops} operations "
            f"inside $batch), {workers} workers in Dynamics after; {elapsed:.1f} s wall, "
            f"{cpu:.2f} s CPU, peak RSS {peak_mb:.0f} MB",
            flush=True,
        )
    return peaks


def seed_workers(dyn: DynamicsSandbox, config: Path, people: Path, company_uuid: str) -> None:
    """Put in the sandbox the worker and employment the target would create for each record."""
    from gd_sandbox.dynamics.entities import ENTITY_DEFS  # noqa: PLC0415
    from target_dynamics_fo.audit import AuditStore  # noqa: PLC0415
    from target_dynamics_fo.fo import EMPLOYMENTS, load_reference  # noqa: PLC0415
    from target_dynamics_fo.ledger import default_dimension_display_value  # noqa: PLC0415
    from target_dynamics_fo.mapping import load_mapping  # noqa: PLC0415
    from target_dynamics_fo.settings import build_client  # noqa: PLC0415
    from target_dynamics_fo.workers import desired_worker, employee_location, plan_worker  # noqa: PLC0415
    from target_dynamics_fo.workers.plan import default_format  # noqa: PLC0415

    settings = json.loads(config.read_text())
    company = load_mapping(settings["mapping_file"]).company(company_uuid)
    with AuditStore(config.parent / "seed.sqlite") as audit:
        client = build_client(settings, audit)
        fmt = default_format(load_reference(client, {company.legal_entity}))
    service = dyn.service
    with people.open() as lines:
        for line in lines:
            message = json.loads(line)
            if message["type"] != "RECORD":
                continue
            record = message["record"]
            dims = company.dimensions_for(
                record.get("department_uuid"), record.get("department"), employee_location(record)
            )
            desired = desired_worker(record, company, default_dimension_display_value(dims, fmt))
            for action in plan_worker(desired, None, []).actions:
                if action.entity != EMPLOYMENTS:
                    service.create(action.entity, dict(action.body))
                    continue
                # Straight into the store: the sandbox's overlap check reads every employment.
                entity = ENTITY_DEFS[EMPLOYMENTS]
                values = service.parse_body(entity, dict(action.body))
                with dyn.store.transaction():
                    dyn.store.put(EMPLOYMENTS, service.complete_row(entity, values, coerced=True))


def _requests(before: dict[str, Any], after: dict[str, Any]) -> tuple[int, int]:
    """(data requests, operations inside $batch) the sandbox counted between two snapshots."""

    def auth(stats: dict[str, Any]) -> int:
        return sum(
            sum(c.values())
            for e, ms in stats["requests"].items()
            if e in ("openid", "token")
            for c in ms.values()
        )

    ops = after["batch_operations"] - before["batch_operations"]
    data = after["total"] - before["total"] - ops - (auth(after) - auth(before))
    return data, ops


def main() -> int:
    peaks = {size: bench_size(size) for size in SIZES}
    low, high = min(SIZES), max(SIZES)
    if low != high:
        for run in RUNS:
            ratio = peaks[high][run] / peaks[low][run]
            print(f"peak RSS, {run} run: {high} employees = {ratio:.2f}x {low} employees")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
