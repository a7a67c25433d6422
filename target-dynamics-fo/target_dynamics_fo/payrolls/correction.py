"""Pure correction documents for a payroll that changed or was cancelled after it was posted.

No I/O. The ledger already holds some journals for a payroll (the original, and any earlier
corrections); these functions say what to post so that it holds the payroll's current content:

- a reversing journal: every posted line again with its sides swapped (same account, same
  dimensions), so the payroll nets to zero in every account and dimension set;
- a difference journal: per account and dimension set, the current journal minus what is
  posted, so one document moves the ledger from the old content to the new.

Reversal followed by the current journal and the difference journal have the same net effect
on every account x dimensions (property-tested). The rules for accountants are in
docs/accounting.md (section "Corrections"); keep the two in step.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Literal

from target_dynamics_fo.ledger import (
    BATCH_NUMBER_LIMIT,
    TEXT_LIMIT,
    ZERO,
    Journal,
    JournalLine,
    content_digest,
    exact_arithmetic,
    signed_line,
)

# Role of a document within one correction step: the first document (reversal or difference)
# is the one looked up; the repost of a reverse-and-repost step is the second.
DocumentRole = Literal["first", "repost"]

LedgerKey = tuple[str, tuple[tuple[str, str], ...]]


def correction_batch_number(
    prefix: str, company_uuid: str, payroll_uuid: str, sequence: int, role: DocumentRole
) -> str:
    """Deterministic JournalBatchNumber of one correction document, 20 characters at most.

    Derived from the payroll and the correction sequence (never from content), so a rerun of
    the same step finds the document it may already have posted instead of posting another.
    """
    prefix = prefix.upper()
    if not prefix or not prefix.isalnum() or not prefix.isascii() or len(prefix) > 8:
        raise ValueError(f"journal number prefix {prefix!r} must be 1-8 letters or digits")
    if sequence < 1:
        raise ValueError(f"correction sequence {sequence} must be 1 or more")
    seed = f"{company_uuid}:{payroll_uuid}:correction:{sequence}:{role}"
    code = base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode("ascii").rstrip("=")
    return f"{prefix}-{code[: BATCH_NUMBER_LIMIT - len(prefix) - 1]}"


def cancelled_state_hash(payroll_uuid: str) -> str:
    """The content hash a cancellation reversal carries: the ledger holds nothing for it."""
    return content_digest({"cancelled_payroll": payroll_uuid})


def ledger_key(line: JournalLine) -> LedgerKey:
    return line.main_account, tuple(sorted(line.dimensions.items()))


def net_position(lines: Iterable[JournalLine]) -> dict[LedgerKey, Decimal]:
    """Debit minus credit per (main account, dimensions); keys that net to zero are dropped."""
    with exact_arithmetic():
        net: dict[LedgerKey, Decimal] = {}
        for line in lines:
            key = ledger_key(line)
            net[key] = net.get(key, ZERO) + line.debit - line.credit
        return {k: v for k, v in net.items() if v != 0}


def _text(prefix: str, text: str) -> str:
    return f"{prefix} {text}"[:TEXT_LIMIT]


def reversal_lines(posted: Sequence[JournalLine], text_prefix: str) -> tuple[JournalLine, ...]:
    """Every posted line with its sides swapped, in the posted order, numbered 1..n.

    Line by line rather than netted, so an accountant can put each reversing line next to the
    line it reverses.
    """
    out: list[JournalLine] = []
    for line in posted:
        if line.debit == 0 and line.credit == 0:
            continue
        out.append(
            replace(
                line,
                line_number=len(out) + 1,
                debit=line.credit,
                credit=line.debit,
                text=_text(text_prefix, line.text),
            )
        )
    return tuple(out)


def difference_lines(
    posted: Sequence[JournalLine], current: Sequence[JournalLine], text_prefix: str
) -> tuple[JournalLine, ...]:
    """Per account and dimensions, the current journal minus what is posted; zeros dropped.

    A line's component names the current journal's first line on that account (else the
    posted one's), so the text says what changed. Ordered by account, then dimensions.
    """
    components: dict[LedgerKey, str] = {}
    for line in (*current, *posted):
        components.setdefault(ledger_key(line), line.component)
    with exact_arithmetic():
        old = net_position(posted)
        new = net_position(current)
        delta = {k: new.get(k, ZERO) - old.get(k, ZERO) for k in {*old, *new}}
    out: list[JournalLine] = []
    for key in sorted(delta):
        amount = delta[key]
        if amount == 0:
            continue
        account, dims = key
        component = components[key]
        out.append(
            signed_line(
                len(out) + 1,
                account,
                dims,
                amount,
                text=_text(text_prefix, component),
                component=component,
            )
        )
    return tuple(out)


def correction_journal(
    template: Journal,
    *,
    lines: tuple[JournalLine, ...],
    journal_batch_number: str,
    description: str,
    state_hash: str,
    trans_date: date,
) -> Journal:
    """A correction document in the company's journal, carrying the state hash it leads to.

    ``state_hash`` is what the header's ``#`` marker records: the content hash of the payroll
    the ledger holds once this step is posted (or :func:`cancelled_state_hash`), so the chain
    can be read back from Dynamics alone.
    """
    journal = replace(
        template,
        journal_batch_number=journal_batch_number,
        trans_date=trans_date,
        description=description,
        idempotency_key=f"gusto:{template.company_uuid}:{template.payroll_uuid}:"
        f"{journal_batch_number}:{state_hash}",
        content_hash=state_hash,
        lines=lines,
        warnings=(),
    )
    if journal.total_debit != journal.total_credit:
        # Unreachable when what is posted and the current journal balance; never let one out.
        raise ValueError(
            f"correction {journal_batch_number} of payroll {template.payroll_uuid} does not "
            f"balance (debit {journal.total_debit}, credit {journal.total_credit})"
        )
    return journal


# -- approval and dating (pure) ---------------------------------------------------------------

# Whether a planned correction waits for a person (`manual`, the default: no money moves
# unseen) or is posted by the run that finds it (`automatic`).
ApprovalMode = Literal["manual", "automatic"]
APPROVAL_MODES: tuple[ApprovalMode, ...] = ("manual", "automatic")
# The date a correction is posted on: the payroll's check date (refused by Dynamics when that
# period is closed), or the check date when its period is open, else the first day of the
# first open period after it.
DatingMode = Literal["check_date", "first_open_day"]
DATING_MODES: tuple[DatingMode, ...] = ("check_date", "first_open_day")

OPEN = "Open"


def plan_digest(documents: Sequence[Journal]) -> str:
    """What a person approves: every document's number, date, state and lines, exactly.

    A plan whose digest differs from the approved one (a newer change in Gusto, a period
    closed since, another mapping) is staged again rather than posted on an old approval.
    """
    return content_digest(
        [
            {
                "number": doc.journal_batch_number,
                "date": doc.trans_date.isoformat(),
                "state": doc.content_hash,
                "description": doc.description,
                "lines": [
                    [
                        line.line_number,
                        line.main_account,
                        sorted(line.dimensions.items()),
                        str(line.debit),
                        str(line.credit),
                    ]
                    for line in doc.lines
                ],
            }
            for doc in documents
        ]
    )


def plan_difference(documents: Sequence[Journal]) -> dict[LedgerKey, Decimal]:
    """The net movement per account x dimensions the documents make together, zeros dropped.

    For reverse-and-repost this is the amendment itself (reversal and repost cancel wherever
    nothing changed); for a cancellation it is the reversal.
    """
    return net_position(line for doc in documents for line in doc.lines)


def first_open_day(
    check_date: date, periods: Iterable[tuple[date, date, str]]
) -> tuple[date | None, str]:
    """(the date a correction is posted on, why) given the ledger's fiscal periods.

    ``periods`` are (start, end, status). The check date itself when its period is open;
    otherwise the start of the first open period after it. None when no period covers the
    check date or none after it is open: nothing can be dated, so nothing is posted.
    """
    ordered = sorted(periods)
    own = [p for p in ordered if p[0] <= check_date <= p[1]]
    if not own:
        return None, f"no fiscal period covers the check date {check_date.isoformat()}"
    if all(status == OPEN for _, _, status in own):
        return check_date, f"the period of the check date {check_date.isoformat()} is open"
    closed_end = max(end for _, end, _ in own)
    later = [p for p in ordered if p[0] > closed_end and p[2] == OPEN]
    status = next(s for _, _, s in own if s != OPEN)
    if not later:
        return None, (
            f"the period of the check date {check_date.isoformat()} is {status} and no open "
            "period follows it"
        )
    return later[0][0], (
        f"the period of the check date {check_date.isoformat()} is {status}; dated on the "
        f"first open day {later[0][0].isoformat()}"
    )


@dataclass(frozen=True)
class CorrectionPolicy:
    """The target's correction settings: who lets a correction post, and on which date."""

    approval: ApprovalMode = "manual"
    dating: DatingMode = "check_date"
