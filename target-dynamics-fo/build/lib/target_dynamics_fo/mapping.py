"""The accounting mapping: which F&O accounts and dimension values a Gusto payroll posts to.

Loaded from YAML (schema in docs/accounting.md). Validation collects every problem before
raising, so a user fixes the whole file in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml

from target_dynamics_fo.money import AmountError, parse_amount

SummaryLevel = Literal["department", "employee", "payroll"]
SUMMARY_LEVELS: tuple[SummaryLevel, ...] = ("department", "employee", "payroll")
# How payroll-level company taxes (which name no employee) get their dimensions:
# "wages" spreads each tax over the payroll's dimension sets in proportion to gross pay,
# "default" puts it on dimensions.default, "fixed" on the fixed dimensions only.
CompanyTaxAllocation = Literal["wages", "default", "fixed"]
COMPANY_TAX_ALLOCATIONS: tuple[CompanyTaxAllocation, ...] = ("wages", "default", "fixed")
# What the target does with a payroll that changed or was cancelled after it was posted
# (docs/accounting.md, "Corrections"); "report" only reports it, as before corrections existed.
CorrectionMode = Literal["reverse_and_repost", "difference", "report"]
CORRECTION_MODES: tuple[CorrectionMode, ...] = ("reverse_and_repost", "difference", "report")
HUNDRED = Decimal(100)

_PREFIX_RE = re.compile(r"[A-Z0-9]{1,8}")
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_PLACEHOLDER_RE = re.compile(r"\{([a-z_0-9]+)\}")
_WORKER_PLACEHOLDERS = frozenset({"employee_code", "uuid", "uuid8"})
_VENDOR_PLACEHOLDERS = frozenset({"uuid", "uuid8"})


class MappingError(ValueError):
    """The mapping file is wrong or does not cover a record; names the YAML key and the fix."""

    def __init__(self, problems: Iterable[str], source: str = "<mapping>") -> None:
        self.problems = list(problems)
        self.source = source
        listing = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"mapping {source}: {len(self.problems)} problem(s):\n{listing}")


class UnmappedDimension(MappingError):  # noqa: N818 - name fixed by the target's interface
    """An employee's department or location has no dimension values in the mapping."""


@dataclass(frozen=True)
class DimensionShare:
    """One part of a department split: `percent` of the amount goes to `dimensions`."""

    percent: Decimal
    dimensions: AbcMapping[str, str]


@dataclass(frozen=True)
class TaxAccounts:
    """Employer-side items post twice: expense (debit) and payable (credit)."""

    expense: str
    payable: str


@dataclass(frozen=True)
class DimensionRule:
    """Dimension values for one department or location; `shares` has one entry unless split."""

    key: str
    shares: tuple[DimensionShare, ...]

    @property
    def is_split(self) -> bool:
        return len(self.shares) > 1

    def common(self) -> dict[str, str]:
        """Dimension values every share agrees on (all of them for an unsplit rule)."""
        first = dict(self.shares[0].dimensions)
        return {
            k: v for k, v in first.items() if all(s.dimensions.get(k) == v for s in self.shares)
        }


@dataclass(frozen=True)
class ContractorSettings:
    vendor_group: str
    vendor_account: str
    invoice_journal_name: str
    wage_account: str
    bonus_account: str
    reimbursement_account: str
    links: AbcMapping[str, str]
    # False: vendors are never created, only matched (links or the scheme) and kept up to date.
    create_vendors: bool = True
    # True: a linked (pre-existing) vendor's party type and names follow Gusto.
    update_linked_vendors: bool = False


@dataclass(frozen=True)
class WorkerSettings:
    personnel_number: str
    links: AbcMapping[str, str]


