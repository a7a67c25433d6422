"""Deterministic seed data: the same `seed` and `today` give the same companies, people, payrolls.

UUIDs are uuid5 of readable names, so a test can recompute them; payroll *amounts* are computed
lazily (`payroll_calc.py`) from a per-payroll random stream, so a 5000-employee company starts fast.
"""

from __future__ import annotations

import calendar
import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from gd_sandbox.gusto.model import (
    BenefitPlan,
    Company,
    Contractor,
    ContractorPayment,
    Department,
    Employee,
    Location,
    PayrollMeta,
    PaySchedule,
    Termination,
)
from gd_sandbox.gusto.money import cents, fmt1, fmt2

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/gusto-dynamics/sandbox/gusto")
_NAMESPACE_BYTES = NAMESPACE.bytes

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

FIRST_NAMES = (
    "Alex",
    "Jordan",
    "Casey",
    "Riley",
    "Morgan",
    "Taylor",
    "Jamie",
    "Avery",
    "Quinn",
    "Parker",
    "Reese",
    "Rowan",
    "Skyler",
    "Emerson",
    "Hayden",
    "Logan",
    "Dakota",
    "Finley",
    "Sawyer",
    "Elliot",
    "Maria",
    "Jose",
    "Luis",
    "Ana",
    "Carmen",
    "Miguel",
    "Sofia",
    "Diego",
    "Lucia",
    "Mateo",
    "Grace",
    "Henry",
    "Olivia",
    "Noah",
    "Emma",
    "Liam",
    "Ava",
    "Ethan",
    "Mia",
    "Lucas",
    "Nora",
    "Owen",
    "Ivy",
    "Caleb",
    "Ruby",
    "Isaac",
)
LAST_NAMES = (
    "Garcia",
    "Martinez",
    "Lopez",
    "Hernandez",
    "Gonzalez",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
)


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


@dataclass(frozen=True)
class DeptSpec:
    title: str
    count: int
    pay_type: str
    titles: tuple[str, ...]
    rate_low: int
    rate_high: int
    denver_share: float


COMPANY_A_DEPARTMENTS = (
    DeptSpec(
        "Commercial Field Operations",
        40,
        "hourly",
        ("Electrician", "Foreman", "Apprentice"),
        2300,
        4100,
        0.65,
    ),
    DeptSpec(
        "Commercial Project Management",
        12,
        "salary",
        ("Project Manager", "Estimator"),
        72000,
        118000,
        0.75,
    ),
    DeptSpec(
        "Residential Field Operations",
        34,
        "hourly",
        ("Installer", "Lead Installer"),
        2100,
        3600,
        0.4,
    ),
    DeptSpec(
        "Residential Service", 20, "hourly", ("Service Technician", "Dispatcher"), 2200, 3400, 0.45
    ),
    DeptSpec(
        "Administration",
        14,
        "salary",
        ("Controller", "Payroll Specialist", "HR Generalist", "Office Manager", "AP Clerk"),
        52000,
        135000,
        1.0,
    ),
)


