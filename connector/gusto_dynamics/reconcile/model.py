"""The reconciliation's data: what ``sources`` reads from both systems, the rows of the report.

Money is ``Decimal`` throughout; a row agrees only when it agrees to the cent. Statuses and
fixes are worded as a controller reads them; ``payrolls`` and ``logic`` decide which applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

__all__ = [
    "AGREED",
    "AMOUNT_DIFFERS",
    "CANCELLED_REVERSED",
    "CHANGED_IN_GUSTO",
    "CORRECTED",
    "CORRECTION_PENDING",
    "FIX_MAPPING",
    "INVOICED",
    "INVOICE_DIFFERS",
    "INVOICE_NOT_POSTED",
    "MISSING",
    "NOT_POSTED",
    "NO_GUSTO_PAYROLL",
    "NO_INVOICE",
    "POST",
    "POSTED",
    "POSTED_TWICE",
    "REPLAY",
    "STAGED_OUTCOMES",
    "UNBUILDABLE",
    "ZERO",
    "AccountKey",
    "AccountRow",
    "AuditOutcome",
    "DepartmentRow",
    "FoEmployment",
    "FoInvoice",
    "FoJournal",
    "GustoPayment",
    "GustoPayroll",
    "Inputs",
    "LedgerEntry",
    "Line",
    "PaymentRow",
    "PayrollRow",
    "Period",
    "Person",
    "PersonRow",
    "Report",
    "credit_total",
    "debit_total",
    "description_hash",
    "iso_day",
]

# What a person does about a break, as the fixes word it.
REPLAY = "replay"
POST = "post the journal in F&O"
FIX_MAPPING = "fix the mapping"

ZERO = Decimal("0.00")

# Payroll statuses (section 1), worded as a controller reads them. These agree; a payroll
# changed or cancelled after its journal was posted is read as one chain: the original and its
# correction documents (target-dynamics-fo, docs/accounting.md "Corrections").
POSTED = "in F&O and posted"
CORRECTED = "corrected in F&O and posted"
CANCELLED_REVERSED = "cancelled in Gusto, reversed in F&O"
AGREED = (POSTED, CORRECTED, CANCELLED_REVERSED)
# Every other status is a break someone acts on: in F&O ...
NOT_POSTED = "in F&O, not yet posted"
POSTED_TWICE = "posted twice"
AMOUNT_DIFFERS = "amount differs"
NO_GUSTO_PAYROLL = "no Gusto payroll behind it"
# ... or on Gusto's side. What the connector's audit trail says while a correction waits for a
# person (or a run):
STAGED_OUTCOMES = ("correction_staged", "correction_approved")
MISSING = "missing"
UNBUILDABLE = "cannot be built with the current mapping"
CHANGED_IN_GUSTO = "changed in Gusto after posting"
CORRECTION_PENDING = "correction pending approval"


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


def iso_day(value: object) -> date | None:
    """The day an ISO date or date-time string starts with; ``None`` when it is not one."""
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def description_hash(description: str) -> str | None:
    """The content-hash prefix the connector stamps after '#' in a journal description."""
    for word in description.split():
        if word.startswith("#") and len(word) > 1:
            return word[1:]
    return None


def debit_total(lines: Iterable[Line]) -> Decimal:
    return sum((x.debit for x in lines), ZERO)


def credit_total(lines: Iterable[Line]) -> Decimal:
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
        return debit_total(self.lines)

    @property
    def credit(self) -> Decimal:
        return credit_total(self.lines)


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
        return self.fix != ""


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


# Contractor payment statuses (section 4).
INVOICED = "invoiced and posted"
INVOICE_NOT_POSTED = "invoiced, not yet posted"
NO_INVOICE = "no invoice"
INVOICE_DIFFERS = "invoice amount differs"


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
