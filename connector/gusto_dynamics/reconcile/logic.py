"""Pure reconciliation: Gusto's period against the F&O journals, ledger and employments.

No I/O here. ``sources`` reads both systems afresh into the input types below; ``reconcile``
compares them and names, for every difference, what a person does about it. Money is
``Decimal`` throughout; a row agrees only when it agrees to the cent.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

ZERO = Decimal("0.00")

# Payroll statuses (section 1), worded as a controller reads them.
POSTED = "in F&O and posted"
NOT_POSTED = "in F&O, not yet posted"
MISSING = "missing"
POSTED_TWICE = "posted twice"
AMOUNT_DIFFERS = "amount differs"
CHANGED_IN_GUSTO = "changed in Gusto after posting"
NO_GUSTO_PAYROLL = "no Gusto payroll behind it"
UNBUILDABLE = "cannot be built with the current mapping"
# A payroll changed or cancelled after its journal was posted, read as one chain: the original
# and its correction documents (target-dynamics-fo, docs/accounting.md "Corrections").
CORRECTED = "corrected in F&O and posted"
CANCELLED_REVERSED = "cancelled in Gusto, reversed in F&O"
CORRECTION_PENDING = "correction pending approval"
# Payroll statuses that agree (every other one is a break someone acts on).
AGREED = (POSTED, CORRECTED, CANCELLED_REVERSED)
# What the connector's audit trail says while a correction waits for a person (or a run).
STAGED_OUTCOMES = ("correction_staged", "correction_approved")
# "<Reversal|Repost|Difference> <step> of <original journal> #<hash>" (the target's Description).
_CORRECTION_RE = re.compile(r"^(Reversal|Repost|Difference) (\d+) of (\S+)")

# Contractor payment statuses (section 4).
INVOICED = "invoiced and posted"
INVOICE_NOT_POSTED = "invoiced, not yet posted"
NO_INVOICE = "no invoice"
INVOICE_DIFFERS = "invoice amount differs"

REPLAY = "replay"
POST = "post the journal in F&O"
FIX_MAPPING = "fix the mapping"
RECONNECT = "reconnect"


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def label(self) -> str:
        if self.start.day == 1 and (self.end.month, self.end.year) == (
            self.start.month,
            self.start.year,
        ):
            return f"{self.start:%Y-%m}"
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


# An account x dimensions cell: (legal entity, main account, dimension values in the active
# ledger format's order, blanks as "").
AccountKey = tuple[str, str, tuple[str, ...]]


@dataclass(frozen=True)
class Line:
    """One line of a journal, expected (built from Gusto) or read from F&O."""

    account: AccountKey
    debit: Decimal
    credit: Decimal
    component: str = ""

    @property
    def net(self) -> Decimal:
        return self.debit - self.credit


def _dr(lines: Iterable[Line]) -> Decimal:
    return sum((x.debit for x in lines), ZERO)


def _cr(lines: Iterable[Line]) -> Decimal:
    return sum((x.credit for x in lines), ZERO)


@dataclass(frozen=True)
class GustoPayroll:
    company_uuid: str
    company_name: str
    legal_entity: str
    payroll_uuid: str
    check_date: date
    payroll_type: str
    totals: Mapping[str, Decimal]
    content_hash: str
    batch_number: str
    # What the journal should hold under the current mapping; empty when it cannot be built.
    expected: tuple[Line, ...] = ()
    build_error: str | None = None
    # employee uuid -> Gusto department title ("" when none)
    paid: Mapping[str, str] = field(default_factory=dict)

    @property
    def short(self) -> str:
        return self.payroll_uuid[:8]


@dataclass(frozen=True)
class FoJournal:
    legal_entity: str
    batch_number: str
    journal_name: str
    description: str
    posted: bool
    lines: tuple[Line, ...]
    trans_date: date | None = None

    @property
    def debit(self) -> Decimal:
        return _dr(self.lines)

    @property
    def credit(self) -> Decimal:
        return _cr(self.lines)


@dataclass(frozen=True)
class LedgerEntry:
    legal_entity: str
    journal_number: str
    account: AccountKey
    amount: Decimal  # accounting currency, debit positive


@dataclass(frozen=True)
class GustoPayment:
    company_uuid: str
    legal_entity: str
    payment_uuid: str
    contractor: str
    payment_date: date
    amount: Decimal
    batch_number: str
    build_error: str | None = None


@dataclass(frozen=True)
class FoInvoice:
    legal_entity: str
    batch_number: str
    posted: bool
    amount: Decimal  # owed to the vendor: vendor credit - vendor debit


@dataclass(frozen=True)
class Person:
    company_uuid: str
    legal_entity: str
    employee_uuid: str
    name: str
    department: str
    personnel_number: str
    hire_date: date | None
    termination_date: date | None


@dataclass(frozen=True)
class FoEmployment:
    legal_entity: str
    personnel_number: str
    start: date
    end: date | None  # None = open-ended


@dataclass(frozen=True)
class AuditOutcome:
    """What the connector's audit trail says it last did with a payroll or payment."""

    outcome: str
    batch_number: str | None
    at: str


