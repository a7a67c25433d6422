"""Deterministic seed data: the same `seed` and `today` give the same companies, people, payrolls.

UUIDs are uuid5 of readable names, so a test can recompute them; payroll *amounts* are computed
lazily (`payroll_calc.py`) from a per-payroll random stream, so a 5000-employee company starts fast.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from gd_sandbox.gusto.model import Company, Department, Location, PayrollMeta, PaySchedule
from gd_sandbox.gusto.seed_people import (
    COMPANY_A_DEPARTMENTS,
    COMPANY_PROFILES,
    NAMESPACE,
    PAY_SCHEDULES,
    DeptSpec,
    JobSpec,
    PeopleSeed,
    add_months,
    month_end,
    uid,
)

__all__ = [
    "COMPANY_A",
    "COMPANY_A_DEPARTMENTS",
    "COMPANY_B",
    "COMPANY_LARGE",
    "COMPANY_MONTHLY",
    "COMPANY_WEEKLY",
    "FIXED_EARNINGS",
    "HOURLY_EARNINGS",
    "NAMESPACE",
    "PTO_NAMES",
    "DeptSpec",
    "JobSpec",
    "SeedBuilder",
    "add_months",
    "month_end",
    "uid",
]

COMPANY_A = "Ridgeline Specialty Contractors"
COMPANY_B = "Summit Bakery Co"
COMPANY_LARGE = "Large Benchmark Co"
COMPANY_WEEKLY = "Cascade Freight Co"
COMPANY_MONTHLY = "Tidewater Studio Co"

HOURLY_EARNINGS: tuple[tuple[str, Decimal], ...] = (
    ("Regular Hours", Decimal(1)),
    ("Overtime", Decimal("1.5")),
    ("Double overtime", Decimal(2)),
)
FIXED_EARNINGS = ("Salary", "Bonus", "Commission", "Reimbursement")
PTO_NAMES = ("Vacation Hours", "Sick Hours", "Holiday Hours")


class SeedBuilder(PeopleSeed):
    # ---- companies -------------------------------------------------------------------------

    def build(
        self, large_company_employees: int, calendar_companies: bool = False
    ) -> list[Company]:
        companies = [self.company_a(), self.company_b()]
        if large_company_employees > 0:
            companies.append(self.company_large(large_company_employees))
        if calendar_companies:
            companies += [self.company_weekly(), self.company_monthly()]
        return companies

    def _company(self, name: str) -> tuple[Company, list[Location]]:
        """A company of the seed with its locations, from its profile in ``seed_data.json``."""
        profile = COMPANY_PROFILES[name]
        company = Company(
            uuid=self.uid("company", name),
            name=name,
            trade_name=name.replace(" Co", ""),
            slug=name.lower().replace(" ", "-"),
            ein=profile["ein"],
            join_date=date.fromisoformat(profile["join_date"]),
            admin_uuid=self.uid("company-admin", name),
        )
        company.states = tuple(profile["states"])
        for place in profile["locations"]:
            company.locations.append(
                Location(self.uid("location", name, place["city"]), company.uuid, **place)
            )
        return company, list(company.locations)

    def _department(self, company: Company, title: str) -> Department:
        dept = Department(self.uid("department", company.name, title), company.uuid, title)
        company.departments.append(dept)
        return dept

    def company_a(self) -> Company:
        company, (denver, phoenix) = self._company(COMPANY_A)
        schedule = self._schedule(company, "semimonthly", "Field and office")
        rng = self.rng("employees", company.name)
        index = 0
        for spec in COMPANY_A_DEPARTMENTS:
            dept = self._department(company, spec.title)
            for _ in range(spec.count):
                loc = denver if rng.random() < spec.denver_share else phoenix
                company.employees.append(
                    self._employee(
                        company,
                        rng,
                        index,
                        (dept, loc),
                        (spec.pay_type, rng.choice(spec.titles), spec.rate_low, spec.rate_high),
                    )
                )
                index += 1
        self._hires_and_terminations(company, rng, hires=12, terminations=10)
        self._regular_payrolls(company, schedule, self._semi_monthly_periods())
        bonus = self.today - timedelta(days=40)
        first_half = bonus.day <= 15
        self._bonus_run(
            company,
            schedule,
            bonus,
            (
                bonus.replace(day=1 if first_half else 16),
                bonus.replace(day=15) if first_half else month_end(bonus.year, bonus.month),
            ),
        )
        regular = [p for p in company.payrolls if p.processed and not p.off_cycle]
        regular[min(2, len(regular) - 1)].tax_correction = True
        self._contractors_a(company)
        return company

    def company_b(self) -> Company:
        company, (boulder,) = self._company(COMPANY_B)
        dept = self._department(company, "Bakery")
        rng = self.rng("employees", company.name)
        specs = [("hourly", "Baker", 1900, 2700)] * 5 + [("hourly", "Counter Lead", 1800, 2300)]
        specs += [
            ("salary", "Head Baker", 58000, 64000),
            ("salary", "General Manager", 70000, 82000),
        ]
        for index, job in enumerate(specs):
            company.employees.append(self._employee(company, rng, index, (dept, boulder), job))
        self._hires_and_terminations(company, rng, hires=1, terminations=1)
        self._weekly_payrolls(company, "biweekly", 2)
        return company

    def company_large(self, employees: int) -> Company:
        company, (loc,) = self._company(COMPANY_LARGE)
        dept = self._department(company, "Operations")
        schedule = self._schedule(company, "semimonthly", "Operations")
        rng = self.rng("employees", company.name)
        for index in range(employees):
            company.employees.append(
                self._employee(
                    company, rng, index, (dept, loc), ("hourly", "Associate", 1800, 3200)
                )
            )
        processed = [p for p in self._semi_monthly_periods() if p[2] <= self.today][-3:]
        self._regular_payrolls(company, schedule, processed, upcoming=False)
        return company

    def _small_company(self, name: str) -> Company:
        company, (loc,) = self._company(name)
        dept = self._department(company, "Operations")
        rng = self.rng("employees", company.name)
        for index, job in enumerate(
            [("hourly", "Driver", 2100, 2900), ("salary", "Dispatcher", 52000, 61000)]
        ):
            company.employees.append(self._employee(company, rng, index, (dept, loc), job))
        return company

    def company_weekly(self) -> Company:
        """Weekly periods Monday to Sunday, paid in arrears on the Friday after."""
        company = self._small_company(COMPANY_WEEKLY)
        self._weekly_payrolls(company, "weekly", 1)
        return company

    def _weekly_payrolls(self, company: Company, key: str, weeks: int) -> None:
        """A schedule paying every ``weeks`` weeks on Fridays, in arrears: each period ends on
        the Sunday five days before its check date."""
        days = 7 * weeks
        schedule = self._schedule(company, key)
        anchor = schedule.anchor_pay_date  # a Friday
        first = self.today - timedelta(days=400)
        check = anchor + timedelta(days=days * ((first - anchor).days // days + 1))
        periods: list[tuple[date, date, date]] = []
        while check <= self.today + timedelta(days=100):
            end = check - timedelta(days=5)
            periods.append((end - timedelta(days=days - 1), end, check))
            check += timedelta(days=days)
        self._regular_payrolls(company, schedule, periods)

    def company_monthly(self) -> Company:
        """Calendar-month periods paid on the 25th, before the period ends; off-cycle bonuses
        inside monthly periods."""
        company = self._small_company(COMPANY_MONTHLY)
        schedule = self._schedule(company, "monthly")
        periods: list[tuple[date, date, date]] = []
        month = add_months(self.today.replace(day=1), -13)
        while month <= self.today + timedelta(days=100):
            periods.append((month, month_end(month.year, month.month), month.replace(day=25)))
            month = add_months(month, 1)
        self._regular_payrolls(company, schedule, periods)
        # Quarterly bonuses on fixed dates (not relative to today), so that sandboxes with
        # different todays share one history: what one has processed, a later one has too.
        year_ago = self.today - timedelta(days=365)
        for start, end, _check in periods:
            check = start.replace(day=10)
            if start.month % 3 == 0 and year_ago < check <= self.today:
                self._bonus_run(company, schedule, check, (start, end))
        return company

    # ---- payroll calendar -----------------------------------------------------------------

    def _schedule(self, company: Company, key: str, name: str | None = None) -> PaySchedule:
        """A pay schedule of ``company`` as ``seed_data.json`` describes it (``name`` where
        the company names it)."""
        spec = dict(PAY_SCHEDULES[key])
        for anchor in ("anchor_pay_date", "anchor_end_of_pay_period"):
            spec[anchor] = date.fromisoformat(spec[anchor])
        spec["name"] = name or spec["name"]
        schedule = PaySchedule(
            uuid=self.uid("pay-schedule", company.name, key), company_uuid=company.uuid, **spec
        )
        company.pay_schedules.append(schedule)
        return schedule

    def _semi_monthly_periods(self) -> list[tuple[date, date, date]]:
        """(start, end, check_date) from ~13 months back to ~3 months ahead."""
        periods = []
        month = add_months(self.today.replace(day=1), -13)
        while month <= self.today + timedelta(days=100):
            mid = month.replace(day=15)
            end = month_end(month.year, month.month)
            periods.append((month, mid, mid))
            periods.append((mid + timedelta(days=1), end, end))
            month = add_months(month, 1)
        return periods

    def _regular_payrolls(
        self,
        company: Company,
        schedule: PaySchedule,
        periods: list[tuple[date, date, date]],
        *,
        upcoming: bool = True,
    ) -> None:
        """Processed payrolls for the year up to today, then one unprocessed upcoming payroll."""
        year_ago = self.today - timedelta(days=365)
        added_upcoming = False
        for start, end, check in periods:
            if check <= year_ago:
                continue
            processed = check <= self.today
            if not processed:
                if added_upcoming or not upcoming:
                    continue
                added_upcoming = True
            company.payrolls.append(
                self._payroll(company, schedule, check, (start, end), processed=processed)
            )

    def _bonus_run(
        self, company: Company, schedule: PaySchedule, check: date, period: tuple[date, date]
    ) -> None:
        """A processed off-cycle bonus paid on ``check``, in the regular ``period`` it falls in."""
        company.payrolls.append(self._payroll(company, schedule, check, period, bonus=True))
        company.payrolls.sort(key=lambda p: (p.check_date, p.off_cycle))

    def _payroll(
        self,
        company: Company,
        schedule: PaySchedule,
        check: date,
        period: tuple[date, date],
        *,
        bonus: bool = False,
        processed: bool = True,
    ) -> PayrollMeta:
        """A regular payroll of the schedule, or an off-cycle bonus run."""
        kind = "off_cycle" if bonus else "regular"
        processed_on = check - timedelta(days=1 if bonus else 2)
        return PayrollMeta(
            uuid=self.uid("payroll", company.name, kind, check.isoformat()),
            company_uuid=company.uuid,
            pay_schedule_uuid=schedule.uuid,
            check_date=check,
            period_start=period[0],
            period_end=period[1],
            off_cycle=bonus,
            off_cycle_reason="Bonus" if bonus else None,
            processed=processed,
            processed_date=processed_on if processed else None,
            created_at=check - timedelta(days=5) if bonus else period[0] - timedelta(days=10),
        )
