"""Benchmark: post one large payroll of the Gusto sandbox into the Dynamics sandbox.

Runs the real target as a subprocess (its own peak memory and CPU, read with ``os.wait4`` in
a small launcher process) on one payroll shaped like tap-gusto's output, in each record shape
(docs/CONTRACTS.md section 7): ``whole`` (one record, every compensation page merged),
``split`` (one ``payroll_compensations`` record per employee, then the ``payrolls`` record
naming the read) and ``auto`` (this project's pipeline: whole up to the tap's
``payroll_split_above``, 5,000 employees, split above). Employee departments/locations are put
in the audit store beforehand, as a previous run's employees stream would have left them, so
the numbers are those of posting.

Prints the machine's reference CPU first (bench/machine.py), then requests to Dynamics against
the minimum, wall and CPU time (with and without the target's start-up, measured on an empty
input) and the target's peak RSS, per size and shape.
Not a test: `make bench` or `.venv/bin/python bench/target_post.py`.
BENCH_EMPLOYEES=500,5000,50000 chooses the sizes (default 5000; 50,000 takes minutes),
BENCH_SHAPES=whole,split,auto the shapes (default all three), BENCH_RUNS the runs of each target
(default 3; wall, CPU and peak RSS printed are the medians, CPU without start-up the median of
each run's difference with an empty-input run just before it); BENCH_KEEP=1 keeps the work
directory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from machine import reference_line
from target_dynamics_fo.audit import AuditStore

ROOT = Path(__file__).resolve().parent.parent
# Where the measured plugin processes come from: BENCH_PLUGIN_BIN (`make bench` gives the
# plugins' own environment, as Meltano installs them), else this interpreter's.
PLUGIN_BIN = Path(os.environ.get("BENCH_PLUGIN_BIN") or Path(sys.executable).parent)
SIZES = [int(n) for n in os.environ.get("BENCH_EMPLOYEES", "5000").split(",") if n.strip()]
# Each target is run this many times; the figures printed are the medians (CPU is noisy on a
# shared machine).
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SHAPES = [
    s.strip() for s in os.environ.get("BENCH_SHAPES", "whole,split,auto").split(",") if s.strip()
]
TODAY = dt.date(2026, 12, 3)
# The tap's output is the input of these benchmarks, not what they measure: the Gusto sandbox
# lets it read as fast as it can (the tap then does too: max_requests_per_minute below).
SANDBOX_LIMIT = 1_000_000
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


def write_target_config(
    path: Path, dyn: DynamicsSandbox, mapping_file: Path, audit_db: Path
) -> None:
    """The target's config for the Dynamics sandbox ``dyn`` (its Entra side over TLS)."""
    path.write_text(
        json.dumps(
            {
                **dyn.client_settings(),
                "mapping_file": str(mapping_file),
                "audit_db": str(audit_db),
            }
        )
    )


def large_sandbox(employees: int) -> GustoSandbox:
    """The Gusto sandbox with a large company of ``employees``, serving without a rate limit."""
    return GustoSandbox(
        port=0,
        seed="demo",
        large_company_employees=employees,
        today=TODAY,
        rate_limit_per_minute=SANDBOX_LIMIT,
    )


def large_company(gusto: GustoSandbox, employees: int) -> dict[str, Any]:
    """The sandbox's company of ``employees`` (its summary from the sandbox's info)."""
    return next(c for c in gusto.info()["companies"] if c["employees"] == employees)


