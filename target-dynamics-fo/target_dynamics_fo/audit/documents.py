"""The outcome of every document the target posts, in one table (``document_outcomes``).

A row says what became of one payroll's journal (or its correction) or one contractor payment's
AP invoice: posted, already posted, refused with a fix, and so on. ``kind`` tells them apart;
the views ``outcomes`` (payroll rows) and ``payment_outcomes`` (payment rows) keep the names
and columns of release 0.1.0 for SQL readers, and the methods below keep their shapes.
"""

from __future__ import annotations

import sqlite3

from target_dynamics_fo.audit.base import Repository
from target_dynamics_fo.audit.codec import now as _now
from target_dynamics_fo.audit.outcomes import (
    FAILURE_OUTCOMES,
    FINAL_OUTCOMES,
    KIND_AP_INVOICE,
    KIND_JOURNAL,
    PAYROLL_KINDS,
    POSTED,
)

# The stored source record a final outcome settles: (table, key column) per kind.
_SOURCE: dict[str, tuple[str, str]] = {
    **dict.fromkeys(PAYROLL_KINDS, ("payrolls", "payroll_uuid")),
    KIND_AP_INVOICE: ("contractor_payments", "payment_uuid"),
}


# What an outcome row holds besides its time, kind, document and outcome (all text or NULL).
OUTCOME_COLUMNS = (
    "company_uuid",
    "contractor_uuid",
    "legal_entity",
    "journal_batch_number",
    "vendor_account",
    "reason",
    "fix",
)


def write_outcome(
    db: sqlite3.Connection,
    kind: str,
    document_uuid: str,
    outcome: str,
    *,
    at: str | None = None,
    **columns: str | None,
) -> None:
    """One outcome row, inside the caller's transaction; a final outcome clears the source
    record's awaiting mark in it too, so a document is never both settled and still awaiting.

    ``columns`` are named as in :data:`OUTCOME_COLUMNS`; those not given are NULL.
    """
    unknown = sorted(set(columns) - set(OUTCOME_COLUMNS))
    if unknown:
        raise TypeError(f"document_outcomes has no column(s) {', '.join(unknown)}")
    db.execute(
        f"INSERT INTO document_outcomes (at, kind, document_uuid, outcome, "  # noqa: S608 - ours
        f"{', '.join(OUTCOME_COLUMNS)}) VALUES ({', '.join('?' * (4 + len(OUTCOME_COLUMNS)))})",
        (at or _now(), kind, document_uuid, outcome, *(columns.get(c) for c in OUTCOME_COLUMNS)),
    )
    if outcome in FINAL_OUTCOMES:
        table, key = _SOURCE[kind]
        db.execute(
            f"UPDATE {table} SET awaiting_outcome=0 WHERE {key}=?",  # noqa: S608 - our names
            (document_uuid,),
        )


class DocumentOutcomeRepository(Repository):
    """Table ``document_outcomes`` (views ``outcomes`` and ``payment_outcomes``)."""

    def record_document_outcome(
        self, kind: str, document_uuid: str, outcome: str, **columns: str | None
    ) -> None:
        """One outcome of a document of ``kind``; ``columns`` as :func:`write_outcome` names."""
        with self._tx() as db:
            write_outcome(db, kind, document_uuid, outcome, **columns)

    def record_outcome(
        self, payroll_uuid: str, outcome: str, *, kind: str = KIND_JOURNAL, **columns: str | None
    ) -> None:
        """A payroll's outcome (its journal's, or a correction's with ``kind`` correction):
        ``company_uuid``, ``legal_entity``, ``journal_batch_number``, ``reason``, ``fix``."""
        self.record_document_outcome(kind, payroll_uuid, outcome, **columns)

    def record_payment_outcome(self, payment_uuid: str, outcome: str, *columns: str | None) -> None:
        """A contractor payment's outcome (its AP invoice journal's), the columns in the order
        of release 0.1.0's ``payment_outcomes``: company, contractor, legal entity, journal,
        vendor account, then optionally reason and fix."""
        if not 5 <= len(columns) <= len(OUTCOME_COLUMNS):
            raise TypeError(f"a payment outcome has 5 to 7 columns, not {len(columns)}")
        named = dict(zip(OUTCOME_COLUMNS, columns, strict=False))
        self.record_document_outcome(KIND_AP_INVOICE, payment_uuid, outcome, **named)

    def latest_document_outcomes(self) -> list[sqlite3.Row]:
        """The most recent outcome of every document of every kind, oldest first."""
        return self._rows(
            "SELECT o.* FROM document_outcomes o JOIN (SELECT kind, document_uuid, MAX(id) AS id "
            "FROM document_outcomes GROUP BY kind, document_uuid) last ON o.id = last.id "
            "ORDER BY o.id"
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

    def posted_count(self) -> int:
        with self._lock:
            return int(
                self._db.execute(
                    "SELECT COUNT(*) FROM outcomes WHERE outcome=?", (POSTED,)
                ).fetchone()[0]
            )

    def latest_payment_outcomes(self) -> list[sqlite3.Row]:
        """The most recent outcome of every contractor payment, with its invoice if built."""
        return self._rows(
            "SELECT o.*, i.invoice_number, i.invoice_date, i.amount FROM payment_outcomes o "
            "JOIN (SELECT payment_uuid, MAX(id) AS id FROM payment_outcomes GROUP BY "
            "payment_uuid) last ON o.id = last.id LEFT JOIN invoices i ON i.id = (SELECT "
            "MAX(id) FROM invoices WHERE payment_uuid = o.payment_uuid) "
            "ORDER BY i.invoice_date, o.payment_uuid"
        )

    def payment_outcomes_for(self, payment_uuid: str) -> list[sqlite3.Row]:
        return self._rows(
            "SELECT * FROM payment_outcomes WHERE payment_uuid=? ORDER BY id", (payment_uuid,)
        )
