"""F&O business behaviour: company scoping, number sequences, validation, journal posting."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import seed
from .entities import ENTITY_DEFS, MAX_DATE, NAMESPACE, EntityDef
from .odata import (
    ODataError,
    coerce_value,
    compile_filter,
    format_decimal,
    key_predicate,
    order_rows,
    project,
    select_fields,
    write_error,
)
from .store import Store

DELIMITERS = {
    "Hyphen": "-",
    "Period": ".",
    "Underscore": "_",
    "Bar": "|",
    "Tilde": "~",
    "DoubleHyphen": "--",
    "DoublePeriod": "..",
    "DoubleUnderscore": "__",
    "DoubleBar": "||",
    "DoubleTilde": "~~",
}
LEDGER_FORMAT_TYPE = "DataEntityLedgerDimensionFormat"
DEFAULT_FORMAT_TYPE = "DataEntityDefaultDimensionFormat"
_ZERO = Decimal(0)
_QUERY_OPTIONS = {"$filter", "$select", "$top", "$skip", "$count", "$orderby", "$format"}


@dataclass
class _Sequences:
    counters: dict[str, int] = field(default_factory=dict)

    def next(self, name: str, start: int) -> int:
        value = self.counters.get(name, start) + 1
        self.counters[name] = value
        return value


@dataclass
class QueryResult:
    rows: list[dict[str, Any]]
    count: int | None
    next_skip: int | None
    next_top: int | None


class FnoService:
    def __init__(self, store: Store, *, page_size: int = 10000) -> None:
        self.store = store
        self.page_size = page_size
        self.default_company = seed.DEFAULT_COMPANY
        self._seq = _Sequences()
        self._seq_lock = threading.Lock()
        self._defaults: dict[str, dict[str, Any]] = {}
        self.reseed()

    # ---------------------------------------------------------------- seed / config

    def reseed(self) -> None:
        with self.store.lock:
            self.store.clear()
            self._seq = _Sequences()
            for set_name, rows in seed.seed_rows().items():
                entity = ENTITY_DEFS[set_name]
                for partial in rows:
                    self.store.put(set_name, self.complete_row(entity, partial))

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

    # ---------------------------------------------------------------- rows

    def complete_row(
        self, entity: EntityDef, partial: dict[str, Any], *, coerced: bool = False
    ) -> dict[str, Any]:
        defaults = self._defaults.get(entity.set_name)
        if defaults is None:
            defaults = {name: entity.default_for(name) for name in entity.fields}
            self._defaults[entity.set_name] = defaults
        row = dict(defaults)
        for name, value in partial.items():
            if value is not None:
                row[name] = value if coerced else coerce_value(entity, name, value)
        if entity.company_scoped:
            row["dataAreaId"] = str(row["dataAreaId"] or self.default_company).lower()
        return row

    def parse_body(
        self, entity: EntityDef, body: Any, *, quoted_decimals: bool = False
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ODataError(400, "The request body must be a JSON object.")
        values: dict[str, Any] = {}
        for name, value in body.items():
            if name.startswith("@odata."):
                continue
            if name not in entity.fields:
                raise ODataError(
                    400,
                    f"The property '{name}' does not exist on type "
                    f"'{NAMESPACE}.{entity.type_name}'. Make sure to only use property names "
                    "that are defined by the type.",
                )
            values[name] = coerce_value(entity, name, value, from_json=not quoted_decimals)
        return values

    def visible(self, entity: EntityDef, row: dict[str, Any], cross_company: bool) -> bool:
        if not entity.company_scoped or cross_company:
            return True
        return bool(row["dataAreaId"] == self.default_company)

    # ---------------------------------------------------------------- reads

    def query(
        self, set_name: str, params: dict[str, str], *, page_size: int | None = None
    ) -> QueryResult:
        entity = ENTITY_DEFS[set_name]
        unknown = [k for k in params if k.startswith("$") and k not in _QUERY_OPTIONS]
        if unknown:
            raise ODataError(
                400,
                f"The query option(s) {', '.join(unknown)} are not supported on '{set_name}' "
                f"(supported: {', '.join(sorted(_QUERY_OPTIONS))}; entities here have no "
                "navigation properties to $expand).",
            )
        cross = params.get("cross-company", "").lower() == "true"
        predicate = compile_filter(entity, params["$filter"]) if params.get("$filter") else None
        names = select_fields(entity, params.get("$select"))
        try:
            top = int(params["$top"]) if "$top" in params else None
            skip = int(params.get("$skip", "0"))
        except ValueError as exc:
            raise ODataError(400, "$top and $skip must be non-negative integers.") from exc
        if (top is not None and top < 0) or skip < 0:
            raise ODataError(400, "$top and $skip must be non-negative integers.")
        with self.store.lock:
            rows = [
                r
                for r in self.store.rows(set_name)
                if self.visible(entity, r, cross) and (predicate is None or predicate(r))
            ]
            if params.get("$orderby"):
                rows = order_rows(entity, rows, params["$orderby"])
            total = len(rows)
            window = rows[skip:]
            if top is not None:
                window = window[:top]
            page = window[: self.page_size if page_size is None else page_size]
            more = len(window) > len(page)
            out = [self._decorate(set_name, r, names) for r in page]
        count = total if params.get("$count", "").lower() == "true" else None
        next_skip = skip + len(page) if more else None
        next_top = (top - len(page)) if (more and top is not None) else None
        return QueryResult(out, count, next_skip, next_top)

    def count(self, set_name: str, params: dict[str, str]) -> int:
        stripped = {k: v for k, v in params.items() if k not in ("$top", "$skip", "$select")}
        stripped["$count"] = "true"
        result = self.query(set_name, stripped, page_size=0)
        assert result.count is not None
        return result.count

    def get(self, set_name: str, keys: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        entity = ENTITY_DEFS[set_name]
        cross = params.get("cross-company", "").lower() == "true"
        names = select_fields(entity, params.get("$select"))
        with self.store.lock:
            row = self.store.get(set_name, keys)
            if row is None or not self.visible(entity, row, cross):
                raise ODataError(
                    404,
                    f"Resource not found for the segment '{set_name}'.",
                )
            return self._decorate(set_name, row, names)

    def _decorate(
        self, set_name: str, row: dict[str, Any], names: list[str] | None
    ) -> dict[str, Any]:
        return {"@odata.etag": self.store.etag(set_name, row), **project(row, names)}

    def etag(self, set_name: str, row: dict[str, Any]) -> str:
        return self.store.etag(set_name, row)

    def location(self, set_name: str, row: dict[str, Any]) -> str:
        return f"{set_name}({key_predicate(ENTITY_DEFS[set_name], row)})"

    # ---------------------------------------------------------------- writes

    def create(self, set_name: str, body: Any, *, quoted_decimals: bool = False) -> dict[str, Any]:
        entity = ENTITY_DEFS[set_name]
        self._writable(entity)
        values = self.parse_body(entity, body, quoted_decimals=quoted_decimals)
        with self.store.transaction():
            row = self.complete_row(entity, values, coerced=True)
            self._assign_keys(entity, row, values)
            if entity.company_scoped:
                self._check_company(entity.aot_name, row["dataAreaId"])
            if self.store.get(set_name, row) is not None:
                raise write_error(entity.aot_name, *self._duplicate_infolog(entity, row))
            validator = getattr(self, f"_validate_{set_name}", None)
            if validator is not None:
                validator(row, None, values)
            self.store.put(set_name, row)
            self._after_write(set_name, row, None)
            return row

    def update(
        self,
        set_name: str,
        keys: dict[str, Any],
        body: Any,
        if_match: str | None,
        *,
        quoted_decimals: bool = False,
    ) -> dict[str, Any]:
        entity = ENTITY_DEFS[set_name]
        self._writable(entity)
        values = self.parse_body(entity, body, quoted_decimals=quoted_decimals)
        with self.store.transaction():
            old = self.store.get(set_name, keys)
            if old is None:
                raise ODataError(400, "No resources were found when selecting for update.")
            if if_match and if_match != "*" and if_match != self.store.etag(set_name, old):
                raise ODataError(
                    412,
                    "The ETag value in the request header does not match the current ETag "
                    "value of the object.",
                )
            rekey = self._key_change(entity, old, values)
            row = {**old, **values}
            validator = getattr(self, f"_validate_{set_name}", None)
            if validator is not None:
                validator(row, old, values)
            if rekey:
                self.store.delete(set_name, old)
                if self.store.get(set_name, row) is not None:
                    raise write_error(entity.aot_name, *self._duplicate_infolog(entity, row))
            self.store.put(set_name, row)
            self._after_write(set_name, row, old)
            return row

    def delete(self, set_name: str, keys: dict[str, Any]) -> None:
        entity = ENTITY_DEFS[set_name]
        self._writable(entity)
        with self.store.transaction():
            old = self.store.get(set_name, keys)
            if old is None:
                raise ODataError(404, f"Resource not found for the segment '{set_name}'.")
            if set_name in ("LedgerJournalHeaders", "VendInvoiceJournalHeaders"):
                if old["IsPosted"] == "Yes":
                    raise write_error(
                        entity.aot_name,
                        f"Error: Journal {old['JournalBatchNumber']} has been posted and "
                        "cannot be deleted.",
                    )
                line_set = set_name.replace("Headers", "Lines")
                for line in self._lines_of(line_set, old):
                    self.store.delete(line_set, line)
            if set_name in ("LedgerJournalLines", "VendInvoiceJournalLines"):
                header = self._header_for(set_name, old)
                if header is not None and header["IsPosted"] == "Yes":
                    raise write_error(
                        entity.aot_name,
                        f"Error: Journal {old['JournalBatchNumber']} has been posted and "
                        "cannot be changed.",
                    )
            self.store.delete(set_name, old)
            self._after_write(set_name, None, old)

    def _writable(self, entity: EntityDef) -> None:
        if entity.read_only:
            raise ODataError(
                405,
                f"The entity set '{entity.set_name}' is read-only: posted ledger entries "
                "cannot be created, changed or deleted. Correct them with a new journal.",
            )

    def _key_change(self, entity: EntityDef, old: dict[str, Any], values: dict[str, Any]) -> bool:
        changed = [
            k
            for k in entity.keys
            if k in values
            and self.store.key_of(entity.set_name, {**old, k: values[k]})
            != self.store.key_of(entity.set_name, old)
        ]
        if not changed:
            return False
        # Employments are date-effective: ending an employment = moving its end date, which F&O
        # exposes as part of the key. The sandbox allows exactly that change (see README).
        if entity.set_name == "Employments" and changed == ["EmploymentEndDate"]:
            return True
        raise ODataError(
            400,
            f"Key properties cannot be changed with PATCH ({', '.join(changed)}). "
            "Delete and re-create the record instead.",
        )

    @staticmethod
    def _duplicate_infolog(entity: EntityDef, row: dict[str, Any]) -> tuple[str, ...]:
        keys = ", ".join(str(row[k]) for k in entity.keys if k != "dataAreaId")
        return (
            f"Info: Cannot create a record in {entity.type_name} ({entity.aot_name}). "
            f"{entity.type_name}: {keys}.\nThe record already exists.",
        )

    def _assign_keys(self, entity: EntityDef, row: dict[str, Any], given: dict[str, Any]) -> None:
        name = entity.set_name
        if name in ("LedgerJournalHeaders", "VendInvoiceJournalHeaders") and not given.get(
            "JournalBatchNumber"
        ):
            row["JournalBatchNumber"] = self._next_free(
                name, row, "JournalBatchNumber", f"jbn:{row['dataAreaId']}", "{:05d}", 600
            )
        elif name in ("LedgerJournalLines", "VendInvoiceJournalLines") and not given.get(
            "LineNumber"
        ):
            numbers = [r["LineNumber"] for r in self._lines_of(name, row)]
            row["LineNumber"] = max(numbers, default=_ZERO) + 1
        elif name == "VendorsV2" and not given.get("VendorAccountNumber"):
            row["VendorAccountNumber"] = self._next_free(
                name, row, "VendorAccountNumber", f"vend:{row['dataAreaId']}", "V{:05d}", 1
            )
        elif name == "Workers" and not given.get("PersonnelNumber"):
            row["PersonnelNumber"] = self._next_free(
                name, row, "PersonnelNumber", "worker", "{:06d}", 200
            )

    def _next_free(  # noqa: PLR0917
        self,
        set_name: str,
        row: dict[str, Any],
        field_name: str,
        seq: str,
        fmt: str,
        start: int,
    ) -> str:
        with self._seq_lock:
            while True:
                candidate = fmt.format(self._seq.next(seq, start))
                if self.store.get(set_name, {**row, field_name: candidate}) is None:
                    return candidate

    def _lines_of(self, line_set: str, journal: dict[str, Any]) -> list[dict[str, Any]]:
        return self.store.journal_rows(
            line_set, journal["dataAreaId"], str(journal["JournalBatchNumber"])
        )

    def _header_for(self, line_set: str, line: dict[str, Any]) -> dict[str, Any] | None:
        return self.store.get(
            line_set.replace("Lines", "Headers"),
            {"dataAreaId": line["dataAreaId"], "JournalBatchNumber": line["JournalBatchNumber"]},
        )

    def _after_write(
        self, set_name: str, new: dict[str, Any] | None, old: dict[str, Any] | None
    ) -> None:
        row = new if new is not None else old
        assert row is not None
        if set_name == "Employments":
            # Worker status follows the open-ended employments (no wall clock involved).
            worker = self.store.get("Workers", {"PersonnelNumber": row["PersonnelNumber"]})
            if worker is not None:
                mine = [
                    e
                    for e in self.store.rows("Employments")
                    if e["PersonnelNumber"].casefold() == row["PersonnelNumber"].casefold()
                ]
                status = (
                    "Employed"
                    if any(e["EmploymentEndDate"] == MAX_DATE for e in mine)
                    else "Terminated"
                    if mine
                    else "None"
                )
                if worker["WorkerStatus"] != status:
                    self.store.put("Workers", {**worker, "WorkerStatus": status})
        if set_name == "LedgerJournalLines":
            header = self._header_for(set_name, row)
            if header is None:
                return
            if old is None and new is not None:
                # Inserts are the hot path (thousands per payroll): add instead of re-summing.
                debit = header["JournalTotalDebit"] + new["DebitAmount"]
                credit = header["JournalTotalCredit"] + new["CreditAmount"]
            else:
                lines = self._lines_of(set_name, header)
                debit = sum((r["DebitAmount"] for r in lines), _ZERO)
                credit = sum((r["CreditAmount"] for r in lines), _ZERO)
            self.store.put(
                "LedgerJournalHeaders",
                {**header, "JournalTotalDebit": debit, "JournalTotalCredit": credit},
            )

    # ---------------------------------------------------------------- validation helpers

    def _company_exists(self, company: str) -> bool:
        return self.store.get("LegalEntities", {"LegalEntityId": company}) is not None

    def _require(self, aot: str, row: dict[str, Any], *names: str) -> None:
        missing = [n for n in names if row.get(n) in (None, "")]
        if missing:
            raise write_error(aot, *(f"Error: Field '{n}' must be filled in." for n in missing))

    def _check_company(self, aot: str, company: str) -> None:
        if not self._company_exists(company):
            raise write_error(aot, f"Error: Company '{company}' does not exist.")

    def _journal_name(
        self, aot: str, company: str, name: str, expected_type: str
    ) -> dict[str, Any]:
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

    def split_display_value(self, value: str) -> list[str]:
        """Split on the delimiter; a backslash escapes a delimiter inside an account key."""
        delim = self.delimiter()
        parts: list[str] = []
        buf: list[str] = []
        i = 0
        while i < len(value):
            if value[i] == "\\" and value.startswith(delim, i + 1):
                buf.append(delim)
                i += 1 + len(delim)
            elif value.startswith(delim, i):
                parts.append("".join(buf))
                buf = []
                i += len(delim)
            else:
                buf.append(value[i])
                i += 1
        parts.append("".join(buf))
        return parts

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

    # ---------------------------------------------------------------- per-entity validation

    def _validate_LedgerJournalHeaders(  # noqa: N802
        self, row: dict[str, Any], old: dict[str, Any] | None, given: dict[str, Any]
    ) -> None:
        aot = ENTITY_DEFS["LedgerJournalHeaders"].aot_name
        self._check_company(aot, row["dataAreaId"])
        self._require(aot, row, "JournalName")
        jn = self._journal_name(aot, row["dataAreaId"], row["JournalName"], "Daily")
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
            row["JournalTotalDebit"] = _ZERO
            row["JournalTotalCredit"] = _ZERO

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
        if row[debit] != _ZERO and row[credit] != _ZERO:
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
            if balance != _ZERO and trans_date == row["TransDate"]:
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
        self._check_company(aot, row["dataAreaId"])
        self._require(aot, row, "JournalName")
        jn = self._journal_name(aot, row["dataAreaId"], row["JournalName"], "VendInvoiceRegister")
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

    def _validate_VendorsV2(  # noqa: N802
        self, row: dict[str, Any], old: dict[str, Any] | None, given: dict[str, Any]
    ) -> None:
        aot = ENTITY_DEFS["VendorsV2"].aot_name
        company = row["dataAreaId"]
        self._check_company(aot, company)
        self._require(aot, row, "VendorGroupId")
        if (
            self.store.get(
                "VendorGroups", {"dataAreaId": company, "VendorGroupId": row["VendorGroupId"]}
            )
            is None
        ):
            raise write_error(
                aot,
                f"Warning: The value '{row['VendorGroupId']}' in field 'Vendor group' is not found "
                "in the related table 'Vendor groups'.",
                "Warning: validateField failed on field 'VendVendorV2Entity.VendorGroupId'.",
            )
        party = row["VendorPartyType"] or "Organization"
        if party not in ("Organization", "Person"):
            raise write_error(
                aot, f"Error: VendorPartyType '{party}' must be Organization or Person."
            )
        if party == "Organization":
            self._require(aot, row, "VendorOrganizationName")
        else:
            self._require(aot, row, "PersonLastName")
        if row["CurrencyCode"]:
            self._check_currency(aot, row["CurrencyCode"], "CurrencyCode")
        else:
            row["CurrencyCode"] = "USD"

    def _validate_VendorGroups(  # noqa: N802
        self, row: dict[str, Any], old: dict[str, Any] | None, given: dict[str, Any]
    ) -> None:
        aot = ENTITY_DEFS["VendorGroups"].aot_name
        self._check_company(aot, row["dataAreaId"])
        self._require(aot, row, "VendorGroupId")

    def _validate_Workers(  # noqa: N802
        self, row: dict[str, Any], old: dict[str, Any] | None, given: dict[str, Any]
    ) -> None:
        aot = ENTITY_DEFS["Workers"].aot_name
        if not row["Name"]:
            row["Name"] = " ".join(
                p for p in (row["FirstName"], row["MiddleName"], row["LastName"]) if p
            )
        self._require(aot, row, "PersonnelNumber", "LastName")

    def _validate_Employments(  # noqa: N802
        self, row: dict[str, Any], old: dict[str, Any] | None, given: dict[str, Any]
    ) -> None:
        aot = ENTITY_DEFS["Employments"].aot_name
        self._require(aot, row, "PersonnelNumber", "LegalEntityId")
        row["LegalEntityId"] = row["LegalEntityId"].lower()
        if self.store.get("Workers", {"PersonnelNumber": row["PersonnelNumber"]}) is None:
            raise write_error(
                aot,
                f"Error: Worker '{row['PersonnelNumber']}' does not exist. Create the Workers "
                "record first.",
            )
        self._check_company(aot, row["LegalEntityId"])
        if row["EmploymentStartDate"] == "1900-01-01T12:00:00Z":
            raise write_error(aot, "Error: Field 'EmploymentStartDate' must be filled in.")
        self.check_default_dimensions(
            aot, row["LegalEntityId"], "DimensionDisplayValue", row["DimensionDisplayValue"]
        )
        if row["EmploymentEndDate"] < row["EmploymentStartDate"]:
            raise write_error(
                aot,
                f"Error: The employment end date {row['EmploymentEndDate']} is before the start "
                f"date {row['EmploymentStartDate']}.",
            )
        for other in self.store.rows("Employments"):
            if old is not None and self.store.key_of("Employments", other) == self.store.key_of(
                "Employments", old
            ):
                continue
            if (
                other["PersonnelNumber"].casefold() == row["PersonnelNumber"].casefold()
                and other["LegalEntityId"] == row["LegalEntityId"]
                and other["EmploymentStartDate"] <= row["EmploymentEndDate"]
                and row["EmploymentStartDate"] <= other["EmploymentEndDate"]
                and self.store.key_of("Employments", other) != self.store.key_of("Employments", row)
            ):
                raise write_error(
                    aot,
                    f"Error: Worker {row['PersonnelNumber']} already has an employment in "
                    f"{row['LegalEntityId']} from {other['EmploymentStartDate']} to "
                    f"{other['EmploymentEndDate']} that overlaps this one.",
                )

    # ---------------------------------------------------------------- posting

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
                    balances[k] = balances.get(k, _ZERO) + line["Amount"]
            unbalanced = {k: v for k, v in balances.items() if v != _ZERO}
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
                "debit": format_decimal(
                    sum((x["Amount"] for x in lines if x["Amount"] > 0), _ZERO)
                ),
                "credit": format_decimal(
                    -sum((x["Amount"] for x in lines if x["Amount"] < 0), _ZERO)
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
                "TransactionCurrencyDebitAmount": amount if amount > 0 else _ZERO,
                "TransactionCurrencyCreditAmount": -amount if amount < 0 else _ZERO,
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
