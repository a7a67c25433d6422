"""Requests to Dynamics: the entity, method, status and error of each, never a header or body."""

from __future__ import annotations

import sqlite3

from target_dynamics_fo.audit.base import Repository
from target_dynamics_fo.audit.codec import now as _now


class RequestRepository(Repository):
    """Table ``requests``."""

    def record_request(
        self,
        method: str,
        entity: str,
        status: int | None,
        journal_number: str | None = None,
        error: str | None = None,
    ) -> None:
        self._insert(
            "requests",
            {
                "at": _now(),
                "method": method,
                "entity": entity,
                "status": status,
                "journal_number": journal_number,
                "error": error,
            },
        )

    def requests_for_journal(self, journal_number: str) -> list[sqlite3.Row]:
        return self._rows(
            "SELECT * FROM requests WHERE journal_number=? ORDER BY id", (journal_number,)
        )

    def request_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM requests").fetchone()[0])
