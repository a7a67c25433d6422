"""Exactly-once posting of one journal to Dynamics.

The journal batch number is deterministic from (company, payroll) and the header Description
ends with ``#<content hash prefix>``, so Dynamics itself is the record of what was posted:

- before posting, the header is looked up (``cross-company=true`` + ``dataAreaId`` filter);
  found with the same hash -> already posted; found with another hash -> the payroll changed
  after it was posted, which a person must handle; it is never posted again;
- otherwise the header and every line go in ONE ``$batch`` changeset, which F&O saves
  atomically: a journal is in Dynamics completely or not at all;
- when the answer to that write is lost, the header is looked up again before any retry,
  because the write may have committed;
- "record already exists" means an earlier attempt committed: look up and compare hashes.

Why a journal is capped at 4,999 lines: F&O accepts at most 5,000 operations per ``$batch``
(one is the header). Splitting a journal over several batches would give up the atomicity
that makes a retry safe, so a larger journal is refused with advice to summarise by department.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass
from typing import Any, Protocol

from target_dynamics_fo import audit as outcomes
from target_dynamics_fo.faults import hit
from target_dynamics_fo.fo import (
    LEDGER_JOURNAL_HEADERS,
    LEDGER_JOURNAL_LINES,
    MAX_BATCH_OPERATIONS,
    ODataBatchError,
    ODataClient,
    ODataError,
    Operation,
    WriteOutcomeUnknownError,
    fo_date,
    odata_literal,
)
from target_dynamics_fo.ledger import Journal

LOGGER = logging.getLogger("target_dynamics_fo.posting")

HEADER_ENTITY = LEDGER_JOURNAL_HEADERS
LINE_ENTITY = LEDGER_JOURNAL_LINES
MAX_JOURNAL_LINES = MAX_BATCH_OPERATIONS - 1
HASH_PREFIX_LENGTH = 16
# LedgerJournalTable.Name (the header Description) holds 60 characters.
DESCRIPTION_LENGTH = 60
_HASH_IN_DESCRIPTION = re.compile(r"#([0-9a-f]{8,64})\s*$")


class OutcomeAudit(Protocol):
    def record_outcome(
        self,
        payroll_uuid: str,
        outcome: str,
        *,
        company_uuid: str | None = None,
        legal_entity: str | None = None,
        journal_batch_number: str | None = None,
        reason: str | None = None,
        fix: str | None = None,
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


@dataclass(frozen=True)
class PostResult:
    payroll_uuid: str
    outcome: str
    journal_batch_number: str | None = None
    legal_entity: str | None = None
    reason: str | None = None
    fix: str | None = None

    @property
    def failed(self) -> bool:
        return self.outcome in outcomes.FAILURE_OUTCOMES


def described(description: str, content_hash: str) -> str:
    """A header Description: the builder's text, ending with ``#<hash prefix>``."""
    text = description.strip()
    present = hash_in_description(text)
    if present and content_hash.startswith(present) and len(text) <= DESCRIPTION_LENGTH:
        return text
    marker = f"#{content_hash[:HASH_PREFIX_LENGTH]}"
    room = DESCRIPTION_LENGTH - len(marker) - 1
    return f"{text[:room].rstrip()} {marker}"


def header_description(journal: Journal) -> str:
    """The header Description: the builder's text, ending with ``#<hash prefix>``."""
    return described(journal.description, journal.content_hash)


def hash_in_description(description: str | None) -> str | None:
    match = _HASH_IN_DESCRIPTION.search(description or "")
    return match.group(1) if match else None


def stored_hash(header: AbcMapping[str, Any], content_hash: str) -> tuple[bool, str | None]:
    """Whether a header found in Dynamics holds this content, and the hash prefix it holds."""
    stored = hash_in_description(str(header.get("Description") or ""))
    return stored is not None and content_hash.startswith(stored), stored


