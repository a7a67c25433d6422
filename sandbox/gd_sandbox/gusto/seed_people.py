"""The people of the seed: uuids, employees with their pay and benefits, hires and
terminations, contractors and their payments. Names, company profiles and departments are
data (``seed_data.json``)."""

from __future__ import annotations

import calendar
import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from gd_sandbox.data import load
from gd_sandbox.gusto import model
from gd_sandbox.gusto.model import (
    BenefitPlan,
    Company,
    Contractor,
    Department,
    Employee,
    Location,
    Termination,
)
from gd_sandbox.gusto.money import cents, fmt1, fmt2

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/gusto-dynamics/sandbox/gusto")
_NAMESPACE_BYTES = NAMESPACE.bytes


_DATA = load(__package__, "seed_data.json")
FIRST_NAMES: tuple[str, ...] = tuple(_DATA["first_names"])
LAST_NAMES: tuple[str, ...] = tuple(_DATA["last_names"])
# Company name -> ein, join_date, states and locations (street, city, state, zip_code, phone,
# filing): what a company of the seed starts with.
COMPANY_PROFILES: dict[str, dict[str, Any]] = _DATA["companies"]
# Pay schedule kind -> its PaySchedule fields but uuid and company.
PAY_SCHEDULES: dict[str, dict[str, Any]] = _DATA["pay_schedules"]


