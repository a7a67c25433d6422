"""Journal posting: what F&O's "Post journals" batch job does, reduced to the ledger effect,
and the test hook that removes a journal as if it had never reached F&O."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import seed
from .core import ZERO
from .entities import ENTITY_DEFS
from .ledger_setup import LedgerSetup
from .odata import ODataError, format_decimal


class JournalPosting(LedgerSetup):
    def post_journal(self, company: str, batch_number: str) -> dict[str, Any]:
        """What F&O's "Post journals" batch job does, reduced to the ledger effect.

        Works for general journals and vendor invoice journals (whichever holds the number).
        """
        company = company.lower()
        key = {"dataAreaId": company, "JournalBatchNumber": batch_number}
        with self.store.transaction():
            header_set = "LedgerJournalHeaders"
            header = self.store.get(header_set, key)
            if header is None:
                header_set = "VendInvoiceJournalHeaders"
                header = self.store.get(header_set, key)
            if header is None:
                raise ODataError(
                    404, f"Journal {batch_number} does not exist in company {company}."
                )
            if header["IsPosted"] == "Yes":
                raise ODataError(409, f"Journal {batch_number} is already posted.")
            line_set = header_set.replace("Headers", "Lines")
            lines = [
                _posting_view(r, vendor=line_set == "VendInvoiceJournalLines")
                for r in sorted(
                    self._lines_of(line_set, header),
                    key=lambda r: r["LineNumber"],
                )
            ]
            if not lines:
                raise ODataError(400, f"Journal {batch_number} has no lines to post.")
            for line in lines:
                try:
                    self.check_period_open(header_set, company, line["TransDate"])
                except ODataError as exc:
                    raise ODataError(
                        400, f"Journal {batch_number} cannot be posted: {exc}"
                    ) from exc
            balances: dict[tuple[str, str], Decimal] = {}
            for line in lines:
                if not line["OffsetAccountDisplayValue"]:
                    k = (line["Voucher"], line["TransDate"])
                    balances[k] = balances.get(k, ZERO) + line["Amount"]
            unbalanced = {k: v for k, v in balances.items() if v != ZERO}
            if unbalanced:
                detail = "; ".join(
                    f"voucher {v} on {d[:10]} is out of balance by {format_decimal(b)}"
                    for (v, d), b in unbalanced.items()
                )
                raise ODataError(400, f"Journal {batch_number} cannot be posted: {detail}.")
            entries = 0
            for line in lines:
                amount = line["Amount"]
                self._ledger_entry(
                    header, line, line["AccountType"], line["AccountDisplayValue"], amount
                )
                entries += 1
                if line["OffsetAccountDisplayValue"]:
                    self._ledger_entry(
                        header,
                        line,
                        line["OffsetAccountType"],
                        line["OffsetAccountDisplayValue"],
                        -amount,
                    )
                    entries += 1
            self.store.put(header_set, {**header, "IsPosted": "Yes"})
            return {
                "dataAreaId": company,
                "JournalBatchNumber": header["JournalBatchNumber"],
                "IsPosted": "Yes",
                "entries": entries,
                "debit": format_decimal(sum((x["Amount"] for x in lines if x["Amount"] > 0), ZERO)),
                "credit": format_decimal(
                    -sum((x["Amount"] for x in lines if x["Amount"] < 0), ZERO)
                ),
            }

    def post_journals(self, company: str, journal_name: str | None = None) -> list[dict[str, Any]]:
        """One run of the recurring "Post journals" batch job with late selection: every
        unposted journal of the company (of ``journal_name`` if given), general journals and
        vendor invoice journals alike. A journal that cannot post stays unposted, as with
        F&O's "Transfer errors" off; its error is in the result."""
        company = company.lower()
        results: list[dict[str, Any]] = []
        for header_set in ("LedgerJournalHeaders", "VendInvoiceJournalHeaders"):
            for header in sorted(
                self.store.rows(header_set), key=lambda h: str(h["JournalBatchNumber"])
            ):
                if header["dataAreaId"] != company or header["IsPosted"] == "Yes":
                    continue
                if journal_name and str(header["JournalName"]).casefold() != (
                    journal_name.casefold()
                ):
                    continue
                try:
                    results.append(self.post_journal(company, str(header["JournalBatchNumber"])))
                except ODataError as err:
                    results.append(
                        {
                            "dataAreaId": company,
                            "JournalBatchNumber": header["JournalBatchNumber"],
                            "IsPosted": "No",
                            "error": err.message,
                        }
                    )
        return results

    def delete_journal(self, company: str, batch_number: str) -> dict[str, Any]:
        """Test hook, not an F&O feature: remove a journal, its lines and, if it was posted,
        its ledger entries, as if it had never reached F&O (posted journals cannot be deleted
        in F&O; a reconciliation must still notice a journal that is not there)."""
        company = company.lower()
        key = {"dataAreaId": company, "JournalBatchNumber": batch_number}
        with self.store.transaction():
            for header_set in ("LedgerJournalHeaders", "VendInvoiceJournalHeaders"):
                header = self.store.get(header_set, key)
                if header is None:
                    continue
                line_set = header_set.replace("Headers", "Lines")
                lines = self._lines_of(line_set, header)
                for line in lines:
                    self.store.delete(line_set, line)
                entries = [
                    e
                    for e in self.store.rows("GeneralJournalAccountEntries")
                    if e["LedgerName"] == company
                    and str(e["JournalNumber"]).casefold() == batch_number.casefold()
                ]
                for entry in entries:
                    self.store.delete("GeneralJournalAccountEntries", entry)
                self.store.delete(header_set, header)
                return {
                    "dataAreaId": company,
                    "JournalBatchNumber": header["JournalBatchNumber"],
                    "deleted_lines": len(lines),
                    "deleted_ledger_entries": len(entries),
                }
        raise ODataError(404, f"Journal {batch_number} does not exist in company {company}.")

    def _ledger_entry(
        self,
        header: dict[str, Any],
        line: dict[str, Any],
        acc_type: str,
        display: str,
        amount: Decimal,
    ) -> None:
        if acc_type == "Ledger":
            main = self.split_display_value(display)[0]
            ledger_account = display
        else:
            main = seed.VENDOR_SUMMARY_ACCOUNT if acc_type == "Vend" else seed.BANK_LEDGER_ACCOUNT
            ledger_account = main
        entity = ENTITY_DEFS["GeneralJournalAccountEntries"]
        row = self.complete_row(
            entity,
            {
                "GeneralJournalAccountEntryRecId": self.store.next_recid(),
                "JournalNumber": header["JournalBatchNumber"],
                "Voucher": line["Voucher"],
                "AccountingDate": line["TransDate"],
                "PostingLayer": header.get("PostingLayer") or "Current",
                "LedgerAccount": ledger_account,
                "AccountDisplayValue": display,
                "MainAccount": main,
                "TransactionCurrencyCode": line["Currency"],
                "TransactionCurrencyAmount": amount,
                "TransactionCurrencyDebitAmount": amount if amount > 0 else ZERO,
                "TransactionCurrencyCreditAmount": -amount if amount < 0 else ZERO,
                "AccountingCurrencyAmount": amount,
                "ReportingCurrencyAmount": amount,
                "Description": line["Text"],
                "PostingType": "LedgerJournal",
                "JournalCategory": line["JournalCategory"],
                "IsCredit": "Yes" if amount < 0 else "No",
                "IsCorrection": "No",
                "DocumentDate": line["DocumentDate"],
                "DocumentNumber": line["Document"],
                "LedgerName": header["dataAreaId"],
            },
        )
        self.store.put("GeneralJournalAccountEntries", row)


def _posting_view(line: dict[str, Any], *, vendor: bool) -> dict[str, Any]:
    """General and vendor-invoice journal lines name the same things differently."""
    debit, credit = (
        (line["Debit"], line["Credit"]) if vendor else (line["DebitAmount"], line["CreditAmount"])
    )
    return {
        "Voucher": line["Voucher"],
        "TransDate": line["Date"] if vendor else line["TransDate"],
        "Amount": debit - credit,
        "Currency": line["Currency"] if vendor else line["CurrencyCode"],
        "Text": line["Description"] if vendor else line["Text"],
        "AccountType": line["AccountType"],
        "AccountDisplayValue": line["AccountDisplayValue"],
        "OffsetAccountType": line["OffsetAccountType"],
        "OffsetAccountDisplayValue": line["OffsetAccountDisplayValue"],
        "Document": line["Document"],
        "DocumentDate": line["InvoiceDate"] if vendor else line["DocumentDate"],
        "JournalCategory": "VendInvoiceRegister" if vendor else "Daily",
    }