def tap_messages(
    gusto: GustoSandbox,
    company_uuid: str,
    streams: set[str],
    path: Path,
    settings: dict[str, Any] | None = None,
) -> None:
    """tap-gusto's SCHEMA and RECORD messages of ``streams`` for one company of the sandbox,
    written to ``path``: the tap runs in this process, with only those streams selected."""
    from gd_vault import Vault, generate_key  # noqa: PLC0415 - after the sandbox is up
    from tap_gusto.tap import TapGusto  # noqa: PLC0415

    key = generate_key()
    os.environ["GUSTO_DYNAMICS_VAULT_KEY"] = key.decode() if isinstance(key, bytes) else key
    store = path.parent / "vault.enc"
    store.unlink(missing_ok=True)
    vault = Vault.open(store)
    token = gusto.mint_refresh_token(company_uuid)

    def write(data: dict[str, Any]) -> None:
        data["gusto"] = {
            "app": {"client_id": gusto.client_id, "client_secret": gusto.client_secret},
            "companies": {
                company_uuid: {
                    "company_uuid": company_uuid,
                    "refresh_token": token,
                    "access_token": None,
                    "expires_at": 0,
                    "api_url": gusto.url,
                }
            },
        }

    vault.update(write)
    config = {
        "credentials_store": str(store),
        "company_ids": [company_uuid],
        "start_date": (TODAY - dt.timedelta(days=15)).isoformat(),
        "max_requests_per_minute": 1_000_000,
        "status_file": str(path.parent / "run-status.json"),
        **(settings or {}),
    }
    catalog = TapGusto(config=config, parse_env_config=False).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if not meta["breadcrumb"]:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in streams
    tap = TapGusto(config=config, catalog=catalog, parse_env_config=False)
    with path.open("w") as out, contextlib.redirect_stdout(out):
        tap.extract()
    kept = []
    with path.open() as lines:
        for line in lines:
            message = json.loads(line)
            if message.get("type") in ("SCHEMA", "RECORD") and message["stream"] in streams:
                kept.append(line)
    path.write_text("".join(kept))


def payroll_messages(gusto: GustoSandbox, company_uuid: str, shape: str, path: Path) -> str:
    """tap-gusto's output for the company's latest processed payroll in ``shape`` (its
    schemas, Decimal amounts as JSON numbers, and when split one record per compensation
    before the payroll's), written to ``path``; returns the payroll's uuid."""
    streams = {"payrolls", "payroll_compensations"} if shape != "whole" else {"payrolls"}
    tap_messages(gusto, company_uuid, streams, path, {"payroll_record_shape": shape})
    messages = [json.loads(line) for line in path.read_text().splitlines()]
    chosen = [
        m["record"]
        for m in messages
        if m["type"] == "RECORD" and m["stream"] == "payrolls" and m["record"].get("processed")
    ][-1]
    payroll_uuid = str(chosen["payroll_uuid"])
    kept = [
        line
        for line, m in zip(path.read_text().splitlines(), messages, strict=True)
        if m["type"] == "SCHEMA"
        or (
            m["record"].get("payroll_uuid") == payroll_uuid
            and m["record"].get("fetch_id") == chosen.get("fetch_id")
        )
    ]
    path.write_text("\n".join(kept) + "\n")
    return payroll_uuid


# Runs the command given in its arguments and writes its exit status, CPU and peak RSS to the
# file named first. Linux carries a process's peak RSS across exec, and a child forked from
# this benchmark starts with the benchmark's memory mapped (the sandbox data: hundreds of MB at
# 50,000 employees); forked from this small launcher, the target's peak is its own.
LAUNCHER = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump([os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime,
               usage.ru_maxrss], out)
"""


def run_target(config: Path, messages: Path, work: Path) -> tuple[int, float, float, float]:
    """(exit status, wall s, CPU s, peak RSS MB) of one target process on ``messages``."""
    # BENCH_PROFILE=<file> writes a cProfile of the target there (CPU then includes it).
    profile = os.environ.get("BENCH_PROFILE")
    python = str(PLUGIN_BIN / "python")
    command = [python, str(PLUGIN_BIN / "target-dynamics-fo")]
    if profile:
        command = [python, "-m", "cProfile", "-o", profile, "-m", "target_dynamics_fo"]
    started = time.monotonic()
    with (
        messages.open() as stdin,
        (work / "target.out").open("w") as stdout,
        (work / "target.err").open("w") as stderr,
    ):
        report = work / "usage.json"
        subprocess.run(
            [sys.executable, "-c", LAUNCHER, str(report), *command, "--config", str(config)],
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            check=False,
        )
    elapsed = time.monotonic() - started
    code, cpu, peak_kb = json.loads(report.read_text())
    return int(code), elapsed, float(cpu), peak_kb / 1024


@contextlib.contextmanager
def work_directory(prefix: str) -> Iterator[Path]:
    """A new directory for one size's inputs and audit stores (hundreds of MB at 50,000
    employees), removed afterwards unless BENCH_KEEP=1."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield work
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)


