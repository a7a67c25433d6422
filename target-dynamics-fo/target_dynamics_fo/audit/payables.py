"""Payables: contractors, their payments (replayable without Gusto) and the AP invoices built
from them (each payment's outcome is in ``document_outcomes``, kind ap_invoice)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from target_dynamics_fo.audit.base import Repository
from target_dynamics_fo.audit.codec import from_json, opt_str, record_sha256, to_json
from target_dynamics_fo.audit.codec import now as _now


class PayablesRepository(Repository):
    """Tables ``contractors``, ``contractor_payments``, ``invoices``."""

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
                    opt_str(record.get("contractor_uuid")),
                    opt_str(record.get("date")),
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

    def awaiting_payments(self) -> list[sqlite3.Row]:
        """Contractor payments stored by some run that never reached a final outcome."""
        return self._rows(
            "SELECT payment_uuid, company_uuid, contractor_uuid, payment_date, received_at "
            "FROM contractor_payments WHERE awaiting_outcome=1 ORDER BY received_at, payment_uuid"
        )
