"""Every seeded processed payroll, read over HTTP like a tap would, is consistent to the cent.

Identities from docs/CONTRACTS.md section 2. Expected numbers come from the sandbox itself; nothing
here hard-codes a total.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import requests
from gd_sandbox.gusto import GustoSandbox

ZERO = Decimal("0")


def D(value: Any) -> Decimal:  # noqa: N802 - reads like the type it returns
    assert not isinstance(value, float), "money must never arrive as float"
    assert isinstance(value, str | Decimal), f"money must be a string or JSON number: {value!r}"
    return Decimal(value)


class Reader:
    """Reads payrolls the way the tap does: windows <= 1 year, all pages of compensations."""

    def __init__(self, gusto: GustoSandbox, company: str, version: str) -> None:
        self.gusto = gusto
        self.company = company
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {gusto.mint_access_token(company)}",
                "X-Gusto-API-Version": version,
            }
        )

    def get(
        self, path: str, **params: Any
    ) -> tuple[Any, requests.structures.CaseInsensitiveDict[str]]:
        r = self.session.get(f"{self.gusto.url}{path}", params=params, timeout=10)
        assert r.status_code == 200, r.text
        # Decimal for every JSON number with a fraction: exactly what a careful client does.
        return json.loads(r.text, parse_float=Decimal), r.headers

    def payroll_uuids(self) -> list[str]:
        today = self.gusto.today
        # The list selects payrolls whose whole pay period is inside the window, so the two
        # windows overlap by more than the longest period (a payroll may be in both).
        windows = [
            (today - timedelta(days=400), today - timedelta(days=200)),
            (today - timedelta(days=240), today),
        ]
        found: list[str] = []
        for start, end in windows:
            page = 1
            while True:
                items, headers = self.get(
                    f"/v1/companies/{self.company}/payrolls",
                    start_date=start.isoformat(),
                    end_date=end.isoformat(),
                    payroll_types="regular,off_cycle",
                    processing_statuses="processed",
                    include="totals",
                    page=page,
                    per=100,
                )
                found.extend(p["payroll_uuid"] for p in items)
                if page >= int(headers["X-Total-Pages"]):
                    break
                page += 1
        return list(dict.fromkeys(found))

    def payroll(self, payroll_uuid: str) -> tuple[dict[str, Any], int]:
        path = f"/v1/companies/{self.company}/payrolls/{payroll_uuid}"
        comps: list[dict[str, Any]] = []
        page = 1
        while True:
            body, headers = self.get(path, include="benefits,deductions,taxes", page=page, per=100)
            comps.extend(body["employee_compensations"])
            if page >= int(headers["X-Total-Pages"]):
                body["employee_compensations"] = comps
                return body, int(headers["X-Total-Count"])
            page += 1


def check_payroll(body: dict[str, Any], count: int, version: str, forms: dict[str, int]) -> None:
    comps = body["employee_compensations"]
    assert len(comps) == count > 0
    sums: dict[str, Decimal] = {
        k: ZERO
        for k in (
            "gross",
            "net",
            "employer",
            "employee",
            "benefits",
            "ee_benefits",
            "deductions",
            "reimbursements",
            "imputed",
            "check",
            "child_support",
            "bonuses",
            "commissions",
            "reimbursement_debit",
        )
    }
    for comp in comps:
        who = comp["employee_uuid"]
        if version < "2026-06-15":
            assert isinstance(comp["gross_pay"], Decimal), "2025 versions send JSON numbers"
            forms["json_numbers"] += 1
        else:
            assert isinstance(comp["gross_pay"], str)
        hourly = sum((D(h["amount"]) for h in comp["hourly_compensations"]), ZERO)
        fixed = comp["fixed_compensations"]
        wages = sum((D(f["amount"]) for f in fixed if f["name"] != "Reimbursement"), ZERO)
        reimb = sum((D(f["amount"]) for f in fixed if f["name"] == "Reimbursement"), ZERO)
        imputed = sum(
            (D(b["company_contribution"]) for b in comp["benefits"] if b["imputed"]), ZERO
        )
        ee_taxes = sum((D(t["amount"]) for t in comp["taxes"] if not t["employer"]), ZERO)
        er_taxes = sum((D(t["amount"]) for t in comp["taxes"] if t["employer"]), ZERO)
        ee_benefits = sum((D(b["employee_deduction"]) for b in comp["benefits"]), ZERO)
        deductions = sum((D(d["amount"]) for d in comp["deductions"]), ZERO)
        gross, net, check = D(comp["gross_pay"]), D(comp["net_pay"]), D(comp["check_amount"])
        assert gross == hourly + wages + imputed, who
        assert net == gross - imputed - ee_taxes - ee_benefits - deductions, who
        assert check == net + reimb, who
        for line in [*fixed, *comp["deductions"], *comp["taxes"]]:
            text = str(line["amount"])
            if isinstance(line["amount"], str) and len(text.split(".")[1]) == 1:
                forms["one_decimal"] += 1
            if D(line["amount"]) < 0:
                forms["negative"] += 1
        paid_by_check = comp["payment_method"] == "Check"
        sums["gross"] += gross
        sums["net"] += net
        sums["employer"] += er_taxes
        sums["employee"] += ee_taxes
        sums["benefits"] += sum((D(b["company_contribution"]) for b in comp["benefits"]), ZERO)
        sums["ee_benefits"] += ee_benefits
        sums["deductions"] += deductions
        sums["reimbursements"] += reimb
        sums["imputed"] += imputed
        sums["check"] += check if paid_by_check else ZERO
        sums["reimbursement_debit"] += ZERO if paid_by_check else reimb
        sums["child_support"] += sum(
            (D(d["amount"]) for d in comp["deductions"] if d["name"] == "Child Support"), ZERO
        )
        sums["bonuses"] += sum((D(f["amount"]) for f in fixed if f["name"] == "Bonus"), ZERO)
        sums["commissions"] += sum(
            (D(f["amount"]) for f in fixed if f["name"] == "Commission"), ZERO
        )
    totals = {k: D(v) for k, v in body["totals"].items()}
    assert all(isinstance(v, str) for v in body["totals"].values())
    assert totals["gross_pay"] == sums["gross"]
    assert totals["net_pay"] == sums["net"]
    assert totals["employer_taxes"] == sums["employer"]
    assert totals["employee_taxes"] == sums["employee"]
    assert totals["benefits"] == sums["benefits"]
    assert totals["employee_benefits_deductions"] == sums["ee_benefits"]
    assert totals["other_deductions"] == sums["deductions"]
    assert totals["reimbursements"] == sums["reimbursements"]
    assert totals["imputed_pay"] == sums["imputed"]
    assert totals["check_amount"] == sums["check"]
    assert totals["child_support_debit"] == sums["child_support"]
    assert totals["reimbursement_debit"] == sums["reimbursement_debit"]
    assert totals["employee_bonuses"] == sums["bonuses"]
    assert totals["employee_commissions"] == sums["commissions"]
    assert totals["tax_debit"] == totals["employer_taxes"] + totals["employee_taxes"]
    assert totals["net_pay_debit"] == totals["net_pay"] - totals["check_amount"]
    assert totals["company_debit"] == (
        totals["net_pay_debit"]
        + totals["tax_debit"]
        + totals["reimbursement_debit"]
        + totals["child_support_debit"]
    )
    # company_taxes lists only taxes no employee carries; the seed has none unless configured
    assert body["company_taxes"] == []


# Number-typed money (2025-06-15) and string-typed money (2026-06-15), each at a different "today"
# (the second covers December bonuses, January-March FUTA and a year boundary).
@pytest.mark.parametrize(
    ("today", "version"),
    [(date(2026, 11, 28), "2025-06-15"), (date(2027, 2, 10), "2026-06-15")],
)
def test_every_seeded_payroll_is_consistent_to_the_cent(today: date, version: str) -> None:
    forms = {"json_numbers": 0, "one_decimal": 0, "negative": 0}
    with GustoSandbox(today=today) as gusto:
        for company in gusto.company_uuids:
            reader = Reader(gusto, company, version)
            uuids = reader.payroll_uuids()
            seeded = {p.uuid for p in gusto.company(company).payrolls if p.processed}
            assert sorted(uuids) == sorted(seeded)
            for payroll_uuid in uuids:
                body, count = reader.payroll(payroll_uuid)
                check_payroll(body, count, version, forms)
                expected = requests.get(
                    f"{gusto.url}/_sandbox/payrolls/{payroll_uuid}", timeout=10
                ).json()
                assert body["totals"] == expected["totals"]
    assert forms["one_decimal"] > 0
    assert forms["negative"] >= 2  # the employee and the employer tax corrections
    assert (forms["json_numbers"] > 0) == (version < "2026-06-15")


def test_a_year_of_payrolls_with_hires_leavers_and_a_bonus_run() -> None:
    with GustoSandbox(today=date(2026, 11, 28)) as gusto:
        a = gusto.company(gusto.company_uuids[0])
        regular = [p for p in a.payrolls if p.processed and not p.off_cycle]
        assert len(regular) == 24
        assert [p.off_cycle_reason for p in a.payrolls if p.off_cycle] == ["Bonus"]
        assert len([p for p in a.payrolls if not p.processed]) == 1
        assert 110 <= len(a.employees) <= 130
        year_ago = gusto.today - timedelta(days=365)
        assert any(e.hire_date > year_ago for e in a.employees)
        assert any(e.last_day and e.last_day > year_ago for e in a.employees)
        b = gusto.company(gusto.company_uuids[1])
        assert b.name == "Summit Bakery Co"
        assert len([p for p in b.payrolls if p.processed]) >= 25


def test_hourly_amounts_are_hours_times_rate() -> None:
    with GustoSandbox(today=date(2026, 11, 28)) as gusto:
        company = gusto.company_uuids[0]
        reader = Reader(gusto, company, "2026-06-15")
        rates = {e.uuid: e.rate for e in gusto.company(company).employees}
        body, _ = reader.payroll(reader.payroll_uuids()[-1])
        checked = 0
        for comp in body["employee_compensations"]:
            for line in comp["hourly_compensations"]:
                expected = (
                    Decimal(line["hours"])
                    * rates[comp["employee_uuid"]]
                    * Decimal(str(line["compensation_multiplier"]))
                )
                assert Decimal(line["amount"]) == expected.quantize(Decimal("0.01"), ROUND_HALF_UP)
                assert line["uuid"]
                checked += 1
        assert checked > 100


def test_seed_is_deterministic() -> None:
    day = date(2026, 11, 28)
    with GustoSandbox(today=day) as one, GustoSandbox(today=day) as two:
        assert one.company_uuids == two.company_uuids
        payroll = one.company(one.company_uuids[0]).payrolls[5].uuid
        assert one.payroll_expected(payroll) == two.payroll_expected(payroll)
    with GustoSandbox(today=day, seed="other") as other:
        assert other.company_uuids != one.company_uuids


def test_large_company_is_generated_lazily_and_consistent() -> None:
    with GustoSandbox(today=date(2026, 11, 28), large_company_employees=300) as gusto:
        assert len(gusto.company_uuids) == 3
        large = gusto.company(gusto.company_uuids[2])
        assert len(large.employees) == 300
        assert all(p.detail is None for p in large.payrolls)
        assert len(large.payrolls) == 3
        reader = Reader(gusto, large.uuid, "2025-06-15")
        forms = {"json_numbers": 0, "one_decimal": 0, "negative": 0}
        body, count = reader.payroll(large.payrolls[0].uuid)
        assert count == 300
        check_payroll(body, count, "2025-06-15", forms)


def test_admin_amend_and_cancel_a_processed_payroll_over_http() -> None:
    """The corrections tests' hooks: Gusto amends a processed payroll (a bonus for its first
    employee, totals following to the cent, processed_date unchanged), then cancels it."""
    with GustoSandbox(today=date(2026, 12, 3)) as gusto:
        company = gusto.company_uuids[1]
        payroll = next(p for p in gusto.company(company).payrolls if p.processed)
        auth = {"Authorization": f"Bearer {gusto.mint_access_token(company)}"}
        url = f"{gusto.url}/v1/companies/{company}/payrolls/{payroll.uuid}"
        before = requests.get(url, headers=auth, params={"include": "totals"}, timeout=10).json()
        r = requests.post(
            f"{gusto.url}/_sandbox/payrolls/{payroll.uuid}/amend",
            json={"bonus": "12.34"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        after = requests.get(url, headers=auth, params={"include": "totals"}, timeout=10).json()
        for key in ("gross_pay", "net_pay", "company_debit", "net_pay_debit"):
            assert Decimal(after["totals"][key]) - Decimal(before["totals"][key]) == Decimal(
                "12.34"
            )
        assert after["processed_date"] == before["processed_date"]
        first = after["employee_compensations"][0]
        assert {"name": "Bonus", "amount": "12.34", "job_uuid": None} in first[
            "fixed_compensations"
        ]
        r = requests.post(f"{gusto.url}/_sandbox/payrolls/{payroll.uuid}/cancel", timeout=10)
        assert r.status_code == 200, r.text
        listed = requests.get(
            f"{gusto.url}/v1/companies/{company}/payrolls",
            headers=auth,
            params={"start_date": "2026-01-01", "end_date": "2026-12-31"},
            timeout=10,
        ).json()
        assert payroll.uuid not in {p["payroll_uuid"] for p in listed}
        alone = requests.get(url, headers=auth, timeout=10).json()
        assert alone["processed"] is False
        again = requests.post(f"{gusto.url}/_sandbox/payrolls/{payroll.uuid}/cancel", timeout=10)
        assert again.status_code == 422
