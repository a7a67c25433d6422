"""End to end over HTTP with ``payroll_record_shape: split`` (docs/CONTRACTS.md section 7).

The tap sends each payroll's compensations as ``payroll_compensations`` records before the
``payrolls`` record; the target keeps them in its audit store and posts from there. F&O must
hold exactly the journals the ``whole`` shape gives (the session pipeline run): same batch
numbers, lines, amounts and content hash in the Description, one per processed payroll in
Gusto's own list. A read whose count does not add up is refused; a read with no ``payrolls``
record (a stopped tap) posts nothing.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
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

SUMMIT = "ee2ce936-5d04-5cda-8909-6ace20a55be1"


@pytest.fixture(scope="module")
def split_tap_output(tmp_path_factory: pytest.TempPathFactory, tap_config_file: Path) -> str:
    config = json.loads(tap_config_file.read_text())
    config["payroll_record_shape"] = "split"
    work = tmp_path_factory.mktemp("split-tap")
    path = write_config(work, config, "tap-config.json")
    done = subprocess.run(
        [tool("tap-gusto"), "--config", str(path)],
        capture_output=True,
        text=True,
        cwd=work,
        check=False,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def journals(entities: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Every journal header with its lines, by batch number."""
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in entities["LedgerJournalLines"]:
        lines[line["JournalBatchNumber"]].append(line)
    return {
        header["JournalBatchNumber"]: (
            header,
            sorted(lines[header["JournalBatchNumber"]], key=lambda x: float(x["LineNumber"])),
        )
        for header in entities["LedgerJournalHeaders"]
    }


def latest_outcomes(audit_db: Path, first: bool = False) -> dict[str, tuple[str, str | None]]:
    """(outcome, reason) of each payroll: its latest, or with ``first`` its first."""
    with sqlite3.connect(audit_db) as db:
        order = "DESC" if first else ""
        rows = db.execute(f"SELECT payroll_uuid, outcome, reason FROM outcomes ORDER BY id {order}")
        return {str(p): (str(o), r) for p, o, r in rows}


def messages(tap_output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in tap_output.splitlines() if line.strip()]


def summit_only(tap_output: str, edit: Any = None) -> str:
    """The split output of the small company's streams (no contractor streams), with
    ``edit(message)`` applied to each message (None drops it)."""
    kept: list[dict[str, Any]] = []
    for message in messages(tap_output):
        if message.get("type") == "RECORD":
            if message["stream"] in ("contractors", "contractor_payments"):
                continue
            if message["record"].get("company_uuid") != SUMMIT:
                continue
        changed = message if edit is None else edit(message)
        if changed is not None:
            kept.append(changed)
    return "".join(json.dumps(m) + "\n" for m in kept)


def summit_payrolls(tap_output: str) -> list[dict[str, Any]]:
    return [
        m["record"]
        for m in messages(tap_output)
        if m.get("type") == "RECORD"
        and m["stream"] == "payrolls"
        and m["record"]["company_uuid"] == SUMMIT
        and m["record"].get("processed")
    ]


