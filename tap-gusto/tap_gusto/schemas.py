"""Stream schemas (docs/CONTRACTS.md section 4). Money/hours/rates are JSON numbers from Decimal."""

from __future__ import annotations

from typing import Any

from singer_sdk import typing as th

S = th.StringType
B = th.BooleanType
I = th.IntegerType  # noqa: E741
N = th.DecimalType  # number, written from Decimal with its exact digits
D = th.DateType
DT = th.DateTimeType


def obj(*props: th.Property[Any]) -> th.ObjectType:
    return th.ObjectType(*props)


def arr(item: th.JSONTypeHelper[Any] | type[th.JSONTypeHelper[Any]]) -> th.ArrayType[Any]:
    return th.ArrayType(item)  # type: ignore[arg-type]


def p(
    name: str, kind: th.JSONTypeHelper[Any] | type[th.JSONTypeHelper[Any]], **kw: Any
) -> th.Property[Any]:
    return th.Property(name, kind, **kw)


COMPANY_UUID = p("company_uuid", S, required=True, description="Gusto company UUID")

# Shared fragments: one definition per Gusto shape that several streams embed.
ADDRESS_FIELDS = (
    p("street_1", S),
    p("street_2", S),
    p("city", S),
    p("state", S),
    p("zip", S),
    p("country", S),
    p("active", B),
)
ADDRESS = obj(*ADDRESS_FIELDS)
NAMED = obj(p("uuid", S), p("name", S))
UUID_ONLY = obj(p("uuid", S))


def strings(*names: str) -> tuple[th.Property[Any], ...]:
    return tuple(p(name, S) for name in names)


def flags(*names: str) -> tuple[th.Property[Any], ...]:
    return tuple(p(name, B) for name in names)


def company_record(*props: th.Property[Any]) -> dict[str, Any]:
    """A stream keyed by its own ``uuid`` that belongs to one company."""
    return th.PropertiesList(p("uuid", S, required=True), COMPANY_UUID, *props).to_dict()


COMPANIES = company_record(
    p("name", S),
    p("trade_name", S),
    p("slug", S),
    p("ein", S),
    p("entity_type", S),
    p("tier", S),
    p("is_suspended", B),
    p("company_status", S),
    p("is_partner_managed", B),
    p("contractor_only", B),
    p("pay_schedule_type", S),
    p("join_date", S),
    p("funding_type", S),
    p("locations", arr(ADDRESS)),
    p(
        "compensations",
        obj(
            p("hourly", arr(obj(p("uuid", S), p("name", S), p("multiple", N)))),
            p("fixed", arr(NAMED)),
            p("paid_time_off", arr(NAMED)),
        ),
    ),
    p(
        "primary_payroll_admin",
        obj(p("first_name", S), p("last_name", S), p("phone", S), p("email", S)),
    ),
)

COMPENSATION = obj(
    p("uuid", S),
    p("version", S),
    p("job_uuid", S),
    p("employee_uuid", S),
    p("rate", N),
    p("payment_unit", S),
    p("flsa_status", S),
    p("title", S),
    p("effective_date", S),
    p("adjust_for_minimum_wage", B),
    p("minimum_wages", arr(obj(p("uuid", S), p("wage", N), p("effective_date", S)))),
)

JOB = obj(
    p("uuid", S),
    p("version", S),
    p("employee_uuid", S),
    p("hire_date", S),
    p("title", S),
    p("primary", B),
    p("rate", N),
    p("payment_unit", S),
    p("current_compensation_uuid", S),
    p("two_percent_shareholder", B),
    p("state_wc_covered", B),
    p("state_wc_class_code", S),
    p("location_uuid", S),
    p("location", obj(*strings("uuid", "city", "state", "zip", "country"))),
    p("compensations", arr(COMPENSATION)),
)

TERMINATION = obj(
    *strings("uuid", "version", "employee_uuid"),
    *flags("active", "cancelable"),
    p("effective_date", S),
    p("run_termination_payroll", B),
)

