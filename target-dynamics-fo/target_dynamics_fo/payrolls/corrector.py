"""Correcting a posted payroll in Dynamics, exactly once (the I/O half of ``correction.py``).

Dynamics itself is the record of a payroll's corrections, as it is of its original journal:

- correction step ``k`` of a payroll has deterministic journal numbers
  (``correction_batch_number(prefix, company, payroll, k, "first" | "repost")``);
- every document of step ``k`` ends its Description with ``#<hash>`` of the state the ledger
  holds once the step is in: the payroll's content hash, or the cancelled-state hash;
- the documents of one step (reversal and repost) go in ONE ``$batch`` changeset, so a step is
  in Dynamics completely or not at all: a kill between them cannot leave a payroll reversed but
  not reposted.

So the state is read back by looking up step 1, 2, ... until one is missing. A rerun finds the
step it already posted (same hash) and posts nothing; a later change gets the next sequence.
What is reversed is read from Dynamics (the lines of the journals that stand), never rebuilt
from today's mapping, so a mapping changed since the original still reverses what was posted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from target_dynamics_fo import audit as outcomes
from target_dynamics_fo.fo import MAX_BATCH_OPERATIONS, ODataError, odata_literal
from target_dynamics_fo.ledger import (
    CENT,
    AmountError,
    DimensionFormat,
    Journal,
    JournalLine,
    exact_arithmetic,
    ledger_display_value,
    parse_amount,
    split_display_value,
)
from target_dynamics_fo.mapping import CompanyMapping
from target_dynamics_fo.payrolls.correction import (
    cancelled_state_hash,
    correction_batch_number,
    correction_journal,
    difference_lines,
    reversal_lines,
)
from target_dynamics_fo.payrolls.journals import (
    LINE_ENTITY,
    JournalPoster,
    journal_document,
)
from target_dynamics_fo.posting import Decision, Document, PostResult, Rules, hash_in_description

LOGGER = logging.getLogger("target_dynamics_fo.corrections")

REVERSAL = "Reversal"


class CorrectionError(ValueError):
    """What Dynamics holds for a payroll cannot be read back into a correction."""


@dataclass(frozen=True)
class Chain:
    """What Dynamics holds for one posted payroll.

    ``standing``: the journal numbers whose lines make up the payroll's ledger position now;
    ``state``: the hash prefix of the content that position stands for.
    """

    legal_entity: str
    original: str
    standing: tuple[str, ...]
    state: str | None
    next_sequence: int
    cancelled: bool


JournalRecorder = Callable[[Journal, list[str]], None]


@dataclass(frozen=True)
class Correction:
    """One correction step to post: its documents (first one is looked up) and what it leads to."""

    sequence: int
    documents: tuple[Journal, ...]
    state_hash: str
    what: str


class Corrector:
    def __init__(self, poster: JournalPoster, record_journal: JournalRecorder) -> None:
        self.poster = poster
        self.record_journal = record_journal

    # -- reading Dynamics ------------------------------------------------------------------

    def chain(
        self,
        company: CompanyMapping,
        payroll_uuid: str,
        legal_entity: str,
        original: str,
        header: dict[str, Any],
    ) -> Chain:
        """Walk correction steps 1, 2, ... in Dynamics until one is missing."""
        state = hash_in_description(str(header.get("Description") or ""))
        standing: list[str] = [original]
        cancelled = False
        cancel_hash = cancelled_state_hash(payroll_uuid)
        sequence = 1
        while True:
            number = self._number(company, payroll_uuid, sequence, "first")
            found = self.poster.find_header(legal_entity, number)
            if found is None:
                break
            description = str(found.get("Description") or "")
            state = hash_in_description(description)
            cancelled = bool(state) and cancel_hash.startswith(state or "-")
            if cancelled:
                standing = []
            elif description.startswith(REVERSAL):
                standing = [self._number(company, payroll_uuid, sequence, "repost")]
            else:
                standing.append(number)
            sequence += 1
        return Chain(legal_entity, original, tuple(standing), state, sequence, cancelled)

    def corrected(self, company: CompanyMapping, payroll_uuid: str, legal_entity: str) -> bool:
        """Whether any correction of the payroll is in Dynamics (one lookup: step 1)."""
        number = self._number(company, payroll_uuid, 1, "first")
        return self.poster.find_header(legal_entity, number) is not None

    def ledger_lines(
        self, legal_entity: str, numbers: Sequence[str], fmt: DimensionFormat
    ) -> tuple[JournalLine, ...]:
        """The lines of the given journals as Dynamics holds them, journal by journal."""
        lines: list[JournalLine] = []
        for number in numbers:
            rows = self.poster.client.get_all(
                LINE_ENTITY,
                cross_company=True,
                filter=(
                    f"dataAreaId eq {odata_literal(legal_entity.lower())} and "
                    f"JournalBatchNumber eq {odata_literal(number)}"
                ),
                journal_number=number,
            )
            if not rows:
                raise CorrectionError(
                    f"journal {number} in legal entity {legal_entity} has no lines that can be "
                    "read back (LedgerJournalLines), so it cannot be reversed"
                )
            for row in sorted(rows, key=lambda r: int(r.get("LineNumber") or 0)):
                lines.append(_line(row, number, fmt, len(lines) + 1))
        return tuple(lines)

    # -- planning --------------------------------------------------------------------------

    def plan(
        self,
        company: CompanyMapping,
        chain: Chain,
        posted: tuple[JournalLine, ...],
        template: Journal,
        current: Journal | None,
        *,
        trans_date: date | None = None,
    ) -> Correction | None:
        """The documents of the next step, or None when the amounts would not move.

        ``trans_date``: the date every document of the step is posted on (default: the
        payroll's check date; see ``correction_date`` in docs/accounting.md).
        """
        payroll_uuid = template.payroll_uuid
        sequence = chain.next_sequence
        cancelled = current is None
        base = template if current is None else current
        state = cancelled_state_hash(payroll_uuid) if current is None else current.content_hash

        def document(kind: str, role: Any, lines: tuple[JournalLine, ...]) -> Journal:
            return correction_journal(
                base,
                lines=lines,
                journal_batch_number=self._number(company, payroll_uuid, sequence, role),
                description=f"{kind} {sequence} of {chain.original}",
                state_hash=state,
                trans_date=trans_date or template.trans_date,
            )

        reversal = reversal_lines(posted, f"REV {sequence}")
        what = "cancelled in Gusto" if cancelled else "changed in Gusto"
        if current is None:
            if not reversal:
                return None
            return Correction(sequence, (document(REVERSAL, "first", reversal),), state, what)
        difference = difference_lines(posted, current.lines, f"DIFF {sequence}")
        if not difference:
            # Only text or names changed: reversing and reposting the same amounts is noise.
            return None
        if company.corrections == "difference":
            return Correction(sequence, (document("Difference", "first", difference),), state, what)
        docs = (document(REVERSAL, "first", reversal), document("Repost", "repost", current.lines))
        return Correction(sequence, docs, state, what)

    # -- posting ---------------------------------------------------------------------------

    def post(
        self, chain: Chain, correction: Correction, fmt: DimensionFormat, company_uuid: str
    ) -> PostResult:
        """Post one step in one changeset, exactly once, and record its outcome."""
        first = correction.documents[0]
        payroll_uuid = first.payroll_uuid
        ops = []
        for doc in correction.documents:
            display = [ledger_display_value(x.main_account, x.dimensions, fmt) for x in doc.lines]
            self.record_journal(doc, display)
            ops.extend(self.poster.operations(doc, display, doc.trans_date.isoformat()))
        if len(ops) > MAX_BATCH_OPERATIONS:
            return self.finish(
                chain,
                company_uuid,
                payroll_uuid,
                outcomes.REFUSED,
                f"correction {correction.sequence} of journal {chain.original} needs "
                f"{len(ops)} operations; one $batch holds {MAX_BATCH_OPERATIONS} and a "
                "correction must be one atomic changeset. Nothing was posted.",
                "set summary_level: department (or corrections: difference) for this company, "
                f"then replay the payroll (target-dynamics-fo-audit replay {payroll_uuid}).",
            )
        # Looked up like the first journal of the step; filed under the payroll's original.
        document = replace(
            journal_document(first),
            kind=outcomes.KIND_CORRECTION,
            legal_entity=chain.legal_entity,
            content_hash=correction.state_hash,
            company_uuid=company_uuid,
            filed_under=chain.original,
        )
        return self.poster.engine.post(document, ops, CorrectionRules(chain, correction))

    def finish(  # noqa: PLR0917
        self,
        chain: Chain,
        company_uuid: str,
        payroll_uuid: str,
        outcome: str,
        reason: str,
        fix: str | None,
    ) -> PostResult:
        # Filed under the ORIGINAL journal number: earlier runs' numbers are where the
        # payroll's journal is looked for, and a correction document is not its journal.
        return self.poster.engine.file(
            PostResult(
                payroll_uuid,
                outcome,
                chain.original,
                chain.legal_entity,
                reason,
                fix,
                kind=outcomes.KIND_CORRECTION,
                company_uuid=company_uuid,
            )
        )

    @staticmethod
    def _number(company: CompanyMapping, payroll_uuid: str, sequence: int, role: Any) -> str:
        return correction_batch_number(
            company.journal_number_prefix, company.company_uuid, payroll_uuid, sequence, role
        )


class CorrectionRules(Rules):
    """A correction step's findings: the state it leads to is what its hash names, so finding
    it is "corrected" (this run) or "already posted", and other content is another run's step.
    """

    noun = "correction"

    def __init__(self, chain: Chain, correction: Correction) -> None:
        self.chain = chain
        self.correction = correction
        self.names = " + ".join(
            f"{d.description.split(' of ')[0].lower()} {d.journal_batch_number}"
            for d in correction.documents
        )
        self.step = f"correction {correction.sequence} of journal {chain.original}"

    def posted(self, doc: Document) -> Decision:
        what = self.correction.what
        return Decision(outcomes.CORRECTED, f"{self.step} ({what}): posted {self.names}")

    def confirmed(self, doc: Document) -> Decision:
        return Decision(outcomes.CORRECTED, f"{self.step} ({self.correction.what}): {self.names}")

    def already_posted(self, doc: Document) -> Decision:
        what = self.correction.what
        return Decision(outcomes.ALREADY_POSTED, f"{self.step} ({what}): {self.names}")

    def other_content(self, doc: Document, stored: str | None) -> Decision:
        return Decision(
            outcomes.REFUSED,
            f"{self.step} was posted by another run for other content (#{stored or 'unknown'}); "
            "nothing was posted",
            f"run the pipeline again: it reads the chain afresh (or replay {doc.document_uuid}).",
        )

    def unconfirmed(self, doc: Document, error: ODataError, attempts: int) -> Decision:
        return self._not_there(doc, error, "was not confirmed")

    def rejected(self, doc: Document, error: ODataError) -> Decision:
        if _closed_period(error.message):
            day = self.correction.documents[0].trans_date.isoformat()
            return Decision(
                outcomes.REFUSED,
                f"{self.step} of payroll {doc.document_uuid} ({self.names}) is dated {day}, in a "
                "fiscal period Dynamics does not accept postings in; nothing was posted: "
                f"{error.message}",
                "set correction_date: first_open_day in the target config (the correction "
                "is then dated on the first open day after the closed period), or reopen "
                f"the period in Dynamics; then run again or replay {doc.document_uuid}.",
            )
        return self._not_there(doc, error, "was rejected")

    def _not_there(self, doc: Document, error: ODataError, how: str) -> Decision:
        return Decision(
            outcomes.REFUSED,
            f"{self.step} ({self.names}) {how} by Dynamics; it is not there, nothing was saved: "
            f"{error.message}",
            "correct the cause named above, then run the pipeline again or replay the "
            f"payroll (target-dynamics-fo-audit replay {doc.document_uuid}); the journal numbers "
            "keep it exactly once.",
        )


def cancellation_template(
    company: CompanyMapping, payroll_uuid: str, legal_entity: str, trans_date: date
) -> Journal:
    """The header fields a cancellation reversal shares with the company's journals."""
    return Journal(
        company_uuid=company.company_uuid,
        payroll_uuid=payroll_uuid,
        legal_entity=legal_entity,
        journal_name=company.journal_name,
        journal_batch_number="",
        currency=company.currency,
        trans_date=trans_date,
        description="",
        idempotency_key="",
        content_hash="",
        lines=(),
    )


def _line(row: dict[str, Any], number: str, fmt: DimensionFormat, line_number: int) -> JournalLine:
    display = str(row.get("AccountDisplayValue") or "")
    where = f"journal {number} line {row.get('LineNumber')}"
    parts = split_display_value(display, fmt.delimiter)
    if len(parts) != len(fmt.segments) or not parts[0]:
        raise CorrectionError(
            f"{where}: account {display!r} does not fit the active ledger dimension format "
            f"{fmt.delimiter.join(fmt.segments)}; reverse this journal by hand in Dynamics"
        )
    try:
        debit = _amount(row.get("DebitAmount"), f"{where} DebitAmount")
        credit = _amount(row.get("CreditAmount"), f"{where} CreditAmount")
    except AmountError as exc:
        raise CorrectionError(str(exc)) from exc
    text = str(row.get("Text") or "")
    return JournalLine(
        line_number=line_number,
        main_account=parts[0],
        dimensions={k: v for k, v in zip(fmt.segments[1:], parts[1:], strict=True) if v},
        debit=debit,
        credit=credit,
        text=text,
        component=text,
    )


def _closed_period(message: str) -> bool:
    """Whether Dynamics refused a write because its date lies in a period that is not open."""
    text = message.lower()
    return "period" in text and any(w in text for w in ("closed", "on hold", "not open"))


def _amount(value: object, where: str) -> Decimal:
    with exact_arithmetic():
        return parse_amount(0 if value is None else value, where=where).quantize(CENT)