def test_split_posts_the_same_journals_as_whole(
    pipeline_run: PipelineRun,
    split_tap_output: str,
    fresh_dynamics: DynamicsSandbox,
    gusto_sandbox: GustoSandbox,
    tmp_path: Path,
    credential_store: Path,
    mapping_file: Path,
) -> None:
    stream_names = {m.get("stream") for m in messages(split_tap_output)}
    assert "payroll_compensations" in stream_names
    config = write_config(tmp_path, target_config(tmp_path, credential_store, mapping_file))
    run = run_target(config, split_tap_output)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states, "the target wrote no STATE after posting"
    split = journals(fresh_dynamics.entities)
    whole = journals(pipeline_run.entities_after_first)
    expected = {
        journal_batch_number("GUS", company, payroll)
        for payroll, company in processed_payrolls(gusto_sandbox).items()
    }
    assert set(split) == set(whole) == expected
    for number, (header, lines) in whole.items():
        assert split[number][0]["Description"] == header["Description"]
        assert "#" in header["Description"]
        assert split[number] == (header, lines), f"journal {number} differs"
    # Same audit outcomes as the whole run's first (its rerun added "already posted" ones),
    # and the content hashes recorded for each journal agree.
    assert latest_outcomes(tmp_path / "audit.sqlite") == latest_outcomes(
        pipeline_run.audit_db, first=True
    )
    with sqlite3.connect(tmp_path / "audit.sqlite") as db:
        split_hashes = dict(db.execute("SELECT payroll_uuid, content_hash FROM journals"))
    with sqlite3.connect(pipeline_run.audit_db) as db:
        whole_hashes = dict(
            db.execute("SELECT payroll_uuid, content_hash FROM journals WHERE dry_run = 0")
        )
    assert split_hashes == whole_hashes
    # A replay of a split payroll reads its stored rows: already posted, nothing sent.
    payroll = next(iter(processed_payrolls(gusto_sandbox)))
    writes = fresh_dynamics.stats["batch_operations"]
    replay = subprocess.run(
        [tool("target-dynamics-fo-audit"), "replay", payroll, "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert replay.returncode == 0, replay.stderr[-3000:]
    assert "already_posted" in replay.stdout + replay.stderr
    assert fresh_dynamics.stats["batch_operations"] == writes
    # The trail's report counts a split payroll's employees from its kept rows.
    shown = subprocess.run(
        [
            tool("target-dynamics-fo-audit"),
            "--audit-db",
            str(tmp_path / "audit.sqlite"),
            "show",
            payroll,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr[-3000:]
    count = len(gusto_sandbox.payroll_expected(payroll)["employee_compensations"])
    assert count > 0
    assert f"employees {count}  compensations kept as rows of read" in shown.stdout


def test_a_payroll_read_again_in_the_other_shape_is_not_posted_again(
    pipeline_run: PipelineRun,
    split_tap_output: str,
    fresh_dynamics: DynamicsSandbox,
    tmp_path: Path,
    credential_store: Path,
    mapping_file: Path,
) -> None:
    # payroll_record_shape auto chooses per read: a payroll posted whole can come split the
    # next time (more employees than payroll_split_above, or a lower limit), and the other
    # way round. Either way it is the same payroll with the same content hash: posted once.
    config = write_config(tmp_path, target_config(tmp_path, credential_store, mapping_file))
    whole_first = run_target(config, pipeline_run.tap_output)
    assert whole_first.returncode == 0, whole_first.stderr[-3000:]
    posted = journals(fresh_dynamics.entities)
    assert posted
    writes = fresh_dynamics.stats["batch_operations"]
    split_next = run_target(config, split_tap_output)
    assert split_next.returncode == 0, split_next.stderr[-3000:]
    assert fresh_dynamics.stats["batch_operations"] == writes
    assert journals(fresh_dynamics.entities) == posted
    outcomes = latest_outcomes(tmp_path / "audit.sqlite")
    assert {outcome for outcome, _ in outcomes.values()} == {"already_posted"}


def test_a_count_that_does_not_add_up_is_refused_and_nothing_posted(
    split_tap_output: str, fresh_dynamics: DynamicsSandbox, target_config_file: Path
) -> None:
    payrolls = summit_payrolls(split_tap_output)
    short = payrolls[0]["payroll_uuid"]

    def one_more(message: dict[str, Any]) -> dict[str, Any]:
        record = message.get("record") or {}
        if message.get("stream") == "payrolls" and record.get("payroll_uuid") == short:
            record["employee_compensations_count"] += 1
        return message

    run = run_target(target_config_file, summit_only(split_tap_output, one_more))
    assert run.returncode == 1
    outcome, reason = latest_outcomes(target_config_file.parent / "audit.sqlite")[short]
    assert outcome == "refused"
    assert reason is not None and f"payroll {short}" in reason
    assert "employee compensations arrived for its read" in reason
    assert "run the tap again for this payroll" in reason
    numbers = {h["JournalBatchNumber"] for h in fresh_dynamics.entities["LedgerJournalHeaders"]}
    assert journal_batch_number("GUS", SUMMIT, short) not in numbers
    assert len(numbers) == len(payrolls) - 1


def test_a_read_without_its_payroll_record_posts_nothing(
    split_tap_output: str, fresh_dynamics: DynamicsSandbox, target_config_file: Path
) -> None:
    payrolls = summit_payrolls(split_tap_output)
    stopped = payrolls[-1]["payroll_uuid"]

    def without_header(message: dict[str, Any]) -> dict[str, Any] | None:
        record = message.get("record") or {}
        if message.get("stream") == "payrolls" and record.get("payroll_uuid") == stopped:
            return None
        return message

    run = run_target(target_config_file, summit_only(split_tap_output, without_header))
    assert run.returncode == 0, run.stderr[-3000:]
    numbers = {h["JournalBatchNumber"] for h in fresh_dynamics.entities["LedgerJournalHeaders"]}
    assert journal_batch_number("GUS", SUMMIT, stopped) not in numbers
    assert len(numbers) == len(payrolls) - 1
    audit_db = target_config_file.parent / "audit.sqlite"
    assert stopped not in latest_outcomes(audit_db)
    with sqlite3.connect(audit_db) as db:
        kept = db.execute(
            "SELECT COUNT(*) FROM payroll_compensations WHERE payroll_uuid=?", (stopped,)
        ).fetchone()[0]
    # Its rows are in the trail (every record received), named by no payroll record.
    assert kept > 0
