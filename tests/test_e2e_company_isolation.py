"""Issue 14: one revoked Gusto company next to a healthy one, through the whole pipeline.

The healthy company's payrolls post, the run exits non-zero naming the revoked company and the
fix, and `gusto-dynamics status` shows each company's own outcome.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

from e2e_support import (
    SANDBOX_MAPPING,
    SANDBOX_TODAY,
    fill_store,
    processed_payrolls,
    target_config,
    tool,
    write_config,
)
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault
from target_dynamics_fo.ledger import journal_batch_number


def test_a_revoked_company_does_not_stop_the_healthy_one(
    tmp_path: Path, vault_key_env: str
) -> None:
    with (
        GustoSandbox(port=0, seed="demo", today=SANDBOX_TODAY) as gusto,
        DynamicsSandbox(port=0) as dyn,
    ):
        store = tmp_path / "vault.enc"
        Vault.open(store).update(lambda data: fill_store(data, gusto, dyn))
        revoked = gusto.company("Summit Bakery Co").uuid
        healthy = next(c for c in gusto.company_uuids if c != revoked)
        gusto.oauth.revoke(Vault.open(store).read()["gusto"]["companies"][revoked]["refresh_token"])
        start = SANDBOX_TODAY - dt.timedelta(days=45)
        tap_config = tmp_path / "tap.json"
        tap_config.write_text(
            json.dumps({"credentials_store": str(store), "start_date": start.isoformat()})
        )
        target = write_config(tmp_path, target_config(tmp_path, store, SANDBOX_MAPPING))
        run = subprocess.run(
            f"set -o pipefail; {tool('tap-gusto')} --config {tap_config} "
            f"| {tool('target-dynamics-fo')} --config {target}",
            shell=True,
            executable="/bin/bash",
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
        )
        assert run.returncode != 0
        assert revoked in run.stderr and "gusto-dynamics connect gusto" in run.stderr

        posted = {h["JournalBatchNumber"] for h in dyn.entities["LedgerJournalHeaders"]}
        expected = {
            journal_batch_number("GUS", company, payroll)
            for payroll, company in processed_payrolls(gusto, start).items()
            if company == healthy
        }
        assert expected and posted == expected

        status = subprocess.run(
            [tool("gusto-dynamics"), "--vault", str(store), "status", "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        companies = {c["company_uuid"]: c for c in json.loads(status.stdout)["gusto_companies"]}
        assert companies[revoked]["last_run_ok"] is False
        assert companies[healthy]["last_run_ok"] is True
