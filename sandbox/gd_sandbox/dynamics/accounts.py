"""Account checks of journal lines: ledger accounts with their dimension segments, default
dimensions, vendor and bank accounts, currencies."""

from __future__ import annotations

from . import seed
from .ledger_setup import DEFAULT_FORMAT_TYPE, LEDGER_FORMAT_TYPE, LedgerSetup
from .odata import write_error


class AccountChecks(LedgerSetup):
    def _check_dimensions(  # noqa: PLR0917
        self,
        aot: str,
        company: str,
        field_name: str,
        display: str,
        dims: list[str],
        segments: list[str],
    ) -> dict[str, str]:
        resolved: dict[str, str] = {}
        for dim, value in zip(dims, segments + [""] * (len(dims) - len(segments)), strict=False):
            resolved[dim] = value
            if not value:
                continue
            found = None
            for r in self.store.rows("FinancialDimensionValues"):
                if (
                    r["FinancialDimension"] == dim
                    and r["DimensionValue"].casefold() == value.casefold()
                    and r["LegalEntityId"] in ("", company)
                ):
                    found = r
                    break
            if found is None:
                raise write_error(
                    aot,
                    f"Error: Value '{value}' for financial dimension '{dim}' does not exist "
                    f"({field_name} '{display}').",
                    f"Error: Invalid value in {field_name}.",
                )
            if found["IsSuspended"] == "Yes":
                raise write_error(
                    aot,
                    f"Error: Value '{value}' for financial dimension '{dim}' is suspended "
                    f"({field_name} '{display}').",
                )
        return resolved

    def check_ledger_account(
        self, aot: str, company: str, field_name: str, display: str
    ) -> dict[str, str]:
        fmt = self.active_format(LEDGER_FORMAT_TYPE)
        if fmt is None:
            raise write_error(aot, "Error: No active format for data entities has been set up.")
        segments = self.split_display_value(display)[: len(fmt)]
        main = segments[0] if segments else ""
        if not main:
            raise write_error(
                aot, f"Error: The main account is missing in {field_name} '{display}'."
            )
        ledger = self.store.get("Ledgers", {"LegalEntityId": company})
        chart = ledger["ChartOfAccounts"] if ledger else seed.CHART
        account = self.store.get("MainAccounts", {"ChartOfAccounts": chart, "MainAccountId": main})
        if account is None:
            raise write_error(
                aot,
                f"Error: Main account '{main}' does not exist in chart of accounts '{chart}' "
                f"({field_name} '{display}').",
                f"Error: Invalid value in {field_name}.",
            )
        if account["IsSuspended"] == "Yes":
            raise write_error(
                aot, f"Error: Main account '{main}' is suspended ({field_name} '{display}')."
            )
        if account["DoNotAllowManualEntry"] == "Yes":
            raise write_error(
                aot,
                f"Error: Main account '{main}' does not allow manual entry "
                f"({field_name} '{display}').",
            )
        resolved = {"MainAccount": main}
        resolved.update(
            self._check_dimensions(aot, company, field_name, display, fmt[1:], segments[1:])
        )
        for dim, structure in self.required_dimensions(company, main).items():
            if not resolved.get(dim):
                # F&O's own text names only the combination; the second line is the reason.
                raise write_error(
                    aot,
                    f"Error: Invalid value in {field_name}: '{display}'.",
                    f"Error: Account structure '{structure}' requires a value for financial "
                    f"dimension '{dim}' on main account '{main}'.",
                )
        return resolved

    def check_default_dimensions(
        self, aot: str, company: str, field_name: str, display: str
    ) -> None:
        if not display:
            return
        fmt = self.active_format(DEFAULT_FORMAT_TYPE)
        if fmt is None:
            raise write_error(aot, "Error: No active format for data entities has been set up.")
        segments = self.split_display_value(display)[: len(fmt)]
        self._check_dimensions(aot, company, field_name, display, fmt, segments)

    def check_account(
        self, aot: str, company: str, acc_type: str, display: str, field_name: str
    ) -> None:
        if acc_type == "Ledger":
            self.check_ledger_account(aot, company, field_name, display)
        elif acc_type == "Vend":
            key = display.replace("\\" + self.delimiter(), self.delimiter())
            if (
                self.store.get("VendorsV2", {"dataAreaId": company, "VendorAccountNumber": key})
                is None
            ):
                raise write_error(
                    aot,
                    f"Error: Vendor account '{key}' does not exist in company '{company}' "
                    f"({field_name}).",
                )
        elif acc_type == "Bank":
            if display not in seed.BANK_ACCOUNTS:
                raise write_error(
                    aot,
                    f"Error: Bank account '{display}' does not exist in company '{company}' "
                    f"({field_name}). Known bank accounts: "
                    f"{', '.join(sorted(seed.BANK_ACCOUNTS))}.",
                )
        else:
            raise write_error(
                aot,
                f"Error: Account type '{acc_type}' is not supported by this sandbox "
                f"({field_name}); use Ledger, Vend or Bank.",
            )

    def _check_currency(self, aot: str, code: str, field_name: str) -> None:
        if self.store.get("Currencies", {"CurrencyCode": code}) is None:
            raise write_error(aot, f"Error: Currency '{code}' ({field_name}) does not exist.")
