"""Chaos harness: run `tap-gusto | target-dynamics-fo` as real processes, kill it, rerun, check.

A *kill* is either a named kill point (``GUSTO_DYNAMICS_KILL_AT=<point>:<n>``, see
``gd_faultpoints``), which makes the tap or the target ``os._exit(137)`` at the n-th hit, or
a SIGKILL sent from outside after a random delay. After every killed run the pipeline is started
again with the last STATE the target printed (what Meltano saves) until one run ends cleanly.

The sandboxes, credential store and config helpers are the root conftest's; this module only
adds the kill/rerun loop and the final audit of Dynamics, the audit store and the sandbox stats.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import sqlite3
import subprocess
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import gd_faultpoints as faultpoints
from e2e_support import target_config, tool, write_config
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault
from tap_gusto.tokens import TokenManager, resolve_app_credentials
from target_dynamics_fo.ledger import journal_batch_number
from target_dynamics_fo.posting import hash_in_description

RUN_TIMEOUT_SECONDS = 240.0
# What a plugin stopped by SIGTERM / SIGINT exits with: 128 + n, or -n when Python's default
# handler (or none) let the signal kill it.
STOPPED_EXIT_CODES = (
    128 + signal.SIGTERM,
    128 + signal.SIGINT,
    -signal.SIGTERM,
    -signal.SIGINT,
)
# How often a stop condition is checked (it reads the sandboxes, not the clock).
STOP_POLL_SECONDS = 0.02
MAX_RUNS_AFTER_LAST_KILL = 4
SEED_ENV = "CHAOS_SEED"
JOURNAL_PREFIX = "GUS"


@dataclass
class RunResult:
    number: int
    kill: str  # what was injected into this run ("" for none)
    tap_returncode: int
    target_returncode: int
    state: dict[str, Any] | None  # last STATE the target printed, None if it printed none
    target_log: Path
    tap_log: Path

    @property
    def killed(self) -> bool:
        codes = (self.tap_returncode, self.target_returncode)
        return faultpoints.KILL_EXIT_CODE in codes or any(
            code in codes for code in (-signal.SIGKILL, *STOPPED_EXIT_CODES)
        )

    @property
    def clean(self) -> bool:
        return self.tap_returncode == 0 and self.target_returncode == 0

    def tail(self, chars: int = 2500) -> str:
        target = self.target_log.read_text(errors="replace")[-chars:]
        tap = self.tap_log.read_text(errors="replace")[-chars:]
        return f"--- tap stderr (tail)\n{tap}\n--- target stderr (tail)\n{target}"


@dataclass
class ChaosPipeline:
    """One company set, one work folder, one saved state: the Meltano job being abused."""

    work: Path
    tap_config: Path
    target_config: Path
    state: dict[str, Any] | None = None
    runs: list[RunResult] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        work: Path,
        gusto: GustoSandbox,
        credential_store: Path,
        mapping: Path,
        *,
        company_ids: list[str],
        start_date: dt.date,
    ) -> ChaosPipeline:
        work.mkdir(parents=True, exist_ok=True)
        tap = {
            "api_url": gusto.url,
            "credentials_store": str(credential_store),
            "company_ids": company_ids,
            "start_date": start_date.isoformat(),
            # Retries are what the run is about; keep each one short.
            "backoff_max_tries": 8,
        }
        tap_config = write_config(work, tap, "tap-config.json")
        target = target_config(work, credential_store, mapping, batch_size_rows=1)
        return cls(work, tap_config, write_config(work, target))

    @property
    def audit_db(self) -> Path:
        return self.work / "audit.sqlite"

    def run(
        self,
        *,
        kill_at: str | None = None,
        external_kill: tuple[str, float] | None = None,
        during: tuple[float, Callable[[], object]] | None = None,
        stop: Stop | None = None,
    ) -> RunResult:
        """One pipeline run; ``external_kill`` = (``"tap"``|``"target"``, seconds);
        ``during`` = (seconds, action) runs the action while the pipeline runs; ``stop`` sends
        a signal to the tap, the target or both once its condition holds."""
        number = len(self.runs) + 1
        args = ["--config", str(self.tap_config)]
        if self.state is not None:
            state_file = self.work / f"state-{number}.json"
            state_file.write_text(json.dumps(self.state))
            args += ["--state", str(state_file)]
        env = dict(os.environ)
        env.pop(faultpoints.KILL_ENV, None)
        if kill_at:
            env[faultpoints.KILL_ENV] = kill_at
        tap_log = self.work / f"run-{number}.tap.log"
        target_log = self.work / f"run-{number}.target.log"
        with tap_log.open("wb") as tap_err, target_log.open("wb") as target_err:
            tap = subprocess.Popen(
                [tool("tap-gusto"), *args],
                stdout=subprocess.PIPE,
                stderr=tap_err,
                env=env,
                cwd=self.work,
            )
            target = subprocess.Popen(
                [tool("target-dynamics-fo"), "--config", str(self.target_config)],
                stdin=tap.stdout,
                stdout=subprocess.PIPE,
                stderr=target_err,
                env=env,
                cwd=self.work,
            )
            assert tap.stdout is not None and target.stdout is not None
            # Only the target may hold the read end: if it dies, the tap must see a broken pipe.
            tap.stdout.close()
            timer = None
            if external_kill is not None:
                victim = tap if external_kill[0] == "tap" else target
                timer = threading.Timer(external_kill[1], _sigkill, args=(victim,))
                timer.start()
            side = threading.Timer(during[0], during[1]) if during else None
            if side is not None:
                side.start()
            stopper = None
            if stop is not None:
                victims = {"tap": [tap], "target": [target], "both": [tap, target]}[stop.victim]
                stopper = threading.Thread(target=stop.send, args=(victims,), daemon=True)
                stopper.start()
            hung = threading.Event()
            watchdog = threading.Timer(RUN_TIMEOUT_SECONDS, _kill_both, args=(hung, tap, target))
            watchdog.start()
            state: dict[str, Any] | None = None
            try:
                for raw in target.stdout:
                    try:
                        parsed = json.loads(raw)
                    except ValueError:
                        continue  # a line cut by the kill: Meltano would not parse it either
                    if isinstance(parsed, dict):
                        state = parsed
                target.wait()
                tap.wait()
            finally:
                watchdog.cancel()
                for pending in (timer, side):
                    if pending is not None:
                        pending.cancel()
        if stopper is not None:
            stopper.join()
        kill = kill_at or (
            f"SIGKILL {external_kill[0]} after {external_kill[1]:.2f}s" if external_kill else ""
        )
        if stop is not None and stop.sent:
            kill = stop.label
        result = RunResult(
            number, kill, tap.returncode, target.returncode, state, target_log, tap_log
        )
        self.runs.append(result)
        if state is not None:
            self.state = state
        assert not hung.is_set(), f"run {number} hung for {RUN_TIMEOUT_SECONDS}s\n{result.tail()}"
        return result

    def run_until_clean(self) -> RunResult:
        for _ in range(MAX_RUNS_AFTER_LAST_KILL):
            result = self.run()
            if result.clean:
                return result
        last = self.runs[-1]
        raise AssertionError(
            f"the pipeline did not recover: {MAX_RUNS_AFTER_LAST_KILL} reruns after the last "
            f"kill still failed (tap {last.tap_returncode}, target {last.target_returncode})\n"
            f"{last.tail()}"
        )


@dataclass
class Stop:
    """A signal sent from outside once ``when()`` holds (e.g. "two journals are in Dynamics").

    Conditions read the sandboxes, so the signal lands at the same stage of the work on any
    machine, fast or slow; ``victim`` is ``"tap"``, ``"target"`` or ``"both"`` (a process
    group's worth, as Ctrl-C or a scheduler stopping the whole job).
    """

    victim: str
    signum: int
    when: Callable[[], bool]
    what: str = ""
    sent: bool = False

    @property
    def label(self) -> str:
        name = signal.Signals(self.signum).name
        who = "tap and target" if self.victim == "both" else f"the {self.victim}"
        return f"{name} to {who}" + (f" when {self.what}" if self.what else "")

    def send(self, processes: list[subprocess.Popen[bytes]]) -> None:
        while any(p.poll() is None for p in processes):
            if self.when():
                for process in processes:
                    if process.poll() is None:
                        process.send_signal(self.signum)
                self.sent = True
                return
            threading.Event().wait(STOP_POLL_SECONDS)


def _sigkill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)


def _kill_both(hung: threading.Event, *processes: subprocess.Popen[bytes]) -> None:
    hung.set()
    for process in processes:
        _sigkill(process)


# ------------------------------------------------------------------ faults and lifetimes


GUSTO_FAULTS: dict[str, Any] = {
    "throttle_next": 1,
    "retry_after": 1,
    "status_next": [503, 1],
    "drop_connection_next": 1,
    "paths": ["/v1/"],
}
DYNAMICS_FAULTS: dict[str, Any] = {
    "throttle_next": 1,
    "retry_after": 1,
    "unavailable_next": 1,
    "lose_response_next_write": 1,
    "drop_connection_next": 1,
}


def arm_faults(gusto: GustoSandbox, dyn: DynamicsSandbox) -> None:
    """Switch on one round of every fault on both sides (each fires once, then is spent)."""
    gusto.faults.set(**GUSTO_FAULTS)
    dyn.set_faults(dict(DYNAMICS_FAULTS))


@contextmanager
def short_token_lifetimes(
    gusto: GustoSandbox, dyn: DynamicsSandbox, gusto_seconds: int, dynamics_seconds: int
) -> Iterator[None]:
    """Tokens that expire during a run on both sides; the rate limit out of the way, because
    back-to-back reruns would otherwise spend most of their time waiting for a rolling minute
    (429 handling itself is exercised by ``throttle_next``)."""
    old = (gusto.oauth.token_lifetime, dyn.token_lifetime, gusto.rate_limiter.limit)
    gusto.oauth.token_lifetime = gusto_seconds
    dyn.token_lifetime = dynamics_seconds
    gusto.rate_limiter.limit = 100_000
    try:
        yield
    finally:
        gusto.oauth.token_lifetime, dyn.token_lifetime, gusto.rate_limiter.limit = old
        gusto.faults.set(
            throttle_next=0, status_next=None, drop_connection_next=0, malformed_next=0, paths=None
        )


# ------------------------------------------------------------------ what must hold afterwards


@dataclass
class Expected:
    payrolls: dict[str, str]  # payroll uuid -> company uuid
    payments: dict[str, str]  # contractor payment uuid -> company uuid


def expected_work(gusto: GustoSandbox, company_ids: list[str], start: dt.date) -> Expected:
    """What the tap must extract: processed payrolls paid (check date) on or after ``start``,
    the tap's start_date, and contractor payments dated from ``start`` to today."""
    payrolls: dict[str, str] = {}
    payments: dict[str, str] = {}
    for company in gusto.companies:
        if company.uuid not in company_ids:
            continue
        for payroll in company.payrolls:
            if payroll.processed and payroll.check_date >= start:
                payrolls[payroll.uuid] = company.uuid
        for payment in company.contractor_payments:
            if start <= payment.date <= gusto.today:
                payments[payment.uuid] = company.uuid
    return Expected(payrolls, payments)


def expected_debit(gusto: GustoSandbox, payroll_uuid: str) -> Decimal:
    totals = gusto.payroll_expected(payroll_uuid)["totals"]
    return sum(
        (
            Decimal(str(totals[k]))
            for k in ("gross_pay", "employer_taxes", "benefits", "reimbursements")
        ),
        Decimal(0),
    )


def _rows(db: Path, sql: str) -> list[sqlite3.Row]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql).fetchall()


