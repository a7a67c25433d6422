"""Computes the content of one payroll, consistent to the cent (identities in CONTRACTS section 2).

Amounts come from a random stream seeded by (seed, payroll, employee), so a payroll's numbers do not
depend on when or in which order it is computed. All arithmetic is Decimal on the wire strings.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from gd_sandbox.data import load
from gd_sandbox.gusto.model import Company, Employee, PayrollDetail, PayrollMeta, PaySchedule
from gd_sandbox.gusto.money import ZERO, cents, fmt1, fmt2, fmt_hours
from gd_sandbox.gusto.seed import HOURLY_EARNINGS, uid

STATE_INCOME_TAX = {"CO": Decimal("0.044"), "AZ": Decimal("0.025")}
SUTA = {"CO": Decimal("0.017"), "AZ": Decimal("0.02")}
SS = Decimal("0.062")
MEDICARE = Decimal("0.0145")
FUTA = Decimal("0.006")
SUPPLEMENTAL_FIT = Decimal("0.22")
HOURS_PER_PERIOD = {
    12: Decimal("173.333"),
    24: Decimal("86.667"),
    26: Decimal("80.000"),
    52: Decimal("40.000"),
}
REIMBURSEMENTS = ("45.5", "123.17", "18.0", "260.41", "9.99")

# The keys of a payroll's ``totals``, in Gusto's order.
TOTAL_KEYS: tuple[str, ...] = tuple(load(__package__, "api_fields.json")["payroll_total_keys"])


def _sum(values: Iterable[str]) -> Decimal:
    return sum((Decimal(v) for v in values), ZERO)


def _fraction_worked(emp: Employee, meta: PayrollMeta) -> Decimal:
    """Share of the pay period the employee was employed (hires and leavers mid-period)."""
    first = max(emp.hire_date, meta.period_start)
    last = meta.period_end if emp.last_day is None else min(emp.last_day, meta.period_end)
    days = (meta.period_end - meta.period_start).days + 1
    worked = (last - first).days + 1
    return Decimal(max(0, min(worked, days))) / Decimal(days)


class PayrollCalculator:
    def __init__(self, seed: str, company_level_taxes: dict[str, str] | None = None) -> None:
        self.seed = seed
        # Taxes Gusto computes for the company as a whole (e.g. a city's flat employer head
        # tax), charged on every payroll that pays someone; they name no employee.
        self.company_level_taxes = {
            name: Decimal(amount) for name, amount in (company_level_taxes or {}).items()
        }

    def participants(self, company: Company, meta: PayrollMeta) -> list[Employee]:
        if meta.off_cycle:
            rng = random.Random(f"{self.seed}/bonus-pick/{meta.uuid}")  # noqa: S311 - fake data
            active = [
                e for e in company.employees if e.active_between(meta.check_date, meta.check_date)
            ]
            return [e for e in active if rng.random() < 0.35]
        return [
            e for e in company.employees if e.active_between(meta.period_start, meta.period_end)
        ]

    def compute(self, company: Company, meta: PayrollMeta) -> PayrollDetail:
        schedule = next(s for s in company.pay_schedules if s.uuid == meta.pay_schedule_uuid)
        people = self.participants(company, meta)
        corrections: dict[str, str] = {}
        if meta.tax_correction and people:
            corrections[people[0].uuid] = "employee"
            corrections[people[-1].uuid] = "employer"
        comps = [
            self._employee(company, schedule, meta, emp, corrections.get(emp.uuid))
            for emp in people
        ]
        company_taxes = self._company_taxes(comps)
        return PayrollDetail(
            employee_compensations=comps,
            totals=self.totals(comps, company_taxes),
            company_taxes=company_taxes,
            payroll_taxes=self._payroll_taxes(comps),
            calculated_at=datetime.combine(
                meta.processed_date or meta.check_date, time(12, 0), UTC
            ).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )

    # ---- one employee -----------------------------------------------------------------------

    def _employee(
        self,
        company: Company,
        schedule: PaySchedule,
        meta: PayrollMeta,
        emp: Employee,
        correction: str | None,
    ) -> dict[str, Any]:
        rng = random.Random(f"{self.seed}/pay/{meta.uuid}/{emp.uuid}")  # noqa: S311 - fake data
        hourly: list[dict[str, Any]] = []
        fixed: list[dict[str, Any]] = []
        state = emp.location.state

        def add_fixed(name: str, amount: str) -> None:
            fixed.append(
                {
                    "name": name,
                    "amount": amount,
                    "job_uuid": emp.job_uuid,
                }
            )

        full_period = True
        if meta.off_cycle:
            bonus = cents(Decimal(rng.randrange(25000, 300000)) / 100 + Decimal("0.07"))
            add_fixed("Bonus", fmt1(bonus))
        else:
            fraction = _fraction_worked(emp, meta)
            full_period = fraction == 1
            if emp.pay_type == "hourly":
                base = HOURS_PER_PERIOD[schedule.periods_per_year]
                regular = (base - Decimal(rng.randrange(0, 8000)) / 1000) * fraction
                overtime = Decimal(rng.randrange(500, 12000)) / 1000 if rng.random() < 0.6 else ZERO
                double = Decimal(rng.randrange(250, 4000)) / 1000 if rng.random() < 0.08 else ZERO
                for (name, multiplier), hours in zip(
                    HOURLY_EARNINGS,
                    (regular, overtime * fraction, double * fraction),
                    strict=True,
                ):
                    hours_text = fmt_hours(hours)
                    amount = cents(Decimal(hours_text) * emp.rate * multiplier)
                    hourly.append(
                        {
                            "name": name,
                            "hours": hours_text,
                            "amount": fmt2(amount),
                            "job_uuid": emp.job_uuid,
                            "compensation_multiplier": multiplier,
                            "flsa_status": "Nonexempt",
                        }
                    )
            else:
                add_fixed("Salary", fmt2(cents(emp.rate / schedule.periods_per_year * fraction)))
                if "Project Management" in (emp.department.title if emp.department else "") and (
                    rng.random() < 0.3
                ):
                    add_fixed(
                        "Commission",
                        fmt2(Decimal(rng.randrange(25000, 150000)) / 100 + Decimal("0.17")),
                    )
            if meta.check_date.month == 12 and meta.check_date.day > 15 and rng.random() < 0.5:
                add_fixed("Bonus", fmt1(Decimal(rng.randrange(100, 1000))))
            # Paper checks carry no reimbursement so that net_pay_debit = net_pay - check_amount.
            if emp.payment_method != "Check" and rng.random() < 0.1:
                add_fixed("Reimbursement", rng.choice(REIMBURSEMENTS))

        wages = _sum(h["amount"] for h in hourly) + _sum(
            f["amount"] for f in fixed if f["name"] != "Reimbursement"
        )
        reimbursement = _sum(f["amount"] for f in fixed if f["name"] == "Reimbursement")

        benefits: list[dict[str, Any]] = []
        deductions: list[dict[str, Any]] = []
        plan = emp.plan
        # Benefits start with the first full period; off-cycle bonus runs skip regular deductions.
        if full_period and not meta.off_cycle:
            if plan.medical_ee or plan.medical_er:
                benefits.append(_benefit("Medical Insurance", plan.medical_ee, plan.medical_er))
            if plan.dental_ee or plan.dental_er:
                benefits.append(_benefit("Dental Insurance", plan.dental_ee, plan.dental_er))
            if plan.k401_pct:
                k401 = cents(wages * plan.k401_pct)
                benefits.append(
                    _benefit("401K", k401, cents(min(k401, wages * Decimal("0.03")) / 2))
                )
            if plan.gtl_imputed:
                benefits.append(_benefit("Group Term Life", ZERO, plan.gtl_imputed, imputed=True))
            if plan.child_support:
                deductions.append(
                    _deduction(self.seed, meta, emp, "Child Support", fmt2(plan.child_support))
                )
            if plan.tool_loan:
                deductions.append(
                    _deduction(self.seed, meta, emp, "Tool Loan", fmt1(plan.tool_loan))
                )
        imputed = _sum(b["company_contribution"] for b in benefits if b["imputed"])
        gross = wages + imputed
        pretax = _sum(b["employee_deduction"] for b in benefits if b["name"] != "Group Term Life")
        taxable = gross - pretax

        taxes: list[dict[str, Any]] = []

        def add_tax(name: str, employer: bool, amount: Decimal) -> None:
            taxes.append({"name": name, "employer": employer, "amount": fmt2(amount)})

        fit_rate = SUPPLEMENTAL_FIT if meta.off_cycle else emp.fit_rate
        add_tax("Federal Income Tax", False, cents(taxable * fit_rate))
        add_tax("Social Security", False, cents(gross * SS))
        add_tax("Medicare", False, cents(gross * MEDICARE))
        state_tax = cents(taxable * STATE_INCOME_TAX[state])
        if correction == "employee":
            # A refund of over-withheld state tax from a prior period.
            state_tax = Decimal("-0.92")
        add_tax(f"{state} State Income Tax", False, state_tax)
        add_tax("Social Security", True, cents(gross * SS))
        add_tax("Medicare", True, cents(gross * MEDICARE))
        if meta.check_date.month <= 3:
            add_tax("FUTA", True, cents(gross * FUTA))
        if meta.check_date.month <= 6:
            add_tax(f"{state} SUTA", True, cents(gross * SUTA[state]))
        if correction == "employer":
            add_tax(f"{state} SUTA", True, Decimal("-1.37"))

        employee_taxes = _sum(t["amount"] for t in taxes if not t["employer"])
        net = (
            gross
            - imputed
            - employee_taxes
            - _sum(b["employee_deduction"] for b in benefits)
            - _sum(d["amount"] for d in deductions)
        )
        if net < 0:
            raise AssertionError(f"sandbox seed produced negative net pay for {emp.uuid}")
        return {
            "employee_uuid": emp.uuid,
            "excluded": False,
            "first_name": emp.first_name,
            "preferred_first_name": None,
            "last_name": emp.last_name,
            "gross_pay": fmt2(gross),
            "net_pay": fmt2(net),
            "check_amount": fmt2(net + reimbursement),
            "payment_method": emp.payment_method,
            "memo": None,
            "fixed_compensations": fixed,
            "hourly_compensations": hourly,
            "paid_time_off": [
                {
                    "name": name,
                    "hours": fmt_hours(
                        Decimal(rng.choice((0, 0, 0, 0, 8))) if not meta.off_cycle else ZERO
                    ),
                    "final_payout_unused_hours_input": None,
                }
                for name in ("Vacation Hours", "Sick Hours", "Holiday Hours")
            ],
            "reimbursements": [],
            "benefits": benefits,
            "deductions": deductions,
            "taxes": taxes,
        }

    # ---- aggregates -------------------------------------------------------------------------

    @staticmethod
    def totals(
        comps: list[dict[str, Any]], company_taxes: list[dict[str, Any]] | None = None
    ) -> dict[str, str]:
        def fixed_sum(name: str, paid_by_check: bool | None = None) -> Decimal:
            return _sum(
                f["amount"]
                for c in comps
                for f in c["fixed_compensations"]
                if f["name"] == name
                and (paid_by_check is None or (c["payment_method"] == "Check") == paid_by_check)
            )

        net = _sum(c["net_pay"] for c in comps)
        check = _sum(c["check_amount"] for c in comps if c["payment_method"] == "Check")
        # Gusto's employer_taxes total (and so tax_debit) includes the company-level taxes.
        employer = _sum(t["amount"] for c in comps for t in c["taxes"] if t["employer"]) + _sum(
            t["amount"] for t in company_taxes or ()
        )
        employee = _sum(t["amount"] for c in comps for t in c["taxes"] if not t["employer"])
        child_support = _sum(
            d["amount"] for c in comps for d in c["deductions"] if d["name"] == "Child Support"
        )
        reimbursement_debit = fixed_sum("Reimbursement", paid_by_check=False)
        net_pay_debit = net - check
        tax_debit = employer + employee
        values = {
            "company_debit": net_pay_debit + tax_debit + reimbursement_debit + child_support,
            "net_pay_debit": net_pay_debit,
            "tax_debit": tax_debit,
            "reimbursement_debit": reimbursement_debit,
            "child_support_debit": child_support,
            "reimbursements": fixed_sum("Reimbursement"),
            "net_pay": net,
            "gross_pay": _sum(c["gross_pay"] for c in comps),
            "employee_bonuses": fixed_sum("Bonus"),
            "employee_commissions": fixed_sum("Commission"),
            "check_amount": check,
            "employer_taxes": employer,
            "employee_taxes": employee,
            "benefits": _sum(b["company_contribution"] for c in comps for b in c["benefits"]),
            "employee_benefits_deductions": _sum(
                b["employee_deduction"] for c in comps for b in c["benefits"]
            ),
            "imputed_pay": _sum(
                b["company_contribution"] for c in comps for b in c["benefits"] if b["imputed"]
            ),
            "other_deductions": _sum(d["amount"] for c in comps for d in c["deductions"]),
        }
        return {key: fmt2(values.get(key, ZERO)) for key in TOTAL_KEYS}

    def _company_taxes(self, comps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Payroll-level taxes that no employee's taxes include (Gusto's sample: "NY MCTMT")."""
        if not comps:
            return []
        return [
            {"name": name, "amount": fmt2(amount), "employer": True}
            for name, amount in self.company_level_taxes.items()
        ]

    @staticmethod
    def _payroll_taxes(comps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        sums: dict[tuple[str, bool], Decimal] = {}
        for comp in comps:
            for tax in comp["taxes"]:
                key = (tax["name"], tax["employer"])
                sums[key] = sums.get(key, ZERO) + Decimal(tax["amount"])
        # JSON numbers in every API version (per the 2026-06-15 models too).
        return [
            {"name": name, "employer": employer, "amount": Decimal(fmt1(amount))}
            for (name, employer), amount in sums.items()
        ]


def _benefit(
    name: str, employee: Decimal, company: Decimal, *, imputed: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "employee_deduction": fmt2(employee),
        "company_contribution": fmt2(company),
        "imputed": imputed,
    }


def _deduction(
    seed: str, meta: PayrollMeta, emp: Employee, name: str, amount: str
) -> dict[str, Any]:
    return {
        "name": name,
        "amount": amount,
        "amount_type": "fixed",
        "uuid": uid(seed, "deduction", emp.uuid, name),
        "updatable_via_payroll": True,
    }


def debit_time(meta: PayrollMeta) -> str:
    day = meta.check_date - timedelta(days=2)
    return datetime.combine(day, time(22, 0), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
