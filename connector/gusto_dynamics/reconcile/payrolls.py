"""Section 1 of the reconciliation: each Gusto payroll against its F&O journal(s) and ledger.

A payroll changed or cancelled after posting is followed as one chain: the original journal and
its correction documents (reversal, repost, difference), netted together. Pure, no I/O.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from gusto_dynamics.reconcile.model import (
    AMOUNT_DIFFERS,
    CANCELLED_REVERSED,
    CHANGED_IN_GUSTO,
    CORRECTED,
    CORRECTION_PENDING,
    FIX_MAPPING,
    MISSING,
    NO_GUSTO_PAYROLL,
    NOT_POSTED,
    POST,
    POSTED,
    POSTED_TWICE,
    REPLAY,
    STAGED_OUTCOMES,
    UNBUILDABLE,
    ZERO,
    AccountKey,
    AuditOutcome,
    FoJournal,
    GustoPayroll,
    Inputs,
    LedgerEntry,
    Line,
    PayrollRow,
    credit_total,
    debit_total,
    description_hash,
)

# "<Reversal|Repost|Difference> <step> of <original journal> #<hash>" (the target's Description).
_CORRECTION_RE = re.compile(r"^(Reversal|Repost|Difference) (\d+) of (\S+)")


def _matches(journal: FoJournal, payroll: GustoPayroll) -> bool:
    if journal.legal_entity != payroll.legal_entity:
        return False
    if journal.batch_number.casefold() == payroll.batch_number.casefold():
        return True
    # A journal keyed by hand (a copy, a re-import) names the payroll in its description.
    return payroll.short in journal.description.split()


def _ledger_by_journal(entries: Iterable[LedgerEntry]) -> dict[tuple[str, str], list[LedgerEntry]]:
    out: dict[tuple[str, str], list[LedgerEntry]] = defaultdict(list)
    for entry in entries:
        out[(entry.legal_entity, entry.journal_number.casefold())].append(entry)
    return out


def _ledger_sides(entries: Sequence[LedgerEntry]) -> tuple[Decimal, Decimal]:
    debit = sum((e.amount for e in entries if e.amount > 0), ZERO)
    credit = -sum((e.amount for e in entries if e.amount < 0), ZERO)
    return debit, credit


def _payroll_status(
    payroll: GustoPayroll,
    found: list[FoJournal],
    ledger: Mapping[tuple[str, str], list[LedgerEntry]],
) -> tuple[str, str]:
    if not found:
        if payroll.build_error:
            return UNBUILDABLE, f"{FIX_MAPPING} ({payroll.build_error}), then {REPLAY}"
        return MISSING, (
            f"{REPLAY}: target-dynamics-fo-audit replay {payroll.payroll_uuid} --config "
            "<target config> (or run the pipeline with --full-refresh from the check date)"
        )
    if len(found) > 1:
        keep = next(
            (j for j in found if j.batch_number.casefold() == payroll.batch_number.casefold()),
            found[0],
        )
        extra = ", ".join(j.batch_number for j in found if j is not keep)
        return POSTED_TWICE, f"reverse journal {extra} in F&O (keep {keep.batch_number})"
    journal = found[0]
    stamped = description_hash(journal.description)
    if stamped and not payroll.content_hash.startswith(stamped):
        return CHANGED_IN_GUSTO, (
            f"Gusto changed the payroll after journal {journal.batch_number} was made: "
            f"reverse {journal.batch_number} in F&O, then {REPLAY} the payroll"
        )
    if payroll.expected and (
        journal.debit != debit_total(payroll.expected)
        or journal.credit != credit_total(payroll.expected)
    ):
        return AMOUNT_DIFFERS, (
            f"{FIX_MAPPING} if the journal's accounts are wrong; otherwise reverse "
            f"{journal.batch_number} in F&O and {REPLAY}"
        )
    if not journal.posted:
        return NOT_POSTED, (
            f"{POST}: run General ledger > Post journals (journal {journal.batch_number})"
        )
    return _ledger_break([journal], ledger) or (POSTED, "")


def _ledger_break(
    journals: Iterable[FoJournal], ledger: Mapping[tuple[str, str], list[LedgerEntry]]
) -> tuple[str, str] | None:
    """The break of the first journal whose ledger entries do not carry its lines' sides."""
    for journal in journals:
        posted = ledger.get((journal.legal_entity, journal.batch_number.casefold()), [])
        if _ledger_sides(posted) != (journal.debit, journal.credit):
            return AMOUNT_DIFFERS, (
                f"the ledger entries of {journal.batch_number} differ from its lines: ask the "
                "F&O administrator to check the posting"
            )
    return None


def correction_of(journal: FoJournal) -> tuple[str, int, str] | None:
    """(kind, step, original journal number) of a correction document, else None."""
    match = _CORRECTION_RE.match(journal.description)
    if match is None:
        return None
    return match.group(1), int(match.group(2)), match.group(3)


