"""The audit schema steps of the split payroll record shape (docs/CONTRACTS.md section 7)."""

from __future__ import annotations

# Step 4 (#15): a ``split`` payroll's compensations, one row each as they arrive (raw record,
# canonical text and sort key for the content hash; ``position`` = index in the read;
# ``hash_keys`` = keys whose money-ness shaped the canonical text; ``ref_json`` = the employee
# reference its journal used). Nothing in memory grows with head count (CONTRACTS.md section 7).
V4_PAYROLL_COMPENSATIONS: tuple[str, ...] = (
    """
    CREATE TABLE payroll_compensations (
        fetch_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        payroll_uuid TEXT NOT NULL,
        company_uuid TEXT,
        employee_uuid TEXT,
        record_json TEXT NOT NULL,
        canonical TEXT NOT NULL,
        sort_key TEXT NOT NULL,
        hash_keys TEXT NOT NULL,
        ref_json TEXT,
        received_at TEXT NOT NULL,
        PRIMARY KEY (fetch_id, position)
    )
    """,
    """
    CREATE INDEX payroll_compensations_sorted
    ON payroll_compensations(fetch_id, sort_key, position)
    """,
    """
    CREATE INDEX payroll_compensations_employee
    ON payroll_compensations(fetch_id, employee_uuid)
    """,
    """
    CREATE INDEX payroll_compensations_payroll ON payroll_compensations(payroll_uuid)
    """,
)


# Step 5 (#15): the references a journal was built with, pinned in their own small table (a
# pin used to rewrite every row of the read, each a few KB); rows are read back in the order of
# their canonical text, which is the order of the sort key (ledger/canonical_text.py), so the
# index on the sort key (the largest column after the record) is dropped and new rows leave the
# column empty. Rows pinned under step 4 keep their ``ref_json`` until their read is built again.
V5_COMPENSATION_PINS: tuple[str, ...] = (
    "DROP INDEX IF EXISTS payroll_compensations_sorted",
    """
    CREATE TABLE payroll_compensation_refs (
        fetch_id TEXT NOT NULL,
        employee_uuid TEXT NOT NULL,
        ref_json TEXT NOT NULL,
        PRIMARY KEY (fetch_id, employee_uuid)
    ) WITHOUT ROWID
    """,
)
