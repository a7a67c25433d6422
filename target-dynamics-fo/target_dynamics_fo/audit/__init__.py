"""SQLite audit trail: every record, journal, request to Dynamics and outcome.

One store (:class:`AuditStore`) over per-domain repositories, at a numbered schema version
(:mod:`.migrations`). Callers import from here; the modules behind it may move.
"""

from __future__ import annotations

from target_dynamics_fo.audit.codec import from_json, record_json, record_sha256, to_json
from target_dynamics_fo.audit.compensations import BATCH_ROWS, CompensationRow
from target_dynamics_fo.audit.migrations import (
    LATEST_VERSION,
    MIGRATIONS,
    AuditSchemaTooNewError,
    Migration,
)
from target_dynamics_fo.audit.outcomes import (
    ALREADY_POSTED,
    AWAITING,
    AWAITING_FIX,
    CHANGED_AFTER_POSTING,
    CORRECTED,
    CORRECTION_APPROVED,
    CORRECTION_STAGED,
    DRY_RUN,
    FAILURE_OUTCOMES,
    FINAL_OUTCOMES,
    KIND_AP_INVOICE,
    KIND_CORRECTION,
    KIND_JOURNAL,
    PAYROLL_KINDS,
    POSTED,
    REFUSED,
    SKIPPED,
    STAGE_APPROVED,
    STAGE_PENDING,
    STAGE_POSTED,
    STAGE_REPLACED,
)
from target_dynamics_fo.audit.payrolls import StoredPayroll
from target_dynamics_fo.audit.store import DEFAULT_AUDIT_DB, AuditStore

__all__ = [
    "ALREADY_POSTED",
    "AWAITING",
    "AWAITING_FIX",
    "BATCH_ROWS",
    "CHANGED_AFTER_POSTING",
    "CORRECTED",
    "CORRECTION_APPROVED",
    "CORRECTION_STAGED",
    "DEFAULT_AUDIT_DB",
    "DRY_RUN",
    "FAILURE_OUTCOMES",
    "FINAL_OUTCOMES",
    "KIND_AP_INVOICE",
    "KIND_CORRECTION",
    "KIND_JOURNAL",
    "LATEST_VERSION",
    "MIGRATIONS",
    "PAYROLL_KINDS",
    "POSTED",
    "REFUSED",
    "SKIPPED",
    "STAGE_APPROVED",
    "STAGE_PENDING",
    "STAGE_POSTED",
    "STAGE_REPLACED",
    "AuditSchemaTooNewError",
    "AuditStore",
    "CompensationRow",
    "Migration",
    "StoredPayroll",
    "from_json",
    "record_json",
    "record_sha256",
    "to_json",
]
