"""Benchmark: five Gusto companies extracted one process each, in parallel (not a test).

The Gusto sandbox serves five companies (two demo companies, a large one and two calendar
companies), each on its own grant with Gusto's per-grant budget. The tap is run as Meltano runs
it, one ``tap-gusto`` process per job:

* one process for all five companies (as one Meltano job with every company),
* five processes at once, one per company (``company_ids`` of one company each, as five jobs),
* each company alone, to find the slowest.

Prints the wall time of each and the ratio of the parallel run to the slowest company alone
(1.0 is the floor: a run cannot finish before its biggest company), plus the CPU seconds of
the tap processes.

With Gusto's 200 requests per minute only a company of thousands of employees waits on its
budget; ``--sandbox-limit 40`` makes the small demo companies wait too, as several large ones
would.

    .venv/bin/python bench/companies_parallel.py [--employees 2000] [--sandbox-limit 200]
"""

from __future__ import annotations

import argparse
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

from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault, generate_key

# The tap processes come from BENCH_PLUGIN_BIN (`make bench`: the plugins' own environment).
BIN = Path(os.environ.get("BENCH_PLUGIN_BIN") or Path(sys.executable).parent)
BENCH_TODAY = dt.date(2026, 12, 3)
WINDOW_SECONDS = 60.0  # Gusto's (and the sandbox's) rolling rate-limit window


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_taps(configs: list[Path]) -> tuple[float, float]:
    """Wall and CPU seconds of one tap process per config, all started at once."""
    cpu = children_cpu()
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            [str(BIN / "tap-gusto"), "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for config in configs
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=1800)
        if proc.returncode != 0:
            sys.stderr.write(err[-3000:])
            raise SystemExit(f"tap-gusto failed (exit {proc.returncode})")
    return time.monotonic() - started, children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=2000, help="of the large company")
    parser.add_argument("--sandbox-limit", type=int, default=200, help="requests/minute/grant")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-parallel-"))
    key = generate_key()
    os.environ["GUSTO_DYNAMICS_VAULT_KEY"] = key.decode() if isinstance(key, bytes) else key
    with GustoSandbox(
        port=0,
        seed="demo",
        large_company_employees=args.employees,
        calendar_companies=True,
        rate_limit_per_minute=args.sandbox_limit,
        today=BENCH_TODAY,
    ) as gusto:
        companies = list(gusto.company_uuids)
        vault = Vault.open(work / "vault.enc")

        def write(data: dict[str, Any]) -> None:
            store = data.setdefault("gusto", {})
            store["app"] = {"client_id": gusto.client_id, "client_secret": gusto.client_secret}
            for company in companies:
                store.setdefault("companies", {})[company] = {
                    "company_uuid": company,
                    "refresh_token": gusto.mint_refresh_token(company),
                    "access_token": None,
                    "expires_at": 0,
                    "api_url": gusto.url,
                }

        vault.update(write)
        base = {
            "credentials_store": str(vault.path),
            "start_date": (BENCH_TODAY - dt.timedelta(days=365)).isoformat(),
            "max_requests_per_minute": args.sandbox_limit,
        }

        def config(name: str, ids: list[str]) -> Path:
            path = work / f"{name}.json"
            path.write_text(json.dumps({**base, "company_ids": ids}))
            return path

        names = {c: gusto.company(c).name for c in companies}
        everyone = config("all", companies)
        one_each = [config(company, [company]) for company in companies]
        # Every phase starts with each grant's rolling window empty (one window of rest), or a
        # phase would pay for the requests of the one before it.
        parallel_wall, parallel_cpu = run_taps(one_each)
        time.sleep(WINDOW_SECONDS)
        alone: dict[str, float] = {}
        for company, path in zip(companies, one_each, strict=True):
            alone[company], _ = run_taps([path])
        time.sleep(WINDOW_SECONDS)
        one_job_wall, one_job_cpu = run_taps([everyone])
        requests = gusto.stats.snapshot()["total"]
        throttled = gusto.stats.snapshot()["throttled"]

    slowest = max(alone, key=lambda c: alone[c])
    print(f"companies          {len(companies)} (large one: {args.employees} employees)")
    for company in companies:
        print(f"  alone            {alone[company]:6.1f}s  {names[company]}")
    print(f"one job, all       {one_job_wall:6.1f}s wall, {one_job_cpu:.1f}s tap CPU")
    print(
        f"one job each      {parallel_wall:6.1f}s wall, {parallel_cpu:.1f}s tap CPU "
        f"(five processes at once)"
    )
    print(
        f"parallel/slowest   {parallel_wall / alone[slowest]:.2f} (slowest alone: "
        f"{names[slowest]}, {alone[slowest]:.1f}s); one job/parallel "
        f"{one_job_wall / parallel_wall:.2f}x"
    )
    print(f"requests, 429s     {requests} requests to the sandbox in all, {throttled} 429s")


if __name__ == "__main__":
    main()
