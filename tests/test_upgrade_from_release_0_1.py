"""What release 0.1.0 wrote is read, and written to, by this code.

`fixtures/release-0.1.0/` holds an audit trail and a credential store written by the 0.1.0 code
(commit 144d9d4) after posting Ridgeline's payrolls and contractor payments of 20 days, with a
store key made only for that run (it guards sandbox tokens, nothing else). A user upgrading keeps
both files: nothing may ask them to start over, and nothing already posted may post again.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from e2e_support import run_target, target_config, tool, write_config, write_requests
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault
from target_dynamics_fo.audit import LATEST_VERSION, MIGRATIONS, AuditStore

RELEASE = Path(__file__).parent / "fixtures" / "release-0.1.0"
RIDGELINE = "0c991fcc-d01e-50c4-90c6-d27026b49396"
# What 0.1.0 posted, as its audit trail says.
POSTED = {
    "49bf6f2c-c3d9-5e6f-9c41-3623e780a0a3": "GUS-NC3WJPQEPN7YPGC5",
    "70cd3b6c-4143-50c4-9d23-ceed7cbcdcb9": "GUS-4PJMWWL5HTJC3K4V",
}
PAYMENTS = {
    "282be6b5-18e9-587b-9ce9-c893a1825fb7",
    "43d54261-8899-5a97-b8ae-b49341de460d",
    "dc3b01b0-5f5f-59c4-8fdf-28b9ec3ed791",
}


@pytest.fixture
def old_audit_db(tmp_path: Path) -> Path:
    path = tmp_path / "audit.sqlite"
    with gzip.open(RELEASE / "audit.sqlite.gz") as packed, path.open("wb") as unpacked:
        shutil.copyfileobj(packed, unpacked)
    return path


def audit_cli(audit_db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("target-dynamics-fo-audit"), "--audit-db", str(audit_db), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_audit_trail_of_0_1_is_read_as_it_was(old_audit_db: Path) -> None:
    store = AuditStore(old_audit_db)
    try:
        latest = {row["payroll_uuid"]: row for row in store.latest_outcomes()}
        assert {uuid: row["outcome"] for uuid, row in latest.items()} == dict.fromkeys(
            POSTED, "posted"
        )
        assert {uuid: row["journal_batch_number"] for uuid, row in latest.items()} == POSTED
        assert store.awaiting_payrolls() == []
        assert store.awaiting_payments() == []
    finally:
        store.close()
    journals = audit_cli(old_audit_db, "journals")
    assert journals.returncode == 0, journals.stderr
    assert all(number in journals.stdout for number in POSTED.values())
    invoices = audit_cli(old_audit_db, "invoices")
    assert invoices.returncode == 0, invoices.stderr
    assert all(uuid[:8].upper() in invoices.stdout for uuid in PAYMENTS)
    assert "3 invoice(s) in Dynamics totalling 28787.51" in invoices.stdout
    failures = audit_cli(old_audit_db, "failures")
    assert failures.returncode == 0, failures.stderr
    for uuid, number in POSTED.items():
        shown = audit_cli(old_audit_db, "show", uuid)
        assert shown.returncode == 0, shown.stderr
        assert number in shown.stdout


def shape(path: Path) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    """The file's schema (sqlite_master) and its row count per table and view."""
    with sqlite3.connect(path) as db:
        master = db.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        counts = {
            str(name): int(db.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0])
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
            )
        }
    return master, counts


def columns_and_indexes(db: sqlite3.Connection) -> dict[str, Any]:
    names = db.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    found: dict[str, Any] = {}
    for (name,) in names:
        found[name] = [tuple(row) for row in db.execute(f"PRAGMA table_info({name})")]
        for index in db.execute(f"PRAGMA index_list({name})").fetchall():
            found[f"index {index[1]}"] = [
                tuple(row) for row in db.execute(f"PRAGMA index_info({index[1]})")
            ]
    return found


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def test_step_1_is_exactly_the_schema_0_1_wrote(old_audit_db: Path) -> None:
    fresh = sqlite3.connect(":memory:")
    MIGRATIONS[0].apply(fresh)
    with sqlite3.connect(old_audit_db) as old:
        assert columns_and_indexes(fresh) == columns_and_indexes(old)