def uid(seed: str, *parts: object) -> str:
    """`uuid.uuid5(NAMESPACE, "seed/part/...")`, computed without building UUID objects.

    Payroll rendering derives thousands of these per page; this is the same value, ~3x faster.
    """
    name = "/".join([seed, *(str(p) for p in parts)])
    digest = bytearray(
        hashlib.sha1(_NAMESPACE_BYTES + name.encode(), usedforsecurity=False).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


# (pay type "hourly" | "salary", job title, lowest rate, highest rate); hourly rates in cents.
JobSpec = tuple[str, str, int, int]


@dataclass(frozen=True, kw_only=True, slots=True)
class DeptSpec:
    """A department of company A: how many people, their pay and job titles, and the share
    of them working in Denver (the rest in Phoenix)."""

    title: str
    count: int
    pay_type: str
    titles: tuple[str, ...]
    rate_low: int
    rate_high: int
    denver_share: float


COMPANY_A_DEPARTMENTS = tuple(
    DeptSpec(**{**spec, "titles": tuple(spec["titles"])}) for spec in _DATA["company_a_departments"]
)


class PeopleSeed:
    def __init__(self, seed: str, today: date) -> None:
        self.seed = seed
        self.today = today

    def uid(self, *parts: object) -> str:
        return uid(self.seed, *parts)

    def rng(self, *parts: object) -> random.Random:
        # Reproducible fake data, not security: a seeded PRNG is the point.
        return random.Random("/".join([self.seed, *(str(p) for p in parts)]))  # noqa: S311

    # ---- people ----------------------------------------------------------------------------

    def _employee(
        self,
        company: Company,
        rng: random.Random,
        index: int,
        place: tuple[Department, Location],
        job: JobSpec,
    ) -> Employee:
        dept, loc = place
        pay_type, title, low, high = job
        first = FIRST_NAMES[rng.randrange(len(FIRST_NAMES))]
        last = LAST_NAMES[rng.randrange(len(LAST_NAMES))]
        eu = self.uid("employee", company.name, index)
        if pay_type == "hourly":
            # Odd cents on purpose: they make hours x rate land on every cent value.
            rate = Decimal(rng.randrange(low, high)) / 100 + Decimal(rng.choice((1, 7, 3))) / 100
        else:
            rate = Decimal(rng.randrange(low, high))
        plan = BenefitPlan()
        if rng.random() < 0.8:
            plan.medical_ee = Decimal(rng.choice(("87.43", "112.17", "64.91", "141.07")))
            plan.medical_er = Decimal(rng.choice(("312.17", "287.41", "355.07")))
        if rng.random() < 0.6:
            plan.dental_ee = Decimal(rng.choice(("9.17", "11.41", "7.07")))
            plan.dental_er = Decimal(rng.choice(("14.61", "12.37")))
        if rng.random() < 0.5:
            plan.k401_pct = Decimal(rng.choice(("0.03", "0.04", "0.05", "0.06")))
        if pay_type == "salary" and rate > 50000:
            plan.gtl_imputed = Decimal(rng.choice(("4.37", "6.11", "8.17")))
        if rng.random() < 0.03:
            plan.child_support = Decimal("184.61")
        if pay_type == "hourly" and rng.random() < 0.05:
            plan.tool_loan = Decimal("25.00")
        hire = date(rng.randrange(2015, 2024), rng.randrange(1, 13), rng.randrange(1, 29))
        return Employee(
            uuid=eu,
            company_uuid=company.uuid,
            first_name=first,
            last_name=last,
            email=f"{first.lower()}.{last.lower()}.{index}@example.com",
            department=dept,
            location=loc,
            job_uuid=self.uid("job", eu),
            compensation_uuid=self.uid("compensation", eu),
            title=title,
            pay_type=pay_type,
            rate=rate,
            hire_date=hire,
            payment_method="Check" if rng.random() < 0.05 else "Direct Deposit",
            date_of_birth=date(
                rng.randrange(1962, 2003), rng.randrange(1, 13), rng.randrange(1, 29)
            ),
            fit_rate=Decimal(rng.choice(("0.08", "0.1", "0.12", "0.14"))),
            plan=plan,
        )

    def _hires_and_terminations(
        self, company: Company, rng: random.Random, *, hires: int, terminations: int
    ) -> None:
        people = company.employees
        # Last `hires` people were hired during the year; a disjoint set left during it.
        for emp in people[len(people) - hires :]:
            emp.hire_date = self.today - timedelta(days=rng.randrange(20, 330))
        leavers = rng.sample(range(len(people) - hires), terminations)
        for position in leavers:
            emp = people[position]
            emp.terminations.append(
                Termination(
                    uuid=self.uid("termination", emp.uuid),
                    employee_uuid=emp.uuid,
                    effective_date=self.today - timedelta(days=rng.randrange(15, 330)),
                )
            )

    # ---- contractors ------------------------------------------------------------------------

    def _contractors_a(self, company: Company) -> None:
        field_ops = company.departments[0]
        admin = company.departments[-1]
        rng = self.rng("contractor-payments", company.name)
        departments = {"first": field_ops, "last": admin, None: None}
        for spec in _DATA["company_a_contractors"]:
            names = {k: spec[k] for k in ("first_name", "last_name", "business_name")}
            key = names["business_name"] or f"{names['first_name']} {names['last_name']}"
            contractor = Contractor(
                uuid=self.uid("contractor", company.name, key),
                company_uuid=company.uuid,
                type=spec["type"],
                wage_type=spec["wage_type"],
                email=f"{key.lower().replace(' ', '.')}@example.com",
                start_date=date(2022, 4, 1),
                hourly_rate=Decimal(spec["hourly_rate"]),
                department=departments[spec["department"]],
                **names,
            )
            company.contractors.append(contractor)
            for months_back in range(12, 0, -1):
                pay_date = add_months(self.today.replace(day=1), -months_back + 1) + timedelta(
                    days=rng.randrange(0, 20)
                )
                if pay_date > self.today:
                    continue
                company.contractor_payments.append(
                    self._contractor_payment(company, contractor, pay_date, rng)
                )
        company.contractor_payments.sort(key=lambda p: (p.date, p.uuid))

    def _contractor_payment(
        self, company: Company, contractor: Contractor, pay_date: date, rng: random.Random
    ) -> model.ContractorPayment:
        if contractor.wage_type == "Hourly":
            hours = Decimal(rng.randrange(200, 1600)) / 10
            wage = Decimal("0")
            rate = contractor.hourly_rate
        else:
            hours = Decimal("0")
            wage = Decimal(rng.randrange(150000, 900000)) / 100
            rate = Decimal("0")
        bonus = Decimal(rng.choice((0, 0, 0, 20, 250)))
        reimbursement = Decimal(rng.choice(("0", "0", "110.0", "57.25", "12.5")))
        total = cents(hours * rate) + wage + bonus
        return model.ContractorPayment(
            uuid=self.uid("contractor-payment", contractor.uuid, pay_date.isoformat()),
            company_uuid=company.uuid,
            contractor_uuid=contractor.uuid,
            date=pay_date,
            wage_type=contractor.wage_type,
            hours=fmt1(hours),
            hourly_rate=fmt1(rate),
            wage=fmt1(wage),
            bonus=fmt1(bonus),
            reimbursement=fmt1(reimbursement),
            wage_total=fmt2(total),
            payment_method="Direct Deposit" if contractor.type == "Business" else "Check",
            status="Funded",
        )