@dataclass(frozen=True)
class CompanyMapping:
    company_uuid: str
    name: str
    legal_entity: str
    journal_name: str
    currency: str
    summary_level: SummaryLevel
    journal_number_prefix: str
    suspense_account: str | None
    dimensions_on_liabilities: bool
    post_company_taxes: bool
    # accounts
    earnings: AbcMapping[str, str]
    earnings_default: str | None
    other_earnings: str
    imputed_income: str
    imputed_offset: str
    reimbursement_expense: str
    reimbursement_payable: str | None
    net_pay: str
    employee_taxes: AbcMapping[str, str]
    employee_tax_default: str | None
    employer_taxes: AbcMapping[str, TaxAccounts]
    employer_tax_default: TaxAccounts | None
    benefits: AbcMapping[str, TaxAccounts]
    benefit_default: TaxAccounts | None
    deductions: AbcMapping[str, str]
    deduction_default: str | None
    # dimensions
    fixed_dimensions: AbcMapping[str, str]
    departments: AbcMapping[str, DimensionRule]
    locations: AbcMapping[str, DimensionRule]
    default_dimensions: AbcMapping[str, str] | None
    contractors: ContractorSettings
    workers: WorkerSettings
    key_path: str = field(default="", compare=False)
    company_taxes_allocation: CompanyTaxAllocation = "wages"
    corrections: CorrectionMode = "reverse_and_repost"

    # ---- accounts -------------------------------------------------------------------------

    def earning_account(self, name: str) -> str | None:
        return self.earnings.get(name, self.earnings_default)

    def employee_tax_account(self, name: str) -> str | None:
        return self.employee_taxes.get(name, self.employee_tax_default)

    def employer_tax_accounts(self, name: str) -> TaxAccounts | None:
        return self.employer_taxes.get(name, self.employer_tax_default)

    def benefit_accounts(self, name: str) -> TaxAccounts | None:
        return self.benefits.get(name, self.benefit_default)

    def deduction_account(self, name: str) -> str | None:
        return self.deductions.get(name, self.deduction_default)

    @property
    def reimbursement_credit_account(self) -> str:
        return self.reimbursement_payable or self.net_pay

    def required_main_accounts(self) -> set[str]:
        accounts: set[str] = {
            self.other_earnings,
            self.imputed_income,
            self.imputed_offset,
            self.reimbursement_expense,
            self.net_pay,
            self.contractors.wage_account,
            self.contractors.bonus_account,
            self.contractors.reimbursement_account,
        }
        optional = [
            self.earnings_default,
            self.reimbursement_payable,
            self.employee_tax_default,
            self.deduction_default,
            self.suspense_account,
        ]
        accounts.update(a for a in optional if a is not None)
        accounts.update(self.earnings.values())
        accounts.update(self.employee_taxes.values())
        accounts.update(self.deductions.values())
        pairs = [*self.employer_taxes.values(), *self.benefits.values()]
        pairs += [p for p in (self.employer_tax_default, self.benefit_default) if p is not None]
        for pair in pairs:
            accounts.update((pair.expense, pair.payable))
        return accounts

    def required_dimension_values(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        sets: list[AbcMapping[str, str]] = [self.fixed_dimensions]
        if self.default_dimensions is not None:
            sets.append(self.default_dimensions)
        for rule in (*self.departments.values(), *self.locations.values()):
            sets.extend(share.dimensions for share in rule.shares)
        for dims in sets:
            for name, value in dims.items():
                out.setdefault(name, set()).add(value)
        return out

    # ---- dimensions -----------------------------------------------------------------------

    def _department_rule(self, department_uuid: str | None, title: str | None) -> DimensionRule:
        for key in (department_uuid, title):
            if key is not None and key in self.departments:
                return self.departments[key]
        label = repr(title) if title else "(no title)"
        yaml_key = title or department_uuid
        raise UnmappedDimension(
            [
                f"department {label} (uuid {department_uuid}) has no dimension values; add "
                f"{self.key_path}.dimensions.departments.{yaml_key!r} with its dimension values"
            ]
        )

    def _location_rule(self, location_uuid: str | None) -> DimensionRule | None:
        if not self.locations:
            return None
        if location_uuid is None:
            return None
        if location_uuid in self.locations:
            return self.locations[location_uuid]
        raise UnmappedDimension(
            [
                f"location {location_uuid} has no dimension values; add "
                f"{self.key_path}.dimensions.locations.{location_uuid!r} with its dimension values"
            ]
        )

    def dimension_shares(
        self,
        department_uuid: str | None,
        department_title: str | None,
        location_uuid: str | None,
    ) -> tuple[DimensionShare, ...]:
        """The dimension sets (with percentages adding to 100) for one employee's amounts.

        Fixed dimensions are included. An employee without a department uses the mapping's
        `default` set; without it, UnmappedDimension names the fix.
        """
        if department_uuid is None and department_title is None:
            if self.default_dimensions is None:
                raise UnmappedDimension(
                    [
                        "an employee has no department and the mapping has no default; set "
                        f"{self.key_path}.dimensions.default or give the employee a department"
                    ]
                )
            location = self._location_rule(location_uuid)
            location_dims: AbcMapping[str, str] = location.shares[0].dimensions if location else {}
            # A known location beats the default's stand-in values.
            dims = {**self.fixed_dimensions, **self.default_dimensions, **location_dims}
            return (DimensionShare(HUNDRED, dims),)
        dept_shares = self._department_rule(department_uuid, department_title).shares
        location = self._location_rule(location_uuid)
        location_dims = location.shares[0].dimensions if location else {}
        return tuple(
            DimensionShare(
                share.percent,
                {**self.fixed_dimensions, **location_dims, **share.dimensions},
            )
            for share in dept_shares
        )

    def dimensions_for(
        self,
        department_uuid: str | None,
        department_title: str | None,
        location_uuid: str | None,
    ) -> dict[str, str]:
        """One dimension set for a person (e.g. a worker's default dimensions).

        For a split department only the values every part shares are returned; journal
        amounts use `dimension_shares` instead.
        """
        shares = self.dimension_shares(department_uuid, department_title, location_uuid)
        first = dict(shares[0].dimensions)
        return {k: v for k, v in first.items() if all(s.dimensions.get(k) == v for s in shares)}

    def default_dimension_set(self) -> dict[str, str]:
        """Dimensions for an employee the payroll names but the employees stream did not."""
        if self.default_dimensions is None:
            raise UnmappedDimension(
                [f"no default dimensions; set {self.key_path}.dimensions.default"]
            )
        return {**self.fixed_dimensions, **self.default_dimensions}

    # ---- people ---------------------------------------------------------------------------

    def personnel_number_for(self, employee: AbcMapping[str, Any]) -> str:
        """F&O PersonnelNumber for a Gusto employee: explicit link first, then the scheme."""
        uuid = str(employee.get("uuid") or "")
        if uuid in self.workers.links:
            return self.workers.links[uuid]
        code = employee.get("employee_code")
        if "{employee_code}" in self.workers.personnel_number and not code:
            raise MappingError(
                [
                    f"employee {uuid} has no employee_code but "
                    f"{self.key_path}.workers.personnel_number is "
                    f"{self.workers.personnel_number!r}; add the employee under "
                    f"{self.key_path}.workers.links or use {{uuid8}} in the scheme"
                ]
            )
        return _fill(
            self.workers.personnel_number,
            # Upper case, like F&O's own number sequences.
            {"employee_code": str(code or ""), "uuid": uuid.upper(), "uuid8": uuid[:8].upper()},
        )


def _fill(template: str, values: AbcMapping[str, str]) -> str:
    return _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], template)