def check_exactly_once(
    gusto: GustoSandbox, dyn: DynamicsSandbox, audit_db: Path, expected: Expected
) -> list[str]:
    """Every problem found (empty = the run survived). Checked against Dynamics' own tables."""
    problems: list[str] = []
    entities = dyn.entities
    headers: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for header in entities["LedgerJournalHeaders"]:
        headers[header["JournalBatchNumber"]].append(header)
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in entities["LedgerJournalLines"]:
        lines[line["JournalBatchNumber"]].append(line)

    posted = {
        row["journal_batch_number"]: row
        for row in _rows(
            audit_db,
            "SELECT * FROM journals WHERE dry_run = 0 ORDER BY id",
        )
    }
    wanted: set[str] = set()
    for payroll_uuid, company in expected.payrolls.items():
        number = journal_batch_number(JOURNAL_PREFIX, company, payroll_uuid)
        wanted.add(number)
        found = headers.get(number, [])
        if len(found) != 1:
            problems.append(f"payroll {payroll_uuid}: {len(found)} journal headers {number}")
            continue
        debit = sum((Decimal(str(x["DebitAmount"])) for x in lines[number]), Decimal(0))
        credit = sum((Decimal(str(x["CreditAmount"])) for x in lines[number]), Decimal(0))
        if debit != credit:
            problems.append(f"journal {number} unbalanced: debit {debit} credit {credit}")
        if debit != expected_debit(gusto, payroll_uuid):
            problems.append(
                f"journal {number} debits {debit} != Gusto's {expected_debit(gusto, payroll_uuid)}"
            )
        numbers = sorted(int(x["LineNumber"]) for x in lines[number])
        if numbers != sorted(set(numbers)):
            problems.append(f"journal {number} has duplicate line numbers")
        built = posted.get(number)
        if built is None:
            problems.append(f"journal {number} is in Dynamics but was never built by the target")
        else:
            if built["line_count"] != len(lines[number]):
                problems.append(
                    f"journal {number}: {len(lines[number])} lines, built {built['line_count']}"
                )
            stored_hash = hash_in_description(str(found[0]["Description"]))
            if not stored_hash or not built["content_hash"].startswith(stored_hash):
                problems.append(f"journal {number}: Description does not carry the content hash")
    extra = set(headers) - wanted
    if extra:
        problems.append(f"journals nobody asked for: {sorted(extra)}")

    invoices: dict[str, int] = defaultdict(int)
    for header in entities.get("VendInvoiceJournalHeaders", []):
        invoices[header["JournalBatchNumber"]] += 1
    for payment_uuid, company in expected.payments.items():
        number = journal_batch_number(JOURNAL_PREFIX, company, f"contractor-payment:{payment_uuid}")
        if invoices.get(number, 0) != 1:
            problems.append(
                f"contractor payment {payment_uuid}: {invoices.get(number, 0)} AP invoice journals"
            )

    # The audit trail accounts for every payroll and payment: latest outcome is final.
    latest = {
        row["payroll_uuid"]: row["outcome"]
        for row in _rows(
            audit_db,
            "SELECT o.payroll_uuid, o.outcome FROM outcomes o JOIN (SELECT payroll_uuid, "
            "MAX(id) id FROM outcomes GROUP BY payroll_uuid) l ON o.id = l.id",
        )
    }
    stored = {r["payroll_uuid"] for r in _rows(audit_db, "SELECT payroll_uuid FROM payrolls")}
    for payroll_uuid in expected.payrolls:
        if payroll_uuid not in stored:
            problems.append(f"payroll {payroll_uuid} never reached the audit store")
        if latest.get(payroll_uuid) not in ("posted", "already_posted"):
            problems.append(f"payroll {payroll_uuid}: audit outcome {latest.get(payroll_uuid)}")
    dangling = stored - set(latest)
    if dangling:
        problems.append(
            f"payrolls stored without an outcome (in progress forever): {sorted(dangling)}"
        )
    payment_latest = {
        row["payment_uuid"]: row["outcome"]
        for row in _rows(
            audit_db,
            "SELECT o.payment_uuid, o.outcome FROM payment_outcomes o JOIN (SELECT payment_uuid, "
            "MAX(id) id FROM payment_outcomes GROUP BY payment_uuid) l ON o.id = l.id",
        )
    }
    for payment_uuid in expected.payments:
        if payment_latest.get(payment_uuid) not in ("posted", "already_posted"):
            problems.append(
                f"payment {payment_uuid}: audit outcome {payment_latest.get(payment_uuid)}"
            )
    return problems