def worth_another_look(
    client: ODataClient, exc: ODataError, attempt: int, sleep: Callable[[float], None]
) -> bool:
    """After a failed single-record write: look the record up and plan again, or give up?

    The write may have committed (lost answer, "already exists") or another writer changed the
    record, so the caller never resends blindly: it looks again. The first failure always earns
    one more look; only an unclear answer earns more, up to the client's retry limit. After a
    lost answer this waits the client's backoff first.
    """
    unclear = isinstance(exc, WriteOutcomeUnknownError) or exc.record_exists
    if not (attempt <= 1 or (unclear and attempt < client.max_retries)):
        return False
    if isinstance(exc, WriteOutcomeUnknownError):
        sleep(client.backoff(attempt))
    return True


@dataclass(frozen=True)
class Sent:
    """What :func:`send_once` came to.

    ``header`` is set when the header is in Dynamics (``just_sent`` when it was found only after
    this run's write lost its answer, so this run wrote it); ``error`` when nothing was saved, or
    when Dynamics never confirmed (a :class:`WriteOutcomeUnknownError`); neither when it posted.
    """

    header: dict[str, Any] | None = None
    just_sent: bool = False
    error: ODataError | None = None
    attempts: int = 0


def send_once(  # noqa: PLR0917
    client: ODataClient,
    ops: Sequence[Operation],
    number: str,
    find: Callable[[], dict[str, Any] | None],
    sleep: Callable[[float], None],
    faults: tuple[str, str],
    what: str,
    *,
    looked_up: bool = False,
) -> Sent:
    """One header-and-lines changeset into Dynamics exactly once (see the module docstring).

    ``find`` looks the header up by its deterministic number; ``faults`` name the fault points
    around the ``$batch``; ``what`` names the document in the log. ``looked_up`` says the
    caller has just looked and found nothing, so the first lookup is not repeated.
    """
    found = None if looked_up else find()
    if found is not None:
        return Sent(found)
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            hit(faults[0])
            client.batch(list(ops), journal_number=number)
            hit(faults[1])
        except WriteOutcomeUnknownError as exc:
            LOGGER.warning("%s %s: %s; looking it up before any retry", what, number, exc)
            found = find()
            if found is not None:
                return Sent(found, just_sent=True, attempts=attempt)
            wait = client.backoff(attempt)
            elapsed = time.monotonic() - started
            if attempt >= client.max_retries or elapsed + wait > client.deadline_seconds:
                return Sent(error=exc, attempts=attempt)
            sleep(wait)
            continue
        except ODataError as exc:
            if isinstance(exc, ODataBatchError) and exc.record_exists:
                found = find()
                if found is not None:
                    return Sent(found, attempts=attempt)
            return Sent(error=exc, attempts=attempt)
        return Sent(attempts=attempt)