@dataclass
class Inputs:
    period: Period
    dimension_names: tuple[str, ...]
    payrolls: list[GustoPayroll]
    journals: list[FoJournal]
    ledger: list[LedgerEntry]
    payments: list[GustoPayment]
    invoices: list[FoInvoice]
    people: list[Person]
    employments: list[FoEmployment]
    # legal entity -> department title -> dimension values of its wage lines (one per split part)
    department_dimensions: Mapping[str, Mapping[str, tuple[tuple[str, ...], ...]]]
    # legal entity -> main account -> rank (wages 0, employer taxes 1, benefits 2, others 9)
    account_ranks: Mapping[str, Mapping[str, int]]
    # legal entity -> main accounts that carry wages
    wage_accounts: Mapping[str, frozenset[str]]
    audit: Mapping[str, AuditOutcome] = field(default_factory=dict)
    journal_prefixes: frozenset[str] = frozenset({"GUS"})


# ---- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PayrollRow:
    company: str
    legal_entity: str
    check_date: date | None
    payroll_type: str
    payroll_uuid: str
    batch_numbers: tuple[str, ...]
    gusto_gross: Decimal | None
    gusto_net: Decimal | None
    gusto_employer_taxes: Decimal | None
    expected_debit: Decimal | None
    fo_debit: Decimal
    fo_credit: Decimal
    ledger_debit: Decimal
    ledger_credit: Decimal
    status: str
    connector_says: str
    fix: str

    @property
    def is_break(self) -> bool:
        return self.status not in AGREED


@dataclass(frozen=True)
class AccountRow:
    legal_entity: str
    main_account: str
    dimensions: tuple[str, ...]
    rank: int
    gusto: Decimal
    journals: Decimal
    ledger: Decimal
    fix: str

    @property
    def journal_difference(self) -> Decimal:
        return self.journals - self.gusto

    @property
    def ledger_difference(self) -> Decimal:
        return self.ledger - self.journals

    @property
    def is_break(self) -> bool:
        return self.journal_difference != ZERO or self.ledger_difference != ZERO


@dataclass(frozen=True)
class DepartmentRow:
    legal_entity: str
    department: str
    dimensions: str
    paid_in_gusto: int
    wage_lines_in_journals: int
    active_in_fo: int
    fix: str

    @property
    def is_break(self) -> bool:
        return bool(self.fix)


@dataclass(frozen=True)
class PersonRow:
    legal_entity: str
    event: str  # "hire", "termination" or "paid"
    day: date | None
    name: str
    department: str
    personnel_number: str
    in_fo: bool
    fix: str

    @property
    def is_break(self) -> bool:
        return not self.in_fo


@dataclass(frozen=True)
class PaymentRow:
    legal_entity: str
    payment_date: date
    contractor: str
    payment_uuid: str
    batch_number: str
    gusto_amount: Decimal
    fo_amount: Decimal | None
    status: str
    fix: str

    @property
    def is_break(self) -> bool:
        return self.status != INVOICED


