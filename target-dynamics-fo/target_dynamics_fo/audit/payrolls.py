"""Payrolls: the records received, the latest full payroll (replayable without Gusto), the
employee references it was mapped with, and the journals built from it."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from target_dynamics_fo.audit.base import Repository
from target_dynamics_fo.audit.codec import from_json, opt_str, record_json, to_json
from target_dynamics_fo.audit.codec import now as _now
from target_dynamics_fo.audit.outcomes import ALREADY_POSTED, POSTED


@dataclass(frozen=True)
class StoredPayroll:
    payroll_uuid: str
    company_uuid: str
    check_date: str | None
    processed: bool
    record: dict[str, Any]
    employee_refs: list[dict[str, Any]] | None


class PayrollRepository(Repository):
    """Tables ``records``, ``payrolls``, ``employee_refs``, ``journals``, ``journal_lines``."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        super().__init__(db, lock)
        # The last record record_received serialised, with its JSON: the sinks store a payroll
        # (or payment) right after receiving it, and serialising a 5,000-employee record is
        # most of the audit trail's cost. Used once, only for that same object.
        self._received: tuple[Mapping[str, Any], str] | None = None

    def _record_json(self, record: Mapping[str, Any]) -> str:
        """record_json(record), reusing record_received's text for the same record object."""
        received, self._received = self._received, None
        if received is not None and received[0] is record:
            return received[1]
        return record_json(record)

    # -- incoming records -------------------------------------------------------------------

    def record_received(
        self, stream: str, key: str, record: Mapping[str, Any], company_uuid: str | None
    ) -> str:
        text = record_json(record)
        digest = hashlib.sha256(text.encode()).hexdigest()
        self._received = (record, text)
        self._defer(
            "INSERT INTO records (received_at, stream, record_key, company_uuid, sha256) "
            "VALUES (?, ?, ?, ?, ?)",
            (_now(), stream, key, company_uuid, digest),
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
                    opt_str(record.get("check_date")),
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
        self._defer(
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

    # -- reports ----------------------------------------------------------------------------

    def awaiting_payrolls(self) -> list[sqlite3.Row]:
        """Payrolls stored by some run that never reached a final outcome, oldest first."""
        return self._rows(
            "SELECT payroll_uuid, company_uuid, check_date, received_at FROM payrolls "
            "WHERE awaiting_outcome=1 ORDER BY received_at, payroll_uuid"
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

    def journals_for(self, payroll_uuid: str) -> list[sqlite3.Row]:
        return self._rows(
            "SELECT * FROM journals WHERE payroll_uuid=? ORDER BY id", (payroll_uuid,)
        )

    def journal_lines(self, journal_id: int) -> list[sqlite3.Row]:
        return self._rows(
            "SELECT * FROM journal_lines WHERE journal_id=? ORDER BY line_number",
            (journal_id,),
        )

    def records_by_stream(self) -> dict[str, int]:
        """Distinct records received per stream, over every run in this audit trail."""
        rows = self._rows(
            "SELECT stream, COUNT(DISTINCT record_key) AS n FROM records GROUP BY stream "
            "ORDER BY stream"
        )
        return {str(row["stream"]): int(row["n"]) for row in rows}