def test_the_trail_of_0_1_is_upgraded_in_place_once(old_audit_db: Path) -> None:
    """0.1.0 wrote no schema version: its tables say it is version 1; the open upgrades it to
    the latest in place, keeping every row, and a second open finds nothing to do."""
    assert user_version(old_audit_db) == 0
    _, rows_before = shape(old_audit_db)
    store = AuditStore(old_audit_db)
    store.close()
    assert store.schema_upgraded_from == 0
    assert user_version(old_audit_db) == LATEST_VERSION
    upgraded, rows_after = shape(old_audit_db)
    # Step 3 moved both outcome tables' rows into one (so one AUTOINCREMENT counter instead of
    # two); their names read them as views. Steps 4 and 5 add an empty payroll_compensations
    # and its table of pinned references.
    assert rows_after == {
        **rows_before,
        "staged_corrections": 0,
        "payroll_compensations": 0,
        "payroll_compensation_refs": 0,
        "document_outcomes": rows_before["outcomes"] + rows_before["payment_outcomes"],
        "sqlite_sequence": rows_before["sqlite_sequence"] - 1,
    }
    assert old_audit_db.stat().st_mode & 0o777 == 0o600

    again = AuditStore(old_audit_db)
    again.close()
    assert again.schema_upgraded_from is None
    assert shape(old_audit_db) == (upgraded, rows_after)
    assert user_version(old_audit_db) == LATEST_VERSION


def test_a_trail_from_a_newer_release_is_refused_with_the_fix(old_audit_db: Path) -> None:
    with sqlite3.connect(old_audit_db) as db:
        db.execute(f"PRAGMA user_version = {LATEST_VERSION + 7}")
    before = shape(old_audit_db)
    refused = audit_cli(old_audit_db, "failures")
    assert refused.returncode == 2
    assert str(old_audit_db) in refused.stderr
    assert f"schema version {LATEST_VERSION + 7}" in refused.stderr
    assert f"up to {LATEST_VERSION}" in refused.stderr
    assert "Upgrade the connector" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert shape(old_audit_db) == before
    assert user_version(old_audit_db) == LATEST_VERSION + 7


_OPEN_AT = """
import sys, time
from target_dynamics_fo.audit import AuditStore
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
store = AuditStore(sys.argv[1])
print(store.schema_upgraded_from, len(store.latest_outcomes()))
store.close()
"""


def test_two_processes_opening_the_trail_of_0_1_at_once_both_succeed(
    old_audit_db: Path,
) -> None:
    """Two targets (or a target and the audit CLI) start together on a 0.1.0 trail: the write
    lock taken before the version is read again lets exactly one migrate."""
    # Both wait for the same instant, so their opens overlap rather than run one after the other.
    start_at = str(time.time() + 1.5)
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_AT, str(old_audit_db), start_at],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    answers = [opener.communicate(timeout=120) for opener in openers]
    assert [opener.returncode for opener in openers] == [0, 0], [err for _, err in answers]
    # The one that migrated says from which version (0: unversioned); the other found it done.
    said = sorted(out.split()[0] for out, _ in answers)
    assert said == ["0", "None"], answers
    assert all(out.split()[1] == str(len(POSTED)) for out, _ in answers)
    assert user_version(old_audit_db) == LATEST_VERSION


def untagged(value: Any) -> Any:
    """The fixture's JSON back to the sandbox's row types (Decimal, date, datetime)."""
    if isinstance(value, dict):
        if value.keys() == {"$decimal"}:
            return Decimal(value["$decimal"])
        if value.keys() == {"$date"}:
            return dt.date.fromisoformat(value["$date"])
        if value.keys() == {"$datetime"}:
            return dt.datetime.fromisoformat(value["$datetime"])
        return {key: untagged(item) for key, item in value.items()}
    if isinstance(value, list):
        return [untagged(item) for item in value]
    return value


