"""Requests to Dynamics and the outcome of each payroll: what a finance team reads to prove a
payroll posted exactly once (and what `failures` lists when one did not)."""

from __future__ import annotations

import sqlite3

from target_dynamics_fo.audit.base import Repository
from target_dynamics_fo.audit.codec import now as _now
from target_dynamics_fo.audit.outcomes import FAILURE_OUTCOMES, FINAL_OUTCOMES, POSTED


class RequestRepository(Repository):
    """Tables ``requests`` and ``outcomes`` (payroll outcomes; payments have their own)."""

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

    def record_outcome(
        self,
        payroll_uuid: str,
        outcome: str,
        *,
        company_uuid: str | None = None,
        legal_entity: str | None = None,
        journal_batch_number: str | None = None,
        reason: str | None = None,
        fix: str | None = None,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO outcomes (at, payroll_uuid, company_uuid, legal_entity, "
                "journal_batch_number, outcome, reason, fix) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _now(),
                    payroll_uuid,
                    company_uuid,
                    legal_entity,
                    journal_batch_number,
                    outcome,
                    reason,
                    fix,
                ),
            )
            # Same transaction: a payroll is never both settled and still marked as awaiting.
            if outcome in FINAL_OUTCOMES:
                db.execute(
                    "UPDATE payrolls SET awaiting_outcome=0 WHERE payroll_uuid=?", (payroll_uuid,)
                )

    def latest_outcomes(self) -> list[sqlite3.Row]:
        """The most recent outcome of every payroll the target has seen."""
        return self._rows(
            "SELECT o.* FROM outcomes o JOIN (SELECT payroll_uuid, MAX(id) AS id FROM "
            "outcomes GROUP BY payroll_uuid) last ON o.id = last.id ORDER BY o.id"
        )

    def failures(self) -> list[sqlite3.Row]:
        """Payrolls whose latest outcome still needs a person."""
        return [row for row in self.latest_outcomes() if row["outcome"] in FAILURE_OUTCOMES]

    def outcomes_for(self, payroll_uuid: str) -> list[sqlite3.Row]:
        return self._rows(
            "SELECT * FROM outcomes WHERE payroll_uuid=? ORDER BY id", (payroll_uuid,)
        )

    def requests_for_journal(self, journal_number: str) -> list[sqlite3.Row]:
        return self._rows(
            "SELECT * FROM requests WHERE journal_number=? ORDER BY id", (journal_number,)
        )

    def request_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM requests").fetchone()[0])

    def posted_count(self) -> int:
        with self._lock:
            return int(
                self._db.execute(
                    "SELECT COUNT(*) FROM outcomes WHERE outcome=?", (POSTED,)
                ).fetchone()[0]
            )
