"""The ledger's set-up as the integration sees it: dimension formats and delimiter, account
structures, fiscal period status, and the admin switches that change them for bad-input tests."""

from __future__ import annotations

import re
from typing import Any

from . import seed
from .core import ServiceCore
from .entities import ENTITY_DEFS
from .odata import write_error

# F&O's DimensionSegmentDelimiter enum: each single delimiter and its doubled form.
_SINGLE_DELIMITERS = {"Hyphen": "-", "Period": ".", "Underscore": "_", "Bar": "|", "Tilde": "~"}
DELIMITERS = {
    **_SINGLE_DELIMITERS,
    **{f"Double{name}": char * 2 for name, char in _SINGLE_DELIMITERS.items()},
}
LEDGER_FORMAT_TYPE = "DataEntityLedgerDimensionFormat"
DEFAULT_FORMAT_TYPE = "DataEntityDefaultDimensionFormat"


class LedgerSetup(ServiceCore):
    def delimiter(self) -> str:
        rows = self.store.rows("DimensionParameters")
        name = rows[0]["DimensionSegmentDelimiter"] if rows else "Hyphen"
        return DELIMITERS[name]

    def active_format(self, format_type: str) -> list[str] | None:
        for row in self.store.rows("DimensionIntegrationFormats"):
            if row["DimensionFormatType"] == format_type and row["IsActive"] == "Yes":
                return [s for s in re.split(r"[-._|~]+", row["FinancialDimensionFormat"]) if s]
        return None

    def configure(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Admin switch for bad-input tests: change/deactivate formats, delimiter, paging."""
        with self.store.lock:
            if "delimiter" in settings:
                value = str(settings["delimiter"])
                name = next((n for n, ch in DELIMITERS.items() if value in (n, ch)), None)
                if name is None:
                    raise ValueError(f"unknown delimiter {value!r}; use one of {list(DELIMITERS)}")
                self.store.put("DimensionParameters", {"Key": 0, "DimensionSegmentDelimiter": name})
            for key, ftype in (
                ("ledger_format", LEDGER_FORMAT_TYPE),
                ("default_format", DEFAULT_FORMAT_TYPE),
            ):
                if key in settings:
                    self._set_format(ftype, settings[key])
            if "page_size" in settings:
                self.page_size = int(settings["page_size"])
            if "default_company" in settings:
                self.default_company = str(settings["default_company"]).lower()
            # [{"company": "rsc", "period": "2026-10", "status": "Closed"}, ...]
            for item in settings.get("period_status") or []:
                self.set_period_status(
                    str(item["company"]), str(item["period"]), str(item["status"])
                )
            if "account_structures" in settings:
                self._set_account_structures(settings["account_structures"] or [])
        return self.config_info()

    def _set_account_structures(self, rules: list[dict[str, Any]]) -> None:
        """Replace the required-dimension rules: [{structure?, from, to, required: [...]}]."""
        entity = ENTITY_DEFS["AccountStructureRequirements"]
        for row in list(self.store.rows(entity.set_name)):
            self.store.delete(entity.set_name, {k: row[k] for k in entity.keys})
        for position, rule in enumerate(rules, start=1):
            required = rule.get("required") or []
            unknown = [d for d in required if d not in seed.DIMENSIONS]
            if unknown:
                raise ValueError(f"unknown dimension(s) {unknown}; use {list(seed.DIMENSIONS)}")
            partial = {
                "AccountStructure": str(rule.get("structure") or seed.ACCOUNT_STRUCTURE),
                "Position": position,
                "MainAccountFrom": str(rule["from"]),
                "MainAccountTo": str(rule["to"]),
                "RequiredDimensions": ",".join(required),
            }
            self.store.put(entity.set_name, self.complete_row(entity, partial))

    def required_dimensions(self, company: str, main_account: str) -> dict[str, str]:
        """Dimension -> account structure that requires it, for this company's main account."""
        ledger = self.store.get("Ledgers", {"LegalEntityId": company})
        structures = {ledger["AccountStructureName1"]} if ledger else set()
        required: dict[str, str] = {}
        for row in self.store.rows("AccountStructureRequirements"):
            if (
                row["AccountStructure"] in structures
                and row["IsActive"] == "Yes"
                and row["MainAccountFrom"] <= main_account <= row["MainAccountTo"]
            ):
                for dim in filter(None, row["RequiredDimensions"].split(",")):
                    required.setdefault(dim, row["AccountStructure"])
        return required

    def _set_format(self, ftype: str, value: Any) -> None:
        """``None``/``""`` deactivates the format; a list or string of segments activates it."""
        for row in self.store.rows("DimensionIntegrationFormats"):
            if row["DimensionFormatType"] == ftype and row["IsActive"] == "Yes":
                self.store.put("DimensionIntegrationFormats", {**row, "IsActive": "No"})
        if not value:
            return
        segments = value if isinstance(value, list) else re.split(r"[-._|~]+", str(value))
        name = (
            "Ledger dimension format" if ftype == LEDGER_FORMAT_TYPE else "Default dimension format"
        )
        row = {
            "DimensionFormatName": f"{name} ({'-'.join(segments)})",
            "DimensionFormatType": ftype,
            "FinancialDimensionFormat": "-".join(segments),
            "IsActive": "Yes",
        }
        self.store.put("DimensionIntegrationFormats", row)

    def config_info(self) -> dict[str, Any]:
        return {
            "default_company": self.default_company,
            "page_size": self.page_size,
            "delimiter": self.delimiter(),
            "ledger_format": self.active_format(LEDGER_FORMAT_TYPE),
            "default_format": self.active_format(DEFAULT_FORMAT_TYPE),
            "period_status": [
                {
                    "company": r["dataAreaId"],
                    "period": r["StartDate"][:7],
                    "status": r["PeriodStatus"],
                }
                for r in self.store.rows("LedgerFiscalPeriods")
                if r["PeriodStatus"] != "Open"
            ],
            "account_structures": [
                {
                    "structure": r["AccountStructure"],
                    "from": r["MainAccountFrom"],
                    "to": r["MainAccountTo"],
                    "required": [d for d in r["RequiredDimensions"].split(",") if d],
                }
                for r in self.store.rows("AccountStructureRequirements")
            ],
        }

    def split_display_value(self, value: str) -> list[str]:
        """Split on the delimiter; a backslash escapes a delimiter inside an account key."""
        delim = self.delimiter()
        # Escaped delimiters stand aside as NUL (never part of an account key) while splitting.
        hidden = value.replace("\\" + delim, "\0")
        return [part.replace("\0", delim) for part in hidden.split(delim)]

    def check_period_open(self, aot: str, company: str, day: str) -> None:
        """Strictest reading of "posting needs an open fiscal period": a date that no period
        of the legal entity's ledger covers, or whose period is on hold or closed, is refused
        when the line is written and again when the journal is posted."""
        when = day[:10]
        periods = [
            r
            for r in self.store.rows("LedgerFiscalPeriods")
            if r["dataAreaId"] == company.lower()
            and r["StartDate"][:10] <= when <= r["EndDate"][:10]
        ]
        shown = f"{when[5:7]}/{when[8:10]}/{when[:4]}"
        if not periods:
            raise write_error(
                aot,
                f"Error: No fiscal period of the ledger of company '{company}' covers the date "
                f"{shown}.",
            )
        for period in periods:
            if period["PeriodStatus"] != "Open":
                status = "on hold" if period["PeriodStatus"] == "OnHold" else "closed"
                raise write_error(
                    aot,
                    f"Error: The period {period['PeriodName']} {period['FiscalYear']} of fiscal "
                    f"calendar {period['FiscalCalendar']} for the date {shown} is {status} in "
                    f"company '{company}'. Transactions cannot be entered in a period that is "
                    "not open.",
                )

    def set_period_status(self, company: str, month: str, status: str) -> None:
        """Admin: status of the period holding ``month`` (YYYY-MM) of a legal entity."""
        if status not in ("Open", "OnHold", "Closed"):
            raise ValueError(f"period status {status!r} must be Open, OnHold or Closed")
        found = [
            r
            for r in self.store.rows("LedgerFiscalPeriods")
            if r["dataAreaId"] == company.lower() and r["StartDate"][:7] == month
        ]
        if not found:
            raise ValueError(f"company {company!r} has no fiscal period starting in {month}")
        for row in found:
            self.store.put("LedgerFiscalPeriods", {**row, "PeriodStatus": status})