def _chain_order(journal: FoJournal) -> tuple[int, int]:
    kind, step, _ = correction_of(journal) or ("", 0, "")
    # Within a step the reversal (or difference) comes before the repost, as posted.
    return step, 1 if kind == "Repost" else 0


def _net(lines: Iterable[Line]) -> dict[AccountKey, Decimal]:
    out: dict[AccountKey, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        out[line.account] += line.net
    return {k: v for k, v in out.items() if v != ZERO}


def _sides(net: Mapping[AccountKey, Decimal]) -> tuple[Decimal, Decimal]:
    """Debit and credit of a net position: what one journal holding it would carry."""
    return (
        sum((v for v in net.values() if v > 0), ZERO),
        -sum((v for v in net.values() if v < 0), ZERO),
    )


def _pending_fix(payroll_uuid: str, said: AuditOutcome | None) -> str | None:
    if said is None or said.outcome not in STAGED_OUTCOMES:
        return None
    if said.outcome == "correction_approved":
        return (
            "approved; the next run of the pipeline posts it (or target-dynamics-fo-audit "
            f"corrections approve {payroll_uuid} --config <target config>)"
        )
    return (
        "review with target-dynamics-fo-audit corrections, approve with "
        f"target-dynamics-fo-audit corrections approve {payroll_uuid}"
    )


def _chain_status(
    payroll: GustoPayroll,
    chain: Sequence[FoJournal],
    ledger: Mapping[tuple[str, str], list[LedgerEntry]],
    said: AuditOutcome | None,
) -> tuple[str, str]:
    """Status of an original journal followed by its correction documents, read as one."""
    last = chain[-1]
    stamped = description_hash(last.description)
    if stamped and not payroll.content_hash.startswith(stamped):
        pending = _pending_fix(payroll.payroll_uuid, said)
        if pending:
            return CORRECTION_PENDING, pending
        return CHANGED_IN_GUSTO, (
            f"Gusto changed the payroll again after {last.batch_number}: run the pipeline "
            f"(it corrects it), or {REPLAY} the payroll"
        )
    if payroll.expected and _net(x for j in chain for x in j.lines) != _net(payroll.expected):
        return AMOUNT_DIFFERS, (
            f"{FIX_MAPPING} if the accounts are wrong; otherwise check the correction chain "
            f"{', '.join(j.batch_number for j in chain)} in F&O"
        )
    unposted = [j.batch_number for j in chain if not j.posted]
    if unposted:
        return NOT_POSTED, f"{POST}: run General ledger > Post journals ({', '.join(unposted)})"
    return _ledger_break(chain, ledger) or (CORRECTED, "")


def _is_connector_journal(journal: FoJournal, prefixes: frozenset[str]) -> bool:
    prefix = journal.batch_number.split("-", 1)[0].upper()
    return prefix in prefixes or journal.description.startswith("Gusto payroll")


def payroll_rows(inputs: Inputs) -> tuple[list[PayrollRow], list[FoJournal]]:
    ledger = _ledger_by_journal(inputs.ledger)
    used: set[int] = set()
    rows: list[PayrollRow] = []
    matched: list[FoJournal] = []
    corrections: dict[tuple[str, str], list[FoJournal]] = defaultdict(list)
    for journal in inputs.journals:
        of = correction_of(journal)
        if of is not None:
            corrections[(journal.legal_entity, of[2].casefold())].append(journal)
    for payroll in sorted(inputs.payrolls, key=lambda p: (p.check_date, p.company_name, p.short)):
        found = [j for j in inputs.journals if _matches(j, payroll) and correction_of(j) is None]
        said = inputs.audit.get(payroll.payroll_uuid)
        steps = sorted(
            (
                c
                for j in found
                for c in corrections.get((j.legal_entity, j.batch_number.casefold()), [])
            ),
            key=_chain_order,
        )
        if len(found) == 1 and steps:
            status, fix = _chain_status(payroll, [*found, *steps], ledger, said)
        else:
            status, fix = _payroll_status(payroll, found, ledger)
            pending = _pending_fix(payroll.payroll_uuid, said)
            if status == CHANGED_IN_GUSTO and pending:
                status, fix = CORRECTION_PENDING, pending
        found = [*found, *steps]
        used.update(id(j) for j in found)
        matched.extend(found)
        entries = [
            e for j in found for e in ledger.get((j.legal_entity, j.batch_number.casefold()), [])
        ]
        ledger_debit, ledger_credit = _ledger_sides(entries)
        fo_debit = sum((j.debit for j in found), ZERO)
        fo_credit = sum((j.credit for j in found), ZERO)
        if steps:
            # One chain, one position: what the original and its corrections hold together.
            fo_debit, fo_credit = _sides(_net(x for j in found for x in j.lines))
            ledger_debit, ledger_credit = _sides(_net_entries(entries))
        rows.append(
            PayrollRow(
                company=payroll.company_name,
                legal_entity=payroll.legal_entity,
                check_date=payroll.check_date,
                payroll_type=payroll.payroll_type,
                payroll_uuid=payroll.payroll_uuid,
                batch_numbers=tuple(j.batch_number for j in found) or (payroll.batch_number,),
                gusto_gross=payroll.totals.get("gross_pay"),
                gusto_net=payroll.totals.get("net_pay"),
                gusto_employer_taxes=payroll.totals.get("employer_taxes"),
                expected_debit=debit_total(payroll.expected) if payroll.expected else None,
                fo_debit=fo_debit,
                fo_credit=fo_credit,
                ledger_debit=ledger_debit,
                ledger_credit=ledger_credit,
                status=status,
                connector_says=f"{said.outcome} {said.at[:10]}".strip() if said else "",
                fix=fix,
            )
        )
    for journal in inputs.journals:
        if id(journal) in used or not _is_connector_journal(journal, inputs.journal_prefixes):
            continue
        steps = sorted(
            corrections.get((journal.legal_entity, journal.batch_number.casefold()), []),
            key=_chain_order,
        )
        if correction_of(journal) is None and steps:
            chain = [journal, *steps]
            used.update(id(j) for j in chain)
            matched.extend(chain)
            rows.append(_orphan_chain(chain, ledger))
            continue
        matched.append(journal)
        entries = ledger.get((journal.legal_entity, journal.batch_number.casefold()), [])
        of = correction_of(journal)
        fix = (
            f"{of[0].lower()} {of[1]} of journal {of[2]}, which is not in this period: "
            f"see the report of {of[2]}'s period"
            if of is not None
            else f"find out who made {journal.batch_number}; reverse it in F&O if nobody can"
        )
        fo = (journal.debit, journal.credit)
        rows.append(_journals_only([journal], fo, _ledger_sides(entries), NO_GUSTO_PAYROLL, fix))
    return rows, matched


def _net_entries(entries: Iterable[LedgerEntry]) -> dict[AccountKey, Decimal]:
    out: dict[AccountKey, Decimal] = defaultdict(lambda: ZERO)
    for entry in entries:
        out[entry.account] += entry.amount
    return {k: v for k, v in out.items() if v != ZERO}


def _orphan_chain(
    chain: Sequence[FoJournal], ledger: Mapping[tuple[str, str], list[LedgerEntry]]
) -> PayrollRow:
    """An original and its corrections with no Gusto payroll in the period behind them.

    Gusto no longer lists a cancelled payroll as processed; when the chain ends in a reversal,
    nets to zero on every account and is posted, that cancellation is reconciled.
    """
    entries = [
        e for j in chain for e in ledger.get((j.legal_entity, j.batch_number.casefold()), [])
    ]
    net = _net(x for j in chain for x in j.lines)
    ledger_net = _net_entries(entries)
    kind = (correction_of(chain[-1]) or ("",))[0]
    numbers = ", ".join(j.batch_number for j in chain)
    if kind == "Reversal" and not net and all(j.posted for j in chain) and not ledger_net:
        status, fix = CANCELLED_REVERSED, ""
    elif kind == "Reversal" and not net and not all(j.posted for j in chain):
        status = NOT_POSTED
        fix = f"{POST}: run General ledger > Post journals ({numbers})"
    elif kind == "Reversal" and not net:
        status = AMOUNT_DIFFERS
        fix = f"the ledger entries of {numbers} do not net to zero: ask the F&O administrator"
    else:
        status = NO_GUSTO_PAYROLL
        fix = f"find out who made {numbers}; reverse it in F&O if nobody can"
    return _journals_only(chain, _sides(net), _sides(ledger_net), status, fix)


def _journals_only(
    journals: Sequence[FoJournal],
    fo: tuple[Decimal, Decimal],
    ledger: tuple[Decimal, Decimal],
    status: str,
    fix: str,
) -> PayrollRow:
    """The row of connector journals with no Gusto payroll of the period behind them."""
    first = journals[0]
    return PayrollRow(
        company="",
        legal_entity=first.legal_entity,
        check_date=first.trans_date,
        payroll_type="",
        payroll_uuid="",
        batch_numbers=tuple(j.batch_number for j in journals),
        gusto_gross=None,
        gusto_net=None,
        gusto_employer_taxes=None,
        expected_debit=None,
        fo_debit=fo[0],
        fo_credit=fo[1],
        ledger_debit=ledger[0],
        ledger_credit=ledger[1],
        status=status,
        connector_says="",
        fix=fix,
    )
