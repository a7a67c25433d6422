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

# Deferred writes kept before one transaction writes them all: a commit per received record
# was a fifth of the CPU of a run over a 5,000-employee employees stream.
DEFERRED_ROWS = 500


class Repository:
    """Base of the per-domain repositories; constructed on an already migrated connection."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock
        self._deferred: list[tuple[str, tuple[Any, ...]]] = []

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            # Deferred rows are written first, so every write keeps its order.
            self.flush_deferred()
            with self._db:
                yield self._db

    def _defer(self, sql: str, params: tuple[Any, ...]) -> None:
        """A write that nothing needs before the next write or read of the store, the next
        STATE message or the close (the receipt of a record, an employee's reference): kept and
        written with others in one transaction. A run killed before then loses it, as it loses
        the STATE that would have covered it, so the rerun receives the record again."""
        with self._lock:
            self._deferred.append((sql, params))
            if len(self._deferred) >= DEFERRED_ROWS:
                self.flush_deferred()

    def flush_deferred(self) -> None:
        """Write the deferred rows (before a STATE message is emitted, and at close)."""
        with self._lock:
            if not self._deferred:
                return
            rows, self._deferred = self._deferred, []
            if self._db.in_transaction:
                # Inside a caller's transaction: they commit with it (never commit it early).
                for sql, params in rows:
                    self._db.execute(sql, params)
                return
            with self._db:
                for sql, params in rows:
                    self._db.execute(sql, params)

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
            self.flush_deferred()
            return self._db.execute(sql, params).fetchall()
