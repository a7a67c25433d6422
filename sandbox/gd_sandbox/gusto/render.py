"""Turns sandbox records into Gusto API response bodies for a given API version.

Version differences implemented (gusto-api.md sections 5.6, 5.7):
- 2025-06-15, 2025-11-15, 2026-02-01: per-employee `gross_pay`, `net_pay`, `check_amount`,
  `taxes[].amount`, `benefits[]` amounts and `deductions[].amount` are JSON numbers (exact digits,
  never floats).
- 2026-06-15: those fields are strings; hourly/fixed/PTO lines carry a `uuid`; off-cycle payrolls
  return null `initial_check_date` and `payroll_late`.
- From 2025-11-15: `auto_payroll` replaces `auto_pilot`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from gd_sandbox.gusto.model import (
    Company,
    Contractor,
    ContractorPayment,
    Department,
    Employee,
    Location,
    PayrollMeta,
    PaySchedule,
    Termination,
    version_hash,
)
from gd_sandbox.gusto.money import as_json_number, fmt2
from gd_sandbox.gusto.payroll_calc import debit_time
from gd_sandbox.gusto.seed import uid

STRING_MONEY_VERSION = "2026-06-15"
AUTO_PAYROLL_VERSION = "2025-11-15"
STAMP = "T09:30:00.000-07:00"


def _iso(day: date) -> str:
    return day.isoformat()


def company(c: Company, seed: str) -> dict[str, Any]:
    return {
        "uuid": c.uuid,
        "name": c.name,
        "trade_name": c.trade_name,
        "slug": c.slug,
        "ein": c.ein,
        "entity_type": "S-Corporation",
        "tier": "plus",
        "is_suspended": False,
        "company_status": "Approved",
        "is_partner_managed": False,
        "contractor_only": False,
        "pay_schedule_type": "single",
        "join_date": _iso(c.join_date),
        "funding_type": "ach",
        "locations": [_address(loc) for loc in c.locations],
        "compensations": {
            "hourly": [
                {"uuid": uid(seed, "earning", c.uuid, n), "name": n, "multiple": m}
                for n, m in (
                    ("Regular Hours", 1),
                    ("Overtime", as_json_number("1.5")),
                    ("Double overtime", 2),
                )
            ],
            "fixed": [
                {"uuid": uid(seed, "earning", c.uuid, n), "name": n}
                for n in ("Salary", "Bonus", "Commission", "Reimbursement")
            ],
            "paid_time_off": [
                {"uuid": uid(seed, "earning", c.uuid, n), "name": n}
                for n in ("Vacation Hours", "Sick Hours", "Holiday Hours")
            ],
        },
        "primary_payroll_admin": {
            "first_name": "Pat",
            "last_name": "Admin",
            "phone": "3035550101",
            "email": f"payroll@{c.slug}.example",
        },
    }


def _address(loc: Location) -> dict[str, Any]:
    """The address fields Gusto repeats in a company's locations and a location."""
    return {
        "street_1": loc.street_1,
        "street_2": None,
        "city": loc.city,
        "state": loc.state,
        "zip": loc.zip,
        "country": "USA",
        "active": True,
    }


def department(d: Department, c: Company) -> dict[str, Any]:
    return {
        "uuid": d.uuid,
        "company_uuid": d.company_uuid,
        "title": d.title,
        "version": version_hash(d.uuid, d.title),
        "employees": [{"uuid": e.uuid} for e in c.employees if e.department is d],
        "contractors": [{"uuid": k.uuid} for k in c.contractors if k.department is d],
    }


def location(loc: Location) -> dict[str, Any]:
    return {
        "uuid": loc.uuid,
        "company_uuid": loc.company_uuid,
        "version": version_hash(loc.uuid, loc.street_1, loc.city),
        "phone_number": loc.phone_number,
        **_address(loc),
        "filing_address": loc.filing_address,
        "mailing_address": loc.filing_address,
        "created_at": "2021-03-01" + STAMP,
        "updated_at": "2021-03-01" + STAMP,
    }


def termination(t: Termination) -> dict[str, Any]:
    return {
        "uuid": t.uuid,
        "employee_uuid": t.employee_uuid,
        "version": version_hash(t.uuid, t.effective_date),
        "active": True,
        "cancelable": False,
        "effective_date": _iso(t.effective_date),
        "run_termination_payroll": t.run_termination_payroll,
    }


