"""Benchmark: extract a large Gusto sandbox company with tap-gusto (not a test).

Starts the Gusto sandbox in a child process (so the peak memory printed is the tap's), with
``large_company_employees`` employees and a raised rate limit, sets the tap's client-side limit
just under it, extracts only the large company, and prints:

* requests made vs the minimum needed (from the sandbox's page counts),
* 429s received (goal 0),
* achieved request rate vs the allowed rate (goal >= 90% once the run is limiter-bound),
* the tap's CPU seconds, records/second and peak memory (resource.getrusage).

BENCH_PROFILE=<file> writes a cProfile of the extraction there.

    .venv/bin/python bench/tap_extract.py [--employees 5000] [--sandbox-limit 200]

``--memory`` instead prints the tap's peak RSS for each ``payroll_record_shape`` value at each
company size of ``BENCH_TAP_SIZES`` (default ``500,5000,50000``; 50,000 takes minutes), every
run in a fresh process so that each peak is its own, without rate limits, over the payrolls of
the last ``--days`` days (default 45 with ``--memory``: one payroll's size is what matters).

    BENCH_TAP_SIZES=500,5000 .venv/bin/python bench/tap_extract.py --memory
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import io
import json
import math
import multiprocessing
import os
import resource
import tempfile
import time
import urllib.request
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

PER_PAGE = 100
SHAPES = ("whole", "split", "auto")
DEFAULT_SIZES = "500,5000,50000"
# --memory: no rate limit on either side, so the runs measure the tap, not the limiter.
UNLIMITED_PER_MINUTE = 1_000_000
# A fixed day keeps runs comparable: the seed's calendar counts from it.
BENCH_TODAY = dt.date(2026, 12, 3)


def _serve(conn: Connection, employees: int, limit: int) -> None:
    from gd_sandbox.gusto import GustoSandbox  # noqa: PLC0415 - child process only

    with GustoSandbox(
        port=0,
        seed="demo",
        large_company_employees=employees,
        rate_limit_per_minute=limit,
        today=BENCH_TODAY,
    ) as gusto:
        large = gusto.company_uuids[-1]
        info = gusto.info()
        company = next(c for c in info["companies"] if c["uuid"] == large)
        payroll_sizes = [
            len(gusto.payroll_expected(p["uuid"])["employee_compensations"])
            for p in company["payrolls"]
            if p["processed"]
        ]
        conn.send(
            {
                "url": gusto.url,
                "client_id": gusto.client_id,
                "client_secret": gusto.client_secret,
                "company": large,
                "name": company["name"],
                "employees": company["employees"],
                "payroll_sizes": payroll_sizes,
                "refresh_token": gusto.mint_refresh_token(large),
                "today": info["today"],
            }
        )
        # "mint": a fresh refresh token for one more tap run (Gusto's are single-use); "stop".
        while conn.recv() == "mint":
            conn.send(gusto.mint_refresh_token(large))


def minimum_requests(meta: dict[str, Any], start: dt.date, today: dt.date) -> int:
    """Requests a perfect client needs under Gusto's paging and window rules (pay periods
    wholly inside the window: overlapping windows from before the start; docs/extraction.md)."""
    from tap_gusto.dates import horizon, period_listing_start, period_windows, windows  # noqa: PLC0415

    ahead = sum(1 for _ in period_windows(period_listing_start(start), horizon(today)))
    to_today = sum(1 for _ in windows(start, today))
    return (
        1  # token refresh
        + 1  # company
        + math.ceil(meta["employees"] / PER_PAGE)
        + 1  # departments
        + 1  # locations
        + 1  # pay schedules
        + 1  # contractors
        + ahead  # pay periods stream (one page per window here)
        + ahead  # pay periods again: the payrolls' completeness check
        + ahead  # payroll list (one page per window here)
        + sum(math.ceil(n / PER_PAGE) for n in meta["payroll_sizes"])
        + to_today  # contractor payments
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=5000)
    # 5000 employees need ~212 requests; at Gusto's real 200/min the run is limiter-bound for
    # its second minute, which is what the rate figures measure. Raise both limits for
    # bigger companies (e.g. --employees 20000 --sandbox-limit 600).
    parser.add_argument("--sandbox-limit", type=int, default=200, help="requests/minute")
    parser.add_argument("--tap-limit", type=int, help="default: 95%% of the sandbox limit")
    parser.add_argument("--memory", action="store_true", help="peak RSS of each record shape")
    parser.add_argument("--days", type=int, help="payrolls paid in the last N days (default 365)")
    parser.add_argument("--shape", choices=SHAPES, default="whole", help="payroll_record_shape")
    args = parser.parse_args()
    if args.memory:
        memory_table(args.days or 45)
        return
    tap_limit = args.tap_limit or int(args.sandbox_limit * 0.95)

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child, args.employees, args.sandbox_limit))
    server.start()
    meta = parent.recv()
    try:
        run(meta, tap_limit, args.sandbox_limit, args.days or 365, args.shape)
    finally:
        parent.send("stop")
        server.join(timeout=30)


def memory_table(days: int) -> None:
    """Peak RSS of the tap per company size and record shape (each run its own process)."""
    sizes = [int(n) for n in os.environ.get("BENCH_TAP_SIZES", DEFAULT_SIZES).split(",") if n]
    ctx = multiprocessing.get_context("spawn")
    peaks: dict[tuple[int, str], float] = {}
    print(f"{'employees':>9}  {'shape':<5}  {'peak RSS':>9}  {'tap CPU':>8}  records")
    for size in sizes:
        parent, child = ctx.Pipe()
        server = ctx.Process(target=_serve, args=(child, size, UNLIMITED_PER_MINUTE))
        server.start()
        meta = parent.recv()
        try:
            for shape in SHAPES:
                parent.send("mint")
                meta["refresh_token"] = parent.recv()
                back, there = ctx.Pipe()
                tap = ctx.Process(target=_measure, args=(there, meta, days, shape))
                tap.start()
                tap.join()
                if not back.poll():
                    raise SystemExit(f"the {shape} run at {size} employees failed (see above)")
                figures = back.recv()
                peaks[size, shape] = figures["peak_mib"]
                print(
                    f"{size:>9}  {shape:<5}  {figures['peak_mib']:>5.0f} MiB  "
                    f"{figures['cpu']:>7.2f}s  {figures['records']}",
                    flush=True,
                )
        finally:
            parent.send("stop")
            server.join(timeout=60)
    low, high = min(sizes), max(sizes)
    if low != high:
        for shape in SHAPES:
            ratio = peaks[high, shape] / peaks[low, shape]
            print(f"peak RSS {shape}: {high} employees = {ratio:.2f}x {low} employees")


def _measure(conn: Connection, meta: dict[str, Any], days: int, shape: str) -> None:
    config = _tap_config(meta, UNLIMITED_PER_MINUTE, days, shape)
    from tap_gusto.tap import TapGusto  # noqa: PLC0415 - child process only

    tap = TapGusto(config=config, parse_env_config=False)
    sink = _CountingSink()
    cpu_started = time.process_time()
    with contextlib.redirect_stdout(sink):
        tap.extract()
    conn.send(
        {
            "cpu": time.process_time() - cpu_started,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "records": dict(sink.records),
        }
    )


def _tap_config(meta: dict[str, Any], tap_limit: int, days: int, shape: str) -> dict[str, Any]:
    """The tap's config for the sandbox's large company, its tokens in a fresh store."""
    from gd_vault import Vault, generate_key  # noqa: PLC0415

    key = generate_key()
    os.environ["GUSTO_DYNAMICS_VAULT_KEY"] = key.decode() if isinstance(key, bytes) else key
    store = Path(tempfile.mkdtemp(prefix="tap-bench-")) / "vault.enc"
    vault = Vault.open(store)

    def write(data: dict[str, Any]) -> None:
        data["gusto"] = {
            "app": {"client_id": meta["client_id"], "client_secret": meta["client_secret"]},
            "companies": {
                meta["company"]: {
                    "company_uuid": meta["company"],
                    "refresh_token": meta["refresh_token"],
                    "access_token": None,
                    "expires_at": 0,
                    "api_url": meta["url"],
                }
            },
        }

    vault.update(write)
    today = dt.date.fromisoformat(meta["today"])
    return {
        "credentials_store": str(store),
        "company_ids": [meta["company"]],
        "start_date": (today - dt.timedelta(days=days)).isoformat(),
        "max_requests_per_minute": tap_limit,
        "payroll_record_shape": shape,
        "status_file": str(store.parent / "run-status.json"),
    }


def run(meta: dict[str, Any], tap_limit: int, sandbox_limit: int, days: int, shape: str) -> None:
    from tap_gusto.tap import TapGusto  # noqa: PLC0415

    config = _tap_config(meta, tap_limit, days, shape)
    today = dt.date.fromisoformat(meta["today"])
    start = dt.date.fromisoformat(config["start_date"])
    tap = TapGusto(config=config, parse_env_config=False)
    sink = _CountingSink()
    started = time.monotonic()
    cpu_started = time.process_time()
    profile = os.environ.get("BENCH_PROFILE")
    with contextlib.redirect_stdout(sink):
        if profile:
            cProfile.runctx("tap.extract()", globals(), {"tap": tap}, profile)
        else:
            tap.extract()
    elapsed = time.monotonic() - started
    cpu = time.process_time() - cpu_started

    with urllib.request.urlopen(meta["url"] + "/_sandbox/stats", timeout=30) as response:
        stats = json.load(response)
    made = sum(n for path, n in stats["per_path"].items() if not path.startswith("GET /_sandbox"))
    limiter = tap.connections.get(meta["company"]).limiter.stats
    minimum = minimum_requests(meta, start, today)
    records = sum(sink.records.values())
    rate = made / elapsed * 60
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    print(f"company            {meta['name']} ({meta['employees']} employees)")
    print(f"requests made      {made} (minimum needed {minimum}; extra {made - minimum})")
    print(f"429s received      {limiter.throttled_429} (sandbox counted {stats['throttled']})")
    print(
        f"request rate       {rate:.0f}/min achieved over {elapsed:.1f}s vs {tap_limit}/min "
        f"allowed ({rate / tap_limit:.0%}); sandbox limit {sandbox_limit}/min"
    )
    print(
        f"peak 60s window    {limiter.peak_in_window} requests "
        f"({limiter.peak_in_window / tap_limit:.0%} of the allowed {tap_limit})"
    )
    print(f"limiter waits      {len(limiter.waits)} ({sum(limiter.waits):.1f}s total)")
    print(f"tap CPU            {cpu:.2f}s (user+system of the tap, sandbox excluded)")
    print(f"records            {records} ({records / elapsed:.1f}/s): {dict(sink.records)}")
    print(f"peak memory        {peak_kib / 1024:.0f} MiB (ru_maxrss of the tap process)")

    # The next incremental run with nothing new in Gusto (same Gusto day): what a schedule that
    # runs every few minutes costs per run.
    before = _sandbox_stats(meta["url"])
    rerun = TapGusto(config=config, state=sink.last_state, parse_env_config=False)
    with contextlib.redirect_stdout(_CountingSink()):
        rerun.extract()
    after = _sandbox_stats(meta["url"])
    rerun_made = _requests(after) - _requests(before)
    employee_pages = after["per_path"].get(f"GET /v1/companies/{meta['company']}/employees", 0)
    employee_pages -= before["per_path"].get(f"GET /v1/companies/{meta['company']}/employees", 0)
    print(
        f"incremental rerun  {rerun_made} requests with nothing new (employees pages read: "
        f"{employee_pages}; employees_refresh={config.get('employees_refresh', 'daily')}), "
        f"{rerun.connections.get(meta['company']).limiter.stats.throttled_429} 429s"
    )


def _sandbox_stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/_sandbox/stats", timeout=30) as response:
        return dict(json.load(response))


def _requests(stats: dict[str, Any]) -> int:
    return sum(n for path, n in stats["per_path"].items() if not path.startswith("GET /_sandbox"))


class _CountingSink(io.TextIOBase):
    """Counts Singer messages instead of keeping them (the records are large)."""

    def __init__(self) -> None:
        self.records: Counter[str] = Counter()
        self.last_state: dict[str, Any] = {}
        self._partial = ""

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            if line.startswith('{"type":"RECORD"'):
                stream = line[len('{"type":"RECORD","stream":"') :].split('"', 1)[0]
                self.records[stream] += 1
            elif line.startswith('{"type":"STATE"'):
                self.last_state = json.loads(line)["value"]
        return len(text)


if __name__ == "__main__":
    main()