class SeedBuilder:
    def __init__(self, seed: str, today: date) -> None:
        self.seed = seed
        self.today = today

    def uid(self, *parts: object) -> str:
        return uid(self.seed, *parts)

    def rng(self, *parts: object) -> random.Random:
        # Reproducible fake data, not security: a seeded PRNG is the point.
        return random.Random("/".join([self.seed, *(str(p) for p in parts)]))  # noqa: S311

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

    def _company(self, name: str, ein: str, join_date: date) -> Company:
        cu = self.uid("company", name)
        return Company(
            uuid=cu,
            name=name,
            trade_name=name.replace(" Co", ""),
            slug=name.lower().replace(" ", "-"),
            ein=ein,
            join_date=join_date,
            admin_uuid=self.uid("company-admin", name),
        )

    def _location(
        self,
        company: Company,
        *,
        street: str,
        city: str,
        state: str,
        zip_code: str,
        phone: str,
        filing: bool,
    ) -> Location:
        loc = Location(
            self.uid("location", company.name, city),
            company.uuid,
            street,
            city,
            state,
            zip_code,
            phone,
            filing,
        )
        company.locations.append(loc)
        return loc

    def _department(self, company: Company, title: str) -> Department:
        dept = Department(self.uid("department", company.name, title), company.uuid, title)
        company.departments.append(dept)
        return dept

    def company_a(self) -> Company:
        company = self._company(COMPANY_A, "84-1234567", date(2019, 3, 1))
        company.states = ("CO", "AZ")
        denver = self._location(
            company,
            street="1600 Wynkoop St",
            city="Denver",
            state="CO",
            zip_code="80202",
            phone="3035550100",
            filing=True,
        )
        phoenix = self._location(
            company,
            street="2 N Central Ave",
            city="Phoenix",
            state="AZ",
            zip_code="85004",
            phone="6025550100",
            filing=False,
        )
        schedule = self._semi_monthly(company, "Field and office")
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
        company = self._company(COMPANY_B, "84-7654321", date(2021, 6, 1))
        company.states = ("CO",)
        boulder = self._location(
            company,
            street="1200 Pearl St",
            city="Boulder",
            state="CO",
            zip_code="80302",
            phone="3035550199",
            filing=True,
        )
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
        anchor = date(2021, 1, 8)  # a Friday: every other Friday from here is a check date
        schedule = PaySchedule(
            uuid=self.uid("pay-schedule", company.name, "biweekly"),
            company_uuid=company.uuid,
            frequency="Every other week",
            anchor_pay_date=anchor,
            anchor_end_of_pay_period=anchor - timedelta(days=5),
            day_1=None,
            day_2=None,
            name="Every other week",
            periods_per_year=26,
        )
        company.pay_schedules.append(schedule)
        periods: list[tuple[date, date, date]] = []
        first = self.today - timedelta(days=400)
        check = anchor + timedelta(days=14 * ((first - anchor).days // 14 + 1))
        while check <= self.today + timedelta(days=100):
            end = check - timedelta(days=5)
            periods.append((end - timedelta(days=13), end, check))
            check += timedelta(days=14)
        self._regular_payrolls(company, schedule, periods)
        return company

    def company_large(self, employees: int) -> Company:
        company = self._company(COMPANY_LARGE, "84-5550000", date(2018, 1, 1))
        company.states = ("CO",)
        loc = self._location(
            company,
            street="100 Benchmark Way",
            city="Denver",
            state="CO",
            zip_code="80205",
            phone="3035550000",
            filing=True,
        )
        dept = self._department(company, "Operations")
        schedule = self._semi_monthly(company, "Operations")
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

    def _small_company(self, name: str, ein: str) -> Company:
        company = self._company(name, ein, date(2020, 2, 1))
        company.states = ("CO",)
        loc = self._location(
            company,
            street="40 Larimer St",
            city="Denver",
            state="CO",
            zip_code="80202",
            phone="3035550142",
            filing=True,
        )
        dept = self._department(company, "Operations")
        rng = self.rng("employees", company.name)
        for index, job in enumerate(
            [("hourly", "Driver", 2100, 2900), ("salary", "Dispatcher", 52000, 61000)]
        ):
            company.employees.append(self._employee(company, rng, index, (dept, loc), job))
        return company

    def company_weekly(self) -> Company:
        """Weekly periods Monday to Sunday, paid in arrears on the Friday after."""
        company = self._small_company(COMPANY_WEEKLY, "84-5550101")
        anchor = date(2021, 1, 8)  # a Friday
        schedule = PaySchedule(
            uuid=self.uid("pay-schedule", company.name, "weekly"),
            company_uuid=company.uuid,
            frequency="Every week",
            anchor_pay_date=anchor,
            anchor_end_of_pay_period=anchor - timedelta(days=5),
            day_1=None,
            day_2=None,
            name="Weekly",
            periods_per_year=52,
        )
        company.pay_schedules.append(schedule)
        first = self.today - timedelta(days=400)
        check = anchor + timedelta(days=7 * ((first - anchor).days // 7 + 1))
        periods: list[tuple[date, date, date]] = []
        while check <= self.today + timedelta(days=100):
            end = check - timedelta(days=5)
            periods.append((end - timedelta(days=6), end, check))
            check += timedelta(days=7)
        self._regular_payrolls(company, schedule, periods)
        return company

    def company_monthly(self) -> Company:
        """Calendar-month periods paid on the 25th, before the period ends; off-cycle bonuses
        inside monthly periods."""
        company = self._small_company(COMPANY_MONTHLY, "84-5550102")
        schedule = PaySchedule(
            uuid=self.uid("pay-schedule", company.name, "monthly"),
            company_uuid=company.uuid,
            frequency="Monthly",
            anchor_pay_date=date(2020, 1, 25),
            anchor_end_of_pay_period=date(2020, 1, 31),
            day_1=25,
            day_2=None,
            name="Monthly",
            periods_per_year=12,
        )
        company.pay_schedules.append(schedule)
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

    # ---- payroll calendar -----------------------------------------------------------------

    def _semi_monthly(self, company: Company, name: str) -> PaySchedule:
        schedule = PaySchedule(
            uuid=self.uid("pay-schedule", company.name, "semimonthly"),
            company_uuid=company.uuid,
            frequency="Twice per month",
            anchor_pay_date=date(2020, 1, 15),
            anchor_end_of_pay_period=date(2020, 1, 15),
            day_1=15,
            day_2=31,
            name=name,
            periods_per_year=24,
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
                PayrollMeta(
                    uuid=self.uid("payroll", company.name, "regular", check.isoformat()),
                    company_uuid=company.uuid,
                    pay_schedule_uuid=schedule.uuid,
                    check_date=check,
                    period_start=start,
                    period_end=end,
                    off_cycle=False,
                    off_cycle_reason=None,
                    processed=processed,
                    processed_date=check - timedelta(days=2) if processed else None,
                    created_at=start - timedelta(days=10),
                )
            )

    def _bonus_run(
        self, company: Company, schedule: PaySchedule, check: date, period: tuple[date, date]
    ) -> None:
        """A processed off-cycle bonus paid on ``check``, in the regular ``period`` it falls in."""
        company.payrolls.append(
            PayrollMeta(
                uuid=self.uid("payroll", company.name, "off_cycle", check.isoformat()),
                company_uuid=company.uuid,
                pay_schedule_uuid=schedule.uuid,
                check_date=check,
                period_start=period[0],
                period_end=period[1],
                off_cycle=True,
                off_cycle_reason="Bonus",
                processed=True,
                processed_date=check - timedelta(days=1),
                created_at=check - timedelta(days=5),
            )
        )
        company.payrolls.sort(key=lambda p: (p.check_date, p.off_cycle))

    # ---- contractors ------------------------------------------------------------------------

    def _contractors_a(self, company: Company) -> None:
        field_ops = company.departments[0]
        admin = company.departments[-1]
        specs = [
            ("Individual", "Hourly", "Dana", "Whitfield", None, Decimal("65.17"), field_ops),
            ("Individual", "Fixed", "Sam", "Okafor", None, Decimal("0.00"), admin),
            ("Business", "Fixed", None, None, "Front Range Crane LLC", Decimal("0.00"), field_ops),
            ("Business", "Hourly", None, None, "Desert Drafting Inc", Decimal("88.50"), None),
        ]
        rng = self.rng("contractor-payments", company.name)
        for kind, wage_type, first, last, business, hourly, dept in specs:
            key = business or f"{first} {last}"
            contractor = Contractor(
                uuid=self.uid("contractor", company.name, key),
                company_uuid=company.uuid,
                type=kind,
                wage_type=wage_type,
                first_name=first,
                last_name=last,
                business_name=business,
                email=f"{key.lower().replace(' ', '.')}@example.com",
                start_date=date(2022, 4, 1),
                hourly_rate=hourly,
                department=dept,
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
    ) -> ContractorPayment:
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
        return ContractorPayment(
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