EMPLOYEES = company_record(
    p("first_name", S),
    p("middle_initial", S),
    p("last_name", S),
    p("preferred_first_name", S),
    p("email", S),
    p("work_email", S),
    p("phone", S),
    p("manager_uuid", S),
    p("version", S),
    p("department", S),
    p("department_uuid", S),
    p("terminated", B),
    p("two_percent_shareholder", B),
    p("onboarded", B),
    p("onboarding_status", S),
    p("jobs", arr(JOB)),
    p(
        "eligible_paid_time_off",
        arr(
            obj(
                p("name", S),
                p("policy_name", S),
                p("policy_uuid", S),
                p("accrual_unit", S),
                p("accrual_rate", N),
                p("accrual_method", S),
                p("accrual_period", S),
                p("accrual_balance", N),
                p("maximum_accrual_balance", N),
                p("paid_at_termination", B),
            )
        ),
    ),
    p("terminations", arr(TERMINATION)),
    p("garnishments", arr(obj())),
    p("date_of_birth", S),
    p("has_ssn", B),
    p("payment_method", S),
    p("current_employment_status", S),
    p("employee_code", S),
    p("title", S),
    p("hired_at", S),
    p("flsa_status", S),
    p("historical", B),
)

DEPARTMENTS = company_record(
    *strings("title", "version"),
    p("employees", arr(UUID_ONLY)),
    p("contractors", arr(UUID_ONLY)),
)

LOCATIONS = company_record(
    *strings("version", "phone_number"),
    *ADDRESS_FIELDS,
    *flags("inactive", "mailing_address", "filing_address"),
    *strings("created_at", "updated_at"),
)

PAY_SCHEDULES = company_record(
    p("version", S),
    p("frequency", S),
    p("anchor_pay_date", S),
    p("anchor_end_of_pay_period", S),
    p("day_1", I),
    p("day_2", I),
    p("name", S),
    p("custom_name", S),
    p("auto_pilot", B),
    p("auto_payroll", B),
    p("active", B),
)

PAY_PERIODS = th.PropertiesList(
    COMPANY_UUID,
    p("pay_schedule_uuid", S, required=True),
    p("start_date", S, required=True),
    p("end_date", S, required=True),
    p(
        "payroll",
        obj(
            p("payroll_uuid", S),
            p("check_date", S),
            p("processed", B),
            p("payroll_deadline", S),
            p("payroll_type", S),
        ),
    ),
).to_dict()

TAX = obj(p("name", S), p("employer", B), p("amount", N))

# Hours paid (hourly compensations, paid time off): a named line with hours and their amount.
PAID_HOURS = (*strings("uuid", "name"), p("hours", N), p("amount", N))

# One employee's pay in a payroll, less its ``employee_uuid``.
COMPENSATION_FIELDS = (
    p("excluded", B),
    p("first_name", S),
    p("preferred_first_name", S),
    p("last_name", S),
    p("gross_pay", N),
    p("net_pay", N),
    p("check_amount", N),
    p("payment_method", S),
    p("memo", S),
    p("version", S),
    p(
        "fixed_compensations",
        arr(obj(p("uuid", S), p("name", S), p("amount", N), p("job_uuid", S))),
    ),
    p(
        "hourly_compensations",
        arr(
            obj(
                *PAID_HOURS,
                p("job_uuid", S),
                p("compensation_multiplier", N),
                p("flsa_status", S),
            )
        ),
    ),
    p(
        "paid_time_off",
        arr(obj(*PAID_HOURS, p("final_payout_unused_hours_input", N))),
    ),
    p(
        "reimbursements",
        arr(obj(p("uuid", S), p("amount", N), p("description", S), p("recurring", B))),
    ),
    p(
        "benefits",
        arr(
            obj(
                p("name", S),
                p("employee_deduction", N),
                p("company_contribution", N),
                p("imputed", B),
            )
        ),
    ),
    p(
        "deductions",
        arr(
            obj(
                p("uuid", S),
                p("name", S),
                p("amount", N),
                p("amount_type", S),
                p("updatable_via_payroll", B),
            )
        ),
    ),
    p("taxes", arr(TAX)),
)
EMPLOYEE_COMPENSATION = obj(p("employee_uuid", S), *COMPENSATION_FIELDS)