@dataclass
class Report:
    period: Period
    dimension_names: tuple[str, ...]
    payrolls: list[PayrollRow]
    accounts: list[AccountRow]
    departments: list[DepartmentRow]
    people: list[PersonRow]
    payments: list[PaymentRow]

    @property
    def breaks(self) -> int:
        return sum(self.section_breaks().values())

    @property
    def agrees(self) -> bool:
        return self.breaks == 0

    def section_breaks(self) -> dict[str, int]:
        return {
            "payrolls": sum(1 for r in self.payrolls if r.is_break),
            "accounts": sum(1 for r in self.accounts if r.is_break),
            "headcount": sum(1 for r in self.departments if r.is_break)
            + sum(1 for r in self.people if r.is_break),
            "contractors": sum(1 for r in self.payments if r.is_break),
        }

    def totals(self) -> dict[str, Decimal]:
        """Period totals for the summary: what Gusto says, what F&O holds."""
        return {
            "gusto_gross_pay": sum((r.gusto_gross or ZERO for r in self.payrolls), ZERO),
            "gusto_journal_debit": sum((r.expected_debit or ZERO for r in self.payrolls), ZERO),
            "fo_journal_debit": sum((r.fo_debit for r in self.payrolls), ZERO),
            "ledger_debit": sum((r.ledger_debit for r in self.payrolls), ZERO),
            "contractor_payments": sum((r.gusto_amount for r in self.payments), ZERO),
            "contractor_invoices": sum((r.fo_amount or ZERO for r in self.payments), ZERO),
        }


# ---- comparison ------------------------------------------------------------------------------


def description_hash(description: str) -> str | None:
    """The content-hash prefix the connector stamps after '#' in a journal description."""
    for word in description.split():
        if word.startswith("#") and len(word) > 1:
            return word[1:]
    return None


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
        journal.debit != _dr(payroll.expected) or journal.credit != _cr(payroll.expected)
    ):
        return AMOUNT_DIFFERS, (
            f"{FIX_MAPPING} if the journal's accounts are wrong; otherwise reverse "
            f"{journal.batch_number} in F&O and {REPLAY}"
        )
    if not journal.posted:
        return NOT_POSTED, (
            f"{POST}: run General ledger > Post journals (journal {journal.batch_number})"
        )
    posted = ledger.get((journal.legal_entity, journal.batch_number.casefold()), [])
    if _ledger_sides(posted) != (journal.debit, journal.credit):
        return AMOUNT_DIFFERS, (
            f"the ledger entries of {journal.batch_number} differ from its lines: ask the F&O "
            "administrator to check the posting"
        )
    return POSTED, ""


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
    for journal in chain:
        posted = ledger.get((journal.legal_entity, journal.batch_number.casefold()), [])
        if _ledger_sides(posted) != (journal.debit, journal.credit):
            return AMOUNT_DIFFERS, (
                f"the ledger entries of {journal.batch_number} differ from its lines: ask the "
                "F&O administrator to check the posting"
            )
    return CORRECTED, ""


def _is_connector_journal(journal: FoJournal, prefixes: frozenset[str]) -> bool:
    prefix = journal.batch_number.split("-", 1)[0].upper()
    return prefix in prefixes or journal.description.startswith("Gusto payroll")


def _payroll_rows(inputs: Inputs) -> tuple[list[PayrollRow], list[FoJournal]]:
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
                expected_debit=_dr(payroll.expected) if payroll.expected else None,
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
        ledger_debit, ledger_credit = _ledger_sides(entries)
        of = correction_of(journal)
        rows.append(
            PayrollRow(
                company="",
                legal_entity=journal.legal_entity,
                check_date=journal.trans_date,
                payroll_type="",
                payroll_uuid="",
                batch_numbers=(journal.batch_number,),
                gusto_gross=None,
                gusto_net=None,
                gusto_employer_taxes=None,
                expected_debit=None,
                fo_debit=journal.debit,
                fo_credit=journal.credit,
                ledger_debit=ledger_debit,
                ledger_credit=ledger_credit,
                status=NO_GUSTO_PAYROLL,
                connector_says="",
                fix=(
                    f"{of[0].lower()} {of[1]} of journal {of[2]}, which is not in this period: "
                    f"see the report of {of[2]}'s period"
                    if of is not None
                    else f"find out who made {journal.batch_number}; reverse it in F&O if "
                    "nobody can"
                ),
            )
        )
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
    first = chain[0]
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
    fo_debit, fo_credit = _sides(net)
    ledger_debit, ledger_credit = _sides(ledger_net)
    return PayrollRow(
        company="",
        legal_entity=first.legal_entity,
        check_date=first.trans_date,
        payroll_type="",
        payroll_uuid="",
        batch_numbers=tuple(j.batch_number for j in chain),
        gusto_gross=None,
        gusto_net=None,
        gusto_employer_taxes=None,
        expected_debit=None,
        fo_debit=fo_debit,
        fo_credit=fo_credit,
        ledger_debit=ledger_debit,
        ledger_credit=ledger_credit,
        status=status,
        connector_says="",
        fix=fix,
    )