def employee(e: Employee) -> dict[str, Any]:
    unit = "Hour" if e.pay_type == "hourly" else "Year"
    flsa = "Nonexempt" if e.pay_type == "hourly" else "Exempt"
    rate = fmt2(e.rate)
    compensation = {
        "uuid": e.compensation_uuid,
        "version": version_hash(e.compensation_uuid, rate),
        "payment_unit": unit,
        "flsa_status": flsa,
        "job_uuid": e.job_uuid,
        "effective_date": _iso(e.hire_date),
        "rate": rate,
        "adjust_for_minimum_wage": False,
        "minimum_wages": [],
    }
    job = {
        "uuid": e.job_uuid,
        "version": version_hash(e.job_uuid, e.title, rate, e.location.uuid),
        "employee_uuid": e.uuid,
        "current_compensation_uuid": e.compensation_uuid,
        "payment_unit": unit,
        "primary": True,
        "title": e.title,
        "compensations": [compensation],
        "rate": rate,
        "hire_date": _iso(e.hire_date),
        "location_uuid": e.location.uuid,
        "location": {
            "uuid": e.location.uuid,
            "street_1": e.location.street_1,
            "city": e.location.city,
            "state": e.location.state,
            "zip": e.location.zip,
            "country": "USA",
            "active": True,
        },
        "two_percent_shareholder": False,
        "state_wc_covered": None,
        "state_wc_class_code": None,
    }
    return {
        "uuid": e.uuid,
        "first_name": e.first_name,
        "middle_initial": None,
        "last_name": e.last_name,
        "preferred_first_name": None,
        "email": e.email,
        "work_email": None,
        "phone": None,
        "company_uuid": e.company_uuid,
        "manager_uuid": e.manager_uuid,
        "version": version_hash(
            e.uuid,
            e.first_name,
            e.last_name,
            e.title,
            rate,
            [t.effective_date for t in e.terminations],
            e.department.uuid if e.department else None,
        ),
        "department": e.department.title if e.department else None,
        "department_uuid": e.department.uuid if e.department else None,
        "terminated": e.terminated,
        "two_percent_shareholder": False,
        "onboarded": True,
        "onboarding_status": "onboarding_completed",
        "jobs": [job],
        "eligible_paid_time_off": [],
        "terminations": [termination(t) for t in e.terminations],
        "garnishments": [],
        "date_of_birth": _iso(e.date_of_birth),
        "has_ssn": True,
        "ssn": "",
        "payment_method": e.payment_method,
        "current_employment_status": "full_time",
        "flsa_status": flsa,
        "title": e.title,
        "hired_at": _iso(e.hire_date),
    }


def pay_schedule(s: PaySchedule, version: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uuid": s.uuid,
        "version": version_hash(s.uuid, s.frequency),
        "frequency": s.frequency,
        "anchor_pay_date": _iso(s.anchor_pay_date),
        "anchor_end_of_pay_period": _iso(s.anchor_end_of_pay_period),
        "day_1": s.day_1,
        "day_2": s.day_2,
        "name": s.name,
        "custom_name": s.name,
        "active": True,
    }
    body["auto_payroll" if version >= AUTO_PAYROLL_VERSION else "auto_pilot"] = False
    return body


def pay_period(p: PayrollMeta) -> dict[str, Any]:
    return {
        "start_date": _iso(p.period_start),
        "end_date": _iso(p.period_end),
        "pay_schedule_uuid": p.pay_schedule_uuid,
        "payroll": {
            "payroll_uuid": p.uuid,
            "check_date": _iso(p.check_date),
            "processed": p.processed,
            "payroll_deadline": _iso(p.check_date - timedelta(days=2)),
            "payroll_type": "regular",
        },
    }


def contractor(k: Contractor) -> dict[str, Any]:
    business = k.type == "Business"
    return {
        "uuid": k.uuid,
        "company_uuid": k.company_uuid,
        "wage_type": k.wage_type,
        "is_active": k.is_active,
        "version": version_hash(k.uuid, k.wage_type, k.hourly_rate),
        "type": k.type,
        "first_name": k.first_name,
        "last_name": k.last_name,
        "middle_initial": None,
        "business_name": k.business_name,
        "ein": "98-7650001" if business else None,
        "has_ein": business,
        "has_ssn": k.type == "Individual",
        "department": k.department.title if k.department else None,
        "department_uuid": k.department.uuid if k.department else None,
        "email": k.email,
        "start_date": _iso(k.start_date),
        "file_new_hire_report": False,
        "work_state": "CO",
        "onboarded": True,
        "onboarding_status": "onboarding_completed",
        "payment_method": "Direct Deposit" if business else "Check",
        "address": {
            "street_1": "500 Market St",
            "street_2": None,
            "city": "Denver",
            "state": "CO",
            "zip": "80202",
            "country": "USA",
        },
        "hourly_rate": fmt2(k.hourly_rate),
    }