def restore_what_0_1_wrote(dyn: DynamicsSandbox) -> dict[str, int]:
    with gzip.open(RELEASE / "dynamics-written.json.gz", "rt") as packed:
        written: dict[str, list[dict[str, Any]]] = untagged(json.load(packed))
    with dyn.store.transaction():
        for entity, rows in written.items():
            for row in rows:
                dyn.store.put(entity, row)
    return {entity: len(rows) for entity, rows in written.items()}


def test_this_release_reruns_over_the_trail_and_ledger_of_0_1_and_posts_nothing(
    tmp_path: Path,
    old_audit_db: Path,
    gusto_sandbox: GustoSandbox,
    fresh_dynamics: DynamicsSandbox,
    credential_store: Path,
    mapping_file: Path,
) -> None:
    """The same payrolls, read again after the upgrade, are the ones 0.1.0 posted: not
    "changed after posting" (content hashes compare across releases), not posted twice."""
    restored = restore_what_0_1_wrote(fresh_dynamics)
    assert restored["LedgerJournalHeaders"] == len(POSTED)
    before = fresh_dynamics.entities
    tap_config = write_config(
        tmp_path,
        {
            "api_url": gusto_sandbox.url,
            "credentials_store": str(credential_store),
            "company_ids": [RIDGELINE],
            "start_date": (gusto_sandbox.today - dt.timedelta(days=20)).isoformat(),
            "max_requests_per_minute": 6000,
        },
        "tap-config.json",
    )
    tap = subprocess.run(
        [tool("tap-gusto"), "--config", str(tap_config)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert tap.returncode == 0, tap.stderr[-2000:]
    config = write_config(
        tmp_path,
        target_config(tmp_path, credential_store, mapping_file, audit_db=str(old_audit_db)),
    )
    run = run_target(config, tap.stdout)
    assert run.returncode == 0, run.stderr[-3000:]
    stats = fresh_dynamics.stats
    token_requests = sum(stats["requests"].get("token", {}).get("POST", {}).values())
    assert write_requests(stats) == token_requests, "the rerun wrote to Dynamics"
    assert fresh_dynamics.entities == before

    store = AuditStore(old_audit_db)
    try:
        latest = {row["payroll_uuid"]: row for row in store.latest_outcomes()}
        history = store.outcomes_for(next(iter(POSTED)))
    finally:
        store.close()
    assert {uuid: latest[uuid]["outcome"] for uuid in POSTED} == dict.fromkeys(
        POSTED, "already_posted"
    )
    assert {uuid: latest[uuid]["journal_batch_number"] for uuid in POSTED} == POSTED
    # 0.1.0's rows are kept; this release's follow them.
    assert [row["outcome"] for row in history] == ["posted", "already_posted"]
    with sqlite3.connect(old_audit_db) as db:
        payments = dict(
            db.execute(
                "SELECT payment_uuid, outcome FROM payment_outcomes WHERE id IN "
                "(SELECT MAX(id) FROM payment_outcomes GROUP BY payment_uuid)"
            ).fetchall()
        )
    assert payments == dict.fromkeys(PAYMENTS, "already_posted")


def test_the_credential_store_of_0_1_opens_with_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "vault.enc"
    shutil.copy(RELEASE / "vault.enc", store)
    key = (RELEASE / "vault.key").read_text().strip()
    data = Vault.open(store, key=key).read()
    assert RIDGELINE in data["gusto"]["companies"]
    company = data["gusto"]["companies"][RIDGELINE]
    assert company["refresh_token"] and company["access_token"]
    assert data["dynamics"]["environments"]

    monkeypatch.setenv("GUSTO_DYNAMICS_VAULT_KEY", key)
    status = subprocess.run(
        [tool("gusto-dynamics"), "--vault", str(store), "status", "--json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert RIDGELINE in json.dumps(report)
