"""End to end over HTTP: Gusto sandbox -> tap-gusto -> target-dynamics-fo -> Dynamics sandbox.

Expected figures come from the Gusto sandbox (never hard-coded). The first test uses the real
`tap-gusto | target-dynamics-fo` pipeline (session fixture); the fault tests replay the tap's
output for a few payrolls into a target process against a freshly reset Dynamics sandbox.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import sqlite3
import stat
import subprocess
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from e2e_support import (
    PipelineRun,
    processed_payrolls,
    run_target,
    target_config,
    tool,
    write_config,
)
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from target_dynamics_fo.ledger import journal_batch_number

RIDGELINE = "0c991fcc-d01e-50c4-90c6-d27026b49396"
SUMMIT = "ee2ce936-5d04-5cda-8909-6ace20a55be1"


def component_nets(audit_db: Path, journal_number: str) -> dict[str, Decimal]:
    """Debit minus credit per component family of one journal, from the audit trail."""
    nets: dict[str, Decimal] = defaultdict(Decimal)
    with sqlite3.connect(audit_db) as db:
        rows = db.execute(
            "SELECT l.component, l.debit, l.credit FROM journal_lines l JOIN journals j "
            "ON j.id = l.journal_id WHERE j.journal_batch_number = ? AND j.id = "
            "(SELECT MAX(id) FROM journals WHERE journal_batch_number = ?)",
            (journal_number, journal_number),
        ).fetchall()
    for component, debit, credit in rows:
        family = component if ": " not in component else component.split(": ")[0] + ": "
        nets[family] += Decimal(debit) - Decimal(credit)
    return nets


def assert_matches_gusto_totals(nets: dict[str, Decimal], totals: dict[str, Any]) -> None:
    """The journal restates Gusto's own totals: expenses as debits, liabilities as credits."""
    total = {k: Decimal(str(v)) for k, v in totals.items()}
    gross = nets["Wages: "] + nets["Other earnings"] + nets["Imputed income"]
    assert gross == total["gross_pay"]
    assert nets["ER tax: "] == total["employer_taxes"] == -nets["ER tax payable: "]
    assert nets["Benefit: "] == total["benefits"]
    assert -nets["Benefit payable: "] == total["benefits"] + total["employee_benefits_deductions"]
    assert -nets["EE tax: "] == total["employee_taxes"]
    assert -nets["Deduction: "] == total["other_deductions"]
    assert -nets["Imputed income offset"] == total["imputed_pay"]
    assert nets["Reimbursements"] == total["reimbursements"]
    # The sandbox mapping credits reimbursements (paid with the check) to net pay clearing.
    assert -nets["Net pay"] == total["net_pay"] + total["reimbursements"]


def journal_sums(
    entities: dict[str, list[dict[str, Any]]],
) -> dict[str, tuple[Decimal, Decimal, int]]:
    sums: dict[str, list[Any]] = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    for line in entities["LedgerJournalLines"]:
        entry = sums[line["JournalBatchNumber"]]
        entry[0] += Decimal(str(line["DebitAmount"]))
        entry[1] += Decimal(str(line["CreditAmount"]))
        entry[2] += 1
    return {k: (v[0], v[1], v[2]) for k, v in sums.items()}


def messages_for(tap_output: str, payrolls: set[str], edit: Any = None) -> str:
    """The tap's messages for the chosen payrolls: their companies' people and reference
    records, no contractor streams (those post AP documents, not tested here)."""
    chosen: list[dict[str, Any]] = []
    messages = [json.loads(line) for line in tap_output.splitlines()]
    companies = {
        m["record"]["company_uuid"]
        for m in messages
        if m.get("type") == "RECORD"
        and m.get("stream") == "payrolls"
        and m["record"]["payroll_uuid"] in payrolls
    }
    for message in messages:
        if message.get("type") == "RECORD":
            stream, record = message["stream"], message["record"]
            if stream in ("contractors", "contractor_payments"):
                continue
            if record.get("company_uuid") not in companies:
                continue
            if stream == "payrolls":
                if record["payroll_uuid"] not in payrolls:
                    continue
                if edit is not None:
                    message["record"] = edit(record)
        chosen.append(message)
    return "".join(json.dumps(m) + "\n" for m in chosen)


