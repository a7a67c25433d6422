"""The pipeline exactly as a user runs it: `gusto-dynamics connect ...` then `meltano run`.

This is `make demo` with assertions: real CLIs, real Meltano (plugins installed from the local
folders by `meltano install`), credentials only in the encrypted store, state kept by Meltano in
the `sandbox` environment. Meltano's system database is a temporary file so the test does not
touch the demo's state.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from chaos.harness import check_exactly_once, expected_work
from e2e_support import SANDBOX_TODAY, processed_payrolls
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault, generate_key
from tap_gusto.run_status import read_status, status_path
from target_dynamics_fo.ledger import journal_batch_number

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STATE_ID = "sandbox:tap-gusto-to-target-dynamics-fo"
PAYROLL_DETAIL_ROUTE = "GET /v1/companies/{company_id}/payrolls/{payroll_id}"
# Between the head counts of the demo's companies: some payrolls come whole, some split.
SPLIT_ABOVE = 60

pytestmark = pytest.mark.slow


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    result = subprocess.run(
        args, cwd=ROOT, env=env, input=stdin, text=True, capture_output=True, check=False
    )
    assert result.returncode == 0, (
        f"{args[:3]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    )
    return result.stdout + result.stderr


def connected_project(work: Path, gusto: GustoSandbox, dyn: DynamicsSandbox) -> dict[str, str]:
    """The environment of a Meltano project whose store holds both sandboxes' grants, connected
    with the real CLIs, plus the installed plugins."""
    key = generate_key()
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "GUSTO_DYNAMICS_VAULT": str(work / "vault.enc"),
        "GUSTO_DYNAMICS_VAULT_KEY": key.decode() if isinstance(key, bytes) else str(key),
        "MELTANO_ENVIRONMENT": "sandbox",
        "MELTANO_DATABASE_URI": f"sqlite:///{work / 'meltano.db'}",
        # The project's file state backend (meltano.yml), pointed into this test's folder so a
        # run never starts from the bookmarks of an earlier run in this checkout.
        "MELTANO_STATE_BACKEND_URI": f"file://{work / 'state'}",
        "TARGET_DYNAMICS_FO_AUDIT_DB": str(work / "audit.sqlite"),
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        # meltano.yml's payroll_record_shape auto with a limit the demo's large company passes.
        "TAP_GUSTO_PAYROLL_SPLIT_ABOVE": str(SPLIT_ABOVE),
    }
    for company in gusto.company_uuids:
        run(
            ["gusto-dynamics", "connect", "gusto", "--api-url", gusto.url,
             "--client-id", gusto.client_id, "--client-secret-stdin",
             "--browser", "http", "--company", company],
            env, stdin=gusto.client_secret + "\n",
        )  # fmt: skip
    run(
        ["gusto-dynamics", "connect", "dynamics", "--name", "sandbox",
         "--environment-url", dyn.url, "--tenant-id", dyn.tenant_id,
         "--client-id", dyn.client_id, "--client-secret-stdin",
         "--authority-host", dyn.url, "--ca-bundle", dyn.ca_bundle],
        env, stdin=dyn.client_secret + "\n",
    )  # fmt: skip
    run([str(BIN / "meltano"), "install"], env)
    return env


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("meltano")
    with (
        GustoSandbox(port=0, seed="demo", rate_limit_per_minute=6000, today=SANDBOX_TODAY) as gusto,
        DynamicsSandbox(port=0) as dyn,
    ):
        env = connected_project(work, gusto, dyn)
        first = run([str(BIN / "meltano"), "run", "tap-gusto", "target-dynamics-fo"], env)
        headers_after_first = [dict(h) for h in dyn.entities["LedgerJournalHeaders"]]
        details_after_first = gusto.stats.snapshot()["per_route"].get(PAYROLL_DETAIL_ROUTE, 0)
        state = run([str(BIN / "meltano"), "state", "get", STATE_ID], env)
        second = run([str(BIN / "meltano"), "run", "tap-gusto", "target-dynamics-fo"], env)
        yield {
            "env": env,
            "work": work,
            "gusto": gusto,
            "dyn": dyn,
            "first": first,
            "second": second,
            "headers_after_first": headers_after_first,
            "details_after_first": details_after_first,
            "state": state,
        }


def test_meltano_run_posts_one_journal_per_processed_payroll(project: dict[str, Any]) -> None:
    headers = project["headers_after_first"]
    numbers = [h["JournalBatchNumber"] for h in headers]
    expected = {
        journal_batch_number("GUS", company, payroll)
        for payroll, company in processed_payrolls(project["gusto"]).items()
    }
    assert len(numbers) == len(set(numbers))
    assert set(numbers) == expected
    for header in headers:
        assert header["IsPosted"] == "No"
        assert header["JournalTotalDebit"] == header["JournalTotalCredit"] > 0


def test_the_project_pipeline_splits_the_payrolls_above_the_limit(project: dict[str, Any]) -> None:
    # meltano.yml sets payroll_record_shape: auto (memory bounded by payroll_split_above): a
    # payroll of more employees reaches the target as rows of a read, one per employee, and a
    # smaller one as one record. Either way it is posted once (the tests above).
    with sqlite3.connect(project["work"] / "audit.sqlite") as db:
        rows = dict(
            db.execute("SELECT payroll_uuid, COUNT(*) FROM payroll_compensations GROUP BY 1")
        )
    gusto = project["gusto"]
    counts = {
        payroll: len(gusto.payroll_expected(payroll)["employee_compensations"])
        for payroll in processed_payrolls(gusto)
    }
    expected = {payroll: n for payroll, n in counts.items() if n > SPLIT_ABOVE}
    assert rows == expected
    assert expected and len(expected) < len(counts)


def test_project_keeps_state_in_a_file_backend_not_the_system_db() -> None:
    settings = yaml.safe_load((ROOT / "meltano.yml").read_text())
    assert settings["state_backend"]["uri"] == (
        "file://${MELTANO_PROJECT_ROOT}/.gusto-dynamics/state"
    )


def test_meltano_keeps_per_company_payroll_bookmarks(project: dict[str, Any]) -> None:
    text = project["state"]
    state, _ = json.JSONDecoder().raw_decode(text[text.index("{") :])
    # Kept by the file state backend as <root>/<state id>/state.json, not in the system DB.
    stored = json.loads((project["work"] / "state" / STATE_ID / "state.json").read_text())
    assert stored["completed"]["singer_state"] == state["singer_state"]
    partitions = state["singer_state"]["bookmarks"]["payrolls"]["partitions"]
    companies = {p["context"]["company_uuid"] for p in partitions}
    assert companies == set(project["gusto"].company_uuids)
    for partition in partitions:
        assert isinstance(partition["replication_key_value"], str)  # never a float


def test_second_meltano_run_reads_no_payroll_again_and_posts_nothing(
    project: dict[str, Any],
) -> None:
    details = project["gusto"].stats.snapshot()["per_route"].get(PAYROLL_DETAIL_ROUTE, 0)
    assert details == project["details_after_first"], "the rerun fetched payroll detail again"
    after = project["dyn"].entities["LedgerJournalHeaders"]
    assert len(after) == len(project["headers_after_first"])


def test_status_shows_the_run_and_no_secret(project: dict[str, Any]) -> None:
    out = run(["gusto-dynamics", "status", "--json"], project["env"])
    report, _ = json.JSONDecoder().raw_decode(out[out.index("{") :])
    text = json.dumps(report)
    assert "last_run_ok" in text
    data = Vault.open(
        project["env"]["GUSTO_DYNAMICS_VAULT"], key=project["env"]["GUSTO_DYNAMICS_VAULT_KEY"]
    ).read()
    # Run outcomes live in the non-secret run-status file, not in the credential store.
    assert not [key for key in data.get("status", {}) if key.startswith("gusto:")]
    runs = read_status(status_path())
    for company in project["gusto"].company_uuids:
        assert runs[f"gusto:{company}"]["last_run_ok"] is True
        token = data["gusto"]["companies"][company]["refresh_token"]
        assert token not in text


def test_meltano_files_hold_no_secret(project: dict[str, Any]) -> None:
    data = Vault.open(
        project["env"]["GUSTO_DYNAMICS_VAULT"], key=project["env"]["GUSTO_DYNAMICS_VAULT_KEY"]
    ).read()
    secrets = [project["gusto"].client_secret, project["dyn"].client_secret]
    for company in data["gusto"]["companies"].values():
        secrets += [company["refresh_token"], company["access_token"]]
    needles = [s.encode() for s in secrets if s]
    needles += [base64.b64encode(s.encode()) for s in secrets if s]
    files = [project["work"] / "meltano.db", project["work"] / "audit.sqlite"]
    files += [p for p in (ROOT / ".meltano").rglob("*") if p.is_file() and "venv" not in p.parts]
    outputs = (project["first"] + project["second"] + project["state"]).encode()
    for path in files:
        blob = path.read_bytes()
        for needle in needles:
            assert needle not in blob, f"a secret is stored in clear in {path}"
    for needle in needles:
        assert needle not in outputs, "a secret was printed by meltano"


def _descendants(pid: int) -> list[int]:
    children = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    return [d for child in map(int, children) for d in (child, *_descendants(child))]


def _runs(pid: int, program: str) -> bool:
    """Is ``pid`` the process of ``program`` (its script or executable, not Meltano's)?"""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return False
    return any(Path(arg).name == program for arg in argv[:2])


def test_sigterm_to_the_target_under_meltano_run_then_a_normal_rerun_loses_nothing(
    tmp_path: Path,
) -> None:
    """What systemd or Airflow does to a running job: SIGTERM to the target mid-post. Meltano
    must not save a state past unposted work, and the next scheduled run (Meltano's saved
    state only) leaves every payroll and payment of Gusto's own list posted exactly once."""
    with (
        GustoSandbox(port=0, seed="demo", rate_limit_per_minute=6000, today=SANDBOX_TODAY) as gusto,
        DynamicsSandbox(port=0) as dyn,
    ):
        env = connected_project(tmp_path, gusto, dyn)
        start = gusto.today - dt.timedelta(days=45)
        env["TAP_GUSTO_START_DATE"] = start.isoformat()
        expected = expected_work(gusto, gusto.company_uuids, start)
        log = (tmp_path / "stopped-run.log").open("w")
        meltano = subprocess.Popen(
            [str(BIN / "meltano"), "run", "tap-gusto", "target-dynamics-fo"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        stopped = False
        while meltano.poll() is None and not stopped:
            if len(dyn.entities.get("LedgerJournalHeaders", [])) >= 2:
                for pid in _descendants(meltano.pid):
                    if _runs(pid, "target-dynamics-fo"):
                        os.kill(pid, signal.SIGTERM)
                        stopped = True
            threading.Event().wait(0.05)
        returncode = meltano.wait(timeout=600)
        log.close()
        output = (tmp_path / "stopped-run.log").read_text(errors="replace")
        assert stopped, f"the run ended before two journals were in Dynamics\n{output[-3000:]}"
        assert returncode != 0, output[-3000:]
        assert len(dyn.entities["LedgerJournalHeaders"]) < len(expected.payrolls)

        run([str(BIN / "meltano"), "run", "tap-gusto", "target-dynamics-fo"], env)
        audit_db = tmp_path / "audit.sqlite"
        assert check_exactly_once(gusto, dyn, audit_db, expected) == []
        failures = subprocess.run(
            [str(BIN / "target-dynamics-fo-audit"), "--audit-db", str(audit_db), "failures"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert failures.returncode == 0, failures.stdout
