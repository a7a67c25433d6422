"""What a journal is: lines, totals, the errors that refuse one, and the limits F&O sets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol

from target_dynamics_fo.ledger.money import ZERO

TEXT_LIMIT = 60
BATCH_NUMBER_LIMIT = 20
HOURS_PLACES = 3
REIMBURSEMENT_EARNING = "Reimbursement"
NO_AMOUNT = Decimal("0.00")  # the empty side of a line, at the same scale as amounts

# Totals the builder reconciles, with the side their difference would post to.
# "both" totals post a debit and an equal credit, so a difference in them cannot be
# parked on one side: it is reported (or refused) but never turned into a suspense line.
RECONCILED_TOTALS: dict[str, str] = {
    "gross_pay": "debit",
    "employer_taxes": "both",
    "benefits": "both",
    "reimbursements": "both",
    "employee_taxes": "credit",
    "employee_benefits_deductions": "credit",
    "other_deductions": "credit",
    "imputed_pay": "credit",
    "net_pay": "credit",
}


class ProblemsError(Exception):
    """Something is refused for every reason in `problems`, each with its fix, one per line.

    The message is ``<headline> (<n> problem(s)):`` followed by the list; the journal, invoice and
    reference-data errors all read this way, so a user sees one shape whichever refused.
    """

    def __init__(self, headline: str, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        listing = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{headline} ({len(self.problems)} problem(s)):\n{listing}")


class JournalError(ProblemsError, ValueError):
    """The payroll cannot be posted; `problems` lists every reason with its fix."""

    def __init__(self, payroll_uuid: str, problems: Iterable[str]) -> None:
        self.payroll_uuid = payroll_uuid
        super().__init__(f"payroll {payroll_uuid} was not posted", problems)


def wrong_company(document: str, company_uuid: str, mapping_company: str, owner: str) -> str | None:
    """The problem when a record's company is not the mapping entry's (else None)."""
    if company_uuid == mapping_company:
        return None
    return (
        f"{document}: company_uuid {company_uuid!r} does not match the mapping's company "
        f"{mapping_company}; use the mapping entry for the {owner}'s company"
    )


class DimensionFormatError(ValueError):
    """A dimension value cannot be written in the active F&O dimension format."""


@dataclass(frozen=True)
class EmployeeRef:
    uuid: str
    department_uuid: str | None
    department_title: str | None
    location_uuid: str | None


@dataclass(frozen=True)
class DimensionFormat:
    segments: tuple[str, ...]
    delimiter: str


@dataclass(frozen=True)
class JournalLine:
    line_number: int
    main_account: str
    dimensions: AbcMapping[str, str]
    debit: Decimal
    credit: Decimal
    text: str
    component: str


class _Amounts(Protocol):
    @property
    def debit(self) -> Decimal: ...

    @property
    def credit(self) -> Decimal: ...


class Balanced:
    """Debit and credit totals of a journal's lines (a GL journal or an AP invoice journal)."""

    lines: Sequence[_Amounts]

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)

    def balance_problems(self, what: str) -> list[str]:
        """The internal error to refuse with when debits and credits differ (else none).

        Unreachable by construction; checked because an unbalanced journal must never be posted.
        """
        if self.total_debit == self.total_credit:
            return []
        return [
            f"internal error: debits {self.total_debit} != credits {self.total_credit}; "
            f"report this {what} to the maintainers"
        ]


@dataclass(frozen=True)
class Journal(Balanced):
    company_uuid: str
    payroll_uuid: str
    legal_entity: str
    journal_name: str
    journal_batch_number: str
    currency: str
    trans_date: date
    description: str
    idempotency_key: str
    content_hash: str
    lines: tuple[JournalLine, ...]
    warnings: tuple[str, ...] = field(default=())


def signed_line(
    number: int,
    account: str,
    dims: Iterable[tuple[str, str]],
    amount: Decimal,
    *,
    text: str,
    component: str,
) -> JournalLine:
    """A line for a signed net amount: positive on the debit side, negative on the credit."""
    return JournalLine(
        line_number=number,
        main_account=account,
        dimensions=dict(dims),
        debit=amount if amount > 0 else NO_AMOUNT,
        credit=-amount if amount < 0 else NO_AMOUNT,
        text=text,
        component=component,
    )
