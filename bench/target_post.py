"""Benchmark: post the 5,000-employee payroll of the Gusto sandbox into the Dynamics sandbox.

Runs the real target as a subprocess (so its peak memory is measured alone) on one payroll
record shaped like tap-gusto's (every compensation page merged, employee_compensations_count
set). Employee departments/locations are put in the audit store beforehand, as a previous
run's employees stream would have left them, so the numbers are those of posting alone.

Prints requests to Dynamics against the minimum, wall and CPU time and the target's peak RSS.
Not a test: `make bench` or `.venv/bin/python bench/target_post.py`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from target_dynamics_fo.audit import AuditStore, to_json

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
EMPLOYEES = int(os.environ.get("BENCH_EMPLOYEES", "5000"))
RIDGELINE = "0c991fcc-d01e-50c4-90c6-d27026b49396"
# One Entra token, six reference reads (delimiter, formats, accounts, dimension values,
# operating units, journal names of the one legal entity), one lookup, one $batch.
MINIMUM_DATA_REQUESTS = 8


def bench_mapping(
    company_uuid: str, departments: list[str], locations: list[str]
) -> dict[str, Any]:
    mapping = yaml.safe_load((ROOT / "config" / "mapping.yml").read_text())
    company = dict(mapping["companies"][RIDGELINE])
    company["name"] = "Large Benchmark Co"
    company["journal_number_prefix"] = "BEN"
    company["dimensions"] = {
        "departments": {
            title: {"BusinessUnit": "900", "Department": "910"} for title in departments
        },
        "locations": {uuid: {"CostCenter": "DEN"} for uuid in locations},
    }
    return {"version": 1, "companies": {company_uuid: company}}


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-target-"))
    with GustoSandbox(
        port=0, seed="demo", large_company_employees=EMPLOYEES, today=dt.date(2026, 12, 3)
    ) as gusto:
        big = next(c for c in gusto.info()["companies"] if c["employees"] == EMPLOYEES)
        payroll_uuid = next(p["uuid"] for p in big["payrolls"] if p["processed"])
        record = gusto.payroll_expected(payroll_uuid)
        record["employee_compensations_count"] = len(record["employee_compensations"])
        record["payroll_type"] = "off_cycle" if record.get("off_cycle") else "regular"
        company = gusto.company(big["uuid"])
        employees = list(company.employees)
    titles = sorted({e.department.title for e in employees if e.department})
    locations = sorted({e.location.uuid for e in employees})
    mapping_file = work / "mapping.yml"
    mapping_file.write_text(yaml.safe_dump(bench_mapping(big["uuid"], titles, locations)))
    audit_db = work / "audit.sqlite"
    with AuditStore(audit_db) as audit:
        for e in employees:
            audit.save_employee_ref(
                big["uuid"],
                e.uuid,
                {
                    "uuid": e.uuid,
                    "department_uuid": e.department.uuid if e.department else None,
                    "department_title": e.department.title if e.department else None,
                    "location_uuid": e.location.uuid,
                },
            )
    messages = work / "messages.jsonl"
    schema = {
        "type": "SCHEMA",
        "stream": "payrolls",
        "schema": {"type": "object", "properties": {}},
        "key_properties": ["payroll_uuid"],
    }
    messages.write_text(
        json.dumps(schema)
        + "\n"
        + to_json({"type": "RECORD", "stream": "payrolls", "record": record})
        + "\n"
    )
    size_mb = messages.stat().st_size / 1e6

    with DynamicsSandbox(port=0) as dyn:
        config = work / "target.json"
        config.write_text(
            json.dumps(
                {
                    "environment_url": dyn.url,
                    "tenant_id": dyn.tenant_id,
                    "client_id": dyn.client_id,
                    "client_secret": dyn.client_secret,
                    "authority_host": dyn.url,
                    "ca_bundle": dyn.ca_bundle,
                    "mapping_file": str(mapping_file),
                    "audit_db": str(audit_db),
                }
            )
        )
        started = time.monotonic()
        with messages.open() as stdin:
            # BENCH_PROFILE=<file> writes a cProfile of the target there (CPU then includes it).
            profile = os.environ.get("BENCH_PROFILE")
            command = [str(BIN / "target-dynamics-fo")]
            if profile:
                command = [
                    sys.executable,
                    "-m",
                    "cProfile",
                    "-o",
                    profile,
                    "-m",
                    "target_dynamics_fo",
                ]
            result = subprocess.run(
                [*command, "--config", str(config)],
                stdin=stdin,
                capture_output=True,
                text=True,
                check=False,
            )
        elapsed = time.monotonic() - started
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_mb = usage.ru_maxrss / 1024
        cpu = usage.ru_utime + usage.ru_stime
        stats = dyn.stats
        lines = len(dyn.entities["LedgerJournalLines"])
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-4000:])
        print(f"target failed (exit {result.returncode})")
        return 1
    # The sandbox also counts each operation inside the $batch, and the Entra endpoints.
    auth_requests = sum(
        sum(c.values())
        for e, ms in stats["requests"].items()
        if e in ("openid", "token")
        for c in ms.values()
    )
    data_requests = stats["total"] - stats["batch_operations"] - auth_requests
    print(f"payroll {payroll_uuid}: {EMPLOYEES} employees, record {size_mb:.1f} MB")
    print(f"journal lines posted: {lines} (summary level department, one $batch changeset)")
    print(
        f"HTTP requests to Dynamics: {data_requests} (minimum {MINIMUM_DATA_REQUESTS}), "
        f"{stats['batch_operations']} operations inside the $batch, {auth_requests} to Entra "
        f"({stats['tokens_issued']} token issued)"
    )
    print(f"time: {elapsed:.1f} s wall, {cpu:.2f} s CPU (target process, start to exit)")
    print(f"peak memory of the target process: {peak_mb:.0f} MB RSS")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