@dataclass(frozen=True)
class Mapping:
    companies: AbcMapping[str, CompanyMapping]
    source: str = "<mapping>"

    def company(self, company_uuid: str) -> CompanyMapping:
        try:
            return self.companies[company_uuid]
        except KeyError:
            known = ", ".join(sorted(self.companies)) or "none"
            raise MappingError(
                [
                    f"company {company_uuid} is not mapped; add companies.{company_uuid!r} "
                    f"(mapped companies: {known})"
                ],
                self.source,
            ) from None


# ---- loading and validation -------------------------------------------------------------------


class _Reader:
    """Walks one YAML mapping, recording problems with their key paths instead of stopping."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, path: str, text: str) -> None:
        self.problems.append(f"{path}: {text}")

    def table(self, data: object, path: str, *, required: bool = True) -> dict[str, Any]:
        if data is None:
            if required:
                self.problem(path, "is missing; add it (a mapping of keys to values)")
            return {}
        if not isinstance(data, dict):
            self.problem(path, f"must be a mapping of keys to values, got {type(data).__name__}")
            return {}
        for key in data:
            if not isinstance(key, str):
                self.problem(f"{path}.{key!r}", "keys must be strings; quote the key in YAML")
        return {str(k): v for k, v in data.items()}

    def text(self, data: AbcMapping[str, Any], key: str, path: str) -> str:
        value = data.get(key)
        return self.scalar(value, f"{path}.{key}")

    def scalar(self, value: object, path: str) -> str:
        # Account numbers like 600100 are often written unquoted; YAML then gives an int.
        if isinstance(value, bool) or value is None or isinstance(value, float):
            if value is None:
                self.problem(path, "is missing; add it")
            else:
                self.problem(path, f"must be a string, got {value!r}; quote it in YAML")
            return ""
        if isinstance(value, int):
            return str(value)
        if not isinstance(value, str) or not value.strip():
            self.problem(path, f"must be a non-empty string, got {value!r}")
            return ""
        return value

    def optional(self, data: AbcMapping[str, Any], key: str, path: str) -> str | None:
        if data.get(key) is None:
            return None
        return self.text(data, key, path)

    def unknown_keys(self, data: AbcMapping[str, Any], allowed: Iterable[str], path: str) -> None:
        allowed_set = set(allowed)
        for key in data:
            if key not in allowed_set:
                self.problem(
                    f"{path}.{key}",
                    f"unknown key; allowed keys: {', '.join(sorted(allowed_set))}",
                )

    def names(self, data: object, path: str) -> dict[str, str]:
        table = self.table(data, path, required=False)
        return {name: self.scalar(value, f"{path}.{name!r}") for name, value in table.items()}

    def pair(self, data: object, path: str) -> TaxAccounts:
        table = self.table(data, path)
        self.unknown_keys(table, ("expense", "payable"), path)
        return TaxAccounts(self.text(table, "expense", path), self.text(table, "payable", path))

    def pairs(self, data: object, path: str) -> dict[str, TaxAccounts]:
        table = self.table(data, path, required=False)
        return {name: self.pair(value, f"{path}.{name!r}") for name, value in table.items()}

    def optional_pair(self, data: AbcMapping[str, Any], key: str, path: str) -> TaxAccounts | None:
        if data.get(key) is None:
            return None
        return self.pair(data[key], f"{path}.{key}")

    def dims(self, data: object, path: str) -> dict[str, str]:
        table = self.table(data, path)
        if not table and isinstance(data, dict):
            self.problem(path, "names no dimension values; add at least one, e.g. Department")
        return {name: self.scalar(value, f"{path}.{name}") for name, value in table.items()}

    def rule(self, key: str, data: object, path: str) -> DimensionRule:
        if isinstance(data, dict) and "split" in data:
            self.unknown_keys(data, ("split",), path)
            parts = data["split"]
            if not isinstance(parts, list) or len(parts) < 2:
                self.problem(f"{path}.split", "must be a list of at least two parts")
                return DimensionRule(key, (DimensionShare(HUNDRED, {}),))
            shares: list[DimensionShare] = []
            for i, part in enumerate(parts):
                part_path = f"{path}.split[{i}]"
                table = self.table(part, part_path)
                self.unknown_keys(table, ("percent", "dimensions"), part_path)
                try:
                    percent = parse_amount(
                        _yaml_number(table.get("percent")),
                        where=f"{part_path}.percent",
                        max_places=4,
                    )
                except AmountError as exc:
                    self.problem(
                        f"{part_path}.percent",
                        f'must be a decimal percentage like "50" or "33.3333" ({exc.value!r})',
                    )
                    percent = Decimal(0)
                if percent <= 0:
                    self.problem(f"{part_path}.percent", "must be greater than 0")
                shares.append(
                    DimensionShare(
                        percent, self.dims(table.get("dimensions"), part_path + ".dimensions")
                    )
                )
            total = sum((s.percent for s in shares), Decimal(0))
            if total != HUNDRED:
                self.problem(f"{path}.split", f"percentages add up to {total}, not 100; fix them")
            return DimensionRule(key, tuple(shares))
        return DimensionRule(key, (DimensionShare(HUNDRED, self.dims(data, path)),))


def _yaml_number(value: object) -> object:
    # YAML gives 50 or 33.3333 as int/float; read floats back through their literal text so
    # the percentage stays exact for what a human typed (a YAML literal has few digits).
    if isinstance(value, float):
        return repr(value)
    return value


_COMPANY_KEYS = (
    "name",
    "legal_entity",
    "journal_name",
    "currency",
    "summary_level",
    "journal_number_prefix",
    "suspense_account",
    "dimensions_on_liabilities",
    "post_company_taxes",
    "company_taxes_allocation",
    "corrections",
    "accounts",
    "dimensions",
    "contractors",
    "workers",
)
_ACCOUNT_KEYS = (
    "earnings",
    "earnings_default",
    "other_earnings",
    "imputed_income",
    "imputed_offset",
    "reimbursement_expense",
    "reimbursement_payable",
    "net_pay",
    "employee_taxes",
    "employee_tax_default",
    "employer_taxes",
    "employer_tax_default",
    "benefits",
    "benefit_default",
    "deductions",
    "deduction_default",
)
_DIMENSION_KEYS = ("fixed", "departments", "locations", "default")
_CONTRACTOR_KEYS = (
    "vendor_group",
    "vendor_account",
    "invoice_journal_name",
    "expense_accounts",
    "links",
    "create_vendors",
    "update_linked_vendors",
)
_WORKER_KEYS = ("personnel_number", "links")


def _bool(
    reader: _Reader, data: AbcMapping[str, Any], key: str, path: str, default: bool = False
) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        reader.problem(f"{path}.{key}", f"must be true or false, got {value!r}")
        return False
    return value


def _template(reader: _Reader, value: str, allowed: frozenset[str], path: str) -> None:
    for name in _PLACEHOLDER_RE.findall(value):
        if name not in allowed:
            reader.problem(
                path,
                f"unknown placeholder {{{name}}}; use one of "
                + ", ".join(f"{{{a}}}" for a in sorted(allowed)),
            )


def _parse_company(reader: _Reader, uuid: str, data: object) -> CompanyMapping:
    path = f"companies.{uuid!r}"
    table = reader.table(data, path)
    reader.unknown_keys(table, _COMPANY_KEYS, path)

    summary = table.get("summary_level", "department")
    if summary not in SUMMARY_LEVELS:
        reader.problem(f"{path}.summary_level", f"must be one of {', '.join(SUMMARY_LEVELS)}")
        summary = "department"
    prefix = (
        reader.text(table, "journal_number_prefix", path)
        if "journal_number_prefix" in table
        else "GUS"
    )
    if prefix and _PREFIX_RE.fullmatch(prefix) is None:
        reader.problem(
            f"{path}.journal_number_prefix",
            f"{prefix!r} must be 1-8 upper-case letters or digits (it starts every journal number)",
        )
    currency = reader.text(table, "currency", path) if "currency" in table else "USD"
    allocation = table.get("company_taxes_allocation", "wages")
    if allocation not in COMPANY_TAX_ALLOCATIONS:
        reader.problem(
            f"{path}.company_taxes_allocation",
            f"must be one of {', '.join(COMPANY_TAX_ALLOCATIONS)}",
        )
        allocation = "wages"
    corrections = table.get("corrections", "reverse_and_repost")
    if corrections not in CORRECTION_MODES:
        reader.problem(f"{path}.corrections", f"must be one of {', '.join(CORRECTION_MODES)}")
        corrections = "reverse_and_repost"
    if currency and _CURRENCY_RE.fullmatch(currency) is None:
        reader.problem(f"{path}.currency", f"{currency!r} must be a 3-letter code like USD")

    apath = f"{path}.accounts"
    acc = reader.table(table.get("accounts"), apath)
    reader.unknown_keys(acc, _ACCOUNT_KEYS, apath)

    dpath = f"{path}.dimensions"
    dim = reader.table(table.get("dimensions"), dpath, required=False)
    reader.unknown_keys(dim, _DIMENSION_KEYS, dpath)
    fixed = reader.dims(dim["fixed"], f"{dpath}.fixed") if dim.get("fixed") else {}
    departments = {
        key: reader.rule(key, value, f"{dpath}.departments.{key!r}")
        for key, value in reader.table(
            dim.get("departments"), f"{dpath}.departments", required=False
        ).items()
    }
    locations = {
        key: reader.rule(key, value, f"{dpath}.locations.{key!r}")
        for key, value in reader.table(
            dim.get("locations"), f"{dpath}.locations", required=False
        ).items()
    }
    for key, rule in locations.items():
        if rule.is_split:
            reader.problem(
                f"{dpath}.locations.{key!r}", "locations cannot be split; split the department"
            )
    default = (
        reader.dims(dim["default"], f"{dpath}.default") if dim.get("default") is not None else None
    )
    _check_dimension_owners(
        reader, dpath, fixed=fixed, departments=departments, locations=locations, default=default
    )
    if allocation == "default" and default is None:
        reader.problem(
            f"{path}.company_taxes_allocation",
            f"is 'default' but {dpath}.default is not set; set it or use 'wages'",
        )

    cpath = f"{path}.contractors"
    con = reader.table(table.get("contractors"), cpath)
    reader.unknown_keys(con, _CONTRACTOR_KEYS, cpath)
    epath = f"{cpath}.expense_accounts"
    exp = reader.table(con.get("expense_accounts"), epath)
    reader.unknown_keys(exp, ("wage", "bonus", "reimbursement"), epath)
    vendor_account = reader.text(con, "vendor_account", cpath)
    _template(reader, vendor_account, _VENDOR_PLACEHOLDERS, f"{cpath}.vendor_account")
    contractors = ContractorSettings(
        vendor_group=reader.text(con, "vendor_group", cpath),
        vendor_account=vendor_account,
        invoice_journal_name=reader.text(con, "invoice_journal_name", cpath),
        wage_account=reader.text(exp, "wage", epath),
        bonus_account=reader.text(exp, "bonus", epath),
        reimbursement_account=reader.text(exp, "reimbursement", epath),
        links=reader.names(con.get("links"), f"{cpath}.links"),
        create_vendors=_bool(reader, con, "create_vendors", cpath, default=True),
        update_linked_vendors=_bool(reader, con, "update_linked_vendors", cpath),
    )

    wpath = f"{path}.workers"
    wrk = reader.table(table.get("workers"), wpath)
    reader.unknown_keys(wrk, _WORKER_KEYS, wpath)
    scheme = reader.text(wrk, "personnel_number", wpath)
    _template(reader, scheme, _WORKER_PLACEHOLDERS, f"{wpath}.personnel_number")
    workers = WorkerSettings(scheme, reader.names(wrk.get("links"), f"{wpath}.links"))

    return CompanyMapping(
        company_uuid=uuid,
        name=str(table.get("name") or uuid),
        legal_entity=reader.text(table, "legal_entity", path),
        journal_name=reader.text(table, "journal_name", path),
        currency=currency,
        summary_level=summary,
        journal_number_prefix=prefix,
        suspense_account=reader.optional(table, "suspense_account", path),
        dimensions_on_liabilities=_bool(reader, table, "dimensions_on_liabilities", path),
        # Gusto's totals.employer_taxes includes company_taxes (docs/accounting.md), so the
        # journal only matches Gusto's payroll cost when they are posted.
        post_company_taxes=_bool(reader, table, "post_company_taxes", path, default=True),
        company_taxes_allocation=allocation,
        corrections=corrections,
        earnings=reader.names(acc.get("earnings"), f"{apath}.earnings"),
        earnings_default=reader.optional(acc, "earnings_default", apath),
        other_earnings=reader.text(acc, "other_earnings", apath),
        imputed_income=reader.text(acc, "imputed_income", apath),
        imputed_offset=reader.text(acc, "imputed_offset", apath),
        reimbursement_expense=reader.text(acc, "reimbursement_expense", apath),
        reimbursement_payable=reader.optional(acc, "reimbursement_payable", apath),
        net_pay=reader.text(acc, "net_pay", apath),
        employee_taxes=reader.names(acc.get("employee_taxes"), f"{apath}.employee_taxes"),
        employee_tax_default=reader.optional(acc, "employee_tax_default", apath),
        employer_taxes=reader.pairs(acc.get("employer_taxes"), f"{apath}.employer_taxes"),
        employer_tax_default=reader.optional_pair(acc, "employer_tax_default", apath),
        benefits=reader.pairs(acc.get("benefits"), f"{apath}.benefits"),
        benefit_default=reader.optional_pair(acc, "benefit_default", apath),
        deductions=reader.names(acc.get("deductions"), f"{apath}.deductions"),
        deduction_default=reader.optional(acc, "deduction_default", apath),
        fixed_dimensions=fixed,
        departments=departments,
        locations=locations,
        default_dimensions=default,
        contractors=contractors,
        workers=workers,
        key_path=path,
    )


def _check_dimension_owners(
    reader: _Reader,
    path: str,
    *,
    fixed: AbcMapping[str, str],
    departments: AbcMapping[str, DimensionRule],
    locations: AbcMapping[str, DimensionRule],
    default: AbcMapping[str, str] | None,
) -> None:
    """Each dimension comes from one place, so no source silently overrides another."""
    owners: dict[str, set[str]] = {}
    for name in fixed:
        owners.setdefault(name, set()).add("fixed")
    for source, rules in (("departments", departments), ("locations", locations)):
        for rule in rules.values():
            for share in rule.shares:
                for name in share.dimensions:
                    owners.setdefault(name, set()).add(source)
    for name, sources in sorted(owners.items()):
        if len(sources) > 1:
            reader.problem(
                path,
                f"dimension {name!r} is set by more than one of {sorted(sources)}; "
                "set each dimension in one place only",
            )
    # `default` stands in for department and location of an unknown employee, so it may
    # name their dimensions, but fixed dimensions apply to every line and must not clash.
    for name in sorted(set(default or {}) & set(fixed)):
        reader.problem(
            f"{path}.default.{name}",
            f"dimension {name!r} is already fixed under {path}.fixed; remove it from one of them",
        )


def parse_mapping(data: dict[str, Any], source: str = "<mapping>") -> Mapping:
    reader = _Reader()
    root = reader.table(data, "(top level)")
    reader.unknown_keys(root, ("version", "companies"), "(top level)")
    version = root.get("version", 1)
    if version != 1:
        reader.problem("version", f"unsupported version {version!r}; this target reads version 1")
    companies_raw = reader.table(root.get("companies"), "companies")
    if not companies_raw and isinstance(root.get("companies"), dict):
        reader.problem("companies", "maps no company; add one entry per Gusto company uuid")
    companies = {uuid: _parse_company(reader, uuid, body) for uuid, body in companies_raw.items()}
    if reader.problems:
        raise MappingError(reader.problems, source)
    return Mapping(companies, source)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and keeps account-like numbers as written.

    A duplicated department would otherwise silently replace the first one, and YAML 1.1 reads
    an unquoted 010 as 8, which would post to the wrong account.
    """


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}; keep only one", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


def _int_as_written(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    raw = str(loader.construct_scalar(node))
    if raw.isdigit() and (raw == "0" or not raw.startswith("0")):
        return int(raw)
    return raw  # 010, 0x1F, 1_000: keep the text a person typed


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _int_as_written)


def load_mapping(path: str | Path) -> Mapping:
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(
            [f"cannot read the mapping file ({exc.strerror}); check the mapping_file setting"],
            source,
        ) from exc
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise MappingError([f"is not valid YAML: {exc}"], source) from exc
    if not isinstance(data, dict):
        raise MappingError(["must be a YAML mapping with a top-level 'companies' key"], source)
    return parse_mapping(data, source)