class JournalPoster:
    """Posts journals through one OData client, recording every outcome."""

    def __init__(
        self,
        client: ODataClient,
        audit: OutcomeAudit,
        *,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.client = client
        self.audit = audit
        self.sleep = sleep or client.sleep

    def find_header(self, legal_entity: str, journal_batch_number: str) -> dict[str, Any] | None:
        hit("target.lookup.before")
        rows = self.client.get_all(
            HEADER_ENTITY,
            cross_company=True,
            filter=(
                f"dataAreaId eq {odata_literal(legal_entity.lower())} and "
                f"JournalBatchNumber eq {odata_literal(journal_batch_number)}"
            ),
            journal_number=journal_batch_number,
        )
        hit("target.lookup.after")
        return rows[0] if rows else None

    def operations(
        self, journal: Journal, display_values: Sequence[str], trans_date: str
    ) -> list[Operation]:
        legal_entity = journal.legal_entity.lower()
        number = journal.journal_batch_number
        ops = [
            Operation(
                "POST",
                HEADER_ENTITY,
                {
                    "dataAreaId": legal_entity,
                    "JournalBatchNumber": number,
                    "JournalName": journal.journal_name,
                    "Description": header_description(journal),
                },
                odata_type="LedgerJournalHeader",
            )
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
        header = self.find_header(journal.legal_entity, journal.journal_batch_number)
        if header is None:
            return None
        return self.classify(journal, header, just_sent=False)

    def post(
        self,
        journal: Journal,
        display_values: Sequence[str],
        trans_date: str,
        *,
        looked_up: bool = False,
    ) -> PostResult:
        """Post once; ``looked_up`` when :meth:`find_posted` has just found nothing."""
        number = journal.journal_batch_number
        if len(journal.lines) > MAX_JOURNAL_LINES:
            return self._finish(
                journal,
                outcomes.REFUSED,
                reason=(
                    f"journal {number} has {len(journal.lines)} lines; Dynamics accepts at most "
                    f"{MAX_BATCH_OPERATIONS} operations in one $batch (header included), and the "
                    "journal must be one atomic changeset so it is never half posted."
                ),
                fix="set summary_level: department for this company in the mapping file, then "
                f"replay the payroll (target-dynamics-fo-audit replay {journal.payroll_uuid}).",
            )
        sent = send_once(
            self.client,
            self.operations(journal, display_values, trans_date),
            number,
            lambda: self.find_header(journal.legal_entity, number),
            self.sleep,
            ("target.batch.before", "target.batch.after"),
            "Journal",
            looked_up=looked_up,
        )
        if sent.header is not None:
            return self.classify(journal, sent.header, just_sent=sent.just_sent)
        if isinstance(sent.error, WriteOutcomeUnknownError):
            return self._finish(
                journal,
                outcomes.REFUSED,
                reason=f"Dynamics did not confirm journal {number} after {sent.attempts} "
                f"attempts and it is not there: {sent.error.message}",
                fix="nothing was posted; rerun the pipeline or replay the payroll once "
                "Dynamics is reachable (exactly once is kept by the journal number).",
            )
        if isinstance(sent.error, ODataBatchError):
            return self._finish(
                journal,
                outcomes.REFUSED,
                reason=f"Dynamics rejected journal {number}; nothing was saved: "
                f"{sent.error.message}",
                fix=_fix_for(sent.error.message),
            )
        if sent.error is not None:
            return self._finish(
                journal,
                outcomes.REFUSED,
                reason=f"posting journal {number} failed; nothing was saved: {sent.error.message}",
                fix=_fix_for(sent.error.message),
            )
        return self._finish(journal, outcomes.POSTED)

    def classify(
        self, journal: JournalIdentity, header: dict[str, Any], *, just_sent: bool
    ) -> PostResult:
        number = journal.journal_batch_number
        same, stored = stored_hash(header, journal.content_hash)
        if same:
            if just_sent:
                # Our write committed but its answer was lost: this run posted it.
                return self._finish(
                    journal, outcomes.POSTED, reason="confirmed by lookup after a lost response"
                )
            return self._finish(
                journal,
                outcomes.ALREADY_POSTED,
                reason=f"journal {number} is already in Dynamics with the same content",
            )
        return self._finish(
            journal,
            outcomes.CHANGED_AFTER_POSTING,
            reason=(
                f"payroll changed after it was posted: journal {number} in legal entity "
                f"{journal.legal_entity} holds content #{stored or 'unknown'}, the payroll now "
                f"hashes to #{journal.content_hash[:HASH_PREFIX_LENGTH]}. It was NOT posted again."
            ),
            fix="compare the payroll in Gusto with journal "
            f"{number} in Dynamics and book the difference by hand (or reverse the journal).",
        )

    def _finish(
        self,
        journal: JournalIdentity,
        outcome: str,
        *,
        reason: str | None = None,
        fix: str | None = None,
    ) -> PostResult:
        result = PostResult(
            payroll_uuid=journal.payroll_uuid,
            outcome=outcome,
            journal_batch_number=journal.journal_batch_number,
            legal_entity=journal.legal_entity,
            reason=reason,
            fix=fix,
        )
        hit("target.audit.before_outcome")
        self.audit.record_outcome(
            journal.payroll_uuid,
            outcome,
            company_uuid=journal.company_uuid,
            legal_entity=journal.legal_entity,
            journal_batch_number=journal.journal_batch_number,
            reason=reason,
            fix=fix,
        )
        hit("target.audit.after_outcome")
        return result


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
