"""Opening the audit store, and the receipts and employee references it writes in batches."""

from __future__ import annotations

import multiprocessing
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import target_dynamics_fo.audit.base as base
from target_dynamics_fo.audit import AuditStore


def _rows_on_disk(path: Path, table: str) -> int:
    with closing(sqlite3.connect(path)) as other:
        return int(other.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_a_reference_saved_is_read_back_at_once(tmp_path: Path) -> None:
    with AuditStore(tmp_path / "a.sqlite") as store:
        store.save_employee_ref("c", "e1", {"uuid": "e1", "department_title": "Bakery"})
        assert store.employee_refs("c") == {"e1": {"uuid": "e1", "department_title": "Bakery"}}


def test_receipts_wait_for_a_batch_a_flush_or_the_close(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    store = AuditStore(path)
    store.record_received("employees", "e1", {"uuid": "e1"}, "c")
    assert _rows_on_disk(path, "records") == 0  # another reader does not see it yet
    store.flush_deferred()  # what the target does before it writes a STATE
    assert _rows_on_disk(path, "records") == 1
    store.record_received("employees", "e2", {"uuid": "e2"}, "c")
    store.close()
    assert _rows_on_disk(path, "records") == 2


def test_a_full_batch_is_written_without_waiting(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    with AuditStore(path) as store:
        for n in range(base.DEFERRED_ROWS):
            store.save_employee_ref("c", f"e{n}", {"uuid": f"e{n}"})
        assert _rows_on_disk(path, "employee_refs") == base.DEFERRED_ROWS


def test_every_other_write_comes_after_the_receipts_before_it(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    with AuditStore(path) as store:
        store.record_received("payrolls", "p1", {"payroll_uuid": "p1"}, "c")
        store.store_payroll({"payroll_uuid": "p1", "company_uuid": "c", "processed": True})
        assert _rows_on_disk(path, "records") == 1
        assert _rows_on_disk(path, "payrolls") == 1


def test_a_read_inside_a_transaction_does_not_commit_it(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    with AuditStore(path) as store:
        with store._tx() as db:
            db.execute(
                "INSERT INTO employee_refs (company_uuid, employee_uuid, ref_json, updated_at) "
                "VALUES ('c', 'x', '{}', '')"
            )
            store.save_employee_ref("c", "e1", {"uuid": "e1"})
            assert set(store.employee_refs("c")) == {"x", "e1"}
            assert _rows_on_disk(path, "employee_refs") == 0  # still the caller's transaction
        assert _rows_on_disk(path, "employee_refs") == 2


def _open_and_close(path: Path, barrier: Any, results: Any) -> None:
    barrier.wait()
    try:
        AuditStore(path).close()
        results.put("ok")
    except Exception as exc:  # whatever it is, the parent reports it
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_new_store_at_once_all_open_it(tmp_path: Path) -> None:
    # Two pipelines started together open a store that does not exist yet. Without the setup
    # lock, about one round in four had a process told "database is locked" at once.
    context = multiprocessing.get_context("fork")
    for round_ in range(20):
        path = tmp_path / f"r{round_}" / "audit.sqlite"
        barrier, results = context.Barrier(4), context.Queue()
        processes = [
            context.Process(target=_open_and_close, args=(path, barrier, results)) for _ in range(4)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=60)
        assert [results.get(timeout=5) for _ in processes] == ["ok"] * 4
