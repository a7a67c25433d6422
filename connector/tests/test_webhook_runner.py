"""Run coordination (coalescing, retries) and the command launcher."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from gusto_dynamics.runner import (
    CommandLauncher,
    RunCoordinator,
    RunOutcome,
    shell_line,
)
from gusto_dynamics.webhooks.events import EventLedger, parse_event, run_kind

A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"


class FakeLauncher:
    """Blocks each run until released; can fail the first N calls."""

    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[tuple[str, tuple[str, ...], int]] = []
        self.release = threading.Event()
        self.release.set()
        self.started = threading.Event()
        self.fail_first = fail_first
        self.lock = threading.Lock()

    def __call__(self, company: str, kinds: tuple[str, ...], attempt: int) -> tuple[int, None]:
        with self.lock:
            self.calls.append((company, kinds, attempt))
            failing = len(self.calls) <= self.fail_first
        self.started.set()
        self.release.wait(30)
        return (1 if failing else 0), None


def test_one_running_and_one_queued_per_company() -> None:
    launcher = FakeLauncher()
    launcher.release.clear()
    outcomes: list[RunOutcome] = []
    coordinator = RunCoordinator(launcher, max_parallel=2, on_outcome=outcomes.append)
    coordinator.start()
    try:
        assert coordinator.submit(A, "payroll", "e1") == "queued"
        assert launcher.started.wait(10)
        results = [coordinator.submit(A, "payroll", f"e{i}") for i in range(2, 21)]
        assert results == ["queued"] + ["coalesced"] * 18
        assert coordinator.submit(A, "people", "p1") == "coalesced"
        launcher.release.set()
        assert coordinator.wait_idle(30)
    finally:
        coordinator.stop(5)
    assert [c[:2] for c in launcher.calls] == [(A, ("payroll",)), (A, ("payroll", "people"))]
    assert sorted(len(o.event_uuids) for o in outcomes) == [1, 20]


def test_companies_run_in_parallel_up_to_the_limit() -> None:
    launcher = FakeLauncher()
    coordinator = RunCoordinator(launcher, max_parallel=1)
    coordinator.start()
    try:
        coordinator.submit(A, "payroll")
        coordinator.submit(B, "payroll")
        assert coordinator.wait_idle(30)
    finally:
        coordinator.stop(5)
    assert sorted(c[0] for c in launcher.calls) == [A, B]


def test_failed_run_is_retried_then_reported() -> None:
    launcher = FakeLauncher(fail_first=5)
    outcomes: list[RunOutcome] = []
    coordinator = RunCoordinator(launcher, retry_delays=(0.01, 0.01), on_outcome=outcomes.append)
    coordinator.start()
    try:
        coordinator.submit(A, "payroll", "e1")
        assert coordinator.wait_idle(30)
    finally:
        coordinator.stop(5)
    assert [c[2] for c in launcher.calls] == [1, 2, 3]
    assert len(outcomes) == 1
    assert (outcomes[0].ok, outcomes[0].attempt, outcomes[0].event_uuids) == (False, 3, ("e1",))


def test_retry_succeeds() -> None:
    launcher = FakeLauncher(fail_first=1)
    outcomes: list[RunOutcome] = []
    coordinator = RunCoordinator(launcher, retry_delays=(0.01,), on_outcome=outcomes.append)
    coordinator.start()
    try:
        coordinator.submit(A, "payroll", "e1")
        assert coordinator.wait_idle(30)
    finally:
        coordinator.stop(5)
    assert [(o.ok, o.attempt) for o in outcomes] == [(True, 2)]


def test_rejects_non_uuid_company_and_unknown_kind() -> None:
    coordinator = RunCoordinator(FakeLauncher())
    with pytest.raises(ValueError, match="not a UUID"):
        coordinator.submit("x; rm -rf /", "payroll")
    with pytest.raises(ValueError, match="unknown run kind"):
        coordinator.submit(A, "everything")


def test_launcher_passes_the_company_and_logs_privately(tmp_path: Path) -> None:
    out = tmp_path / "seen.json"
    launcher = CommandLauncher(
        {"payroll": f'printf "%s|%s" "$TAP_GUSTO_COMPANY_IDS" {{company_uuid}} > {out}'},
        tmp_path / "runs",
    )
    returncode, log_path = launcher(A, ("payroll",), 1)
    assert returncode == 0
    ids, arg = out.read_text().split("|")
    assert json.loads(ids) == [A]
    assert arg == A
    assert log_path is not None
    assert log_path.stat().st_mode & 0o777 == 0o600


def test_launcher_stops_at_the_first_failing_kind_and_on_timeout(tmp_path: Path) -> None:
    marker = tmp_path / "people-ran"
    launcher = CommandLauncher(
        {"payroll": "exit 7", "people": f"touch {marker}"}, tmp_path / "runs"
    )
    assert launcher(A, ("payroll", "people"), 1)[0] == 7
    assert not marker.exists()

    slow = CommandLauncher({"payroll": "sleep 30 | cat"}, tmp_path / "runs", timeout_seconds=0.2)
    assert slow(A, ("payroll",), 1)[0] == 124


def test_people_run_reads_employees_whatever_the_day(tmp_path: Path) -> None:
    launcher = CommandLauncher({}, tmp_path / "runs")
    _, people = launcher.render("people", A)
    _, payroll = launcher.render("payroll", A)
    assert people["TAP_GUSTO_EMPLOYEES_REFRESH"] == "always"
    assert "TAP_GUSTO_EMPLOYEES_REFRESH" not in payroll or (
        payroll["TAP_GUSTO_EMPLOYEES_REFRESH"] == os.environ.get("TAP_GUSTO_EMPLOYEES_REFRESH")
    )


def test_shell_line() -> None:
    assert shell_line("meltano run tap-gusto target-dynamics-fo", A) == (
        f"export TAP_GUSTO_COMPANY_IDS='[\"{A}\"]' && meltano run tap-gusto target-dynamics-fo"
    )
    assert shell_line("run-all", None) == "run-all"
    with pytest.raises(ValueError):
        shell_line("run --company {company_uuid}", None)


def test_launcher_keeps_only_the_newest_logs(tmp_path: Path) -> None:
    launcher = CommandLauncher({"payroll": "true"}, tmp_path / "runs", keep_logs=3)
    paths = [launcher(A, ("payroll",), attempt)[1] for attempt in range(1, 6)]
    assert sorted((tmp_path / "runs").glob("*.log")) == paths[-3:]


def test_update_and_cancel_events_name_their_payrolls_to_the_payroll_run(tmp_path: Path) -> None:
    ledger = EventLedger(tmp_path / "events.sqlite")
    payroll_a = "33333333-3333-4333-8333-333333333333"
    payroll_b = "44444444-4444-4444-8444-444444444444"
    for n, (event_type, payroll) in enumerate(
        [
            ("payroll.updated", payroll_a),
            ("payroll.cancelled", payroll_b),
            ("payroll.processed", "55555555-5555-4555-8555-555555555555"),
        ]
    ):
        event = parse_event(
            {
                "uuid": f"9999999{n}-9999-4999-8999-999999999999",
                "event_type": event_type,
                "resource_type": "Company",
                "resource_uuid": A,
                "entity_type": "Payroll",
                "entity_uuid": payroll,
                "timestamp": 1,
            }
        )
        assert run_kind(event_type) == "payroll"
        assert ledger.record(event, "sub", run_kind(event_type))
    # Only the events that say a payroll changed or went away force a re-read; of A only.
    assert ledger.payrolls_to_reread(A) == [payroll_a, payroll_b]
    assert ledger.payrolls_to_reread(B) == []
    out = tmp_path / "seen.txt"
    launcher = CommandLauncher(
        {"payroll": f'printf "%s" "$TAP_GUSTO_REREAD_PAYROLL_UUIDS" > {out}'},
        tmp_path / "runs",
        rereads=ledger.payrolls_to_reread,
    )
    assert launcher(A, ("payroll",), 1)[0] == 0
    assert json.loads(out.read_text()) == [payroll_a, payroll_b]
    # Once the run finished, the next run reads them only if Gusto says so again.
    ledger.finish(tuple(f"9999999{n}-9999-4999-8999-999999999999" for n in range(3)), True, "ok")
    assert ledger.payrolls_to_reread(A) == []
    assert launcher(A, ("payroll",), 2)[0] == 0
    assert out.read_text() == ""
