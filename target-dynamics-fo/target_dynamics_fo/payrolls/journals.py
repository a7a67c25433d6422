"""A payroll's journal into Dynamics, exactly once, through the posting engine.

The journal batch number is deterministic from (company, payroll) and the header Description
ends with ``#<content hash prefix>`` (see :mod:`target_dynamics_fo.posting`). A payroll whose
journal stands in Dynamics with other content changed after it was posted: a person handles it
(or the corrections of ``corrector.py`` do); it is never posted again.

Why a journal is capped at 4,999 lines: F&O accepts at most 5,000 operations per ``$batch``
(one is the header). Splitting a journal over several batches would give up the atomicity
that makes a retry safe, so a larger journal is refused with advice to summarise by department.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from target_dynamics_fo import audit as outcomes
from target_dynamics_fo.fo import (
    LEDGER_JOURNAL_HEADERS,
    LEDGER_JOURNAL_LINES,
    MAX_BATCH_OPERATIONS,
    ODataBatchError,
    ODataClient,
    ODataError,
    Operation,
    fo_date,
)
from target_dynamics_fo.ledger import Journal
from target_dynamics_fo.posting import (
    Decision,
    Document,
    ExactlyOnce,
    Faults,
    PostResult,
    Rules,
    described,
    journal_header,
)

HEADER_ENTITY = LEDGER_JOURNAL_HEADERS
LINE_ENTITY = LEDGER_JOURNAL_LINES
MAX_JOURNAL_LINES = MAX_BATCH_OPERATIONS - 1
JOURNAL_FAULTS = Faults(
    batch=("target.batch.before", "target.batch.after"),
    lookup=("target.lookup.before", "target.lookup.after"),
    audit=("target.audit.before_outcome", "target.audit.after_outcome"),
)


class OutcomeAudit(Protocol):
    def record_outcome(
        self,
        payroll_uuid: str,
        outcome: str,
        *,
        kind: str = ...,
        **columns: str | None,
    ) -> None: ...


class JournalIdentity(Protocol):
    """What names a payroll's journal in Dynamics and what it must contain (a Journal has it)."""

    @property
    def payroll_uuid(self) -> str: ...
    @property
    def company_uuid(self) -> str: ...
    @property
    def legal_entity(self) -> str: ...
    @property
    def journal_batch_number(self) -> str: ...
    @property
    def content_hash(self) -> str: ...


@dataclass(frozen=True)
class KnownJournal:
    """A journal's identity without building it (the mapping may no longer build it)."""

    payroll_uuid: str
    company_uuid: str
    legal_entity: str
    journal_batch_number: str
    content_hash: str


def header_description(journal: Journal) -> str:
    """The header Description: the builder's text, ending with ``#<hash prefix>``."""
    return described(journal.description, journal.content_hash)


def journal_document(journal: JournalIdentity) -> Document:
    return Document(
        kind=outcomes.KIND_JOURNAL,
        document_uuid=journal.payroll_uuid,
        header_entity=HEADER_ENTITY,
        legal_entity=journal.legal_entity,
        number=journal.journal_batch_number,
        content_hash=journal.content_hash,
        company_uuid=journal.company_uuid,
    )


class JournalRules(Rules):
    """What a payroll's journal is called in each finding, and the fix for a refusal."""

    # The document, the record it is posted from, what a person reverses (see Rules).
    noun, source_noun, reversed_noun = "journal", "payroll", "journal"

    def where(self, doc: Document) -> str:
        return f" in legal entity {doc.legal_entity}"

    def unconfirmed_fix(self, doc: Document) -> str:
        return (
            "nothing was posted; rerun the pipeline or replay the payroll once "
            "Dynamics is reachable (exactly once is kept by the journal number)."
        )

    def rejected(self, doc: Document, error: ODataError) -> Decision:
        if isinstance(error, ODataBatchError):
            reason = f"Dynamics rejected journal {doc.number}; nothing was saved: {error.message}"
        else:
            reason = f"posting journal {doc.number} failed; nothing was saved: {error.message}"
        return Decision(outcomes.REFUSED, reason, _fix_for(error.message))


RULES = JournalRules()