def some_payrolls(
    gusto: GustoSandbox, per_company: int = 2, companies: tuple[str, ...] = (SUMMIT,)
) -> list[str]:
    """The first payrolls of the given companies (Summit's 8 employees keep runs short)."""
    chosen: list[str] = []
    by_company: dict[str, list[str]] = defaultdict(list)
    for payroll_uuid, company in processed_payrolls(gusto).items():
        by_company[company].append(payroll_uuid)
    for company in companies:
        chosen.extend(sorted(by_company[company])[:per_company])
    return chosen


def outcomes(audit_db: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(audit_db) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM outcomes ORDER BY id").fetchall()
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        latest[row["payroll_uuid"]] = dict(row)
    return latest


def headers_by_number(dyn: DynamicsSandbox) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for header in dyn.entities["LedgerJournalHeaders"]:
        found[header["JournalBatchNumber"]].append(header)
    return found


# ---------------------------------------------------------------- the real pipeline


def test_pipeline_posts_every_processed_payroll_once_balanced_and_equal_to_gusto(
    pipeline_run: PipelineRun, gusto_sandbox: GustoSandbox
) -> None:
    run = pipeline_run
    assert run.tap_returncode == 0
    assert run.target.returncode == 0, run.target.stderr[-3000:]
    assert run.target.states, "the target wrote no STATE after posting"
    expected = processed_payrolls(gusto_sandbox)
    headers = run.entities_after_first["LedgerJournalHeaders"]
    numbers = [h["JournalBatchNumber"] for h in headers]
    assert len(numbers) == len(set(numbers)) == len(expected)
    sums = journal_sums(run.entities_after_first)
    for payroll_uuid, company in expected.items():
        number = journal_batch_number("GUS", company, payroll_uuid)
        assert number in set(numbers), f"payroll {payroll_uuid} has no journal"
        debit, credit, line_count = sums[number]
        assert line_count > 0
        assert debit == credit, f"journal {number} is unbalanced"
        nets = component_nets(run.audit_db, number)
        assert sum(nets.values(), Decimal(0)) == 0
        assert_matches_gusto_totals(nets, gusto_sandbox.payroll_expected(payroll_uuid)["totals"])
    for header in headers:
        assert header["IsPosted"] == "No"
        assert header["JournalName"] == "Payroll"
        assert "#" in header["Description"]
    assert run.entities_after_first.get("GeneralJournalAccountEntries", []) == []


def test_rerun_of_the_same_input_posts_nothing(pipeline_run: PipelineRun) -> None:
    rerun = pipeline_run.rerun
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert (
        pipeline_run.entities_after_rerun["LedgerJournalHeaders"]
        == (pipeline_run.entities_after_first["LedgerJournalHeaders"])
    )
    assert len(pipeline_run.entities_after_rerun["LedgerJournalLines"]) == len(
        pipeline_run.entities_after_first["LedgerJournalLines"]
    )
    for table in ("VendInvoiceJournalHeaders", "VendInvoiceJournalLines"):
        assert pipeline_run.entities_after_rerun.get(table) == (
            pipeline_run.entities_after_first.get(table)
        )
    assert "0 posted" in rerun.stderr and "already posted" in rerun.stderr


def test_audit_cli_lists_the_posted_journals(pipeline_run: PipelineRun) -> None:
    result = subprocess.run(
        [tool("target-dynamics-fo-audit"), "--audit-db", str(pipeline_run.audit_db), "journals"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    headers = pipeline_run.entities_after_first["LedgerJournalHeaders"]
    assert f"{len(headers)} journal(s)" in result.stdout
    for header in headers[:3]:
        assert header["JournalBatchNumber"] in result.stdout
    failures = subprocess.run(
        [tool("target-dynamics-fo-audit"), "--audit-db", str(pipeline_run.audit_db), "failures"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert failures.returncode == 0 and "No failures" in failures.stdout


def test_audit_summary_counts_records_received_per_stream(
    pipeline_run: PipelineRun, gusto_sandbox: GustoSandbox
) -> None:
    result = subprocess.run(
        [tool("target-dynamics-fo-audit"), "--audit-db", str(pipeline_run.audit_db), "summary"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    payrolls = sum(len(company["payrolls"]) for company in gusto_sandbox.info()["companies"])
    processed = len(processed_payrolls(gusto_sandbox))
    # The fixture's rerun went into the same audit trail, so each payroll's latest outcome is
    # "already_posted"; together with "posted" they cover every processed payroll.
    outcome_line = result.stdout.split("payrolls by latest outcome: ")[1].splitlines()[0]
    outcome_counts = {name: int(n) for n, name in (i.split(" ") for i in outcome_line.split(", "))}
    assert outcome_counts["posted"] + outcome_counts["already_posted"] == processed
    received = result.stdout.split("records received by stream: ")[1].splitlines()[0]
    counts = dict(item.rsplit(" ", 1) for item in received.split(", "))
    assert int(counts["payrolls"]) in {processed, payrolls}  # unprocessed ones only if selected
    assert int(counts["employees"]) > 100


# ---------------------------------------------------------------- faults


def test_lost_response_after_commit_leaves_no_duplicate(
    tap_output: str,
    gusto_sandbox: GustoSandbox,
    fresh_dynamics: DynamicsSandbox,
    tmp_path: Path,
    target_config_file: Path,
) -> None:
    payrolls = some_payrolls(gusto_sandbox, 1)
    fresh_dynamics.set_faults({"lose_response_next_write": 1})
    config = target_config_file
    run = run_target(config, messages_for(tap_output, set(payrolls)))
    assert run.returncode == 0, run.stderr[-3000:]
    assert fresh_dynamics.stats["lost_responses"] == 1
    headers = headers_by_number(fresh_dynamics)
    assert len(headers) == len(payrolls)
    assert all(len(v) == 1 for v in headers.values())
    results = outcomes(tmp_path / "audit.sqlite")
    assert {r["outcome"] for r in results.values()} == {"posted"}
    assert any("lost response" in (r["reason"] or "") for r in results.values())


def test_unmapped_department_fails_that_payroll_only_then_replay_posts_it_once(
    tap_output: str,
    gusto_sandbox: GustoSandbox,
    fresh_dynamics: DynamicsSandbox,
    tmp_path: Path,
    credential_store: Path,
    mapping_file: Path,
) -> None:
    mapping = yaml.safe_load(mapping_file.read_text())
    del mapping["companies"][RIDGELINE]["dimensions"]["departments"]["Residential Service"]
    broken = tmp_path / "mapping-broken.yml"
    broken.write_text(yaml.safe_dump(mapping))
    payrolls = some_payrolls(gusto_sandbox, 1, (RIDGELINE, SUMMIT))
    config = write_config(tmp_path, target_config(tmp_path, credential_store, broken))
    run = run_target(config, messages_for(tap_output, set(payrolls)))

    assert run.returncode == 1, "a refused payroll must make the run fail"
    assert run.states, "state must still be written after the other payrolls posted"
    assert "Residential Service" in run.stderr
    results = outcomes(tmp_path / "audit.sqlite")
    refused = [p for p, r in results.items() if r["outcome"] == "refused"]
    posted = [p for p, r in results.items() if r["outcome"] == "posted"]
    assert refused and posted
    company_of = processed_payrolls(gusto_sandbox)
    assert {company_of[p] for p in refused} == {RIDGELINE}
    assert {company_of[p] for p in posted} >= {SUMMIT}
    for payroll_uuid in refused:
        assert "Residential Service" in results[payroll_uuid]["reason"]
        assert results[payroll_uuid]["fix"]
    assert len(fresh_dynamics.entities["LedgerJournalHeaders"]) == len(posted)

    fixed = write_config(
        tmp_path, target_config(tmp_path, credential_store, mapping_file), "fixed.json"
    )
    target = refused[0]
    replay = [tool("target-dynamics-fo-audit"), "replay", target, "--config", str(fixed)]
    first = subprocess.run(replay, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr + first.stdout
    assert "posted" in first.stdout
    again = subprocess.run(replay, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr + again.stdout
    assert "already_posted" in again.stdout
    number = journal_batch_number("GUS", RIDGELINE, target)
    assert len(headers_by_number(fresh_dynamics)[number]) == 1


def test_expired_token_mid_run_is_replaced_and_the_run_completes(
    tap_output: str,
    gusto_sandbox: GustoSandbox,
    fresh_dynamics: DynamicsSandbox,
    tmp_path: Path,
    credential_store: Path,
    mapping_file: Path,
) -> None:
    payrolls = some_payrolls(gusto_sandbox, 3)
    lines = messages_for(tap_output, set(payrolls)).splitlines(keepends=True)
    first_payroll = next(
        i
        for i, line in enumerate(lines)
        if json.loads(line)["type"] == "RECORD" and json.loads(line)["stream"] == "payrolls"
    )
    # batch_size_rows 1: each payroll is posted as soon as it is read, so the test can expire
    # every issued token between the first and the second payroll.
    config = write_config(
        tmp_path, target_config(tmp_path, credential_store, mapping_file, batch_size_rows=1)
    )
    proc = subprocess.Popen(
        [tool("target-dynamics-fo"), "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    assert proc.stdin is not None
    proc.stdin.writelines(lines[: first_payroll + 1])
    proc.stdin.flush()
    while not fresh_dynamics.entities["LedgerJournalHeaders"]:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.05)
    fresh_dynamics.set_faults({"expire_tokens": True})
    _, stderr = proc.communicate("".join(lines[first_payroll + 1 :]))
    assert proc.returncode == 0, stderr[-3000:]
    assert fresh_dynamics.stats["unauthorized"] >= 1
    assert fresh_dynamics.stats["tokens_issued"] >= 2
    assert len(fresh_dynamics.entities["LedgerJournalHeaders"]) == len(payrolls)


def test_run_under_repeated_429_503_and_dropped_connections_completes(
    tap_output: str,
    gusto_sandbox: GustoSandbox,
    fresh_dynamics: DynamicsSandbox,
    target_config_file: Path,
) -> None:
    payrolls = some_payrolls(gusto_sandbox, 1)
    fresh_dynamics.set_faults(
        {"throttle_next": 4, "retry_after": 1, "unavailable_next": 1, "drop_connection_next": 1}
    )
    config = target_config_file
    run = run_target(config, messages_for(tap_output, set(payrolls)))
    assert run.returncode == 0, run.stderr[-3000:]
    stats = fresh_dynamics.stats
    assert stats["throttled"] == 4 and stats["unavailable"] == 1
    assert stats["dropped_connections"] == 1
    headers = headers_by_number(fresh_dynamics)
    assert len(headers) == len(payrolls) and all(len(v) == 1 for v in headers.values())


def test_unprocessed_or_incomplete_payrolls_are_never_posted(
    tap_output: str,
    gusto_sandbox: GustoSandbox,
    fresh_dynamics: DynamicsSandbox,
    tmp_path: Path,
    target_config_file: Path,
) -> None:
    unprocessed, truncated = some_payrolls(gusto_sandbox, 2)

    def edit(record: dict[str, Any]) -> dict[str, Any]:
        if record["payroll_uuid"] == unprocessed:
            record["processed"] = False
        if record["payroll_uuid"] == truncated:
            # What a tap that crashed between pages would hand over.
            record["employee_compensations"] = record["employee_compensations"][:-1]
        return record

    config = target_config_file
    run = run_target(config, messages_for(tap_output, {unprocessed, truncated}, edit))
    assert run.returncode == 1
    results = outcomes(tmp_path / "audit.sqlite")
    assert results[unprocessed]["outcome"] == "skipped"
    assert results[truncated]["outcome"] == "refused"
    assert "pages were not read" in results[truncated]["reason"]
    assert fresh_dynamics.entities["LedgerJournalHeaders"] == []


def test_dry_run_posts_nothing_and_writes_csv_and_summary(
    tap_output: str,
    gusto_sandbox: GustoSandbox,
    fresh_dynamics: DynamicsSandbox,
    tmp_path: Path,
    credential_store: Path,
    mapping_file: Path,
) -> None:
    payrolls = some_payrolls(gusto_sandbox, 1)
    out = tmp_path / "dry"
    config = write_config(
        tmp_path,
        target_config(
            tmp_path, credential_store, mapping_file, dry_run=True, dry_run_output=str(out)
        ),
    )
    run = run_target(config, messages_for(tap_output, set(payrolls)))
    assert run.returncode == 0, run.stderr[-3000:]
    assert fresh_dynamics.entities["LedgerJournalHeaders"] == []
    assert fresh_dynamics.entities["LedgerJournalLines"] == []
    with (out / "journals.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_journal: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in rows:
        by_journal[row["journal_batch_number"]][0] += Decimal(row["debit"])
        by_journal[row["journal_batch_number"]][1] += Decimal(row["credit"])
        assert row["account_display_value"].startswith(row["main_account"] + "-")
    assert len(by_journal) == len(payrolls)
    for debit, credit in by_journal.values():
        assert debit == credit
    summary = (out / "summary.txt").read_text()
    assert "DRY RUN" in summary and "nothing was posted" in summary


def test_no_secret_or_token_in_audit_db_or_logs(
    pipeline_run: PipelineRun, gusto_sandbox: GustoSandbox, dynamics_sandbox: DynamicsSandbox
) -> None:
    secrets = [dynamics_sandbox.client_secret, gusto_sandbox.client_secret]
    blobs: list[tuple[str, bytes]] = []
    for path in pipeline_run.audit_db.parent.glob("audit.sqlite*"):
        blobs.append((path.name, path.read_bytes()))
    blobs.append(("target stderr", pipeline_run.target.stderr.encode()))
    blobs.append(("rerun stderr", pipeline_run.rerun.stderr.encode()))
    blobs.append(("target stdout", pipeline_run.target.stdout.encode()))
    for name, blob in blobs:
        for secret in secrets:
            assert secret.encode() not in blob, f"a client secret is in {name}"
        # Bearer tokens from the sandbox (and Entra) are JWTs: base64url JSON headers.
        assert b"eyJ0eX" not in blob and b"eyJhbGci" not in blob, f"a token is in {name}"
        assert b"Bearer " not in blob, f"an Authorization header is in {name}"


def test_recovery_relists_a_past_range_and_posts_only_what_f_and_o_lacks(
    gusto_sandbox: GustoSandbox,
    fresh_dynamics: DynamicsSandbox,
    tap_config_file: Path,
    target_config_file: Path,
    tmp_path: Path,
) -> None:
    """docs/extraction.md "Recovering payrolls an older tap missed": a run whose bookmark is
    past payrolls that never reached F&O, then a full-refresh run from an earlier start_date."""
    today = gusto_sandbox.today
    summit_only = {"company_ids": [SUMMIT]}
    late_start, early_start = today - dt.timedelta(days=90), today - dt.timedelta(days=200)

    def pipe(start: dt.date, state: dict[str, Any] | None) -> str:
        config = {**json.loads(tap_config_file.read_text()), **summit_only}
        config["start_date"] = start.isoformat()
        config_file = write_config(tmp_path, config, f"tap-{start}.json")
        args = [tool("tap-gusto"), "--config", str(config_file)]
        if state is not None:
            state_file = tmp_path / "state.json"
            state_file.write_text(json.dumps(state))
            args += ["--state", str(state_file)]
        tap = subprocess.run(args, capture_output=True, text=True, check=False, cwd=tmp_path)
        assert tap.returncode == 0, tap.stderr[-3000:]
        target = run_target(target_config_file, tap.stdout)
        assert target.returncode == 0, target.stderr[-3000:]
        return target.stdout

    first = pipe(late_start, None)
    affected = set(headers_by_number(fresh_dynamics))
    later = {
        journal_batch_number("GUS", SUMMIT, p)
        for p, c in processed_payrolls(gusto_sandbox, late_start).items()
        if c == SUMMIT
    }
    assert affected == later
    # An incremental run from the saved state does not go back before its bookmark...
    state = [json.loads(line) for line in first.splitlines() if line.startswith("{")][-1]
    pipe(early_start, state)
    assert set(headers_by_number(fresh_dynamics)) == later
    # ...the documented recovery does, and posts only the journals F&O lacks, once each.
    pipe(early_start, None)
    found = headers_by_number(fresh_dynamics)
    assert all(len(headers) == 1 for headers in found.values())
    assert set(found) == {
        journal_batch_number("GUS", SUMMIT, p)
        for p, c in processed_payrolls(gusto_sandbox, early_start).items()
        if c == SUMMIT
    }


def test_payroll_data_at_rest_is_readable_by_its_owner_only(
    tap_output: str,
    gusto_sandbox: GustoSandbox,
    fresh_dynamics: DynamicsSandbox,
    tmp_path: Path,
    credential_store: Path,
    mapping_file: Path,
) -> None:
    """Under the usual 022 umask: the audit trail (every employee's pay), its WAL files and the
    dry-run CSV and summary are 0600, and folders the target creates are 0700."""
    payrolls = set(some_payrolls(gusto_sandbox, 1))
    out = tmp_path / "new" / "dry"
    previous = os.umask(0o022)
    try:
        for dry_run in (False, True):
            config = target_config(tmp_path, credential_store, mapping_file, dry_run=dry_run)
            config["audit_db"] = str(tmp_path / "new" / "audit" / "audit.sqlite")
            config["dry_run_output"] = str(out)
            run = run_target(write_config(tmp_path, config), messages_for(tap_output, payrolls))
            assert run.returncode == 0, run.stderr[-3000:]
    finally:
        os.umask(previous)
    files = [
        *(tmp_path / "new" / "audit").glob("audit.sqlite*"),
        out / "journals.csv",
        out / "summary.txt",
    ]
    assert len(files) >= 3  # the -wal and -shm files exist only while a connection is open
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for folder in (tmp_path / "new", tmp_path / "new" / "audit", out):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_payrolls_under_another_stream_name_fail_loudly_unless_mapped(
    tap_output: str,
    gusto_sandbox: GustoSandbox,
    fresh_dynamics: DynamicsSandbox,
    tmp_path: Path,
    credential_store: Path,
    mapping_file: Path,
) -> None:
    """Another tap or a stream map may call the stream `gusto_payrolls`: never a silent no-op."""
    payrolls = set(some_payrolls(gusto_sandbox, 1))
    renamed = "".join(
        json.dumps({**m, "stream": f"gusto_{m['stream']}"} if "stream" in m else m) + "\n"
        for m in map(json.loads, messages_for(tap_output, payrolls).splitlines())
    )
    plain = target_config(tmp_path, credential_store, mapping_file)
    run = run_target(write_config(tmp_path, plain), renamed)
    assert run.returncode != 0
    assert "gusto_payrolls" in run.stderr and "stream_names" in run.stderr
    assert fresh_dynamics.entities["LedgerJournalHeaders"] == []

    streams = ("payrolls", "employees", "departments", "locations", "companies")
    mapped = {**plain, "stream_names": {f"gusto_{name}": name for name in streams}}
    run = run_target(write_config(tmp_path, mapped, "mapped.json"), renamed)
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(fresh_dynamics.entities["LedgerJournalHeaders"]) == len(payrolls)