# Gusto's payroll totals (all amounts), in its order: debits, pay, earnings, taxes, deductions.
TOTAL_KEYS = tuple(
    key
    for group in (
        ("company_debit", "net_pay_debit", "tax_debit", "reimbursement_debit"),
        ("child_support_debit", "reimbursements", "net_pay", "gross_pay"),
        ("employee_bonuses", "employee_commissions", "employee_cash_tips"),
        ("employee_paycheck_tips", "additional_earnings", "owners_draw", "check_amount"),
        ("employer_taxes", "employee_taxes", "benefits", "employee_benefits_deductions"),
        ("imputed_pay", "deferred_payroll_taxes", "other_deductions"),
    )
    for key in group
)

PAYROLLS = th.PropertiesList(
    p("payroll_uuid", S, required=True),
    p("uuid", S),
    COMPANY_UUID,
    p("payroll_type", S, required=True, allowed_values=["regular", "off_cycle"]),
    p("employee_compensations_count", I, required=True),
    p("check_date", S),
    p("processed", B),
    # Set by the tap: emitted as processed before, no longer processed in Gusto now.
    p("cancelled", B),
    p("processed_date", D),
    p("calculated_at", S),
    p("payroll_deadline", S),
    p("off_cycle", B),
    p("off_cycle_reason", S),
    p("auto_pilot", B),
    p("auto_payroll", B),
    p("external", B),
    p("final_termination_payroll", B),
    p("withholding_pay_period", S),
    p("skip_regular_deductions", B),
    p("fixed_withholding_rate", B),
    p("created_at", S),
    p("pay_period", obj(p("start_date", S), p("end_date", S), p("pay_schedule_uuid", S))),
    p("totals", obj(*(p(key, N) for key in TOTAL_KEYS))),
    p("company_taxes", arr(TAX)),
    p("payroll_taxes", arr(TAX)),
    p("reversal_payroll_uuids", arr(S)),
    p(
        "payroll_status_meta",
        obj(
            p("cancellable", B),
            p("expected_check_date", S),
            p("initial_check_date", S),
            p("expected_debit_time", S),
            p("payroll_late", B),
            p("initial_debit_cutoff_time", S),
        ),
    ),
    p("processing_request", obj(p("status", S), p("errors", arr(obj())))),
    p("credit_blockers", arr(obj())),
    p("submission_blockers", arr(obj())),
    p("employee_compensations", arr(EMPLOYEE_COMPENSATION)),
    p(
        "fetch_id",
        S,
        description="payroll_record_shape split: the read whose payroll_compensations it has",
    ),
).to_dict()

# payroll_record_shape split: the payrolls' employee_compensations, one record each.
PAYROLL_COMPENSATIONS = th.PropertiesList(
    p("payroll_uuid", S, required=True),
    p("employee_uuid", S, required=True),
    p("fetch_id", S, required=True, description="One id per read of the payroll"),
    COMPANY_UUID,
    *COMPENSATION_FIELDS,
).to_dict()

CONTRACTORS = company_record(
    p("version", S),
    p("type", S),
    p("wage_type", S),
    p("is_active", B),
    p("first_name", S),
    p("last_name", S),
    p("middle_initial", S),
    p("business_name", S),
    p("ein", S),
    p("has_ein", B),
    p("has_ssn", B),
    p("email", S),
    p("start_date", S),
    p("dismissal_date", S),
    p("address", ADDRESS),
    p("hourly_rate", N),
    p("onboarded", B),
    p("onboarding_status", S),
    p("payment_method", S),
    p("department_uuid", S),
    p("department", S),
    p("department_title", S),
    p("file_new_hire_report", B),
    p("work_state", S),
)

CONTRACTOR_PAYMENTS = company_record(
    p("contractor_uuid", S),
    p("date", D),
    p("bonus", N),
    p("hours", N),
    p("hourly_rate", N),
    p("reimbursement", N),
    p("wage", N),
    p("wage_total", N),
    p("payment_method", S),
    p("status", S),
    p("wage_type", S),
    p("may_cancel", B),
)
