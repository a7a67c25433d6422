"""Reading F&O for a reconciliation, read-only over OData (the target's ``ODataClient``).

Per legal entity: the headers and lines of the connector's own journal names (payroll journals,
contractor invoice journals), the posted ledger of the journals found, and the employments.
Nothing here writes to F&O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from target_dynamics_fo.fo import (
    MAIN_ACCOUNT_SEGMENT,
    ODataClient,
    ReferenceData,
    load_reference,
    odata_literal,
)
from target_dynamics_fo.ledger import split_display_value
from target_dynamics_fo.mapping import CompanyMapping

from gusto_dynamics.reconcile.model import (
    ZERO,
    AccountKey,
    FoEmployment,
    FoInvoice,
    FoJournal,
    LedgerEntry,
    Line,
    Period,
    iso_day,
)

# F&O's open-ended employment end date.
OPEN_END = "2154-12-31"


@dataclass(frozen=True)
class FoSide:
    """What F&O holds for the period, over every legal entity read."""

    dimension_names: tuple[str, ...]
    journals: list[FoJournal]
    ledger: list[LedgerEntry]
    invoices: list[FoInvoice]
    employments: list[FoEmployment]


def _range(name: str, period: Period) -> str:
    return (
        f"{name} ge {period.start.isoformat()}T00:00:00Z and "
        f"{name} le {period.end.isoformat()}T23:59:59Z"
    )


@dataclass(frozen=True)
class _EntityReader:
    """The reads of one legal entity (``dataAreaId``, lower case) over one period."""

    client: ODataClient
    ref: ReferenceData
    legal_entity: str
    period: Period

    @property
    def scoped(self) -> str:
        return f"dataAreaId eq {odata_literal(self.legal_entity)}"

    def account(self, display: str) -> AccountKey:
        parts = split_display_value(display, self.ref.delimiter)
        values = dict(zip(self.ref.ledger_segments, parts, strict=False))
        main = values.get(MAIN_ACCOUNT_SEGMENT, parts[0] if parts else "")
        return (
            self.legal_entity,
            main,
            tuple(values.get(s, "") for s in self.ref.dimension_segments),
        )

    def headers(self, entity_set: str, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Headers of the connector's journal names only, by batch number (case-folded)."""
        # F&O does not support ``in``: one ``eq`` per name.
        either = " or ".join(f"JournalName eq {odata_literal(n)}" for n in sorted(names))
        rows = self.client.get_all(
            entity_set, filter=f"{self.scoped} and ({either})", cross_company=True
        )
        return {str(h["JournalBatchNumber"]).casefold(): h for h in rows}

    def lines(self, entity_set: str, date_field: str) -> Iterator[dict[str, Any]]:
        """Journal lines of the period; the caller keeps those of the headers it read."""
        return self.client.iter_all(
            entity_set,
            filter=f"{self.scoped} and {_range(date_field, self.period)}",
            cross_company=True,
        )

    def journals(self, names: Iterable[str]) -> list[FoJournal]:
        headers = self.headers("LedgerJournalHeaders", names)
        lines: dict[str, list[Line]] = {}
        dates: dict[str, dt.date | None] = {}
        for row in self.lines("LedgerJournalLines", "TransDate"):
            number = str(row["JournalBatchNumber"]).casefold()
            if number not in headers:
                continue
            lines.setdefault(number, []).append(
                Line(
                    self.account(str(row.get("AccountDisplayValue") or "")),
                    Decimal(row.get("DebitAmount") or 0),
                    Decimal(row.get("CreditAmount") or 0),
                )
            )
            dates[number] = iso_day(row.get("TransDate"))
        return [
            FoJournal(
                self.legal_entity,
                str(headers[number]["JournalBatchNumber"]),
                str(headers[number].get("JournalName") or ""),
                str(headers[number].get("Description") or ""),
                str(headers[number].get("IsPosted")) == "Yes",
                tuple(journal_lines),
                dates.get(number),
            )
            for number, journal_lines in lines.items()
        ]

    def ledger(self, journals: Iterable[FoJournal]) -> list[LedgerEntry]:
        """The posted ledger of ``journals``: one small query per journal, never a month of
        the whole ledger."""
        entries = []
        for journal in journals:
            if not journal.posted:
                continue
            for row in self.client.iter_all(
                "GeneralJournalAccountEntries",
                filter=f"JournalNumber eq {odata_literal(journal.batch_number)}",
            ):
                if str(row.get("LedgerName") or "").lower() != self.legal_entity:
                    continue
                entries.append(
                    LedgerEntry(
                        self.legal_entity,
                        str(row["JournalNumber"]),
                        self.account(str(row.get("AccountDisplayValue") or "")),
                        Decimal(row.get("AccountingCurrencyAmount") or 0),
                    )
                )
        return entries

    def invoices(self, names: Iterable[str]) -> list[FoInvoice]:
        headers = self.headers("VendInvoiceJournalHeaders", names)
        owed: dict[str, Decimal] = {}
        for row in self.lines("VendInvoiceJournalLines", "Date"):
            number = str(row["JournalBatchNumber"]).casefold()
            if number in headers and str(row.get("AccountType")) == "Vend":
                owed[number] = (
                    owed.get(number, ZERO)
                    + Decimal(row.get("Credit") or 0)
                    - Decimal(row.get("Debit") or 0)
                )
        return [
            FoInvoice(
                self.legal_entity,
                str(headers[number]["JournalBatchNumber"]),
                str(headers[number].get("IsPosted")) == "Yes",
                amount,
            )
            for number, amount in owed.items()
        ]

    def employments(self) -> list[FoEmployment]:
        found = []
        for row in self.client.iter_all(
            "Employments",
            filter=f"LegalEntityId eq {odata_literal(self.legal_entity)}",
            cross_company=True,
        ):
            start = iso_day(row.get("EmploymentStartDate"))
            end_text = str(row.get("EmploymentEndDate") or "")
            if start is None:
                continue
            found.append(
                FoEmployment(
                    self.legal_entity,
                    str(row.get("PersonnelNumber") or ""),
                    start,
                    None if end_text.startswith(OPEN_END) else iso_day(end_text),
                )
            )
        return found


def read_fo(client: ODataClient, companies: Iterable[CompanyMapping], period: Period) -> FoSide:
    companies = list(companies)
    ref = load_reference(client, [c.legal_entity for c in companies])
    side = FoSide(ref.dimension_segments, [], [], [], [])
    for legal_entity in sorted({c.legal_entity.lower() for c in companies}):
        reader = _EntityReader(client, ref, legal_entity, period)
        mine = [c for c in companies if c.legal_entity.lower() == legal_entity]
        journals = reader.journals({c.journal_name for c in mine})
        side.journals.extend(journals)
        side.ledger.extend(reader.ledger(journals))
        side.invoices.extend(reader.invoices({c.contractors.invoice_journal_name for c in mine}))
        side.employments.extend(reader.employments())
    return side
