"""A split payroll's employee compensations, one row each, kept as they arrive (schema step 4).

With ``payroll_record_shape: split`` the tap sends every compensation of a payroll read as its
own record (stream ``payroll_compensations``, a ``fetch_id`` per read) before the ``payrolls``
record that names the read. Rows go to SQLite in batches as they arrive and are read back in
pages, so the target's memory depends on the page size, not on head count
(docs/CONTRACTS.md section 7).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from target_dynamics_fo.audit.base import Repository
from target_dynamics_fo.audit.codec import now as _now
from target_dynamics_fo.audit.codec import record_json

# Rows written per transaction, and read per page: a few hundred rows of a few KB each.
BATCH_ROWS = 500


@dataclass(frozen=True)
class CompensationRow:
    """One arriving compensation, with what the content hash needs of it."""

    fetch_id: str
    position: int
    payroll_uuid: str
    company_uuid: str | None
    employee_uuid: str | None
    canonical: str
    hash_keys: str


class CompensationRepository(Repository):
    """Table ``payroll_compensations`` (and the ``records`` row of each compensation)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        super().__init__(db, lock)
        self._pending_records: list[tuple[Any, ...]] = []
        self._pending_rows: list[tuple[Any, ...]] = []

    def add_compensation(
        self, stream: str, key: str, record: Mapping[str, Any], row: CompensationRow
    ) -> None:
        """Keep a compensation (and its ``records`` entry); written with the next batch."""
        text = record_json(record)
        received_at = _now()
        digest = hashlib.sha256(text.encode()).hexdigest()
        with self._lock:
            self._pending_records.append((received_at, stream, key, row.company_uuid, digest))
            self._pending_rows.append(
                (
                    row.fetch_id,
                    row.position,
                    row.payroll_uuid,
                    row.company_uuid,
                    row.employee_uuid,
                    text,
                    row.canonical,
                    # The column of schema step 4; rows are read in canonical order (step 5).
                    "",
                    row.hash_keys,
                    received_at,
                )
            )
            if len(self._pending_rows) >= BATCH_ROWS:
                self.flush_compensations()

    def flush_compensations(self) -> None:
        """Write the compensations still buffered (before any read of them, and at the end)."""
        with self._lock:
            if not self._pending_rows and not self._pending_records:
                return
            records, rows = self._pending_records, self._pending_rows
            self._pending_records, self._pending_rows = [], []
            with self._tx() as db:
                db.executemany(
                    "INSERT INTO records (received_at, stream, record_key, company_uuid, sha256) "
                    "VALUES (?, ?, ?, ?, ?)",
                    records,
                )
                # A row sent twice for the same place of a read (a resent page) replaces the
                # first; the count check still sees each place once.
                db.executemany(
                    "INSERT OR REPLACE INTO payroll_compensations (fetch_id, position, "
                    "payroll_uuid, company_uuid, employee_uuid, record_json, canonical, sort_key, "
                    "hash_keys, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )

    def compensation_count(self, fetch_id: str) -> int:
        self.flush_compensations()
        row = self._rows(
            "SELECT COUNT(*) AS n FROM payroll_compensations WHERE fetch_id=?", (fetch_id,)
        )[0]
        return int(row["n"])

    def compensation_duplicates(self, fetch_id: str) -> list[tuple[str, int, int]]:
        """(employee, its first position, a later position) for each repeat of an employee."""
        self.flush_compensations()
        # Grouped on the (fetch_id, employee_uuid) index; positions only for the rare repeats.
        rows = self._rows(
            "SELECT employee_uuid FROM payroll_compensations WHERE fetch_id=? AND "
            "employee_uuid IS NOT NULL GROUP BY employee_uuid HAVING COUNT(*) > 1",
            (fetch_id,),
        )
        found: list[tuple[str, int, int]] = []
        for row in rows:
            employee = str(row["employee_uuid"])
            places = [
                int(r["position"])
                for r in self._rows(
                    "SELECT position FROM payroll_compensations WHERE fetch_id=? AND "
                    "employee_uuid=? ORDER BY position",
                    (fetch_id, employee),
                )
            ]
            found.extend((employee, places[0], later) for later in places[1:])
        return sorted(found, key=lambda repeat: repeat[2])

    def compensation_hash_keys(self, fetch_id: str) -> list[str]:
        """The distinct ``hash_keys`` of a read's rows (usually one value for all)."""
        self.flush_compensations()
        rows = self._rows(
            "SELECT DISTINCT hash_keys FROM payroll_compensations WHERE fetch_id=?", (fetch_id,)
        )
        return [str(r["hash_keys"]) for r in rows]

    def recanonicalise_compensations(
        self,
        fetch_id: str,
        hash_keys: str,
        canonical: Callable[[str], str],
    ) -> None:
        """Give the rows with ``hash_keys`` a new canonical text made from their records."""
        after = -1
        while True:
            page = self._rows(
                "SELECT position, record_json FROM payroll_compensations WHERE fetch_id=? AND "
                "hash_keys=? AND position > ? ORDER BY position LIMIT ?",
                (fetch_id, hash_keys, after, BATCH_ROWS),
            )
            if not page:
                return
            updates = [(canonical(str(r["record_json"])), fetch_id, r["position"]) for r in page]
            with self._tx() as db:
                db.executemany(
                    "UPDATE payroll_compensations SET canonical=?, sort_key='' "
                    "WHERE fetch_id=? AND position=?",
                    updates,
                )
            after = int(page[-1]["position"])

    def canonical_compensations(self, fetch_id: str) -> Iterator[str]:
        """The read's canonical texts in sort-key order, a page at a time.

        Compact canonical texts sort as their sort keys do (ledger/canonical_text.py), and
        SQLite's binary text order is Python's code-point order for this ASCII text, so one
        query ordered by the text itself gives that order: SQLite's sorter keeps a bounded
        amount in memory, spilling to a temporary file, whatever the head count.
        """
        self.flush_compensations()
        with self._lock:
            cursor = self._db.execute(
                "SELECT canonical FROM payroll_compensations WHERE fetch_id=? "
                "ORDER BY canonical, position",
                (fetch_id,),
            )
            while page := cursor.fetchmany(BATCH_ROWS):
                for row in page:
                    yield str(row[0])

    def compensations_with_refs(
        self, fetch_id: str, company_uuid: str
    ) -> Iterator[tuple[int, str, str | None]]:
        """(position, record JSON, employee reference JSON) in arrival order, a page at a time.

        The reference is the one pinned when the journal was first built, else the company's
        latest (a replay fills in employees that were missing then, as for a whole payroll).
        """
        self.flush_compensations()
        after = -1
        while True:
            page = self._rows(
                "SELECT c.position AS position, c.record_json AS record_json, "
                "COALESCE(p.ref_json, c.ref_json, r.ref_json) AS ref_json "
                "FROM payroll_compensations c "
                "LEFT JOIN payroll_compensation_refs p ON p.fetch_id = c.fetch_id "
                "AND p.employee_uuid = c.employee_uuid "
                "LEFT JOIN employee_refs r ON r.company_uuid = ? "
                "AND r.employee_uuid = c.employee_uuid "
                "WHERE c.fetch_id=? AND c.position > ? ORDER BY c.position LIMIT ?",
                (company_uuid, fetch_id, after, BATCH_ROWS),
            )
            if not page:
                return
            for row in page:
                ref = None if row["ref_json"] is None else str(row["ref_json"])
                yield int(row["position"]), str(row["record_json"]), ref
            after = int(page[-1]["position"])

    def pin_compensation_refs(self, fetch_id: str, company_uuid: str) -> None:
        """Record the employee references the read's journal is built with now (replacing an
        earlier build's); an employee with none known is left to the latest at replay."""
        self.flush_compensations()
        with self._tx() as db:
            db.execute("DELETE FROM payroll_compensation_refs WHERE fetch_id=?", (fetch_id,))
            db.execute(
                "INSERT OR REPLACE INTO payroll_compensation_refs (fetch_id, employee_uuid, "
                "ref_json) SELECT c.fetch_id, c.employee_uuid, r.ref_json FROM "
                "payroll_compensations c JOIN employee_refs r ON r.company_uuid = ? AND "
                "r.employee_uuid = c.employee_uuid WHERE c.fetch_id=?",
                (company_uuid, fetch_id),
            )
            # Pins of schema step 4 lived on the rows; this build's replace them.
            db.execute(
                "UPDATE payroll_compensations SET ref_json = NULL WHERE fetch_id=? AND "
                "ref_json IS NOT NULL",
                (fetch_id,),
            )

    def drop_older_reads(self, payroll_uuid: str) -> None:
        """Drop the payroll's rows of every read but the one its stored record names (the
        store keeps the latest version of a payroll, as it does for a whole record); rows of
        a read no record names (a stopped tap) go too."""
        self.flush_compensations()
        with self._tx() as db:
            db.execute(
                "DELETE FROM payroll_compensation_refs WHERE fetch_id IN (SELECT DISTINCT "
                "fetch_id FROM payroll_compensations WHERE payroll_uuid=? AND fetch_id != "
                "COALESCE((SELECT json_extract(record_json, '$.fetch_id') FROM payrolls "
                "WHERE payroll_uuid=?), ''))",
                (payroll_uuid, payroll_uuid),
            )
            db.execute(
                "DELETE FROM payroll_compensations WHERE payroll_uuid=? AND fetch_id != "
                "COALESCE((SELECT json_extract(record_json, '$.fetch_id') FROM payrolls "
                "WHERE payroll_uuid=?), '')",
                (payroll_uuid, payroll_uuid),
            )
