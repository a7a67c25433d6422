"""The split payroll record shape: compensations kept as they arrive, read back to post.

With ``payroll_record_shape: split`` (docs/CONTRACTS.md section 7) a payroll read arrives as
``payroll_compensations`` records, one per employee, then the ``payrolls`` record that names the
read by its ``fetch_id``. :class:`CompensationIntake` puts each compensation in the audit store
as it arrives (its canonical text for the content hash computed then) and, a page at a time,
adds it to the journal's sums with the employee reference known then; :class:`StoredCompensations`
gives the journal builder and the content hash that read's rows, one page at a time, and the
sums kept on arrival when they are provably what reading the rows back would give (the same
employee references as pinned for the build: none changed in between). Rows of a read that no
``payrolls`` record names are never posted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass
from typing import Any

from target_dynamics_fo.audit import AuditStore, CompensationRow, from_json
from target_dynamics_fo.ledger import (
    ArrivedSums,
    EmployeeRef,
    canonical_compensation,
    content_hash_of_rows,
    recanonical_compensation,
    rows_need_recanonical,
)
from target_dynamics_fo.mapping import CompanyMapping
from target_dynamics_fo.payrolls.base import ref_from_dict

COMPENSATIONS_STREAM = "payroll_compensations"
# Compensations added to the sums together, after one lookup of their employees' references.
SUMS_PAGE = 64

# A company's mapping, or None when it has none (its payroll's rows are then read back).
CompanyLookup = Callable[[str], CompanyMapping | None]


def fetch_id_of(record: AbcMapping[str, Any]) -> str | None:
    """The read a ``payrolls`` record names, if it is of the split shape."""
    fetch_id = record.get("fetch_id")
    if fetch_id in (None, "") or "employee_compensations" in record:
        return None
    return str(fetch_id)


@dataclass
class _Running:
    """The sums of one read's compensations so far."""

    sums: ArrivedSums
    company_uuid: str
    payroll_uuid: str
    # employee_refs_version() before the first lookup of references for it; every later lookup
    # must find the same, or the sums are given up (broken) and the rows read back.
    version: tuple[int, int] | None = None
    broken: bool = False


class CompensationIntake:
    """Stores each arriving compensation with its place in its read, and keeps its read's sums.

    ``companies`` gives a company's mapping (None: the sums are not kept; without it they never
    are, and the rows are read back when their payroll is built).
    """

    def __init__(self, audit: AuditStore, companies: CompanyLookup | None = None) -> None:
        self.audit = audit
        self._companies = companies
        # Next position per read: one integer per payroll read, not per employee.
        self._next: dict[str, int] = {}
        # Sums per read (None: not kept for it); the compensations waiting to be added.
        self._running: dict[str, _Running | None] = {}
        self._waiting: list[tuple[_Running, int, AbcMapping[str, Any]]] = []

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
        if self._companies is not None:
            self._keep(fetch_id, position, record)

    def flush(self) -> None:
        self.audit.flush_compensations()

    def _keep(self, fetch_id: str, position: int, record: AbcMapping[str, Any]) -> None:
        company_uuid = str(record.get("company_uuid") or "")
        payroll_uuid = str(record.get("payroll_uuid") or "")
        if fetch_id not in self._running:
            mapping = self._companies(company_uuid) if self._companies and company_uuid else None
            self._running[fetch_id] = (
                None
                if mapping is None
                else _Running(ArrivedSums(mapping, payroll_uuid), company_uuid, payroll_uuid)
            )
        running = self._running[fetch_id]
        if running is None or running.broken:
            return
        if (company_uuid, payroll_uuid) != (running.company_uuid, running.payroll_uuid):
            # Rows of one read naming other payrolls: the builder reads them back and says so.
            running.broken = True
            return
        self._waiting.append((running, position, record))
        if len(self._waiting) >= SUMS_PAGE:
            self._add_waiting()

    def _add_waiting(self) -> None:
        """Add the waiting compensations to their sums, with the references stored now."""
        waiting, self._waiting = self._waiting, []
        if not waiting:
            return
        # Read before the references: a change committed after it shows in the next reading.
        version = self.audit.employee_refs_version()
        wanted: dict[str, set[str]] = {}
        for running, _, record in waiting:
            employee = record.get("employee_uuid")
            if employee:
                wanted.setdefault(running.company_uuid, set()).add(str(employee))
        refs: dict[tuple[str, str], EmployeeRef] = {}
        for company_uuid, employees in wanted.items():
            for employee, text in self.audit.employee_refs_of(
                company_uuid, sorted(employees)
            ).items():
                refs[company_uuid, employee] = ref_from_dict(from_json(text))
        pages: dict[
            int, tuple[_Running, list[tuple[int, AbcMapping[str, Any], EmployeeRef | None]]]
        ] = {}
        for running, position, record in waiting:
            if running.version is None:
                running.version = version
            elif running.version != version:
                running.broken = True
            if running.broken:
                continue
            employee = record.get("employee_uuid")
            ref = refs.get((running.company_uuid, str(employee))) if employee else None
            pages.setdefault(id(running), (running, []))[1].append((position, record, ref))
        for running, rows in pages.values():
            try:
                running.sums.add(rows)
            except Exception:
                # Reading the rows back raises it again where the build handles it.
                running.broken = True

    def take(
        self, fetch_id: str, company_uuid: str, version: tuple[int, int]
    ) -> ArrivedSums | None:
        """The read's sums if they used the references the build pinned: those of the same
        company, none changed since (``version``: ``employee_refs_version()`` read after the
        pin). Kept no longer either way: rows of the read arriving later are not summed."""
        self._add_waiting()
        running = self._running.get(fetch_id)
        self._running[fetch_id] = None
        if (
            running is None
            or running.broken
            or running.company_uuid != company_uuid
            or running.version != version
        ):
            return None
        return running.sums


class StoredCompensations:
    """The compensations of the read a split ``payrolls`` record names (a CompensationSource).

    ``pin`` (a live run) records on each row the employee reference known now; a replay reads
    the pinned ones, the latest known filling in employees that were missing then.
    """

    def __init__(
        self,
        audit: AuditStore,
        header: AbcMapping[str, Any],
        *,
        pin: bool,
        intake: CompensationIntake | None = None,
    ) -> None:
        self.audit = audit
        self.header = header
        self.fetch_id = fetch_id_of(header) or ""
        self.company_uuid = str(header.get("company_uuid") or "")
        self.label = f"its read {self.fetch_id}"
        self._arrived: ArrivedSums | None = None
        if pin:
            audit.pin_compensation_refs(self.fetch_id, self.company_uuid)
            if intake is not None:
                # Read after the pin: unchanged since the sums' first lookup, no reference
                # changed in between, so the sums used exactly the pinned ones.
                self._arrived = intake.take(
                    self.fetch_id, self.company_uuid, audit.employee_refs_version()
                )

    def arrived_sums(self) -> ArrivedSums | None:
        arrived, self._arrived = self._arrived, None
        return arrived

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
