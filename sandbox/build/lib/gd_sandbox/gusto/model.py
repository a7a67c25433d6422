"""In-memory records of the simulated Gusto account (internal shapes, rendered by `render.py`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any


def version_hash(*parts: object) -> str:
    """Gusto's opaque `version`: a hash of the updatable attributes (md5-looking, 32 hex)."""
    return hashlib.md5("|".join(str(p) for p in parts).encode(), usedforsecurity=False).hexdigest()


@dataclass
class Department:
    uuid: str
    company_uuid: str
    title: str


@dataclass
class Location:
    uuid: str
    company_uuid: str
    street_1: str
    city: str
    state: str
    zip: str
    phone_number: str
    filing_address: bool


@dataclass
class Termination:
    uuid: str
    employee_uuid: str
    effective_date: date
    run_termination_payroll: bool = False


@dataclass
class BenefitPlan:
    """Per-paycheck benefit and deduction elections of one employee."""

    medical_ee: Decimal = Decimal("0")
    medical_er: Decimal = Decimal("0")
    dental_ee: Decimal = Decimal("0")
    dental_er: Decimal = Decimal("0")
    k401_pct: Decimal = Decimal("0")
    gtl_imputed: Decimal = Decimal("0")
    child_support: Decimal = Decimal("0")
    tool_loan: Decimal = Decimal("0")


@dataclass
class Employee:
    uuid: str
    company_uuid: str
    first_name: str
    last_name: str
    email: str
    department: Department | None
    location: Location
    job_uuid: str
    compensation_uuid: str
    title: str
    pay_type: str  # "hourly" | "salary"
    rate: Decimal  # per hour for hourly, per year for salary
    hire_date: date
    payment_method: str
    date_of_birth: date
    fit_rate: Decimal
    plan: BenefitPlan
    terminations: list[Termination] = field(default_factory=list)
    manager_uuid: str | None = None

    @property
    def terminated(self) -> bool:
        return bool(self.terminations)

    @property
    def last_day(self) -> date | None:
        if not self.terminations:
            return None
        return max(t.effective_date for t in self.terminations)

    def active_between(self, start: date, end: date) -> bool:
        """Worked at least one day of [start, end]."""
        last = self.last_day
        return self.hire_date <= end and (last is None or last >= start)


@dataclass
class PaySchedule:
    uuid: str
    company_uuid: str
    frequency: str
    anchor_pay_date: date
    anchor_end_of_pay_period: date
    day_1: int | None
    day_2: int | None
    name: str
    periods_per_year: int


@dataclass
class PayrollMeta:
    uuid: str
    company_uuid: str
    pay_schedule_uuid: str
    check_date: date
    period_start: date
    period_end: date
    off_cycle: bool
    off_cycle_reason: str | None
    processed: bool
    processed_date: date | None
    created_at: date
    # One payroll per company carries negative tax corrections ("-0.92" style) to exercise signs.
    tax_correction: bool = False
    # Computed on first read (see payroll_calc), then frozen: a processed payroll never changes.
    detail: PayrollDetail | None = None

    @property
    def payroll_type(self) -> str:
        return "off_cycle" if self.off_cycle else "regular"


@dataclass
class PayrollDetail:
    """Computed content of a processed payroll; money as wire strings."""

    employee_compensations: list[dict[str, Any]]
    totals: dict[str, str]
    company_taxes: list[dict[str, Any]]
    payroll_taxes: list[dict[str, Any]]
    calculated_at: str


@dataclass
class Contractor:
    uuid: str
    company_uuid: str
    type: str  # Individual | Business
    wage_type: str  # Fixed | Hourly
    first_name: str | None
    last_name: str | None
    business_name: str | None
    email: str
    start_date: date
    hourly_rate: Decimal
    department: Department | None
    is_active: bool = True


@dataclass
class ContractorPayment:
    uuid: str
    company_uuid: str
    contractor_uuid: str
    date: date
    wage_type: str
    hours: str
    hourly_rate: str
    wage: str
    bonus: str
    reimbursement: str
    wage_total: str
    payment_method: str
    status: str


@dataclass
class Company:
    uuid: str
    name: str
    trade_name: str
    slug: str
    ein: str
    join_date: date
    admin_uuid: str
    departments: list[Department] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    pay_schedules: list[PaySchedule] = field(default_factory=list)
    employees: list[Employee] = field(default_factory=list)
    contractors: list[Contractor] = field(default_factory=list)
    contractor_payments: list[ContractorPayment] = field(default_factory=list)
    payrolls: list[PayrollMeta] = field(default_factory=list)
    # Names of the employee and employer state taxes in use, per location state.
    # Kept here so a calculation never invents a tax the company does not file.
    states: tuple[str, ...] = ("CO",)