class JournalPoster:
    """Posts payroll journals through the exactly-once engine, recording every outcome."""

    def __init__(
        self,
        client: ODataClient,
        audit: OutcomeAudit,
    ) -> None:
        self.client = client
        self.audit = audit
        self.engine = ExactlyOnce(client, self.record, JOURNAL_FAULTS)

    def record(self, result: PostResult) -> None:
        """Write a payroll's outcome to the audit trail (no fault points: see the engine)."""
        self.audit.record_outcome(
            result.document_uuid, result.outcome, kind=result.kind, **result.columns()
        )

    def find_header(self, legal_entity: str, journal_batch_number: str) -> dict[str, Any] | None:
        return self.engine.find(HEADER_ENTITY, legal_entity, journal_batch_number)

    def operations(
        self, journal: Journal, display_values: Sequence[str], trans_date: str
    ) -> list[Operation]:
        legal_entity = journal.legal_entity.lower()
        number = journal.journal_batch_number
        name, text = journal.journal_name, header_description(journal)
        ops = [
            journal_header(HEADER_ENTITY, "LedgerJournalHeader", legal_entity, number, name, text)
        ]
        for line, display in zip(journal.lines, display_values, strict=True):
            ops.append(
                Operation(
                    "POST",
                    LINE_ENTITY,
                    {
                        "dataAreaId": legal_entity,
                        "JournalBatchNumber": number,
                        "LineNumber": line.line_number,
                        # One voucher per journal: every line balances together. Journal names
                        # with "number allocation at posting" renumber it from their series.
                        "Voucher": number,
                        "AccountType": "Ledger",
                        "AccountDisplayValue": display,
                        "DebitAmount": line.debit,
                        "CreditAmount": line.credit,
                        "CurrencyCode": journal.currency,
                        "TransDate": fo_date(trans_date),
                        "Text": line.text,
                    },
                    odata_type="LedgerJournalLine",
                )
            )
        return ops

    def find_posted(self, journal: JournalIdentity) -> PostResult | None:
        """The outcome when the journal is already in Dynamics (recorded), else None.

        Runs before the mapping is consulted: a payroll that is in Dynamics stays posted
        whatever the mapping says now, and only a change of its content is reported.
        """
        return self.engine.find_posted(journal_document(journal), RULES)

    def post(
        self,
        journal: Journal,
        display_values: Sequence[str],
        trans_date: str,
        *,
        looked_up: bool = False,
    ) -> PostResult:
        """Post once; ``looked_up`` when :meth:`find_posted` has just found nothing."""
        doc = journal_document(journal)
        if len(journal.lines) > MAX_JOURNAL_LINES:
            return self.engine.finish(
                doc,
                Decision(
                    outcomes.REFUSED,
                    f"journal {doc.number} has {len(journal.lines)} lines; Dynamics accepts at "
                    f"most {MAX_BATCH_OPERATIONS} operations in one $batch (header included), "
                    "and the journal must be one atomic changeset so it is never half posted.",
                    "set summary_level: department for this company in the mapping file, then "
                    f"replay the payroll (target-dynamics-fo-audit replay {journal.payroll_uuid}).",
                ),
            )
        ops = self.operations(journal, display_values, trans_date)
        return self.engine.post(doc, ops, RULES, looked_up=looked_up)

    def classify(
        self, journal: JournalIdentity, header: dict[str, Any], *, just_sent: bool
    ) -> PostResult:
        return self.engine.classify(journal_document(journal), header, RULES, just_sent=just_sent)


def _fix_for(message: str) -> str:
    text = message.lower()
    if "number sequence" in text or "manual" in text:
        return (
            "allow manual journal batch numbers: in Organization administration > Number "
            "sequences, set the General ledger 'Journal batch number' sequence to allow changes "
            "to a lower and a higher number, then replay the payroll."
        )
    if "dimension" in text or "ledger account" in text or "main account" in text:
        return (
            "check the account structure and the mapping's accounts and dimensions in Dynamics, "
            "then replay the payroll."
        )
    if "journal name" in text:
        return "check the mapping's journal_name exists in that legal entity, then replay."
    return (
        "read the Dynamics message above, correct the cause in Dynamics or in the mapping, "
        "then replay the payroll."
    )
