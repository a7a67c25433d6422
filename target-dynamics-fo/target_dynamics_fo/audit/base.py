"""What every repository shares: one connection, one lock, one way to write a transaction.

The repositories are mixed into :class:`~target_dynamics_fo.audit.store.AuditStore`, so they
share one connection and one lock: a payroll's outcome and its awaiting mark (two domains'
tables) are written in one transaction, and the target's worker threads never interleave.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any


class Repository:
    """Base of the per-domain repositories; constructed on an already migrated connection."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._db:
            yield self._db

    def _insert(self, table: str, row: Mapping[str, Any]) -> None:
        """One row, its columns named by ``row``'s keys (always this package's own names)."""
        sql = (
            f"INSERT INTO {table} ({', '.join(row)}) "  # noqa: S608 - names are ours; values bound
            f"VALUES ({', '.join('?' * len(row))})"
        )
        with self._tx() as db:
            db.execute(sql, tuple(row.values()))

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()
