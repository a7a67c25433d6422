"""The one exactly-once engine for every document the target posts to Dynamics.

A document (a payroll's journal, a correction of it, a contractor payment's AP invoice) has a
deterministic number and a content hash that ends its header Description. For each one the
engine:

1. finds what already stands in Dynamics under that number (``cross-company=true`` and a
   ``dataAreaId`` filter);
2. compares content: found with the same hash -> already posted; with another hash -> changed
   after posting, which a person must handle: it is never posted again;
3. otherwise sends header and lines once, in ONE atomic changeset (:func:`send_once`);
4. classifies what came of it: posted; confirmed by a look-up after a lost answer; unclear and
   still not there after the client's retries -> refused, nothing posted; rejected -> refused;
5. records the outcome (one :class:`PostResult`, one row in the audit trail).

The documents differ only in their operations, their words and, for corrections, in which
outcome a finding is: :class:`Rules` holds those, one subclass per kind of document.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from target_dynamics_fo import audit as outcomes
from target_dynamics_fo.faults import hit
from target_dynamics_fo.fo import (
    ODataClient,
    ODataError,
    Operation,
    WriteOutcomeUnknownError,
    odata_literal,
)
from target_dynamics_fo.posting.content import HASH_PREFIX_LENGTH, stored_hash
from target_dynamics_fo.posting.send import Faults, send_once


@dataclass(frozen=True)
class PostResult:
    """The outcome of one document (what the audit trail records and a run summarises).

    ``document_uuid`` names the source record (a payroll, a contractor payment); ``kind`` the
    document (audit ``KIND_*``).
    """

    document_uuid: str
    outcome: str
    journal_batch_number: str | None = None
    legal_entity: str | None = None
    reason: str | None = None
    fix: str | None = None
    kind: str = outcomes.KIND_JOURNAL
    company_uuid: str | None = None
    contractor_uuid: str | None = None
    vendor_account: str | None = None

    @property
    def failed(self) -> bool:
        return self.outcome in outcomes.FAILURE_OUTCOMES

    def columns(self) -> dict[str, str | None]:
        """The audit trail's columns of this outcome besides kind, document and outcome."""
        return {
            "company_uuid": self.company_uuid,
            "contractor_uuid": self.contractor_uuid,
            "legal_entity": self.legal_entity,
            "journal_batch_number": self.journal_batch_number,
            "vendor_account": self.vendor_account,
            "reason": self.reason,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Document:
    """What the engine needs to know of one document, and what its outcome is filed with.

    ``number`` is the deterministic journal number it is looked up by; ``content_hash`` what
    its Description ends with. ``filed_under`` is the number its outcome is filed under when
    not its own: a correction is filed under its payroll's original journal, where later runs
    look for the payroll.
    """

    kind: str
    document_uuid: str
    header_entity: str
    legal_entity: str
    number: str
    content_hash: str
    company_uuid: str | None = None
    filed_under: str | None = None
    contractor_uuid: str | None = None
    vendor_account: str | None = None

    def result(self, outcome: str, reason: str | None = None, fix: str | None = None) -> PostResult:
        # PostResult's fields in their order; its journal number is the one filed under.
        number = self.filed_under or self.number
        head = (self.document_uuid, outcome, number, self.legal_entity, reason, fix, self.kind)
        return PostResult(*head, self.company_uuid, self.contractor_uuid, self.vendor_account)


@dataclass(frozen=True)
class Decision:
    outcome: str
    reason: str | None = None
    fix: str | None = None


class Rules(ABC):
    """A kind of document's words for what the engine found, and the outcome of each finding.

    ``noun`` names the document in messages ("journal", "invoice journal"). The outcomes below
    are those of an original document; a correction overrides them.
    """

    noun = "document"
    # The record it is posted from, and what a person reverses, in changed-after-posting advice.
    source_noun = "record"
    reversed_noun = "document"

    @property
    def label(self) -> str:
        """The document's name at the start of a log line."""
        return self.noun.capitalize()

    def posted(self, doc: Document) -> Decision:
        return Decision(outcomes.POSTED)

    def confirmed(self, doc: Document) -> Decision:
        # Our write committed but its answer was lost: this run posted it.
        return Decision(outcomes.POSTED, "confirmed by lookup after a lost response")

    def already_posted(self, doc: Document) -> Decision:
        return Decision(
            outcomes.ALREADY_POSTED,
            f"{self.noun} {doc.number} is already in Dynamics with the same content",
        )

    def unconfirmed(self, doc: Document, error: ODataError, attempts: int) -> Decision:
        """Dynamics never confirmed the write, and the document is not there."""
        return Decision(
            outcomes.REFUSED,
            f"Dynamics did not confirm {self.noun} {doc.number} after {attempts} attempts and "
            f"it is not there: {error.message}",
            self.unconfirmed_fix(doc),
        )

    def unconfirmed_fix(self, doc: Document) -> str:
        return "nothing was posted; run again once Dynamics is reachable."

    def other_content(self, doc: Document, stored: str | None) -> Decision:
        """Found under its number with other content (``stored``: the hash prefix it holds):
        the source changed after it was posted, which a person handles; never posted again."""
        source = self.source(doc)
        return Decision(
            outcomes.CHANGED_AFTER_POSTING,
            f"{source} changed after it was posted: {self.noun} {doc.number}"
            f"{self.where(doc)} holds content #{stored or 'unknown'}, the {self.source_noun} "
            f"now hashes to #{doc.content_hash[:HASH_PREFIX_LENGTH]}. It was NOT posted again.",
            f"compare the {self.source_noun} in Gusto with {self.noun} {doc.number} in Dynamics "
            f"and book the difference by hand (or reverse the {self.reversed_noun}).",
        )

    def source(self, doc: Document) -> str:
        """The source record in a message's subject ("payroll", "contractor payment ...")."""
        return self.source_noun

    def where(self, doc: Document) -> str:
        """Where the document was found, after its number, if a message should say."""
        return ""

    @abstractmethod
    def rejected(self, doc: Document, error: ODataError) -> Decision:
        """Dynamics refused the changeset; nothing was saved."""


class ExactlyOnce:
    """Finds, compares, sends once, classifies and records documents through one client."""

    def __init__(
        self,
        client: ODataClient,
        record: Callable[[PostResult], None],
        faults: Faults,
    ) -> None:
        self.client = client
        self.record = record
        self.faults = faults

    def find(self, entity: str, legal_entity: str, number: str) -> dict[str, Any] | None:
        """The header filed under ``number`` in ``legal_entity``, if Dynamics holds one."""
        if self.faults.lookup:
            hit(self.faults.lookup[0])
        rows = self.client.get_all(
            entity,
            cross_company=True,
            filter=(
                f"dataAreaId eq {odata_literal(legal_entity.lower())} and "
                f"JournalBatchNumber eq {odata_literal(number)}"
            ),
            journal_number=number,
        )
        if self.faults.lookup:
            hit(self.faults.lookup[1])
        return rows[0] if rows else None

    def find_posted(self, doc: Document, rules: Rules) -> PostResult | None:
        """The recorded outcome when the document already stands in Dynamics, else None."""
        header = self.find(doc.header_entity, doc.legal_entity, doc.number)
        if header is None:
            return None
        return self.classify(doc, header, rules, just_sent=False)

    def post(
        self, doc: Document, ops: Sequence[Operation], rules: Rules, *, looked_up: bool = False
    ) -> PostResult:
        """Post ``ops`` once; ``looked_up`` when the caller has just found nothing there."""
        sent = send_once(
            self.client,
            ops,
            doc.number,
            lambda: self.find(doc.header_entity, doc.legal_entity, doc.number),
            self.faults.batch,
            rules.label,
            looked_up=looked_up,
        )
        if sent.header is not None:
            return self.classify(doc, sent.header, rules, just_sent=sent.just_sent)
        if sent.error is not None:
            if isinstance(sent.error, WriteOutcomeUnknownError):
                return self.finish(doc, rules.unconfirmed(doc, sent.error, sent.attempts))
            return self.finish(doc, rules.rejected(doc, sent.error))
        return self.finish(doc, rules.posted(doc))

    def classify(
        self, doc: Document, header: dict[str, Any], rules: Rules, *, just_sent: bool
    ) -> PostResult:
        same, stored = stored_hash(header, doc.content_hash)
        if not same:
            return self.finish(doc, rules.other_content(doc, stored))
        return self.finish(doc, rules.confirmed(doc) if just_sent else rules.already_posted(doc))

    def finish(self, doc: Document, decision: Decision) -> PostResult:
        """Record the decision as the document's outcome."""
        return self.file(doc.result(decision.outcome, decision.reason, decision.fix))

    def file(self, result: PostResult) -> PostResult:
        """Record an outcome (also one decided before any document was built)."""
        if self.faults.audit:
            hit(self.faults.audit[0])
        self.record(result)
        if self.faults.audit:
            hit(self.faults.audit[1])
        return result