def bench_size(employees: int) -> int:
    with work_directory("bench-target-") as work:
        return _bench_size(employees, work)


def _bench_size(employees: int, work: Path) -> int:
    payrolls: dict[str, str] = {}
    with large_sandbox(employees) as gusto:
        big = large_company(gusto, employees)
        company = gusto.company(big["uuid"])
        staff = list(company.employees)
        for shape in SHAPES:
            payrolls[shape] = payroll_messages(gusto, big["uuid"], shape, work / f"{shape}.jsonl")
    titles = sorted({e.department.title for e in staff if e.department})
    locations = sorted({e.location.uuid for e in staff})
    mapping_file = work / "mapping.yml"
    mapping_file.write_text(yaml.safe_dump(bench_mapping(big["uuid"], titles, locations)))
    seeded = work / "seeded.sqlite"
    with AuditStore(seeded) as audit:
        for e in staff:
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
    empty = work / "empty.jsonl"
    empty.write_text("")
    failed = 0
    for shape in SHAPES:
        messages = work / f"{shape}.jsonl"
        payroll_uuid = payrolls[shape]
        size_mb = messages.stat().st_size / 1e6
        runs: list[tuple[int, float, float, float, float]] = []
        for _ in range(RUNS):
            # Each run posts into a fresh F&O and a fresh copy of the seeded audit store, so
            # every run does the same work (a second post of the payroll would be skipped).
            audit_db = work / f"{shape}.sqlite"
            shutil.copyfile(seeded, audit_db)
            with DynamicsSandbox(port=0) as dyn:
                config = work / f"{shape}.json"
                write_target_config(config, dyn, mapping_file, audit_db)
                _, _, startup_cpu, _ = run_target(config, empty, work)
                code, elapsed, cpu, peak_mb = run_target(config, messages, work)
                stats = dyn.stats
                lines = len(dyn.entities["LedgerJournalLines"])
            runs.append((code, elapsed, cpu, startup_cpu, peak_mb))
            if code != 0:
                break
        code = max(run[0] for run in runs)
        elapsed = statistics.median(run[1] for run in runs)
        cpu = statistics.median(run[2] for run in runs)
        startup_cpu = statistics.median(run[3] for run in runs)
        work_cpu = statistics.median(run[2] - run[3] for run in runs)
        peak_mb = statistics.median(run[4] for run in runs)
        if code != 0:
            sys.stderr.write((work / "target.err").read_text()[-4000:])
            print(f"{employees} employees, {shape}: target failed (exit {code})")
            failed += 1
            continue
        # The sandbox also counts each operation inside the $batch, and the Entra endpoints.
        auth_requests = sum(
            sum(c.values())
            for e, ms in stats["requests"].items()
            if e in ("openid", "token")
            for c in ms.values()
        )
        data_requests = stats["total"] - stats["batch_operations"] - auth_requests
        print(
            f"== payroll {payroll_uuid}: {employees} employees, shape {shape}, "
            f"input {size_mb:.1f} MB"
        )
        print(f"journal lines posted: {lines} (summary level department, one $batch changeset)")
        print(
            f"HTTP requests to Dynamics: {data_requests} (minimum {MINIMUM_DATA_REQUESTS}), "
            f"{stats['batch_operations']} operations inside the $batch, {auth_requests} to Entra "
            f"({stats['tokens_issued']} token issued)"
        )
        print(
            f"time: {elapsed:.1f} s wall, {cpu:.2f} s CPU (target process, start to exit), "
            f"{work_cpu:.2f} s CPU without its start-up ({startup_cpu:.2f} s on an "
            "empty input)"
        )
        print(f"peak memory of the target process: {peak_mb:.0f} MB RSS")
    return failed


def main() -> int:
    print(reference_line(PLUGIN_BIN / "python"))
    return 1 if sum(bench_size(n) for n in SIZES) else 0


if __name__ == "__main__":
    raise SystemExit(main())
