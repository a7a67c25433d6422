"""What the worker and the vendor syncs of a run share.

Master records arrive with the run's other streams but are written after its payrolls (a
payroll never waits for a rename), so each sync queues them and :meth:`MasterDataSync.
sync_pending` brings them in at the end, every record one document for a stop signal
(target_dynamics_fo.interrupt). The queue is in the audit store's scratch tables, read back a
page at a time, so a company of 50,000 employees costs no more memory than one of 500.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from collections.abc import Mapping as AbcMapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any, ClassVar, Generic, TypeVar

from target_dynamics_fo.audit import AuditStore, from_json, record_json
from target_dynamics_fo.fo import LEGAL_ENTITIES, ODataClient, ODataError, ReferenceData
from target_dynamics_fo.mapping import CompanyMapping, Mapping, MappingError
from target_dynamics_fo.masterdata.engine import MasterRecord, Patience, Reconciled, reconcile
from target_dynamics_fo.masterdata.summary import SyncSummary

Current = TypeVar("Current")
Plan = TypeVar("Plan")
Outcome = TypeVar("Outcome")  # what syncing one record returns (a plan, or None)

# Records queued in memory before they go to the store, and read back from it, at a time.
PAGE = 500


class MasterDataSync(ABC, Generic[Outcome]):
    """Run state, the queue of records, and the reconcile engine bound to this run's client."""

    label: ClassVar[str]  # names the run summary ("workers and employments")
    logger: ClassVar[logging.Logger]

    def __init__(
        self,
        mapping: Mapping,
        audit: AuditStore,
        client: ODataClient,
        reference: Callable[[], ReferenceData],
        *,
        dry_run: bool = False,
        document: Callable[[], AbstractContextManager[object]] = nullcontext,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.summary = SyncSummary(self.label)
        self.mapping, self.audit, self.client = mapping, audit, client
        self._reference = reference
        self.dry_run = dry_run
        self.document = document
        self.sleep = sleep or client.sleep
        self._gaps: dict[str, list[str]] = {}
        # Queued records not yet written to the store's queue (at most PAGE).
        self._pending: list[str] = []
        self._queued = False  # some are in the store's queue (audit.people)
        self._legal_entities: set[str] | None = None

    @abstractmethod
    def bring_in_line(self, record: AbcMapping[str, Any]) -> Outcome:
        """Plan and write one record; raises :class:`ODataError` when Dynamics cannot be read."""

    @abstractmethod
    def unreadable(self, record: AbcMapping[str, Any], error: ODataError) -> Outcome:
        """Record that Dynamics could not be read or written for this record."""

    def sync_record(self, record: AbcMapping[str, Any]) -> Outcome:
        """Bring Dynamics in line with one record; never raises for bad data."""
        try:
            return self.bring_in_line(record)
        except ODataError as exc:
            return self.unreadable(record, exc)

    def remember(self, record: AbcMapping[str, Any]) -> None:
        """Queue a record; :meth:`sync_pending` runs after the payrolls are posted."""
        # The audit trail's own writer of received records (the C encoder; to_json's bytes).
        self._pending.append(record_json(record))
        if len(self._pending) >= PAGE:
            self.audit.queue_master_records(self.label, self._pending)
            self._pending = []
            self._queued = True

    def sync_pending(self) -> None:
        """Bring in every record queued so far, in the order received, a page at a time.

        The queue is emptied up to its current end even when a record raises (a stop signal),
        as it always was: records queued meanwhile wait for the next call. Fewer than a page
        never leave memory.
        """
        pending, self._pending = self._pending, []
        if not self._queued:
            self._sync_page(pending)
            return
        if pending:
            self.audit.queue_master_records(self.label, pending)
        self._queued = False
        end = self.audit.master_queue_end(self.label)
        after = 0
        try:
            while page := self.audit.queued_master_records(self.label, after, end, PAGE):
                after = page[-1][0]
                self._sync_page([text for _, text in page])
        finally:
            self.audit.unqueue_master_records(self.label, end)

    def _sync_page(self, texts: list[str]) -> None:
        for text in texts:
            with self.document():
                self.sync_record(from_json(text))

    def reconcile(self, record: MasterRecord[Current, Plan]) -> Reconciled[Plan]:
        """Plan and write one record (nothing in a dry run); see :mod:`.engine`."""
        return reconcile(record, Patience.of(self.client, self.sleep), dry_run=self.dry_run)

    def company_of(self, record: AbcMapping[str, Any], who: str) -> CompanyMapping | None:
        """The record's company in the mapping; None, with a warning naming ``who``, if none."""
        try:
            return self.mapping.company(str(record.get("company_uuid") or ""))
        except MappingError as exc:
            self.warn(f"{who} not synchronised to Dynamics: {exc}")
            return None

    def legal_entities(self) -> set[str]:
        if self._legal_entities is None:
            rows = self.client.get_all(LEGAL_ENTITIES, select=["LegalEntityId"])
            self._legal_entities = {str(r.get("LegalEntityId") or "").lower() for r in rows}
        return self._legal_entities

    def legal_entity_gaps(self, company: CompanyMapping) -> list[str]:
        if company.legal_entity.lower() in self.legal_entities():
            return []
        return [
            f"legal entity {company.legal_entity!r} does not exist in Dynamics; fix "
            f"{company.key_path}.legal_entity"
        ]

    def warn(self, text: str) -> None:
        self.summary.warn(text, self.logger)

    def finish(self) -> list[str]:
        return self.summary.log(self.logger)
