"""Corrections planned for a payroll posted before and changed since, staged for a person to
approve (corrections_approval: manual, issue #16) until they are posted or made moot."""

from __future__ import annotations

import sqlite3
from typing import Any

from target_dynamics_fo.audit.base import Repository
from target_dynamics_fo.audit.codec import now as _now
from target_dynamics_fo.audit.codec import to_json
from target_dynamics_fo.audit.documents import write_outcome
from target_dynamics_fo.audit.outcomes import (
    CORRECTION_APPROVED,
    KIND_CORRECTION,
    STAGE_APPROVED,
    STAGE_PENDING,
    STAGE_POSTED,
    STAGE_REPLACED,
)


class CorrectionRepository(Repository):
    """Table ``staged_corrections``; an approval also marks the payroll and writes its outcome."""

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
            write_outcome(
                db,
                KIND_CORRECTION,
                payroll_uuid,
                CORRECTION_APPROVED,
                company_uuid=row["company_uuid"],
                legal_entity=row["legal_entity"],
                journal_batch_number=row["original"],
                reason=f"correction {row['sequence']} of journal {row['original']} approved "
                f"(plan {str(row['digest'])[:12]}); posted by the next run",
                at=at,
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