def _account_rows(inputs: Inputs, journals: list[FoJournal]) -> list[AccountRow]:
    gusto: dict[AccountKey, Decimal] = defaultdict(lambda: ZERO)
    booked: dict[AccountKey, Decimal] = defaultdict(lambda: ZERO)
    ledger: dict[AccountKey, Decimal] = defaultdict(lambda: ZERO)
    unposted: set[AccountKey] = set()
    for payroll in inputs.payrolls:
        for line in payroll.expected:
            gusto[line.account] += line.net
    numbers = {(j.legal_entity, j.batch_number.casefold()) for j in journals}
    for journal in journals:
        for line in journal.lines:
            booked[line.account] += line.net
            if not journal.posted:
                unposted.add(line.account)
    for entry in inputs.ledger:
        if (entry.legal_entity, entry.journal_number.casefold()) in numbers:
            ledger[entry.account] += entry.amount
    rows = []
    for key in set(gusto) | set(booked) | set(ledger):
        legal_entity, account, dims = key
        g, b, led = gusto[key], booked[key], ledger[key]
        if g == b == led == ZERO:
            continue
        fix = ""
        if b != g:
            fix = f"{FIX_MAPPING} or {REPLAY} (see the payrolls section)"
        elif led != b:
            fix = f"{POST}" if key in unposted else "see the payrolls section"
        rank = inputs.account_ranks.get(legal_entity, {}).get(account, 9)
        rows.append(AccountRow(legal_entity, account, dims, rank, g, b, led, fix))
    rows.sort(key=lambda r: (r.legal_entity, r.rank, r.main_account, r.dimensions))
    return rows


def _active(employments: Iterable[FoEmployment], period: Period) -> dict[tuple[str, str], bool]:
    out: dict[tuple[str, str], bool] = {}
    for e in employments:
        key = (e.legal_entity, e.personnel_number.casefold())
        overlaps = e.start <= period.end and (e.end is None or e.end >= period.start)
        out[key] = out.get(key, False) or overlaps
    return out


def _covers(line: tuple[str, ...], part: tuple[str, ...]) -> bool:
    """A wage line belongs to a department part when it carries every value the part sets
    (the location adds its own values, e.g. a cost center, that the department does not)."""
    return any(part) and all(
        not want or have == want for have, want in zip(line, part, strict=False)
    )