def contractor_payment(p: ContractorPayment) -> dict[str, Any]:
    return {
        "uuid": p.uuid,
        "contractor_uuid": p.contractor_uuid,
        "bonus": p.bonus,
        "date": _iso(p.date),
        "hours": p.hours,
        "payment_method": p.payment_method,
        "reimbursement": p.reimbursement,
        "status": p.status,
        "hourly_rate": p.hourly_rate,
        "may_cancel": False,
        "wage": p.wage,
        "wage_type": p.wage_type,
        "wage_total": p.wage_total,
    }


def payroll_header(p: PayrollMeta, version: str) -> dict[str, Any]:
    off_cycle_2026 = p.off_cycle and version >= STRING_MONEY_VERSION
    body: dict[str, Any] = {
        "uuid": p.uuid,
        "payroll_uuid": p.uuid,
        "company_uuid": p.company_uuid,
        "check_date": _iso(p.check_date),
        "processed": p.processed,
        "processed_date": _iso(p.processed_date) if p.processed_date else None,
        "calculated_at": p.detail.calculated_at if p.detail and p.processed else None,
        "payroll_deadline": debit_time(p),
        "off_cycle": p.off_cycle,
        "off_cycle_reason": p.off_cycle_reason,
        "external": False,
        "final_termination_payroll": False,
        "withholding_pay_period": "Every other week" if p.off_cycle else None,
        "skip_regular_deductions": p.off_cycle,
        "fixed_withholding_rate": p.off_cycle,
        "pay_period": {
            "start_date": _iso(p.period_start),
            "end_date": _iso(p.period_end),
            "pay_schedule_uuid": p.pay_schedule_uuid,
        },
        "created_at": _iso(p.created_at) + "T16:00:00Z",
        "reversal_payroll_uuids": [],
        "payroll_status_meta": {
            "cancellable": not p.processed,
            "expected_check_date": _iso(p.check_date),
            "initial_check_date": None if off_cycle_2026 else _iso(p.check_date),
            "expected_debit_time": debit_time(p),
            "payroll_late": None if off_cycle_2026 else False,
            "initial_debit_cutoff_time": debit_time(p),
        },
    }
    body["auto_payroll" if version >= AUTO_PAYROLL_VERSION else "auto_pilot"] = False
    return body


NUMBER_FIELDS = ("gross_pay", "net_pay", "check_amount")


def employee_compensation(
    comp: dict[str, Any],
    version: str,
    includes: set[str],
    *,
    meta: PayrollMeta,
    seed: str,
) -> dict[str, Any]:
    """One `employee_compensations[]` entry in the shape of `version`."""
    strings = version >= STRING_MONEY_VERSION

    def money(text: str) -> Any:
        return text if strings else as_json_number(text)

    def lines(kind: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = comp[kind]
        if not strings:
            return items
        # 2026-06-15 added line uuids; derived here so that older versions pay nothing for them.
        return [
            {**item, "uuid": uid(seed, kind, meta.uuid, comp["employee_uuid"], item["name"])}
            for item in items
        ]

    out: dict[str, Any] = {
        k: v for k, v in comp.items() if k not in ("benefits", "deductions", "taxes")
    }
    for key in NUMBER_FIELDS:
        out[key] = money(comp[key])
    out["fixed_compensations"] = lines("fixed_compensations")
    out["hourly_compensations"] = lines("hourly_compensations")
    out["paid_time_off"] = lines("paid_time_off")
    if "benefits" in includes:
        out["benefits"] = [
            {
                **b,
                "employee_deduction": money(b["employee_deduction"]),
                "company_contribution": money(b["company_contribution"]),
            }
            for b in comp["benefits"]
        ]
    # Deductions are included by default for regular payrolls since 2025-06-15.
    if "deductions" in includes or not meta.off_cycle:
        out["deductions"] = [{**d, "amount": money(d["amount"])} for d in comp["deductions"]]
    if "taxes" in includes:
        out["taxes"] = [{**t, "amount": money(t["amount"])} for t in comp["taxes"]]
    return out
