"""The audit store: one SQLite file, opened private, in WAL mode, at the latest schema.

The store is what makes a failed payroll replayable without reading Gusto again and what a
finance team reads when a journal is missing. It never holds credentials: the client records
the entity, method, status and error text of each request, never headers or bodies that could
carry a bearer token.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import AbstractContextManager
from pathlib import Path

from gd_vault.locks import file_lock
from gd_vault.private import private_file

from target_dynamics_fo.audit.compensations import CompensationRepository
from target_dynamics_fo.audit.corrections import CorrectionRepository
from target_dynamics_fo.audit.documents import DocumentOutcomeRepository
from target_dynamics_fo.audit.migrations import migrate
from target_dynamics_fo.audit.payables import PayablesRepository
from target_dynamics_fo.audit.payrolls import PayrollRepository
from target_dynamics_fo.audit.people import PeopleRepository
from target_dynamics_fo.audit.requests import RequestRepository

DEFAULT_AUDIT_DB = ".gusto-dynamics/audit.sqlite"


def open_database(path: Path) -> tuple[sqlite3.Connection, int | None]:
    """A connection to the store at ``path``, migrated; and the version it was upgraded from.

    Raises :class:`~target_dynamics_fo.audit.migrations.AuditSchemaTooNewError` (and closes the
    connection) for a file written by a newer release.
    """
    # SQLite gives its -wal and -shm files the database file's mode.
    private_file(path)
    with _opening(path):
        db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        try:
            db.row_factory = sqlite3.Row
            # Takes effect only on a new file (before its first table): a split payroll's rows
            # are about 4 KB each and would spill out of SQLite's default 4 KB pages.
            db.execute("PRAGMA page_size=16384")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            upgraded_from = migrate(db, path)
        except BaseException:
            db.close()
            raise
    return db, upgraded_from


def _opening(path: Path) -> AbstractContextManager[None]:
    """One process at a time sets a store up (its pragmas and migrations).

    Two processes opening a new file at once (two pipelines started together) can deadlock
    while both switch it to WAL: SQLite then answers one of them "database is locked" at once,
    without waiting. The lock file is held for those few statements only; on a store already
    set up they take no write lock.
    """

    def timed_out() -> AuditStoreBusyError:
        return AuditStoreBusyError(
            f"Another process has been opening the audit store {path} for "
            f"{OPEN_LOCK_SECONDS}s (upgrading its schema?). Let it finish, then rerun."
        )

    return file_lock(
        path.with_name(f"{path.name}.lock"), timeout=OPEN_LOCK_SECONDS, timed_out=timed_out
    )


class AuditStoreBusyError(RuntimeError):
    """The audit store stayed busy being set up by another process."""


OPEN_LOCK_SECONDS = 120


class AuditStore(
    PayrollRepository,
    CompensationRepository,
    DocumentOutcomeRepository,
    RequestRepository,
    CorrectionRepository,
    PeopleRepository,
    PayablesRepository,
):
    """One SQLite file (WAL) shared by the target, the replay command and the report commands.

    A facade over the per-domain repositories, all on one connection and lock, so callers keep
    one object and one transaction can span domains (an outcome clears a payroll's mark).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        db, upgraded_from = open_database(self.path)
        # The schema version this open upgraded the file from (0: empty or unversioned), None if
        # it was already current: lets tests and logs tell which opener migrated.
        self.schema_upgraded_from = upgraded_from
        super().__init__(db, threading.RLock())

    def not_stored(self, what: str, noun: str) -> LookupError:
        """``what`` ("payroll <uuid>") never reached this store, so it cannot be replayed."""
        return LookupError(
            f"{what} is not in the audit store {self.path}; run the pipeline for its company "
            f"first (the store keeps every {noun} it received)."
        )

    def close(self) -> None:
        with self._lock:
            self.flush_deferred()
            self.flush_compensations()
            self._db.close()

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
