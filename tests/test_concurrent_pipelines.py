"""Two pipelines at once against one F&O, one credential store and one audit trail.

What two schedulers (or a webhook run racing a scheduled one) do: both `tap-gusto |
target-dynamics-fo` runs read the same companies with the same stored grants and post to the
same environment. Afterwards every processed payroll of Gusto's own list is exactly one journal,
no refresh token was rejected (`invalid_grant`), and the audit trail and the store are intact.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from e2e_support import processed_payrolls, tool
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault
from target_dynamics_fo.ledger import journal_batch_number


def test_two_pipelines_at_once_post_every_payroll_exactly_once(
    gusto_sandbox: GustoSandbox,
    fresh_dynamics: DynamicsSandbox,
    tap_config_file: Path,
    target_config_file: Path,
    credential_store: Path,
) -> None:
    invalid_before = gusto_sandbox.stats.snapshot()["invalid_grants"]
    pipelines = [
        subprocess.Popen(
            f"{tool('tap-gusto')} --config {tap_config_file} | "
            f"{tool('target-dynamics-fo')} --config {target_config_file}",
            shell=True,
            cwd=target_config_file.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    errors = [pipeline.communicate(timeout=900)[1] for pipeline in pipelines]
    for pipeline, stderr in zip(pipelines, errors, strict=True):
        assert pipeline.returncode == 0, stderr[-3000:]

    numbers = [h["JournalBatchNumber"] for h in fresh_dynamics.entities["LedgerJournalHeaders"]]
    expected = {
        journal_batch_number("GUS", company, payroll)
        for payroll, company in processed_payrolls(gusto_sandbox).items()
    }
    assert sorted(numbers) == sorted(expected), "a payroll is missing or posted twice"
    assert gusto_sandbox.stats.snapshot()["invalid_grants"] == invalid_before
    audit_db = target_config_file.parent / "audit.sqlite"
    with sqlite3.connect(audit_db) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    companies = Vault.open(credential_store).read()["gusto"]["companies"]
    assert set(companies) == set(gusto_sandbox.company_uuids)
    assert all(record.get("refresh_token") for record in companies.values())


def test_one_pipeline_per_company_at_once_posts_every_payroll_exactly_once(
    gusto_sandbox: GustoSandbox,
    fresh_dynamics: DynamicsSandbox,
    tap_config_file: Path,
    target_config_file: Path,
) -> None:
    """Companies in parallel as docs/extraction.md runs them: one job (process) per company,
    each with its own ``company_ids`` and state, all targets writing to one F&O and one audit
    trail at once."""
    base = json.loads(tap_config_file.read_text())
    companies = list(gusto_sandbox.company_uuids)
    pipelines = []
    for company in companies:
        config = target_config_file.parent / f"tap-{company}.json"
        config.write_text(json.dumps({**base, "company_ids": [company]}))
        pipelines.append(
            subprocess.Popen(
                f"{tool('tap-gusto')} --config {config} | "
                f"{tool('target-dynamics-fo')} --config {target_config_file}",
                shell=True,
                cwd=target_config_file.parent,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [pipeline.communicate(timeout=900) for pipeline in pipelines]
    for pipeline, (_, stderr) in zip(pipelines, outputs, strict=True):
        assert pipeline.returncode == 0, stderr[-3000:]

    numbers = [h["JournalBatchNumber"] for h in fresh_dynamics.entities["LedgerJournalHeaders"]]
    expected = {
        journal_batch_number("GUS", company, payroll)
        for payroll, company in processed_payrolls(gusto_sandbox).items()
    }
    assert sorted(numbers) == sorted(expected), "a payroll is missing or posted twice"
    # Each job's state holds its own company only, so the jobs' states never overwrite
    # each other (one Meltano state id per job).
    for company, (stdout, _) in zip(companies, outputs, strict=True):
        states = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
        partitions = states[-1]["bookmarks"]["payrolls"]["partitions"]
        assert {p["context"]["company_uuid"] for p in partitions} == {company}
