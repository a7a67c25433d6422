"""Each audit schema step on its own: what it creates, that it keeps rows, that it commits with
its version number or not at all."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from target_dynamics_fo.audit import migrations
from target_dynamics_fo.audit.migrations import (
    LATEST_VERSION,
    MIGRATIONS,
    AuditSchemaTooNewError,
    migrate,
    user_version,
)
from target_dynamics_fo.audit.store import AuditStore

RELEASE_0_1_0_TABLES = {
    "records",
    "payrolls",
    "employee_refs",
    "journals",
    "journal_lines",
    "requests",
    "outcomes",
    "people_decisions",
    "contractors",
    "contractor_payments",
    "invoices",
    "payment_outcomes",
}
# Step 3 moves the two outcome tables into one and keeps their names as views.
LATEST_TABLES = (RELEASE_0_1_0_TABLES - {"outcomes", "payment_outcomes"}) | {
    "staged_corrections",
    "document_outcomes",
    "payroll_compensations",
    "payroll_compensation_refs",
}
RELEASE_0_1_0_INDEXES = {
    "records_key",
    "outcomes_payroll",
    "people_decisions_key",
    "payment_outcomes_payment",
}


def schema(db: sqlite3.Connection) -> dict[str, object]:
    """Every table's columns and every index's columns, as SQLite reports them."""
    names = [
        str(row[0])
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    shape: dict[str, object] = {}
    for name in names:
        shape[name] = [tuple(row) for row in db.execute(f"PRAGMA table_info({name})")]
        for index in db.execute(f"PRAGMA index_list({name})").fetchall():
            columns = [row[2] for row in db.execute(f"PRAGMA index_info({index[1]})")]
            shape[f"index {index[1]}"] = (name, bool(index[2]), columns)
    return shape


def tables(db: sqlite3.Connection) -> set[str]:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    return {str(row[0]) for row in rows} - {"sqlite_sequence"}


def indexes(db: sqlite3.Connection) -> set[str]:
    rows = db.execute(
        "SELECT name FROM sqlite_master WHERE type='index' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return {str(row[0]) for row in rows}


def columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [str(row[1]) for row in db.execute(f"PRAGMA table_info({table})")]


def step(version: int) -> migrations.Migration:
    return next(m for m in MIGRATIONS if m.version == version)


def test_the_steps_are_numbered_one_by_one_from_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert LATEST_VERSION == MIGRATIONS[-1].version == 5


def test_step_1_creates_the_schema_of_release_0_1_0() -> None:
    db = sqlite3.connect(":memory:")
    step(1).apply(db)
    assert tables(db) == RELEASE_0_1_0_TABLES
    assert indexes(db) == RELEASE_0_1_0_INDEXES
    # 0.1.0 added the mark with ALTER TABLE at open: last column, 0 by default.
    assert columns(db, "payrolls")[-1] == "awaiting_outcome"
    assert columns(db, "contractor_payments")[-1] == "awaiting_outcome"
    db.execute(
        "INSERT INTO payrolls (payroll_uuid, company_uuid, processed, sha256, record_json, "
        "received_at) VALUES ('p', 'c', 1, 'h', '{}', 'now')"
    )
    assert db.execute("SELECT awaiting_outcome FROM payrolls").fetchone()[0] == 0


def test_step_2_adds_staged_corrections_and_keeps_every_row() -> None:
    db = sqlite3.connect(":memory:")
    step(1).apply(db)
    db.execute(
        "INSERT INTO outcomes (at, payroll_uuid, outcome) VALUES ('2026-01-01', 'p', 'posted')"
    )
    before = schema(db)
    step(2).apply(db)
    after = schema(db)
    assert tables(db) == RELEASE_0_1_0_TABLES | {"staged_corrections"}
    assert {k: v for k, v in after.items() if k in before} == before
    assert columns(db, "staged_corrections")[:2] == ["payroll_uuid", "sequence"]
    assert db.execute("SELECT payroll_uuid, outcome FROM outcomes").fetchall() == [("p", "posted")]


def views(db: sqlite3.Connection) -> set[str]:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type='view'").fetchall()
    return {str(row[0]) for row in rows}


def test_step_3_moves_both_outcome_tables_into_one_and_keeps_their_names_readable() -> None:
    db = sqlite3.connect(":memory:")
    step(1).apply(db)
    step(2).apply(db)
    payrolls = [
        ("2026-01-01T00:00:00+00:00", "p1", "c", "usmf", "GUS-1", "refused", "why", "fix"),
        ("2026-01-02T00:00:00+00:00", "p1", "c", "usmf", "GUS-1", "posted", None, None),
        ("2026-01-02T00:00:01+00:00", "p2", "c", None, None, "skipped", "not processed", None),
    ]
    db.executemany(
        "INSERT INTO outcomes (at, payroll_uuid, company_uuid, legal_entity, "
        "journal_batch_number, outcome, reason, fix) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        payrolls,
    )
    payments = [
        (
            "2026-01-01T00:00:00+00:00",
            "pay1",
            "c",
            "k1",
            "usmf",
            "GUS-A",
            "V1",
            "refused",
            "r",
            "f",
        ),
        (
            "2026-01-03T00:00:00+00:00",
            "pay1",
            "c",
            "k1",
            "usmf",
            "GUS-A",
            "V1",
            "posted",
            None,
            None,
        ),
    ]
    db.executemany(
        "INSERT INTO payment_outcomes (at, payment_uuid, company_uuid, contractor_uuid, "
        "legal_entity, journal_batch_number, vendor_account, outcome, reason, fix) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        payments,
    )
    payroll_columns = columns(db, "outcomes")
    payment_columns = columns(db, "payment_outcomes")
    payroll_rows = db.execute("SELECT * FROM outcomes ORDER BY id").fetchall()
    payment_rows = db.execute("SELECT * FROM payment_outcomes ORDER BY id").fetchall()

    step(3).apply(db)

    assert "document_outcomes" in tables(db)
    assert {"outcomes", "payment_outcomes"} <= views(db)
    assert not {"outcomes", "payment_outcomes"} & tables(db)
    # The views read column for column as the tables did; payroll rows keep their ids.
    assert columns(db, "outcomes") == payroll_columns
    assert columns(db, "payment_outcomes") == payment_columns
    assert db.execute("SELECT * FROM outcomes ORDER BY id").fetchall() == payroll_rows
    moved = db.execute("SELECT * FROM payment_outcomes ORDER BY id").fetchall()
    assert [row[1:] for row in moved] == [row[1:] for row in payment_rows]
    kinds = db.execute(
        "SELECT kind, document_uuid, outcome FROM document_outcomes ORDER BY id"
    ).fetchall()
    assert kinds == [
        ("journal", "p1", "refused"),
        ("journal", "p1", "posted"),
        ("journal", "p2", "skipped"),
        ("ap_invoice", "pay1", "refused"),
        ("ap_invoice", "pay1", "posted"),
    ]


def test_a_version_2_store_with_rows_is_upgraded_to_3_keeping_every_row(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    old = sqlite3.connect(path)
    step(1).apply(old)
    step(2).apply(old)
    old.execute("PRAGMA user_version = 2")
    old.execute(
        "INSERT INTO payrolls (payroll_uuid, company_uuid, processed, sha256, record_json, "
        "received_at, awaiting_outcome) VALUES ('p', 'c', 1, 'h', '{}', 'now', 1)"
    )
    old.execute(
        "INSERT INTO outcomes (at, payroll_uuid, legal_entity, journal_batch_number, outcome) "
        "VALUES ('2026-01-01', 'p', 'usmf', 'GUS-1', 'posted')"
    )
    old.execute(
        "INSERT INTO payment_outcomes (at, payment_uuid, vendor_account, outcome) "
        "VALUES ('2026-01-01', 'pay', 'V1', 'already_posted')"
    )
    old.commit()
    old.close()
    with AuditStore(path) as store:
        assert store.schema_upgraded_from == 2
        assert [row["outcome"] for row in store.outcomes_for("p")] == ["posted"]
        assert store.journal_targets("p") == [("usmf", "GUS-1")]
        [payment] = store.latest_payment_outcomes()
        assert (payment["payment_uuid"], payment["vendor_account"]) == ("pay", "V1")
        # A new outcome goes to the one table and shows through the view of its kind.
        store.record_outcome("p", "already_posted", legal_entity="usmf")
        store.record_payment_outcome("pay", "posted", "c", "k", "usmf", "GUS-A", "V1")
        assert [row["outcome"] for row in store.outcomes_for("p")] == ["posted", "already_posted"]
        assert [row["outcome"] for row in store.payment_outcomes_for("pay")] == [
            "already_posted",
            "posted",
        ]
        assert {row["kind"] for row in store.latest_document_outcomes()} == {
            "journal",
            "ap_invoice",
        }
    db = sqlite3.connect(path)
    assert user_version(db) == LATEST_VERSION == 5
    assert db.execute("SELECT COUNT(*) FROM document_outcomes").fetchone()[0] == 4


def test_step_4_adds_payroll_compensations_and_keeps_every_row() -> None:
    db = sqlite3.connect(":memory:")
    for version in (1, 2, 3):
        step(version).apply(db)
    db.execute(
        "INSERT INTO payrolls (payroll_uuid, company_uuid, processed, sha256, record_json, "
        "received_at, awaiting_outcome) VALUES ('p', 'c', 1, 'h', '{}', 'now', 1)"
    )
    db.execute(
        "INSERT INTO document_outcomes (kind, at, document_uuid, outcome) "
        "VALUES ('journal', '2026-01-01', 'p', 'posted')"
    )
    before = schema(db)
    step(4).apply(db)
    after = schema(db)
    assert {k: v for k, v in after.items() if k in before} == before
    split_tables = {"payroll_compensations", "payroll_compensation_refs"}
    assert tables(db) - {"payroll_compensations"} == LATEST_TABLES - split_tables
    assert columns(db, "payroll_compensations")[:3] == ["fetch_id", "position", "payroll_uuid"]
    assert {"payroll_compensations_sorted", "payroll_compensations_employee"} <= indexes(db)
    assert db.execute("SELECT payroll_uuid, awaiting_outcome FROM payrolls").fetchall() == [
        ("p", 1)
    ]
    assert db.execute("SELECT document_uuid, outcome FROM document_outcomes").fetchall() == [
        ("p", "posted")
    ]
    # One row per place in a read.
    row = "INSERT INTO payroll_compensations (fetch_id, position, payroll_uuid, record_json, "
    row += (
        "canonical, sort_key, hash_keys, received_at) VALUES ('f', 0, 'p', '{}', '', '', '', 'n')"
    )
    db.execute(row)
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(row)


def spaced(canonical: str) -> str:
    """The sort key step 4 stored for a canonical text: its json.dumps with sort_keys."""
    return json.dumps(json.loads(canonical), sort_keys=True)


def test_step_5_keeps_a_read_of_step_4_in_order_and_its_pinned_references(
    tmp_path: Path,
) -> None:
    """Rows written under step 4 (sort key stored, references pinned on the rows) read back in
    the same order and with the same references after step 5; a new build pins in the table."""
    path = tmp_path / "audit.sqlite"
    old = sqlite3.connect(path)
    for version in (1, 2, 3, 4):
        step(version).apply(old)
    old.execute("PRAGMA user_version = 4")
    # Canonical texts whose spaced sort keys order as the texts do; inserted out of order.
    texts = ['{"a":"b, c"}', '{"a":"b"}', '{"a":"b,"}', '{"a":[]}', '{"a":"b:"}']
    for position, text in enumerate(texts):
        old.execute(
            "INSERT INTO payroll_compensations (fetch_id, position, payroll_uuid, company_uuid, "
            "employee_uuid, record_json, canonical, sort_key, hash_keys, ref_json, received_at) "
            "VALUES ('f', ?, 'p', 'c', ?, '{}', ?, ?, '[]', ?, 'n')",
            (
                position,
                f"e{position}",
                text,
                spaced(text),
                '{"uuid": "pinned"}' if position == 0 else None,
            ),
        )
    old.execute(
        "INSERT INTO employee_refs (company_uuid, employee_uuid, ref_json, updated_at) "
        "VALUES ('c', 'e0', '{\"uuid\": \"latest\"}', 'n')"
    )
    old.commit()
    old.close()
    with AuditStore(path) as store:
        assert store.schema_upgraded_from == 4
        by_sort_key = sorted(texts, key=spaced)
        assert list(store.canonical_compensations("f")) == by_sort_key == sorted(texts)
        refs = {p: ref for p, _, ref in store.compensations_with_refs("f", "c")}
        assert refs[0] == '{"uuid": "pinned"}'
        store.pin_compensation_refs("f", "c")
        # A later change of the employee does not change what the built journal used.
        store.save_employee_ref("c", "e0", {"uuid": "changed later"})
        refs = {p: ref for p, _, ref in store.compensations_with_refs("f", "c")}
        assert refs[0] == '{"uuid": "latest"}'
        assert refs[1] is None
    db = sqlite3.connect(path)
    pinned_on_rows = "SELECT COUNT(*) FROM payroll_compensations WHERE ref_json IS NOT NULL"
    assert db.execute(pinned_on_rows).fetchone()[0] == 0
    assert db.execute("SELECT employee_uuid FROM payroll_compensation_refs").fetchall() == [("e0",)]
    assert "payroll_compensations_sorted" not in indexes(db)


def test_a_new_file_gets_every_step_and_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    with AuditStore(path) as store:
        assert store.schema_upgraded_from == 0
    db = sqlite3.connect(path)
    assert user_version(db) == LATEST_VERSION
    stepwise = sqlite3.connect(":memory:")
    for m in MIGRATIONS:
        m.apply(stepwise)
    assert schema(db) == schema(stepwise)


def test_a_store_of_0_1_0_without_a_version_is_taken_as_version_1(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    old = sqlite3.connect(path)
    step(1).apply(old)
    old.execute(
        "INSERT INTO outcomes (at, payroll_uuid, outcome) VALUES ('2026-01-01', 'p', 'posted')"
    )
    old.commit()
    old.close()
    with AuditStore(path) as store:
        assert store.schema_upgraded_from == 0
        assert store.outcomes_for("p")[0]["outcome"] == "posted"
        assert store.open_corrections() == []
    db = sqlite3.connect(path)
    assert user_version(db) == LATEST_VERSION
    assert "staged_corrections" in tables(db)


def test_an_unversioned_store_already_with_corrections_is_taken_as_version_2(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.sqlite"
    old = sqlite3.connect(path)
    for m in MIGRATIONS[:2]:
        m.apply(old)
    old.execute(
        "INSERT INTO staged_corrections VALUES ('p', 1, 'c', 'USMF', 'GUS-1', 's', 'd', 'w', "
        "'[]', '[]', 'pending', 'now', NULL, NULL)"
    )
    old.commit()
    old.close()
    with AuditStore(path) as store:
        assert [row["payroll_uuid"] for row in store.open_corrections()] == ["p"]
    assert user_version(sqlite3.connect(path)) == LATEST_VERSION


def test_a_store_from_before_0_1_0_gets_the_missing_tables_and_the_mark(tmp_path: Path) -> None:
    """Early builds had only some tables and no awaiting mark: adopting one creates the rest
    and marks its payrolls that never had a final outcome, so the next run settles them."""
    path = tmp_path / "audit.sqlite"
    old = sqlite3.connect(path)
    step(1).apply(old)
    for table in ("people_decisions", "contractors", "invoices"):
        old.execute(f"DROP TABLE {table}")
    old.execute("ALTER TABLE payrolls DROP COLUMN awaiting_outcome")
    old.execute("ALTER TABLE contractor_payments DROP COLUMN awaiting_outcome")
    for uuid in ("posted-one", "left-one"):
        old.execute(
            "INSERT INTO payrolls (payroll_uuid, company_uuid, processed, sha256, record_json, "
            "received_at) VALUES (?, 'c', 1, 'h', '{}', 'now')",
            (uuid,),
        )
    old.execute(
        "INSERT INTO outcomes (at, payroll_uuid, outcome) VALUES ('now', 'posted-one', 'posted')"
    )
    old.commit()
    old.close()
    with AuditStore(path) as store:
        assert [row["payroll_uuid"] for row in store.awaiting_payrolls()] == ["left-one"]
    db = sqlite3.connect(path)
    assert tables(db) == LATEST_TABLES
    fresh = sqlite3.connect(":memory:")
    for m in MIGRATIONS:
        m.apply(fresh)
    assert schema(db) == schema(fresh)


def test_a_step_that_fails_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.sqlite"
    db = sqlite3.connect(path)
    step(1).apply(db)
    db.commit()
    before = schema(db)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x INTEGER)")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(
        migrations,
        "MIGRATIONS",
        (*MIGRATIONS, migrations.Migration(LATEST_VERSION + 1, "broken", broken)),
    )
    monkeypatch.setattr(migrations, "LATEST_VERSION", LATEST_VERSION + 1)
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        migrate(db, path)
    assert user_version(db) == 0
    assert schema(db) == before
    assert db.in_transaction is False


def test_a_store_of_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    AuditStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    db.commit()
    before = schema(db)
    with pytest.raises(AuditSchemaTooNewError) as refused:
        AuditStore(path)
    message = str(refused.value)
    assert str(path) in message
    assert f"schema version {LATEST_VERSION + 1}" in message
    assert f"up to {LATEST_VERSION}" in message
    assert "Upgrade the connector" in message
    assert user_version(db) == LATEST_VERSION + 1
    assert schema(db) == before
