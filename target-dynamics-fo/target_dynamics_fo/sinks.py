"""Sinks: payrolls are posted; people and reference records feed the checks and the audit trail.

Posting happens synchronously inside the sink, before its drain returns, because the SDK writes
STATE only after every sink has drained: a bookmark is therefore never emitted for a payroll
that is not yet in Dynamics (or recorded as refused in the audit store, ready for replay).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from singer_sdk.sinks import BatchSink, RecordSink, Sink

from target_dynamics_fo.faults import hit
from target_dynamics_fo.validation import CompiledSchemaValidator

if TYPE_CHECKING:
    from singer_sdk.target_base import Target

    from target_dynamics_fo.runtime import SinkWork

Record = dict[str, Any]


def document_key(stream_name: str, record: dict[str, Any]) -> str:
    """A payroll's or payment's name in the target's progress (interrupt.Progress)."""
    return f"{stream_name}:{record.get('payroll_uuid') or record.get('uuid')}"


DATE_FORMATS = frozenset({"date-time", "date", "time"})


def without_date_formats(schema: Record) -> Record:
    """A copy of ``schema`` whose top-level properties carry no date/time ``format``."""

    def strip(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        cleaned = {k: v for k, v in node.items() if not (k == "format" and v in DATE_FORMATS)}
        for key in ("anyOf", "oneOf", "allOf"):
            if isinstance(cleaned.get(key), list):
                cleaned[key] = [strip(option) for option in cleaned[key]]
        return cleaned

    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return schema
    return {**schema, "properties": {name: strip(p) for name, p in properties.items()}}


def _key(record: dict[str, Any], key_properties: list[str]) -> str:
    if not key_properties:
        return ""
    return "|".join(str(record.get(k)) for k in key_properties)


class TargetSink(Sink):
    """What every sink of this target shares: dates as sent, the received record, its work.

    The SDK constructs sinks with the target alone; the target then hands each one its
    collaborators (:meth:`wire`, from its ``get_sink`` hook) before any record reaches it.
    """

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: Record,
        key_properties: list[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self._work: SinkWork | None = None
        # Keep dates as the tap sent them, so a live run and a replay from the stored record
        # see identical input (and identical content hashes). The SDK parses a field into a
        # datetime only when the sink's schema gives it a date/time format, so the sink keeps
        # a copy of the schema without those formats (its public ``schema`` attribute); the
        # validator was already built from the full schema and formats are not validated.
        self.schema = without_date_formats(self.schema)

    def get_validator(self) -> CompiledSchemaValidator | None:
        # The SDK's own validator interprets the schema at every value; this one is compiled
        # once per schema (validation.py). Same setting: validate_records.
        if not self.validate_schema:
            return None
        return CompiledSchemaValidator(
            self.schema, validate_formats=self.validate_field_string_format
        )

    @property
    def unwired(self) -> bool:
        return self._work is None

    def wire(self, work: SinkWork) -> None:
        self._work = work

    @property
    def work(self) -> SinkWork:
        if self._work is None:
            raise RuntimeError(f"sink of stream {self.stream_name!r} used before it was wired")
        return self._work

    def _record_received(self, record: Record) -> None:
        hit("target.record.received")
        self.work.streams.used.add(self.stream_name)
        self.work.audit().record_received(
            self.stream_name,
            _key(record, list(self.key_properties)),
            record,
            record.get("company_uuid"),
        )


class _AuditedSink(TargetSink, RecordSink):
    """Records every incoming record's key and hash in the audit store."""

    def process_record(self, record: Record, context: Record) -> None:
        self._record_received(record)
        self.handle(record)

    def handle(self, record: dict[str, Any]) -> None:
        """Stream-specific work after the record is in the audit trail."""


class _DocumentSink(TargetSink, BatchSink):
    """Buffers documents (payrolls, payments) until the drain, then posts each exactly once.

    Each is stored when received, not at the drain: one that later fails is replayable from
    the store, and one a stopped run never reached is settled at the next start (awaiting its
    outcome). Each is posted inside a document of the stop gate, and the STATE moves after the
    batch.
    """

    def process_record(self, record: Record, context: Record) -> None:
        self._record_received(record)
        self.store(record)
        self.work.progress.received(document_key(self.stream_name, record))
        super().process_record(record, context)

    def process_batch(self, context: Record) -> None:
        work = self.work
        self.before_batch()
        for record in context.get("records", []):
            with work.gate.document():
                self.post(record)
                work.progress.settled(document_key(self.stream_name, record))
        work.checkpoint()

    def store(self, record: Record) -> None:
        """Keep the document in the audit store for replay."""

    def before_batch(self) -> None:
        """What must be in Dynamics before any document of the batch posts."""

    def post(self, record: Record) -> None:
        """Post one document and record its outcome."""


class PayrollsSink(_DocumentSink):
    """Buffers payrolls until the drain, then posts each (employees seen by then are known)."""

    # A payroll record can be large (every employee); drain every few so memory stays flat.
    MAX_SIZE_DEFAULT = 20

    def get_validator(self) -> None:
        # The journal builder parses every field it uses (amounts as exact decimals, dates,
        # the compensation count) and refuses the payroll naming the field; a generic JSON
        # schema pass over thousands of employee entries costs more than posting the journal.
        return None

    def store(self, record: Record) -> None:
        audit = self.work.audit()
        # A split payroll's rows are written before the record that names them, so a run
        # stopped in between never leaves a stored payroll (settled by the next run) without
        # its compensations.
        audit.flush_compensations()
        audit.store_payroll(record, awaiting=not self.work.dry_run)
        hit("target.payroll.stored")

    def post(self, record: Record) -> None:
        self.work.processor().process(record)


class PayrollCompensationsSink(TargetSink, RecordSink):
    """The split shape's compensations: each goes to the audit store as it arrives, and is
    posted only with the ``payrolls`` record that names its read (docs/CONTRACTS.md section 7).
    """

    def get_validator(self) -> None:
        # As for payrolls: the builder parses every field it uses and names the one it refuses.
        return None

    def process_record(self, record: Record, context: Record) -> None:
        hit("target.record.received")
        self.work.streams.used.add(self.stream_name)
        self.work.compensations().receive(
            self.stream_name, _key(record, list(self.key_properties)), record
        )

    def clean_up(self) -> None:
        # Rows are written in batches; the last ones belong in the trail even when no payroll
        # record follows them (a stopped tap).
        if not self.unwired:
            self.work.compensations().flush()
        super().clean_up()


class ContractorPaymentsSink(_DocumentSink):
    """Buffers payments until the drain, after the payrolls' (sinks drain in stream order)."""

    def store(self, record: Record) -> None:
        self.work.audit().store_payment(record, awaiting=not self.work.dry_run)

    def before_batch(self) -> None:
        # Vendors first: a payment posts only to a vendor that exists.
        self.work.payables().sync_vendors()

    def post(self, record: Record) -> None:
        self.work.payables().payment(record)


class EmployeesSink(_AuditedSink):
    def handle(self, record: dict[str, Any]) -> None:
        self.work.processor().remember_employee(record)
        # Workers are synchronised after the payrolls are posted (see target.py).
        self.work.people().remember(record)


class ContractorsSink(_AuditedSink):
    def handle(self, record: dict[str, Any]) -> None:
        self.work.payables().remember_contractor(record)


class DepartmentsSink(_AuditedSink):
    def handle(self, record: dict[str, Any]) -> None:
        self.work.processor().check_department(record)


class LocationsSink(_AuditedSink):
    def handle(self, record: dict[str, Any]) -> None:
        self.work.processor().check_location(record)


class RecordedSink(_AuditedSink):
    """Streams kept in the audit trail only."""


class IgnoredSink(TargetSink, RecordSink):
    """A stream this target does not use: one log line, then silence."""

    def setup(self) -> None:
        self.logger.info(
            "Stream %r is not used by target-dynamics-fo; its records are ignored.",
            self.stream_name,
        )

    def process_record(self, record: Record, context: Record) -> None:
        self.work.streams.ignored.add(self.stream_name)


SINKS: dict[str, type[TargetSink]] = {
    "payrolls": PayrollsSink,
    "payroll_compensations": PayrollCompensationsSink,
    "employees": EmployeesSink,
    "departments": DepartmentsSink,
    "locations": LocationsSink,
    "companies": RecordedSink,
    "contractors": ContractorsSink,
    "contractor_payments": ContractorPaymentsSink,
    "workers": RecordedSink,
}
