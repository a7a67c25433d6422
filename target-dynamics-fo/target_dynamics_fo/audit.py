"""SQLite audit trail: every record, journal, request to Dynamics and outcome.

The store is what makes a failed payroll replayable without reading Gusto again and what a
finance team reads when a journal is missing. It never holds credentials: the client records
the entity, method, status and error text of each request, never headers or bodies that could
carry a bearer token.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import simplejson
from gd_vault.private import private_file

DEFAULT_AUDIT_DB = ".gusto-dynamics/audit.sqlite"

# Outcomes of one payroll. "refused" and "changed_after_posting" need a person; the others do not.
POSTED = "posted"
ALREADY_POSTED = "already_posted"
REFUSED = "refused"
CHANGED_AFTER_POSTING = "changed_after_posting"
SKIPPED = "skipped"
DRY_RUN = "dry_run"
# A payroll posted before and changed or cancelled since: its correction documents are posted.
CORRECTED = "corrected"
# A correction planned and kept in the audit store for a person to approve (corrections_approval:
# manual); nothing was posted. Final for a run: only an approval moves it on.
CORRECTION_STAGED = "correction_staged"
# A person approved a staged correction; the next run (or the approve command with --config)
# posts it. Not final: the payroll is marked as awaiting an outcome until it is posted.
CORRECTION_APPROVED = "correction_approved"
# What `failures` and the run summary call a stored document no run has settled yet (never
# written as an outcome: it is the absence of one).
AWAITING = "no_outcome"
FAILURE_OUTCOMES = (REFUSED, CHANGED_AFTER_POSTING, AWAITING)
# Outcomes after which a stored payroll or payment needs no more work from a run: a dry run's
# check is not one (a later real run still has to post it).
FINAL_OUTCOMES = (
    POSTED,
    ALREADY_POSTED,
    REFUSED,
    CHANGED_AFTER_POSTING,
    SKIPPED,
    CORRECTED,
    CORRECTION_STAGED,
)
# Status of a staged correction.
STAGE_PENDING = "pending"
STAGE_APPROVED = "approved"
STAGE_POSTED = "posted"
STAGE_REPLACED = "replaced"
# The fix for a payroll or payment left without an outcome.
AWAITING_FIX = (
    "run the pipeline again once Dynamics answers: the target settles it first (looks it up "
    "in Dynamics, posts it at most once); or settle it now with "
    "`target-dynamics-fo-audit {command} {uuid} --config <target config>`."
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    stream TEXT NOT NULL,
    record_key TEXT NOT NULL,
    company_uuid TEXT,
    sha256 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_key ON records(stream, record_key);
CREATE TABLE IF NOT EXISTS payrolls (
    payroll_uuid TEXT PRIMARY KEY,
    company_uuid TEXT NOT NULL,
    check_date TEXT,
    processed INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    record_json TEXT NOT NULL,
    employee_refs_json TEXT,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS employee_refs (
    company_uuid TEXT NOT NULL,
    employee_uuid TEXT NOT NULL,
    ref_json TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (company_uuid, employee_uuid)
);
CREATE TABLE IF NOT EXISTS journals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    built_at TEXT NOT NULL,
    payroll_uuid TEXT NOT NULL,
    company_uuid TEXT NOT NULL,
    legal_entity TEXT NOT NULL,
    journal_batch_number TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    trans_date TEXT NOT NULL,
    currency TEXT NOT NULL,
    description TEXT NOT NULL,
    line_count INTEGER NOT NULL,
    total_debit TEXT NOT NULL,
    total_credit TEXT NOT NULL,
    warnings_json TEXT NOT NULL,
    dry_run INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS journal_lines (
    journal_id INTEGER NOT NULL REFERENCES journals(id),
    line_number INTEGER NOT NULL,
    main_account TEXT NOT NULL,
    account_display_value TEXT NOT NULL,
    dimensions_json TEXT NOT NULL,
    debit TEXT NOT NULL,
    credit TEXT NOT NULL,
    text TEXT NOT NULL,
    component TEXT NOT NULL,
    PRIMARY KEY (journal_id, line_number)
);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    method TEXT NOT NULL,
    entity TEXT NOT NULL,
    status INTEGER,
    journal_number TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS outcomes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    payroll_uuid TEXT NOT NULL,
    company_uuid TEXT,
    legal_entity TEXT,
    journal_batch_number TEXT,
    outcome TEXT NOT NULL,
    reason TEXT,
    fix TEXT
);
CREATE INDEX IF NOT EXISTS outcomes_payroll ON outcomes(payroll_uuid);
CREATE TABLE IF NOT EXISTS people_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    company_uuid TEXT NOT NULL,
    kind TEXT NOT NULL,
    gusto_uuid TEXT NOT NULL,
    dynamics_key TEXT NOT NULL,
    legal_entity TEXT,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT,
    fix TEXT
);
CREATE INDEX IF NOT EXISTS people_decisions_key ON people_decisions(kind, gusto_uuid);
CREATE TABLE IF NOT EXISTS contractors (
    company_uuid TEXT NOT NULL,
    contractor_uuid TEXT NOT NULL,
    record_json TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (company_uuid, contractor_uuid)
);
CREATE TABLE IF NOT EXISTS contractor_payments (
    payment_uuid TEXT PRIMARY KEY,
    company_uuid TEXT NOT NULL,
    contractor_uuid TEXT,
    payment_date TEXT,
    sha256 TEXT NOT NULL,
    record_json TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS invoices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    built_at TEXT NOT NULL,
    payment_uuid TEXT NOT NULL,
    company_uuid TEXT NOT NULL,
    contractor_uuid TEXT NOT NULL,
    legal_entity TEXT NOT NULL,
    journal_batch_number TEXT NOT NULL,
    vendor_account TEXT NOT NULL,
    invoice_number TEXT NOT NULL,
    invoice_date TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    amount TEXT NOT NULL,
    lines_json TEXT NOT NULL,
    dry_run INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS payment_outcomes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    payment_uuid TEXT NOT NULL,
    company_uuid TEXT,
    contractor_uuid TEXT,
    legal_entity TEXT,
    journal_batch_number TEXT,
    vendor_account TEXT,
    outcome TEXT NOT NULL,
    reason TEXT,
    fix TEXT
);
CREATE INDEX IF NOT EXISTS payment_outcomes_payment ON payment_outcomes(payment_uuid);
CREATE TABLE IF NOT EXISTS staged_corrections (
    payroll_uuid TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    company_uuid TEXT NOT NULL,
    legal_entity TEXT NOT NULL,
    original TEXT NOT NULL,
    state_hash TEXT NOT NULL,
    digest TEXT NOT NULL,
    what TEXT NOT NULL,
    documents_json TEXT NOT NULL,
    difference_json TEXT NOT NULL,
    status TEXT NOT NULL,
    staged_at TEXT NOT NULL,
    approved_at TEXT,
    posted_at TEXT,
    PRIMARY KEY (payroll_uuid, sequence)
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def to_json(value: Any) -> str:
    """Serialise with Decimals as exact JSON numbers, dates as ISO strings, keys sorted."""
    return str(simplejson.dumps(value, use_decimal=True, sort_keys=True, default=_default))


def from_json(text: str) -> Any:
    """Parse JSON keeping every non-integer number as an exact Decimal."""
    return json.loads(text, parse_float=Decimal)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to the audit store")


def record_sha256(record: Mapping[str, Any]) -> str:
    """Hash of a record's canonical JSON: identical content gives the identical hash."""
    return hashlib.sha256(to_json(record).encode()).hexdigest()