def check_tokens(
    gusto: GustoSandbox, credential_store: Path, company_ids: list[str], invalid_before: int
) -> list[str]:
    """No invalid_grant was ever answered, and every stored grant still refreshes: one more
    refresh through the tap's own token manager, over HTTP, with what the store holds now."""
    problems: list[str] = []
    grants = gusto.stats.snapshot()["invalid_grants"] - invalid_before
    if grants:
        problems.append(f"{grants} invalid_grant answer(s) from Gusto during the chaos run")
    vault = Vault.open(credential_store)
    data = vault.read()
    app = resolve_app_credentials(data, None, None)
    for company in company_ids:
        tokens = TokenManager(vault, company, app, gusto.url)
        current = data["gusto"]["companies"][company].get("access_token") or ""
        try:
            tokens.refresh_after_unauthorized(str(current))
        except Exception as exc:
            problems.append(f"company {company}: the stored grant no longer refreshes: {exc}")
    return problems


def choose_kills(
    seed: int, count: int, trace: dict[str, int], points: tuple[str, ...]
) -> list[str]:
    """Up to ``count`` distinct ``<point>:<n>`` kills, n within the traced hits of the point.

    Round robin over the reachable points in a seeded order, each point's hits in a seeded
    order, so every reachable point is tried before any point is tried twice.
    """
    rng = random.Random(seed)
    reachable = [p for p in points if trace.get(p, 0) > 0]
    rng.shuffle(reachable)
    queues: dict[str, list[int]] = {}
    for point in reachable:
        hits = list(range(1, trace[point] + 1))
        rng.shuffle(hits)
        queues[point] = hits
    chosen: list[str] = []
    while len(chosen) < count and any(queues.values()):
        for point in reachable:
            if queues[point] and len(chosen) < count:
                chosen.append(f"{point}:{queues[point].pop()}")
    return chosen


def seed_from_env(default: int) -> int:
    value = os.environ.get(SEED_ENV)
    return int(value) if value else default