def _headcount(
    inputs: Inputs, journals: list[FoJournal]
) -> tuple[list[DepartmentRow], list[PersonRow]]:
    period = inputs.period
    people = {(p.legal_entity, p.employee_uuid): p for p in inputs.people}
    active = _active(inputs.employments, period)
    employments = {(e.legal_entity, e.personnel_number.casefold()) for e in inputs.employments}
    paid: dict[tuple[str, str], set[str]] = defaultdict(set)
    for payroll in inputs.payrolls:
        for employee, department in payroll.paid.items():
            paid[(payroll.legal_entity, department)].add(employee)
    wage_dims: dict[str, dict[tuple[str, ...], int]] = defaultdict(lambda: defaultdict(int))
    for journal in journals:
        wages = inputs.wage_accounts.get(journal.legal_entity, frozenset())
        for line in journal.lines:
            if line.account[1] in wages:
                wage_dims[journal.legal_entity][line.account[2]] += 1
    active_by_department: dict[tuple[str, str], int] = defaultdict(int)
    for person in inputs.people:
        if active.get((person.legal_entity, person.personnel_number.casefold())):
            active_by_department[(person.legal_entity, person.department)] += 1
    departments: list[DepartmentRow] = []
    keys = set(paid) | {k for k, n in active_by_department.items() if n}
    for legal_entity, department in sorted(keys):
        parts = inputs.department_dimensions.get(legal_entity, {}).get(department, ())
        lines = sum(
            n for dims, n in wage_dims[legal_entity].items() if any(_covers(dims, p) for p in parts)
        )
        count = len(paid.get((legal_entity, department), set()))
        fix = ""
        if count and not lines:
            fix = (
                f"no wage lines for this department's dimensions in the journals: {FIX_MAPPING} "
                f"(departments: {department!r}), then {REPLAY}"
                if parts
                else f"{FIX_MAPPING}: the department has no dimensions, then {REPLAY}"
            )
        departments.append(
            DepartmentRow(
                legal_entity,
                department or "(no department)",
                " / ".join("-".join(d) for d in parts),
                count,
                lines,
                active_by_department.get((legal_entity, department), 0),
                fix,
            )
        )
    rows: list[PersonRow] = []
    worker_fix = (
        f"{REPLAY}: run the pipeline so the employees stream creates the worker "
        "(target-dynamics-fo-audit workers shows why it did not)"
    )
    seen: set[tuple[str, str, str]] = set()

    def add(person: Person, event: str, day: date | None, in_fo: bool, fix: str) -> None:
        if (person.legal_entity, person.employee_uuid, event) in seen:
            return
        seen.add((person.legal_entity, person.employee_uuid, event))
        rows.append(
            PersonRow(
                person.legal_entity,
                event,
                day,
                person.name,
                person.department or "(no department)",
                person.personnel_number,
                in_fo,
                "" if in_fo else fix,
            )
        )

    for person in sorted(inputs.people, key=lambda p: (p.legal_entity, p.name)):
        key = (person.legal_entity, person.personnel_number.casefold())
        if person.hire_date in period:
            add(person, "hire", person.hire_date, key in employments, worker_fix)
        if person.termination_date in period:
            ended = any(
                e.end == person.termination_date
                for e in inputs.employments
                if (e.legal_entity, e.personnel_number.casefold()) == key
            )
            add(
                person,
                "termination",
                person.termination_date,
                ended,
                f"{REPLAY}: run the pipeline so the employment is ended on "
                f"{person.termination_date}",
            )
    for payroll in inputs.payrolls:
        for employee in payroll.paid:
            found_person = people.get((payroll.legal_entity, employee))
            if found_person is None:
                continue
            key = (found_person.legal_entity, found_person.personnel_number.casefold())
            if not active.get(key):
                add(found_person, "paid", payroll.check_date, False, worker_fix)
    rows.sort(key=lambda r: (r.legal_entity, r.event, r.day or period.start, r.name))
    return departments, rows


def _payment_rows(inputs: Inputs) -> list[PaymentRow]:
    invoices: dict[tuple[str, str], list[FoInvoice]] = defaultdict(list)
    for each in inputs.invoices:
        invoices[(each.legal_entity, each.batch_number.casefold())].append(each)
    rows = []
    for payment in sorted(inputs.payments, key=lambda p: (p.payment_date, p.contractor)):
        found = invoices.get((payment.legal_entity, payment.batch_number.casefold()), [])
        invoice: FoInvoice | None = found[0] if found else None
        if invoice is None:
            status = NO_INVOICE
            fix = (
                f"{FIX_MAPPING} ({payment.build_error}), then {REPLAY}"
                if payment.build_error
                else f"{REPLAY}: target-dynamics-fo-audit replay-payment {payment.payment_uuid} "
                "--config <target config>"
            )
        elif invoice.amount != payment.amount:
            status = INVOICE_DIFFERS
            fix = f"reverse invoice journal {invoice.batch_number} in F&O, then {REPLAY}"
        elif not invoice.posted:
            status = INVOICE_NOT_POSTED
            fix = f"{POST}: post invoice journal {invoice.batch_number}"
        else:
            status, fix = INVOICED, ""
        rows.append(
            PaymentRow(
                payment.legal_entity,
                payment.payment_date,
                payment.contractor,
                payment.payment_uuid,
                payment.batch_number,
                payment.amount,
                invoice.amount if invoice else None,
                status,
                fix,
            )
        )
    return rows


def reconcile(inputs: Inputs) -> Report:
    payrolls, journals = _payroll_rows(inputs)
    departments, people = _headcount(inputs, journals)
    return Report(
        period=inputs.period,
        dimension_names=inputs.dimension_names,
        payrolls=payrolls,
        accounts=_account_rows(inputs, journals),
        departments=departments,
        people=people,
        payments=_payment_rows(inputs),
    )
