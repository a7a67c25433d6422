"""SIGTERM / SIGINT to the target mid-post in a raw `tap-gusto | target-dynamics-fo` pipe.

The way systemd, Kubernetes, Airflow, Dagster and Ctrl-C end a run early. The stop lands while
journals (or AP invoices) are being posted; the rerun gets only the STATE the stopped target
printed (what Meltano saves). Afterwards every processed payroll and funded contractor payment
in the window, as the Gusto sandbox itself lists them, is exactly one journal / AP invoice in
Dynamics, and `target-dynamics-fo-audit failures` reports nothing left.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e_support import tool
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from resilience_log import record

from chaos.harness import ChaosPipeline, Stop, check_exactly_once, expected_work

RIDGELINE = "0c991fcc-d01e-50c4-90c6-d27026b49396"
SUMMIT = "ee2ce936-5d04-5cda-8909-6ace20a55be1"
WINDOW_DAYS = 45
SOURCE = "stop signals (raw pipe)"


def _count(dyn: DynamicsSandbox, entity: str) -> int:
    return len(dyn.entities.get(entity, []))


def _journals_at_least(dyn: DynamicsSandbox, n: int) -> Callable[[], bool]:
    return lambda: _count(dyn, "LedgerJournalHeaders") >= n


def _invoices_at_least(dyn: DynamicsSandbox, n: int) -> Callable[[], bool]:
    return lambda: _count(dyn, "VendInvoiceJournalHeaders") >= n


CASES = {
    # (signal, victim, what is in Dynamics when it is sent, how many, target exit status,
    #  SDK batching: buffered payrolls are received but not posted when the signal lands)
    "SIGTERM target mid-journals, payrolls buffered": (
        signal.SIGTERM,
        "target",
        "journals",
        2,
        143,
        True,
    ),
    "SIGTERM target mid-journals": (signal.SIGTERM, "target", "journals", 2, 143, False),
    "SIGINT target mid-invoices": (signal.SIGINT, "target", "invoices", 1, 130, False),
    "SIGTERM both mid-journals": (signal.SIGTERM, "both", "journals", 1, 143, False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_stop_signal_mid_post_then_rerun_from_saved_state_posts_everything_once(
    case: str,
    gusto_sandbox: GustoSandbox,
    dynamics_sandbox: DynamicsSandbox,
    credential_store: Path,
    mapping_file: Path,
    tmp_path: Path,
) -> None:
    signum, victim, kind, threshold, status, buffered = CASES[case]
    gusto, dyn = gusto_sandbox, dynamics_sandbox
    dyn.reset()
    companies = [RIDGELINE, SUMMIT]
    start = gusto.today - dt.timedelta(days=WINDOW_DAYS)
    # What Gusto itself holds for the window, not what any tap run emitted.
    expected = expected_work(gusto, companies, start)
    assert expected.payrolls and expected.payments
    pipeline = ChaosPipeline.create(
        tmp_path / "pipe",
        gusto,
        credential_store,
        mapping_file,
        company_ids=companies,
        start_date=start,
    )
    if buffered:
        # The SDK's own batching (20 payrolls per drain), as in production.
        config = json.loads(pipeline.target_config.read_text())
        del config["batch_size_rows"]
        pipeline.target_config.write_text(json.dumps(config))
    when = (_journals_at_least if kind == "journals" else _invoices_at_least)(dyn, threshold)
    stop = Stop(victim, signum, when, f"{threshold} {kind} are in Dynamics")
    first = pipeline.run(stop=stop)

    assert stop.sent, f"the pipeline ended before {stop.what}\n{first.tail()}"
    assert first.target_returncode == status, first.tail()
    journals = _count(dyn, "LedgerJournalHeaders")
    invoices = _count(dyn, "VendInvoiceJournalHeaders")
    # Really stopped mid-post: the work was not all done before the signal.
    assert journals + invoices < len(expected.payrolls) + len(expected.payments), first.tail()
    log = first.target_log.read_text(errors="replace")
    assert "Stopped by" in log and "The STATE written covers only" in log, first.tail()

    if buffered:
        # Payrolls were received but not posted: the STATE printed must not cover them, and
        # the next start settles them from the audit store.
        waiting = re.search(r"(\d+) received in this run have none yet", log)
        assert waiting is not None and int(waiting.group(1)) > 0, first.tail()
    rerun = pipeline.run_until_clean()
    assert rerun.clean, rerun.tail()
    problems = check_exactly_once(gusto, dyn, pipeline.audit_db, expected)
    failures = subprocess.run(
        [tool("target-dynamics-fo-audit"), "--audit-db", str(pipeline.audit_db), "failures"],
        capture_output=True,
        text=True,
        check=False,
    )
    if failures.returncode != 0:
        problems.append(f"failures lists: {failures.stdout}")
    record(
        "kill",
        f"{stop.label}{', payrolls buffered' if buffered else ''}, rerun from the saved STATE",
        f"raw pipe, {len(expected.payrolls)} payrolls and {len(expected.payments)} payments",
        "exit 128+n; rerun with the printed STATE posts every payroll and payment exactly once; "
        "failures empty",
        f"target exited {first.target_returncode} with {journals} journal(s) and {invoices} "
        f"invoice(s) in Dynamics; clean after {len(pipeline.runs)} run(s); "
        + ("; ".join(problems) if problems else "all checks hold"),
        passed=not problems,
        source=SOURCE,
    )
    assert not problems, problems
