"""The audit trail's schema, as numbered migrations recorded in ``PRAGMA user_version``.

Why ``user_version`` rather than a migration library (Alembic, yoyo): the trail is one SQLite
file owned by this package, the header field is atomic with the DDL (SQLite DDL is
transactional, so a step and its version number commit together or not at all), and it adds no
dependency to a plugin Meltano installs into its own virtualenv. A library would bring its own
bookkeeping table and an engine layer for one file and a handful of steps.

Rules (see docs/CONTRACTS.md, "Audit trail schema versions"):

- A released step is never edited: a database that ran it must look exactly like one created
  fresh. A change is a new step appended to ``MIGRATIONS``, with a unit test.
- Steps run inside the opener's ``BEGIN IMMEDIATE`` transaction: they execute statements one at
  a time (never ``executescript``, which commits) and never commit themselves.
- Steps never lose or change what a run recorded: the trail is what proves a payroll posted
  exactly once. A step may move rows to a new table (step 3), every value kept, the old names
  kept readable as views.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from target_dynamics_fo.audit.split_schema import V4_PAYROLL_COMPENSATIONS, V5_COMPENSATION_PINS

# The schema release 0.1.0 (commit 144d9d4) created: its CREATE statements verbatim, then the
# ``awaiting_outcome`` columns its opener added with ALTER TABLE (so a fresh store's tables read
# column for column like a 0.1.0 store's, which tests compare).
_V1_TABLES: tuple[str, ...] = (
    """
    CREATE TABLE records (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        received_at TEXT NOT NULL,
        stream TEXT NOT NULL,
        record_key TEXT NOT NULL,
        company_uuid TEXT,
        sha256 TEXT NOT NULL
    )
    """,
    """
    CREATE INDEX records_key ON records(stream, record_key)
    """,
    """
    CREATE TABLE payrolls (
        payroll_uuid TEXT PRIMARY KEY,
        company_uuid TEXT NOT NULL,
        check_date TEXT,
        processed INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        record_json TEXT NOT NULL,
        employee_refs_json TEXT,
        received_at TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE employee_refs (
        company_uuid TEXT NOT NULL,
        employee_uuid TEXT NOT NULL,
        ref_json TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (company_uuid, employee_uuid)
    )
    """,
    """
    CREATE TABLE journals (
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
    )
    """,
    """
    CREATE TABLE journal_lines (
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
    )
    """,
    """
    CREATE TABLE requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        method TEXT NOT NULL,
        entity TEXT NOT NULL,
        status INTEGER,
        journal_number TEXT,
        error TEXT
    )
    """,
    """
    CREATE TABLE outcomes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        payroll_uuid TEXT NOT NULL,
        company_uuid TEXT,
        legal_entity TEXT,
        journal_batch_number TEXT,
        outcome TEXT NOT NULL,
        reason TEXT,
        fix TEXT
    )
    """,
    """
    CREATE INDEX outcomes_payroll ON outcomes(payroll_uuid)
    """,
    """
    CREATE TABLE people_decisions (
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
    )
    """,
    """
    CREATE INDEX people_decisions_key ON people_decisions(kind, gusto_uuid)
    """,
    """
    CREATE TABLE contractors (
        company_uuid TEXT NOT NULL,
        contractor_uuid TEXT NOT NULL,
        record_json TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (company_uuid, contractor_uuid)
    )
    """,
    """
    CREATE TABLE contractor_payments (
        payment_uuid TEXT PRIMARY KEY,
        company_uuid TEXT NOT NULL,
        contractor_uuid TEXT,
        payment_date TEXT,
        sha256 TEXT NOT NULL,
        record_json TEXT NOT NULL,
        received_at TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE invoices (
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
    )
    """,
    """
    CREATE TABLE payment_outcomes (
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
    )
    """,
    """
    CREATE INDEX payment_outcomes_payment ON payment_outcomes(payment_uuid)
    """,
)
# The table a CREATE statement of _V1_TABLES creates, or indexes.
_CREATES = re.compile(r"CREATE (?:TABLE|INDEX \w+ ON) (\w+)")
_AWAITING_COLUMN = "ALTER TABLE {table} ADD COLUMN awaiting_outcome INTEGER NOT NULL DEFAULT 0"
# (table, key, outcome table) of the documents a run marks as awaiting a final outcome.
_AWAITING_TABLES = (
    ("payrolls", "payroll_uuid", "outcomes"),
    ("contractor_payments", "payment_uuid", "payment_outcomes"),
)
# The final outcomes as text, frozen here: a step must do tomorrow what it did when released,
# whatever the outcome constants become.
_FINAL_OUTCOMES = (
    "posted",
    "already_posted",
    "refused",
    "changed_after_posting",
    "skipped",
    "corrected",
    "correction_staged",
)

# Corrections staged for approval (issue #16), added after 0.1.0.
_V2_STAGED_CORRECTIONS = """
    CREATE TABLE staged_corrections (
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
    )
    """


# One outcomes table for every document posted (issue #13): the payroll outcomes and the payment
# outcomes of release 0.1.0 move into it, told apart by ``kind``; their old names stay as views,
# column for column, for the SQL data engineers and reports already run against them.
_V3_DOCUMENT_OUTCOMES: tuple[str, ...] = (
    """
    CREATE TABLE document_outcomes (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
        kind TEXT NOT NULL, document_uuid TEXT NOT NULL,
        company_uuid TEXT, contractor_uuid TEXT, legal_entity TEXT,
        journal_batch_number TEXT, vendor_account TEXT,
        outcome TEXT NOT NULL, reason TEXT, fix TEXT
    )
    """,
    """
    CREATE INDEX document_outcomes_document ON document_outcomes(document_uuid, kind)
    """,
    # Payroll rows keep their ids; payment rows follow in their own order, so every document's
    # history reads in the order it was written and "latest" (MAX(id)) means what it meant.
    """
    INSERT INTO document_outcomes (id, at, kind, document_uuid, company_uuid, legal_entity,
        journal_batch_number, outcome, reason, fix)
    SELECT id, at, 'journal', payroll_uuid, company_uuid, legal_entity, journal_batch_number,
        outcome, reason, fix FROM outcomes ORDER BY id
    """,
    """
    INSERT INTO document_outcomes (at, kind, document_uuid, company_uuid, contractor_uuid,
        legal_entity, journal_batch_number, vendor_account, outcome, reason, fix)
    SELECT at, 'ap_invoice', payment_uuid, company_uuid, contractor_uuid, legal_entity,
        journal_batch_number, vendor_account, outcome, reason, fix
    FROM payment_outcomes ORDER BY id
    """,
    """
    DROP TABLE outcomes
    """,
    """
    DROP TABLE payment_outcomes
    """,
    """
    CREATE VIEW outcomes AS
    SELECT id, at, document_uuid AS payroll_uuid, company_uuid, legal_entity,
        journal_batch_number, outcome, reason, fix
    FROM document_outcomes WHERE kind IN ('journal', 'correction')
    """,
    """
    CREATE VIEW payment_outcomes AS
    SELECT id, at, document_uuid AS payment_uuid, company_uuid, contractor_uuid, legal_entity,
        journal_batch_number, vendor_account, outcome, reason, fix
    FROM document_outcomes WHERE kind = 'ap_invoice'
    """,
)


class AuditSchemaTooNewError(RuntimeError):
    """The file was written by a newer release: this code cannot know what its rows mean."""

    def __init__(self, path: Path, found: int, known: int) -> None:
        super().__init__(
            f"audit trail {path} is at schema version {found}, but this target-dynamics-fo "
            f"knows versions up to {known}: it was written by a newer gusto-dynamics release. "
            "Upgrade the connector (target-dynamics-fo and the gusto-dynamics packages) to that "
            "release or later, e.g. `meltano install --clean` with the newer version pinned. "
            "Do not delete or rebuild the file: it is the record of what was posted."
        )
        self.path = path
        self.found = found
        self.known = known


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[sqlite3.Connection], None]


def _execute_all(db: sqlite3.Connection, statements: Sequence[str]) -> None:
    for statement in statements:
        db.execute(statement)


def _v1_release_0_1_0(db: sqlite3.Connection) -> None:
    _execute_all(db, _V1_TABLES)
    for table, _key, _outcomes in _AWAITING_TABLES:
        db.execute(_AWAITING_COLUMN.format(table=table))


def _v2_staged_corrections(db: sqlite3.Connection) -> None:
    db.execute(_V2_STAGED_CORRECTIONS)


def _v3_document_outcomes(db: sqlite3.Connection) -> None:
    _execute_all(db, _V3_DOCUMENT_OUTCOMES)


def _v4_payroll_compensations(db: sqlite3.Connection) -> None:
    _execute_all(db, V4_PAYROLL_COMPENSATIONS)


def _v5_compensation_pins(db: sqlite3.Connection) -> None:
    _execute_all(db, V5_COMPENSATION_PINS)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "release 0.1.0: records, payrolls, journals, outcomes, people, payables",
        _v1_release_0_1_0,
    ),
    Migration(
        2, "staged_corrections: corrections kept for approval (issue #16)", _v2_staged_corrections
    ),
    Migration(
        3,
        "document_outcomes: one outcomes table with a kind column; outcomes and "
        "payment_outcomes become views over it (issue #13)",
        _v3_document_outcomes,
    ),
    Migration(
        4,
        "payroll_compensations: a split payroll's employee compensations, one row each, kept as "
        "they arrive (issue #15)",
        _v4_payroll_compensations,
    ),
    Migration(
        5,
        "payroll_compensation_refs: the employee references a split payroll's journal was built "
        "with, in their own table; the sort-key index dropped (rows are read in canonical-text "
        "order) (issue #15)",
        _v5_compensation_pins,
    ),
)
LATEST_VERSION = MIGRATIONS[-1].version


def user_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _tables(db: sqlite3.Connection) -> set[str]:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    return {str(row[0]) for row in rows}


def adopt_unversioned(db: sqlite3.Connection) -> int:
    """The version an existing store written before versions (user_version 0) is at.

    Stores from before versions were created with ``CREATE TABLE IF NOT EXISTS`` and patched
    in place at every open; this repeats that once, so a store from any earlier build reaches
    exactly the 0.1.0 schema: tables it lacks are created, and the ``awaiting_outcome`` mark is
    added (its documents without a final outcome marked, so the next run settles them). Then
    the tables later steps create tell how far it already is. 0 for an empty file.
    """
    tables = _tables(db)
    if not tables:
        return 0
    # Step 3 turned two of those tables into views: a store past it keeps them as they are.
    replaced = {"outcomes", "payment_outcomes"} if "document_outcomes" in tables else set()
    for statement in _V1_TABLES:
        created = _CREATES.search(statement)
        if created is not None and created.group(1) in replaced:
            continue
        db.execute(
            statement.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1).replace(
                "CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1
            )
        )
    final = ", ".join("?" * len(_FINAL_OUTCOMES))
    for table, key, outcome_table in _AWAITING_TABLES:
        columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if "awaiting_outcome" in columns:
            continue
        db.execute(_AWAITING_COLUMN.format(table=table))
        db.execute(
            f"UPDATE {table} SET awaiting_outcome = 1 WHERE NOT EXISTS "  # noqa: S608 - our names
            f"(SELECT 1 FROM {outcome_table} o WHERE o.{key} = {table}.{key} "
            f"AND o.outcome IN ({final}))",
            _FINAL_OUTCOMES,
        )
    if "payroll_compensation_refs" in tables:
        return 5
    if "document_outcomes" in tables:
        return 4 if "payroll_compensations" in tables else 3
    return 2 if "staged_corrections" in tables else 1


def _refuse_newer(path: Path, found: int) -> None:
    if found > LATEST_VERSION:
        raise AuditSchemaTooNewError(path, found, LATEST_VERSION)


def migrate(db: sqlite3.Connection, path: Path) -> int | None:
    """Bring the store to ``LATEST_VERSION``; the version it was at if this call upgraded it.

    None when there was nothing to do (the usual open: one PRAGMA read, no write lock). The
    upgrade takes SQLite's write lock first (``BEGIN IMMEDIATE``) and reads the version again
    under it: of two openers racing (two targets, the audit CLI), the second waits, then finds
    the work done. Every step and the new version commit together; a failure leaves the file as
    it was.
    """
    found = user_version(db)
    _refuse_newer(path, found)
    if found == LATEST_VERSION:
        return None
    previous = db.isolation_level
    # Our own BEGIN/COMMIT: the module's implicit transactions would start too late (DML only).
    db.isolation_level = None
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            found = user_version(db)
            _refuse_newer(path, found)
            upgraded: int | None = None
            if found < LATEST_VERSION:
                upgraded = found
                current = adopt_unversioned(db) if found == 0 else found
                for step in MIGRATIONS:
                    if step.version > current:
                        step.apply(db)
                        current = step.version
                # An integer we produce, not input: PRAGMA takes no bound parameters.
                db.execute(f"PRAGMA user_version = {int(current)}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    finally:
        db.isolation_level = previous
    return upgraded