@dataclass(frozen=True)
class StoredPayroll:
    payroll_uuid: str
    company_uuid: str
    check_date: str | None
    processed: bool
    record: dict[str, Any]
    employee_refs: list[dict[str, Any]] | None


class AuditStore:
    """One SQLite file (WAL) shared by the target, the replay command and the report commands."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # SQLite gives its -wal and -shm files the database file's mode.
        private_file(self.path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.commit()
        self._add_awaiting_columns()
        # The last record record_received serialised, with its JSON: the sinks store a payroll
        # (or payment) right after receiving it, and serialising a 5,000-employee record is
        # most of the audit trail's cost. Used once, only for that same object.
        self._received: tuple[Mapping[str, Any], str] | None = None

    def _record_json(self, record: Mapping[str, Any]) -> str:
        """to_json(dict(record)), reusing record_received's text for the same record object."""
        received, self._received = self._received, None
        if received is not None and received[0] is record:
            return received[1]
        return to_json(dict(record))

    def _add_awaiting_columns(self) -> None:
        """``awaiting_outcome``: stored by a run, no final outcome yet (set and cleared with it).

        A store written before the column existed gets it here; its payrolls and payments that
        never had a final outcome are marked, so the next run settles them too.
        """
        checks = (
            ("payrolls", "payroll_uuid", "outcomes"),
            ("contractor_payments", "payment_uuid", "payment_outcomes"),
        )
        with self._tx() as db:
            for table, key, outcome_table in checks:
                columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                if "awaiting_outcome" in columns:
                    continue
                db.execute(
                    f"ALTER TABLE {table} ADD COLUMN awaiting_outcome INTEGER NOT NULL DEFAULT 0"
                )
                final = ", ".join("?" * len(FINAL_OUTCOMES))
                db.execute(
                    f"UPDATE {table} SET awaiting_outcome = 1 WHERE NOT EXISTS "  # noqa: S608
                    f"(SELECT 1 FROM {outcome_table} o WHERE o.{key} = {table}.{key} "
                    f"AND o.outcome IN ({final}))",
                    FINAL_OUTCOMES,
                )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._db:
            yield self._db

    def _insert(self, table: str, row: Mapping[str, Any]) -> None:
        """One row, its columns named by ``row``'s keys (always this module's own names)."""
        sql = (
            f"INSERT INTO {table} ({', '.join(row)}) "  # noqa: S608 - names are ours; values bound
            f"VALUES ({', '.join('?' * len(row))})"
        )
        with self._tx() as db:
            db.execute(sql, tuple(row.values()))

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- incoming records -------------------------------------------------------------------

    def record_received(
        self, stream: str, key: str, record: Mapping[str, Any], company_uuid: str | None
    ) -> str:
        text = to_json(dict(record))
        digest = hashlib.sha256(text.encode()).hexdigest()
        self._received = (record, text)
        self._insert(
            "records",
            {
                "received_at": _now(),
                "stream": stream,
                "record_key": key,
                "company_uuid": company_uuid,
                "sha256": digest,
            },
        )
        return digest

    def store_payroll(
        self,
        record: Mapping[str, Any],
        employee_refs: list[dict[str, Any]] | None = None,
        *,
        awaiting: bool = True,
    ) -> None:
        """Keep the latest full payroll record so it can be replayed without Gusto.

        ``awaiting`` marks it as needing a final outcome (a dry run passes False, and never
        clears a mark a real run left).
        """
        payroll_uuid = str(record.get("payroll_uuid") or record.get("uuid"))
        text = self._record_json(record)
        with self._tx() as db:
            db.execute(
                "INSERT INTO payrolls (payroll_uuid, company_uuid, check_date, processed, sha256, "
                "record_json, employee_refs_json, received_at, awaiting_outcome) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(payroll_uuid) DO UPDATE SET company_uuid=excluded.company_uuid, "
                "check_date=excluded.check_date, processed=excluded.processed, "
                "sha256=excluded.sha256, record_json=excluded.record_json, "
                "employee_refs_json=COALESCE(excluded.employee_refs_json, "
                "payrolls.employee_refs_json), received_at=excluded.received_at, "
                "awaiting_outcome=MAX(payrolls.awaiting_outcome, excluded.awaiting_outcome)",
                (
                    payroll_uuid,
                    str(record.get("company_uuid")),
                    _opt_str(record.get("check_date")),
                    1 if record.get("processed") else 0,
                    hashlib.sha256(text.encode()).hexdigest(),
                    text,
                    None if employee_refs is None else to_json(employee_refs),
                    _now(),
                    1 if awaiting else 0,
                ),
            )

    def set_payroll_employee_refs(self, payroll_uuid: str, refs: list[dict[str, Any]]) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE payrolls SET employee_refs_json=? WHERE payroll_uuid=?",
                (to_json(refs), payroll_uuid),
            )

    def load_payroll(self, payroll_uuid: str) -> StoredPayroll | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM payrolls WHERE payroll_uuid=?", (payroll_uuid,)
            ).fetchone()
        if row is None:
            return None
        refs = row["employee_refs_json"]
        return StoredPayroll(
            payroll_uuid=row["payroll_uuid"],
            company_uuid=row["company_uuid"],
            check_date=row["check_date"],
            processed=bool(row["processed"]),
            record=from_json(row["record_json"]),
            employee_refs=None if refs is None else from_json(refs),
        )

    def save_employee_ref(self, company_uuid: str, employee_uuid: str, ref: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO employee_refs (company_uuid, employee_uuid, ref_json, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(company_uuid, employee_uuid) DO UPDATE SET "
                "ref_json=excluded.ref_json, updated_at=excluded.updated_at",
                (company_uuid, employee_uuid, to_json(ref), _now()),
            )

    def employee_refs(self, company_uuid: str) -> dict[str, dict[str, Any]]:
        rows = self._rows(
            "SELECT employee_uuid, ref_json FROM employee_refs WHERE company_uuid=?",
            (company_uuid,),
        )
        return {row["employee_uuid"]: from_json(row["ref_json"]) for row in rows}

    # -- journals ---------------------------------------------------------------------------

    def record_journal(
        self,
        *,
        payroll_uuid: str,
        company_uuid: str,
        legal_entity: str,
        journal_batch_number: str,
        content_hash: str,
        trans_date: str,
        currency: str,
        description: str,
        total_debit: Decimal,
        total_credit: Decimal,
        warnings: list[str],
        lines: list[dict[str, Any]],
        dry_run: bool,
    ) -> int:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO journals (built_at, payroll_uuid, company_uuid, legal_entity, "
                "journal_batch_number, content_hash, trans_date, currency, description, "
                "line_count, total_debit, total_credit, warnings_json, dry_run) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _now(),
                    payroll_uuid,
                    company_uuid,
                    legal_entity,
                    journal_batch_number,
                    content_hash,
                    trans_date,
                    currency,
                    description,
                    len(lines),
                    str(total_debit),
                    str(total_credit),
                    to_json(warnings),
                    1 if dry_run else 0,
                ),
            )
            journal_id = int(cur.lastrowid or 0)
            db.executemany(
                "INSERT INTO journal_lines (journal_id, line_number, main_account, "
                "account_display_value, dimensions_json, debit, credit, text, component) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        journal_id,
                        line["line_number"],
                        line["main_account"],
                        line["account_display_value"],
                        to_json(line["dimensions"]),
                        str(line["debit"]),
                        str(line["credit"]),
                        line["text"],
                        line["component"],
                    )
                    for line in lines
                ],
            )
        return journal_id

    # -- requests and outcomes --------------------------------------------------------------

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

    # -- staged corrections (corrections_approval: manual) ------------------------------------

    def stage_correction(  # noqa: PLR0917 - one column each
        self,
        payroll_uuid: str,
        sequence: int,
        company_uuid: str,
        legal_entity: str,
        original: str,
        state_hash: str,
        digest: str,
        what: str,
        documents: list[dict[str, Any]],
        difference: list[dict[str, Any]],
    ) -> str:
        """Keep a planned correction for approval; its status afterwards.

        The same plan staged again keeps its status (an approval stands). Another plan for the
        same step (a newer change in Gusto before the approval was used) replaces it and needs
        a new approval: nobody approved those amounts.
        """
        with self._tx() as db:
            row = db.execute(
                "SELECT digest, status FROM staged_corrections WHERE payroll_uuid=? AND sequence=?",
                (payroll_uuid, sequence),
            ).fetchone()
            if (
                row is not None
                and row["digest"] == digest
                and row["status"]
                in (
                    STAGE_PENDING,
                    STAGE_APPROVED,
                )
            ):
                return str(row["status"])
            # An older step never posted (the chain moved on without it) is no longer pending.
            db.execute(
                "UPDATE staged_corrections SET status=? WHERE payroll_uuid=? AND sequence<? "
                "AND status IN (?, ?)",
                (STAGE_REPLACED, payroll_uuid, sequence, STAGE_PENDING, STAGE_APPROVED),
            )
            db.execute(
                "INSERT INTO staged_corrections (payroll_uuid, sequence, company_uuid, "
                "legal_entity, original, state_hash, digest, what, documents_json, "
                "difference_json, status, staged_at, approved_at, posted_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL) "
                "ON CONFLICT(payroll_uuid, sequence) DO UPDATE SET "
                "company_uuid=excluded.company_uuid, legal_entity=excluded.legal_entity, "
                "original=excluded.original, state_hash=excluded.state_hash, "
                "digest=excluded.digest, what=excluded.what, "
                "documents_json=excluded.documents_json, "
                "difference_json=excluded.difference_json, status=excluded.status, "
                "staged_at=excluded.staged_at, approved_at=NULL, posted_at=NULL",
                (
                    payroll_uuid,
                    sequence,
                    company_uuid,
                    legal_entity,
                    original,
                    state_hash,
                    digest,
                    what,
                    to_json(documents),
                    to_json(difference),
                    STAGE_PENDING,
                    _now(),
                ),
            )
        return STAGE_PENDING

    def staged_correction(self, payroll_uuid: str, sequence: int) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(
                "SELECT * FROM staged_corrections WHERE payroll_uuid=? AND sequence=?",
                (payroll_uuid, sequence),
            ).fetchone()
        return row

    def open_corrections(self) -> list[sqlite3.Row]:
        """Staged corrections not yet posted (pending approval, or approved and waiting)."""
        return self._rows(
            "SELECT * FROM staged_corrections WHERE status IN (?, ?) ORDER BY staged_at, "
            "payroll_uuid",
            (STAGE_PENDING, STAGE_APPROVED),
        )

    def corrections_for(self, payroll_uuid: str) -> list[sqlite3.Row]:
        return self._rows(
            "SELECT * FROM staged_corrections WHERE payroll_uuid=? ORDER BY sequence",
            (payroll_uuid,),
        )

    def approve_correction(self, payroll_uuid: str) -> sqlite3.Row | None:
        """Mark a payroll's pending correction approved; the approved row, or None if none.

        The payroll is marked as awaiting an outcome in the same transaction, so the next run
        settles it first (looks it up in Dynamics, posts it at most once) even when Gusto sends
        nothing new for it; the approval is written to the outcomes trail.
        """
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM staged_corrections WHERE payroll_uuid=? AND status IN (?, ?) "
                "ORDER BY sequence DESC LIMIT 1",
                (payroll_uuid, STAGE_PENDING, STAGE_APPROVED),
            ).fetchone()
            if row is None:
                return None
            at = _now()
            db.execute(
                "UPDATE staged_corrections SET status=?, approved_at=COALESCE(approved_at, ?) "
                "WHERE payroll_uuid=? AND sequence=?",
                (STAGE_APPROVED, at, payroll_uuid, row["sequence"]),
            )
            db.execute(
                "UPDATE payrolls SET awaiting_outcome=1 WHERE payroll_uuid=?", (payroll_uuid,)
            )
            db.execute(
                "INSERT INTO outcomes (at, payroll_uuid, company_uuid, legal_entity, "
                "journal_batch_number, outcome, reason, fix) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    at,
                    payroll_uuid,
                    row["company_uuid"],
                    row["legal_entity"],
                    row["original"],
                    CORRECTION_APPROVED,
                    f"correction {row['sequence']} of journal {row['original']} approved "
                    f"(plan {str(row['digest'])[:12]}); posted by the next run",
                    None,
                ),
            )
            approved: sqlite3.Row | None = db.execute(
                "SELECT * FROM staged_corrections WHERE payroll_uuid=? AND sequence=?",
                (payroll_uuid, row["sequence"]),
            ).fetchone()
        return approved

    def correction_posted(self, payroll_uuid: str, state_hash: str) -> None:
        """Dynamics holds the payroll's current content (``state_hash``): a staged correction
        leading there is posted, any other still open one is moot (Gusto undid the change, or
        another run posted it) and is closed as replaced, so nothing stale waits for approval."""
        with self._tx() as db:
            db.execute(
                "UPDATE staged_corrections SET status=?, posted_at=? WHERE payroll_uuid=? AND "
                "state_hash=? AND status IN (?, ?)",
                (STAGE_POSTED, _now(), payroll_uuid, state_hash, STAGE_PENDING, STAGE_APPROVED),
            )
            db.execute(
                "UPDATE staged_corrections SET status=? WHERE payroll_uuid=? AND status IN (?, ?)",
                (STAGE_REPLACED, payroll_uuid, STAGE_PENDING, STAGE_APPROVED),
            )

    def approved_corrections(self) -> set[str]:
        """Payrolls with an approved correction the next run posts."""
        rows = self._rows(
            "SELECT DISTINCT payroll_uuid FROM staged_corrections WHERE status=?",
            (STAGE_APPROVED,),
        )
        return {str(r["payroll_uuid"]) for r in rows}

    # -- reports ----------------------------------------------------------------------------

    def awaiting_payrolls(self) -> list[sqlite3.Row]:
        """Payrolls stored by some run that never reached a final outcome, oldest first."""
        return self._rows(
            "SELECT payroll_uuid, company_uuid, check_date, received_at FROM payrolls "
            "WHERE awaiting_outcome=1 ORDER BY received_at, payroll_uuid"
        )

    def awaiting_payments(self) -> list[sqlite3.Row]:
        """Contractor payments stored by some run that never reached a final outcome."""
        return self._rows(
            "SELECT payment_uuid, company_uuid, contractor_uuid, payment_date, received_at "
            "FROM contractor_payments WHERE awaiting_outcome=1 ORDER BY received_at, payment_uuid"
        )

    def journal_targets(self, payroll_uuid: str) -> list[tuple[str, str]]:
        """(legal entity, journal number) pairs recorded for a payroll by earlier runs, newest
        first."""
        rows = self._rows(
            "SELECT legal_entity, journal_batch_number FROM outcomes WHERE payroll_uuid=? AND "
            "legal_entity IS NOT NULL AND journal_batch_number IS NOT NULL ORDER BY id DESC",
            (payroll_uuid,),
        )
        seen: list[tuple[str, str]] = []
        for row in rows:
            pair = (str(row["legal_entity"]), str(row["journal_batch_number"]))
            if pair not in seen:
                seen.append(pair)
        return seen

    def latest_outcomes(self) -> list[sqlite3.Row]:
        """The most recent outcome of every payroll the target has seen."""
        return self._rows(
            "SELECT o.* FROM outcomes o JOIN (SELECT payroll_uuid, MAX(id) AS id FROM "
            "outcomes GROUP BY payroll_uuid) last ON o.id = last.id ORDER BY o.id"
        )

    def failures(self) -> list[sqlite3.Row]:
        """Payrolls whose latest outcome still needs a person."""
        return [row for row in self.latest_outcomes() if row["outcome"] in FAILURE_OUTCOMES]

    def posted_journals(self) -> list[sqlite3.Row]:
        """One row per journal that is in Dynamics (posted by us or found already there)."""
        return self._rows(
            "SELECT j.journal_batch_number, j.legal_entity, j.trans_date, j.line_count, "
            "j.total_debit, j.total_credit, j.payroll_uuid, j.company_uuid, o.outcome "
            "FROM outcomes o JOIN (SELECT payroll_uuid, MAX(id) AS id FROM outcomes "
            "WHERE outcome IN (?, ?) GROUP BY payroll_uuid) last ON o.id = last.id "
            "JOIN journals j ON j.id = (SELECT MAX(id) FROM journals WHERE "
            "payroll_uuid = o.payroll_uuid AND dry_run = 0 AND journal_batch_number = "
            "o.journal_batch_number) ORDER BY j.trans_date, j.journal_batch_number",
            (POSTED, ALREADY_POSTED),
        )

    def outcomes_for(self, payroll_uuid: str) -> list[sqlite3.Row]:
        return self._rows(
            "SELECT * FROM outcomes WHERE payroll_uuid=? ORDER BY id", (payroll_uuid,)
        )

    def journals_for(self, payroll_uuid: str) -> list[sqlite3.Row]:
        return self._rows(
            "SELECT * FROM journals WHERE payroll_uuid=? ORDER BY id", (payroll_uuid,)
        )

    def journal_lines(self, journal_id: int) -> list[sqlite3.Row]:
        return self._rows(
            "SELECT * FROM journal_lines WHERE journal_id=? ORDER BY line_number",
            (journal_id,),
        )

    def requests_for_journal(self, journal_number: str) -> list[sqlite3.Row]:
        return self._rows(
            "SELECT * FROM requests WHERE journal_number=? ORDER BY id", (journal_number,)
        )

    def records_by_stream(self) -> dict[str, int]:
        """Distinct records received per stream, over every run in this audit trail."""
        rows = self._rows(
            "SELECT stream, COUNT(DISTINCT record_key) AS n FROM records GROUP BY stream "
            "ORDER BY stream"
        )
        return {str(row["stream"]): int(row["n"]) for row in rows}

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

    # -- people and payables (workers, employments, vendors, AP invoices) -------------------

    def record_people_decision(  # noqa: PLR0917 - one column each
        self,
        company_uuid: str,
        kind: str,
        gusto_uuid: str,
        dynamics_key: str,
        legal_entity: str | None,
        action: str,
        outcome: str,
        detail: str | None = None,
        fix: str | None = None,
    ) -> None:
        self._insert(
            "people_decisions",
            {
                "at": _now(),
                "company_uuid": company_uuid,
                "kind": kind,
                "gusto_uuid": gusto_uuid,
                "dynamics_key": dynamics_key,
                "legal_entity": legal_entity,
                "action": action,
                "outcome": outcome,
                "detail": detail,
                "fix": fix,
            },
        )

    def people_decisions(self, kind: str | None = None) -> list[sqlite3.Row]:
        if kind is None:
            return self._rows("SELECT * FROM people_decisions ORDER BY id")
        return self._rows("SELECT * FROM people_decisions WHERE kind=? ORDER BY id", (kind,))

    def latest_people_decisions(self, kind: str) -> list[sqlite3.Row]:
        """The last decision about each Gusto person of one kind (worker, employment, vendor)."""
        return self._rows(
            "SELECT d.* FROM people_decisions d JOIN (SELECT gusto_uuid, dynamics_key, "
            "MAX(id) AS id FROM people_decisions WHERE kind=? AND outcome != 'unchanged' "
            "GROUP BY gusto_uuid, "
            "dynamics_key) last ON d.id = last.id ORDER BY d.company_uuid, d.dynamics_key",
            (kind,),
        )

    def save_contractor(self, company_uuid: str, record: Mapping[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO contractors (company_uuid, contractor_uuid, record_json, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(company_uuid, contractor_uuid) DO UPDATE SET "
                "record_json=excluded.record_json, updated_at=excluded.updated_at",
                (company_uuid, str(record.get("uuid")), to_json(dict(record)), _now()),
            )

    def contractor(self, company_uuid: str, contractor_uuid: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT record_json FROM contractors WHERE company_uuid=? AND contractor_uuid=?",
                (company_uuid, contractor_uuid),
            ).fetchone()
        return None if row is None else dict(from_json(row["record_json"]))

    def store_payment(self, record: Mapping[str, Any], *, awaiting: bool = True) -> None:
        """Keep the latest contractor payment record so it can be replayed without Gusto.

        ``awaiting`` as for :meth:`store_payroll`.
        """
        with self._tx() as db:
            db.execute(
                "INSERT INTO contractor_payments (payment_uuid, company_uuid, contractor_uuid, "
                "payment_date, sha256, record_json, received_at, awaiting_outcome) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(payment_uuid) DO UPDATE SET company_uuid=excluded.company_uuid, "
                "contractor_uuid=excluded.contractor_uuid, payment_date=excluded.payment_date, "
                "sha256=excluded.sha256, record_json=excluded.record_json, "
                "received_at=excluded.received_at, awaiting_outcome=MAX("
                "contractor_payments.awaiting_outcome, excluded.awaiting_outcome)",
                (
                    str(record.get("uuid")),
                    str(record.get("company_uuid")),
                    _opt_str(record.get("contractor_uuid")),
                    _opt_str(record.get("date")),
                    record_sha256(record),
                    to_json(dict(record)),
                    _now(),
                    1 if awaiting else 0,
                ),
            )

    def load_payment(self, payment_uuid: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT record_json FROM contractor_payments WHERE payment_uuid=?", (payment_uuid,)
            ).fetchone()
        return None if row is None else dict(from_json(row["record_json"]))

    def record_invoice(  # noqa: PLR0917 - one column each
        self,
        payment_uuid: str,
        company_uuid: str,
        contractor_uuid: str,
        legal_entity: str,
        journal_batch_number: str,
        vendor_account: str,
        invoice_number: str,
        invoice_date: str,
        content_hash: str,
        amount: Decimal,
        lines: list[dict[str, Any]],
        dry_run: bool,
    ) -> None:
        self._insert(
            "invoices",
            {
                "built_at": _now(),
                "payment_uuid": payment_uuid,
                "company_uuid": company_uuid,
                "contractor_uuid": contractor_uuid,
                "legal_entity": legal_entity,
                "journal_batch_number": journal_batch_number,
                "vendor_account": vendor_account,
                "invoice_number": invoice_number,
                "invoice_date": invoice_date,
                "content_hash": content_hash,
                "amount": str(amount),
                "lines_json": to_json(lines),
                "dry_run": 1 if dry_run else 0,
            },
        )

    def record_payment_outcome(  # noqa: PLR0917 - one column each
        self,
        payment_uuid: str,
        outcome: str,
        company_uuid: str | None,
        contractor_uuid: str | None,
        legal_entity: str | None,
        journal_batch_number: str | None,
        vendor_account: str | None,
        reason: str | None = None,
        fix: str | None = None,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO payment_outcomes (at, payment_uuid, company_uuid, contractor_uuid, "
                "legal_entity, journal_batch_number, vendor_account, outcome, reason, fix) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _now(),
                    payment_uuid,
                    company_uuid,
                    contractor_uuid,
                    legal_entity,
                    journal_batch_number,
                    vendor_account,
                    outcome,
                    reason,
                    fix,
                ),
            )
            if outcome in FINAL_OUTCOMES:
                db.execute(
                    "UPDATE contractor_payments SET awaiting_outcome=0 WHERE payment_uuid=?",
                    (payment_uuid,),
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


def _opt_str(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
