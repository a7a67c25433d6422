"""The split payroll record shape: compensations kept as they arrive, read back to post.

With ``payroll_record_shape: split`` (docs/CONTRACTS.md section 7) a payroll read arrives as
``payroll_compensations`` records, one per employee, then the ``payrolls`` record that names the
read by its ``fetch_id``. :class:`CompensationIntake` puts each compensation in the audit store
as it arrives (its canonical text for the content hash computed then); :class:`StoredCompensations`
gives the journal builder and the content hash that read's rows, one page at a time. Rows of a
read that no ``payrolls`` record names are never posted.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping as AbcMapping
from typing import Any

from target_dynamics_fo.audit import AuditStore, CompensationRow, from_json
from target_dynamics_fo.ledger import (
    EmployeeRef,
    canonical_compensation,
    content_hash_of_rows,
    recanonical_compensation,
    rows_need_recanonical,
)
from target_dynamics_fo.payrolls.base import ref_from_dict

COMPENSATIONS_STREAM = "payroll_compensations"


def fetch_id_of(record: AbcMapping[str, Any]) -> str | None:
    """The read a ``payrolls`` record names, if it is of the split shape."""
    fetch_id = record.get("fetch_id")
    if fetch_id in (None, "") or "employee_compensations" in record:
        return None
    return str(fetch_id)


class CompensationIntake:
    """Stores each arriving compensation with its place in its read."""

    def __init__(self, audit: AuditStore) -> None:
        self.audit = audit
        # Next position per read: one integer per payroll read, not per employee.
        self._next: dict[str, int] = {}

    def receive(self, stream: str, key: str, record: AbcMapping[str, Any]) -> None:
        fetch_id = str(record.get("fetch_id") or "")
        position = self._next.get(fetch_id, 0)
        self._next[fetch_id] = position + 1
        canonical = canonical_compensation(record)
        employee = record.get("employee_uuid")
        company = record.get("company_uuid")
        self.audit.add_compensation(
            stream,
            key,
            record,
            CompensationRow(
                fetch_id=fetch_id,
                position=position,
                payroll_uuid=str(record.get("payroll_uuid") or ""),
                company_uuid=None if company is None else str(company),
                employee_uuid=str(employee) if employee else None,
                canonical=canonical.canonical,
                hash_keys=canonical.hash_keys,
            ),
        )

    def flush(self) -> None:
        self.audit.flush_compensations()


class StoredCompensations:
    """The compensations of the read a split ``payrolls`` record names (a CompensationSource).

    ``pin`` (a live run) records on each row the employee reference known now; a replay reads
    the pinned ones, the latest known filling in employees that were missing then.
    """

    def __init__(self, audit: AuditStore, header: AbcMapping[str, Any], *, pin: bool) -> None:
        self.audit = audit
        self.header = header
        self.fetch_id = fetch_id_of(header) or ""
        self.company_uuid = str(header.get("company_uuid") or "")
        self.label = f"its read {self.fetch_id}"
        if pin:
            audit.pin_compensation_refs(self.fetch_id, self.company_uuid)

    def count(self) -> int:
        return self.audit.compensation_count(self.fetch_id)

    def duplicates(self) -> list[tuple[str, int, int]]:
        return self.audit.compensation_duplicates(self.fetch_id)

    def content_hash(self) -> str:
        for hash_keys in self.audit.compensation_hash_keys(self.fetch_id):
            if rows_need_recanonical(self.header, hash_keys):
                self.audit.recanonicalise_compensations(self.fetch_id, hash_keys, self._again)
        return content_hash_of_rows(self.header, self.audit.canonical_compensations(self.fetch_id))

    def _again(self, record_json: str) -> str:
        return recanonical_compensation(self.header, from_json(record_json)).canonical

    def __iter__(self) -> Iterator[tuple[int, AbcMapping[str, Any], EmployeeRef | None]]:
        for position, text, ref in self.audit.compensations_with_refs(
            self.fetch_id, self.company_uuid
        ):
            yield position, from_json(text), None if ref is None else ref_from_dict(from_json(ref))
