"""Validation of general and vendor invoice journals (headers and lines): journal names,
open fiscal periods, accounts, amounts, vouchers, and the header totals a line changes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .accounts import AccountChecks
from .core import ZERO
from .entities import ENTITY_DEFS
from .odata import format_decimal, write_error


class JournalRules(AccountChecks):
    def _journal_name(self, aot: str, row: dict[str, Any], expected_type: str) -> dict[str, Any]:
        """The journal name a journal header names, which must exist with the right type."""
        company = row["dataAreaId"]
        self._check_company(aot, company)
        self._require(aot, row, "JournalName")
        name = row["JournalName"]
        jn = self.store.get("JournalNames", {"dataAreaId": company, "Name": name})
        if jn is None:
            raise write_error(
                aot,
                f"Error: Journal name '{name}' does not exist in company '{company}'. "
                "Create it in General ledger > Journal setup > Journal names or use an existing "
                "one.",
            )
        if jn["Type"] != expected_type:
            raise write_error(
                aot,
                f"Error: Journal name '{name}' is of type '{jn['Type']}'; this entity needs a "
                f"journal name of type '{expected_type}'.",
            )
        return jn

    def _validate_LedgerJournalHeaders(  # noqa: N802
        self, row: dict[str, Any], old: dict[str, Any] | None, given: dict[str, Any]
    ) -> None:
        aot = ENTITY_DEFS["LedgerJournalHeaders"].aot_name
        jn = self._journal_name(aot, row, "Daily")
        if old is None:
            if row["IsPosted"] == "Yes":
                raise write_error(aot, "Error: A journal cannot be created as posted.")
            if "Description" not in given:
                row["Description"] = jn["Description"]
            if "PostingLayer" not in given:
                row["PostingLayer"] = jn["PostingLayer"]
        else:
            _refuse_posted(aot, old)
            if given.get("IsPosted") == "Yes":
                raise write_error(
                    aot, "Error: IsPosted is set by posting the journal, not by an update."
                )
            for total in ("JournalTotalDebit", "JournalTotalCredit"):
                row[total] = old[total]
        if old is None:
            row["JournalTotalDebit"] = ZERO
            row["JournalTotalCredit"] = ZERO

    def _validate_LedgerJournalLines(  # noqa: N802
        self, row: dict[str, Any], old: dict[str, Any] | None, given: dict[str, Any]
    ) -> None:
        aot = ENTITY_DEFS["LedgerJournalLines"].aot_name
        company = row["dataAreaId"]
        header = self._open_journal_line(aot, "LedgerJournalLines", "LedgerJournalHeaders", row)
        self._require(aot, row, "CurrencyCode", "AccountDisplayValue")
        self._line_date(aot, row, "TransDate")
        self.check_period_open(aot, company, row["TransDate"])
        self._check_currency(aot, row["CurrencyCode"], "CurrencyCode")
        self._check_amounts(aot, row, "DebitAmount", "CreditAmount")
        self.check_account(
            aot, company, row["AccountType"], row["AccountDisplayValue"], "AccountDisplayValue"
        )
        if row["AccountType"] != "Ledger":
            self.check_default_dimensions(
                aot, company, "DefaultDimensionDisplayValue", row["DefaultDimensionDisplayValue"]
            )
        if self._check_offset_account(aot, company, row) and row["OffsetAccountType"] != "Ledger":
            self.check_default_dimensions(
                aot,
                company,
                "OffsetDefaultDimensionDisplayValue",
                row["OffsetDefaultDimensionDisplayValue"],
            )
        if not row["Voucher"]:
            row["Voucher"] = self._voucher_for(header, row)
        row["JournalNum"] = header["JournalBatchNumber"]
        row["AmountCUR"] = row["DebitAmount"] - row["CreditAmount"]

    def _open_journal_line(
        self, aot: str, line_set: str, header_set: str, row: dict[str, Any]
    ) -> dict[str, Any]:
        """The header a new or changed journal line belongs to, which must exist unposted."""
        company = row["dataAreaId"]
        self._check_company(aot, company)
        self._require(aot, row, "JournalBatchNumber")
        header = self._header_for(line_set, row)
        if header is None:
            raise write_error(
                aot,
                f"Error: Journal batch number '{row['JournalBatchNumber']}' does not exist in "
                f"company '{company}'. Create the {header_set} record first.",
            )
        _refuse_posted(aot, header)
        row["JournalBatchNumber"] = header["JournalBatchNumber"]
        return header

    def _check_offset_account(self, aot: str, company: str, row: dict[str, Any]) -> bool:
        """Check the line's offset account if it has one; whether it has."""
        if not row["OffsetAccountDisplayValue"]:
            return False
        self.check_account(
            aot,
            company,
            row["OffsetAccountType"],
            row["OffsetAccountDisplayValue"],
            "OffsetAccountDisplayValue",
        )
        return True

    @staticmethod
    def _line_date(aot: str, row: dict[str, Any], field_name: str) -> None:
        # F&O stores a line date at noon UTC; its empty date is 1900-01-01.
        if row[field_name] == "1900-01-01T12:00:00Z":
            raise write_error(aot, f"Error: Field '{field_name}' must be filled in.")
        row[field_name] = row[field_name][:10] + "T12:00:00Z"

    @staticmethod
    def _check_amounts(aot: str, row: dict[str, Any], debit: str, credit: str) -> None:
        if row[debit] != ZERO and row[credit] != ZERO:
            raise write_error(
                aot,
                f"Error: A line cannot have both a debit ({format_decimal(row[debit])}) and a "
                f"credit ({format_decimal(row[credit])}) amount. Split it into two lines.",
            )

    def _voucher_for(self, header: dict[str, Any], row: dict[str, Any]) -> str:
        """New voucher "in connection with balance": reuse the journal's open voucher."""
        open_voucher = self._open_voucher(header, row)
        if open_voucher is not None:
            voucher, trans_date, balance = open_voucher
            if balance != ZERO and trans_date == row["TransDate"]:
                return voucher
        jn = self.store.get(
            "JournalNames", {"dataAreaId": header["dataAreaId"], "Name": header["JournalName"]}
        )
        series = jn["VoucherSeriesCode"] if jn else "GNJL"
        with self._seq_lock:
            n = self._seq.next(f"voucher:{header['dataAreaId']}:{series}", 0)
        return f"{series}{n:06d}"

    def _open_voucher(
        self, header: dict[str, Any], row: dict[str, Any]
    ) -> tuple[str, str, Decimal] | None:
        """(voucher, date, balance) of the voucher of the line before ``row``."""
        company, jbn = header["dataAreaId"], str(header["JournalBatchNumber"])
        previous = self.store.get(
            "LedgerJournalLines",
            {"dataAreaId": company, "JournalBatchNumber": jbn, "LineNumber": row["LineNumber"] - 1},
        )
        if previous is None:
            # Gaps or fractional line numbers: fall back to the highest line below this one.
            earlier = [
                r
                for r in self._lines_of("LedgerJournalLines", header)
                if r["LineNumber"] < row["LineNumber"]
            ]
            if not earlier:
                return None
            previous = max(earlier, key=_line_number)
        voucher = str(previous["Voucher"])
        return voucher, previous["TransDate"], self.store.voucher_balance(company, jbn, voucher)

    def _validate_VendInvoiceJournalHeaders(  # noqa: N802
        self, row: dict[str, Any], old: dict[str, Any] | None, given: dict[str, Any]
    ) -> None:
        aot = ENTITY_DEFS["VendInvoiceJournalHeaders"].aot_name
        jn = self._journal_name(aot, row, "VendInvoiceRegister")
        if old is None and "Description" not in given:
            row["Description"] = jn["Description"]
        if old is not None:
            _refuse_posted(aot, old)

    def _validate_VendInvoiceJournalLines(  # noqa: N802
        self, row: dict[str, Any], old: dict[str, Any] | None, given: dict[str, Any]
    ) -> None:
        aot = ENTITY_DEFS["VendInvoiceJournalLines"].aot_name
        company = row["dataAreaId"]
        self._open_journal_line(aot, "VendInvoiceJournalLines", "VendInvoiceJournalHeaders", row)
        self._require(aot, row, "Currency", "AccountDisplayValue")
        self._line_date(aot, row, "Date")
        self._check_currency(aot, row["Currency"], "Currency")
        self._check_amounts(aot, row, "Debit", "Credit")
        if row["AccountType"] != "Vend":
            raise write_error(
                aot,
                "Error: AccountType must be 'Vend' on a vendor invoice journal line, not "
                f"'{row['AccountType']}'.",
            )
        self.check_account(aot, company, "Vend", row["AccountDisplayValue"], "AccountDisplayValue")
        self.check_default_dimensions(
            aot, company, "DefaultDimensionDisplayValue", row["DefaultDimensionDisplayValue"]
        )
        self._check_offset_account(aot, company, row)
        if not row["Voucher"]:
            with self._seq_lock:
                n = self._seq.next(f"voucher:{company}:APIN", 0)
            row["Voucher"] = f"APIN{n:06d}"

    def _update_journal_totals(
        self, set_name: str, new: dict[str, Any] | None, old: dict[str, Any] | None
    ) -> None:
        row = new if new is not None else old
        assert row is not None
        header = self._header_for(set_name, row)
        if header is None:
            return
        if old is None and new is not None:
            # Inserts are the hot path (thousands per payroll): add instead of re-summing.
            debit = header["JournalTotalDebit"] + new["DebitAmount"]
            credit = header["JournalTotalCredit"] + new["CreditAmount"]
        else:
            lines = self._lines_of(set_name, header)
            debit = sum((r["DebitAmount"] for r in lines), ZERO)
            credit = sum((r["CreditAmount"] for r in lines), ZERO)
        self.store.put(
            "LedgerJournalHeaders",
            {**header, "JournalTotalDebit": debit, "JournalTotalCredit": credit},
        )


def _line_number(row: dict[str, Any]) -> Decimal:
    number: Decimal = row["LineNumber"]
    return number


def _refuse_posted(aot: str, journal: dict[str, Any]) -> None:
    if journal["IsPosted"] == "Yes":
        raise write_error(
            aot,
            f"Error: Journal {journal['JournalBatchNumber']} has been posted and cannot be "
            "changed.",
        )
