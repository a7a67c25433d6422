"""The loaded mapping the rest of the target uses: accounts and dimensions per company.

These frozen objects are what processor, posting, payables and audit read; the YAML file's own
shape and its validation live in `model.py`, which builds them (so the file format can change
without touching a caller).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, NamedTuple

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

PLACEHOLDER_RE = re.compile(r"\{([a-z_0-9]+)\}")


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


class TaxAccounts(NamedTuple):
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
    return PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], template)


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
