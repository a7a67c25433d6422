"""The Gusto sandbox's `/v1` API over real HTTP: access control, versions, limits, pages, shapes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests
from gd_sandbox.gusto import GustoSandbox
from gd_sandbox.gusto.controls import RateLimiter

TODAY = date(2026, 11, 28)


class Client:
    def __init__(self, gusto: GustoSandbox, company: str, version: str | None = None) -> None:
        self.gusto = gusto
        self.company = company
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {gusto.mint_access_token(company)}"
        if version:
            self.session.headers["X-Gusto-API-Version"] = version

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(f"{self.gusto.url}{path}", params=params, timeout=10)

    def all_pages(self, path: str, per: int, **params: Any) -> tuple[list[Any], int]:
        items: list[Any] = []
        page = 1
        while True:
            r = self.get(path, page=page, per=per, **params)
            assert r.status_code == 200, r.text
            items.extend(r.json())
            if page >= int(r.headers["X-Total-Pages"]):
                return items, int(r.headers["X-Total-Count"])
            page += 1


@pytest.fixture
def gusto() -> Iterator[GustoSandbox]:
    with GustoSandbox(today=TODAY) as sandbox:
        yield sandbox


@pytest.fixture
def client(gusto: GustoSandbox) -> Client:
    return Client(gusto, gusto.company_uuids[0])


def test_other_company_is_403_in_errors_shape(gusto: GustoSandbox, client: Client) -> None:
    other = gusto.company_uuids[1]
    for path in (
        f"/v1/companies/{other}",
        f"/v1/companies/{other}/employees",
        f"/v1/companies/{other}/payrolls",
    ):
        r = client.get(path)
        assert r.status_code == 403, path
        error = r.json()["errors"][0]
        assert {"error_key", "category", "message"} <= set(error)
    employee_of_b = gusto.company(other).employees[0].uuid
    assert client.get(f"/v1/employees/{employee_of_b}").status_code == 403


def test_unknown_uuid_is_404(gusto: GustoSandbox, client: Client) -> None:
    r = client.get(f"/v1/companies/{client.company}/payrolls/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404
    assert r.json()["errors"][0]["category"] == "not_found"
    assert client.get("/v1/nothing/here").status_code == 404


@pytest.mark.parametrize("version", ["2023", "2024-04-01", "2027-01-01", "2025-6-15", "latest"])
def test_bad_api_version_is_406(gusto: GustoSandbox, version: str) -> None:
    client = Client(gusto, gusto.company_uuids[0], version)
    r = client.get(f"/v1/companies/{client.company}")
    assert r.status_code == 406
    error = r.json()["errors"][0]
    assert error["category"] == "invalid_api_version"
    assert version in error["message"]


@pytest.mark.parametrize("version", ["2025-06-15", "2025-11-15", "2026-02-01", "2026-06-15"])
def test_supported_versions_are_echoed(gusto: GustoSandbox, version: str) -> None:
    client = Client(gusto, gusto.company_uuids[0], version)
    r = client.get(f"/v1/companies/{client.company}")
    assert r.status_code == 200
    assert r.headers["X-Gusto-API-Version"] == version


def test_missing_version_uses_app_default(client: Client) -> None:
    r = client.get(f"/v1/companies/{client.company}")
    assert r.headers["X-Gusto-API-Version"] == "2025-06-15"


def test_rate_limit_answers_429_with_retry_after() -> None:
    with GustoSandbox(today=TODAY, rate_limit_per_minute=5) as gusto:
        client = Client(gusto, gusto.company_uuids[0])
        path = f"/v1/companies/{client.company}"
        remaining = [client.get(path).headers["X-RateLimit-Remaining"] for _ in range(5)]
        assert remaining == ["4", "3", "2", "1", "0"]
        r = client.get(path)
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1
        assert r.headers["X-RateLimit-Limit"] == "5"
        assert r.headers["X-RateLimit-Remaining"] == "0"
        assert r.headers["X-RateLimit-Reset"]
        assert r.json()["errors"][0]["category"] == "rate_limit_exceeded"
        # The limit is per grant: another company's token is unaffected.
        other = Client(gusto, gusto.company_uuids[1])
        assert other.get(f"/v1/companies/{other.company}").status_code == 200
        assert gusto.stats.snapshot()["throttled"] == 1


def test_faults_over_http(gusto: GustoSandbox, client: Client) -> None:
    path = f"/v1/companies/{client.company}"
    admin = f"{gusto.url}/_sandbox/faults"
    assert requests.post(admin, json={"status_next": [503, 2]}, timeout=5).status_code == 200
    assert [client.get(path).status_code for _ in range(3)] == [503, 503, 200]
    requests.post(admin, json={"throttle_next": 1, "retry_after": 7}, timeout=5)
    r = client.get(path)
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "7"
    requests.post(admin, json={"drop_connection_next": 1}, timeout=5)
    with pytest.raises(requests.ConnectionError):
        client.get(path)
    assert client.get(path).status_code == 200
    requests.post(admin, json={"malformed_next": 1}, timeout=5)
    broken = client.get(path)
    assert broken.status_code == 200
    with pytest.raises(ValueError):
        broken.json()
    requests.post(admin, json={"status_next": [503, 1], "retry_after": 3}, timeout=5)
    unavailable = client.get(path)
    assert unavailable.status_code == 503
    assert unavailable.headers["Retry-After"] == "3"
    assert unavailable.json()["errors"][0]["category"] == "internal_error"
    bad = requests.post(admin, json={"explode": 1}, timeout=5)
    assert bad.status_code == 422
    assert "explode" in bad.json()["errors"][0]["message"]
    assert gusto.stats.snapshot()["faults_fired"] == 6


def test_lost_refresh_response_can_be_retried(gusto: GustoSandbox) -> None:
    """drop_response_next: the refresh happens server-side, the client sees a dead socket."""
    refresh_token = gusto.mint_refresh_token(gusto.company_uuids[0])
    gusto.faults.set(drop_response_next=1, paths=["/oauth/token"])
    body = {
        "client_id": gusto.client_id,
        "client_secret": gusto.client_secret,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{gusto.url}/oauth/token", json=body, timeout=5)
    retry = requests.post(f"{gusto.url}/oauth/token", json=body, timeout=5)
    assert retry.status_code == 200


def test_employee_pagination_headers(gusto: GustoSandbox, client: Client) -> None:
    path = f"/v1/companies/{client.company}/employees"
    r = client.get(path, page=2, per=50)
    assert r.headers["X-Page"] == "2"
    assert r.headers["X-Per-Page"] == "50"
    total = len(gusto.company(client.company).employees)
    assert r.headers["X-Total-Count"] == str(total)
    assert r.headers["X-Total-Pages"] == str((total + 49) // 50)
    assert len(r.json()) == 50
    default = client.get(path)
    assert default.headers["X-Per-Page"] == "25"
    assert len(default.json()) == 25
    assert client.get(path, per=10_000).headers["X-Per-Page"] == "500"
    everyone, count = client.all_pages(path, per=7)
    assert len(everyone) == count == total
    assert len({e["uuid"] for e in everyone}) == total
    assert client.get(path, page=0).status_code == 422


def test_employees_include_terminated_with_jobs_and_departments(client: Client) -> None:
    everyone, _ = client.all_pages(f"/v1/companies/{client.company}/employees", per=100)
    terminated = [e for e in everyone if e["terminated"]]
    assert terminated
    for emp in terminated:
        assert emp["terminations"][0]["effective_date"]
        r = client.get(f"/v1/employees/{emp['uuid']}/terminations")
        assert r.json()[0]["employee_uuid"] == emp["uuid"]
    departments = {
        d["uuid"]: d["title"]
        for d in client.get(f"/v1/companies/{client.company}/departments").json()
    }
    assert set(departments.values()) == {
        "Commercial Field Operations",
        "Commercial Project Management",
        "Residential Field Operations",
        "Residential Service",
        "Administration",
    }
    locations = {x["uuid"] for x in client.get(f"/v1/companies/{client.company}/locations").json()}
    for emp in everyone:
        assert departments[emp["department_uuid"]] == emp["department"]
        job = emp["jobs"][0]
        assert job["location_uuid"] in locations
        assert job["hire_date"]
        Decimal(job["rate"])
    single = client.get(f"/v1/employees/{everyone[0]['uuid']}").json()
    assert single == everyone[0]


def test_payroll_list_window_rules(client: Client) -> None:
    path = f"/v1/companies/{client.company}/payrolls"
    too_long = client.get(path, start_date="2025-01-01", end_date="2026-02-01")
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["category"] == "invalid_attribute_value"
    too_far = client.get(path, start_date="2026-06-01", end_date="2027-03-01")
    assert too_far.status_code == 422
    assert client.get(path, start_date="not-a-date").status_code == 422
    assert client.get(path, processing_statuses="weird").status_code == 422


def test_payroll_list_filters(gusto: GustoSandbox, client: Client) -> None:
    path = f"/v1/companies/{client.company}/payrolls"
    window = {"start_date": "2025-12-01", "end_date": "2026-11-28"}
    regular = client.get(path, **window).json()
    assert regular and all(not p["off_cycle"] and p["processed"] for p in regular)
    assert all("totals" not in p for p in regular)
    both = client.get(path, payroll_types="regular,off_cycle", include="totals", **window).json()
    assert len([p for p in both if p["off_cycle"]]) == 1
    assert all(Decimal(p["totals"]["gross_pay"]) > 0 for p in both)
    upcoming = client.get(
        path, processing_statuses="unprocessed", start_date="2026-11-01", end_date="2027-02-28"
    ).json()
    assert len(upcoming) == 1
    assert upcoming[0]["processed"] is False
    by_check = client.get(
        path, date_filter_by="check_date", start_date="2026-11-15", end_date="2026-11-15"
    ).json()
    assert [p["check_date"] for p in by_check] == ["2026-11-15"]
    # Adjacent windows partition the payrolls: none twice, none missed.
    seeded = {
        p.uuid for p in gusto.company(client.company).payrolls if p.processed and not p.off_cycle
    }
    first = client.get(path, start_date="2025-11-01", end_date="2026-05-31", per=100).json()
    second = client.get(path, start_date="2026-06-01", end_date="2026-11-28", per=100).json()
    uuids = [p["payroll_uuid"] for p in first + second]
    assert len(uuids) == len(set(uuids))
    assert set(uuids) == seeded
    assert client.get(path, per=500, **window).headers["X-Per-Page"] == "100"


def test_single_payroll_compensations_are_paginated(gusto: GustoSandbox, client: Client) -> None:
    meta = next(p for p in gusto.company(client.company).payrolls if p.processed)
    path = f"/v1/companies/{client.company}/payrolls/{meta.uuid}"
    first = client.get(path)
    assert first.headers["X-Per-Page"] == "25"
    assert len(first.json()["employee_compensations"]) == 25
    comps, count = [], 0
    page = 1
    while True:
        r = client.get(path, page=page, per=100, include="benefits,deductions,taxes")
        comps.extend(r.json()["employee_compensations"])
        count = int(r.headers["X-Total-Count"])
        if page >= int(r.headers["X-Total-Pages"]):
            break
        page += 1
    assert len(comps) == count > 25
    assert len({c["employee_uuid"] for c in comps}) == count
    assert client.get(path, per=1000).headers["X-Per-Page"] == "100"


def test_unprocessed_payroll_has_no_amounts(gusto: GustoSandbox, client: Client) -> None:
    meta = next(p for p in gusto.company(client.company).payrolls if not p.processed)
    body = client.get(f"/v1/companies/{client.company}/payrolls/{meta.uuid}").json()
    assert body["processed"] is False
    assert "totals" not in body
    assert "employee_compensations" not in body


def test_pay_schedules_and_periods(gusto: GustoSandbox) -> None:
    for version, flag in (("2025-06-15", "auto_pilot"), ("2026-06-15", "auto_payroll")):
        client = Client(gusto, gusto.company_uuids[0], version)
        schedules = client.get(f"/v1/companies/{client.company}/pay_schedules").json()
        assert schedules[0]["frequency"] == "Twice per month"
        assert flag in schedules[0]
    client = Client(gusto, gusto.company_uuids[1])
    assert (
        client.get(f"/v1/companies/{client.company}/pay_schedules").json()[0]["frequency"]
        == "Every other week"
    )
    periods = client.get(f"/v1/companies/{client.company}/pay_periods", per=100).json()
    assert periods
    for period in periods:
        assert period["payroll"]["payroll_type"] == "regular"
        assert period["start_date"] <= period["end_date"]


def test_contractors_and_payments(gusto: GustoSandbox, client: Client) -> None:
    contractors = client.get(f"/v1/companies/{client.company}/contractors").json()
    assert {c["type"] for c in contractors} == {"Individual", "Business"}
    assert len(contractors) == 4
    summary = client.get(
        f"/v1/companies/{client.company}/contractor_payments",
        start_date="2025-11-29",
        end_date="2026-11-28",
    ).json()
    assert set(summary) == {"total", "contractor_payments"}
    wages = Decimal(0)
    reimbursements = Decimal(0)
    for group in summary["contractor_payments"]:
        assert group["contractor_uuid"] in {c["uuid"] for c in contractors}
        group_wages = sum((Decimal(p["wage_total"]) for p in group["payments"]), Decimal(0))
        assert Decimal(group["wage_total"]) == group_wages
        for payment in group["payments"]:
            expected = (
                Decimal(payment["hours"]) * Decimal(payment["hourly_rate"])
                + Decimal(payment["wage"])
                + Decimal(payment["bonus"])
            )
            assert Decimal(payment["wage_total"]) == expected.quantize(
                Decimal("0.01"), ROUND_HALF_UP
            )
            reimbursements += Decimal(payment["reimbursement"])
        wages += group_wages
    assert Decimal(summary["total"]["wages"]) == wages
    assert Decimal(summary["total"]["reimbursements"]) == reimbursements
    one = summary["contractor_payments"][0]["payments"][0]
    single = client.get(f"/v1/companies/{client.company}/contractor_payments/{one['uuid']}")
    assert single.json() == one
    by_date = client.get(
        f"/v1/companies/{client.company}/contractor_payments", group_by_date="true"
    ).json()
    assert "check_date" in by_date["contractor_payments"][0]


def test_malformed_json_body_is_400(gusto: GustoSandbox) -> None:
    r = requests.post(
        f"{gusto.url}/_sandbox/faults",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["message"].startswith("Request body is not valid JSON")
    r = requests.post(
        f"{gusto.url}/oauth/token",
        data=b"{broken",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


def test_stats_count_requests(gusto: GustoSandbox, client: Client) -> None:
    client.get(f"/v1/companies/{client.company}")
    stats = requests.get(f"{gusto.url}/_sandbox/stats", timeout=5).json()
    assert stats["total"] >= 1
    assert stats["per_route"]["GET /v1/companies/{company_id}"] == 1
    assert stats["per_path"][f"GET /v1/companies/{client.company}"] == 1


def test_rate_limit_headers_share_the_date_headers_clock_and_can_repeat() -> None:
    with GustoSandbox(today=TODAY, rate_limit_per_minute=2, rate_limit_window=30) as gusto:
        client = Client(gusto, gusto.company_uuids[0])
        path = f"/v1/companies/{client.company}"
        first = client.get(path)
        # Reset: when the oldest request leaves the window (one slot frees), on the clock of the
        # Date header (the sandbox's pinned day), rounded up to whole seconds.
        served = parsedate_to_datetime(first.headers["Date"])
        reset = datetime.fromisoformat(first.headers["X-RateLimit-Reset"])
        assert served.date() == TODAY
        assert 29 <= (reset - served).total_seconds() <= 32
        assert first.headers["X-RateLimit-Limit"] == "2"
        assert first.headers["X-RateLimit-Remaining"] == "1"
        gusto.faults.set(retry_after_repeat=2)
        client.get(path)
        throttled = client.get(path)
        assert throttled.status_code == 429
        # Sent twice; requests joins the copies as proxies' repeated headers arrive.
        seconds = throttled.headers["Retry-After"].split(", ")
        assert len(seconds) == 2 and seconds[0] == seconds[1] and int(seconds[0]) >= 1
        assert throttled.headers["X-RateLimit-Remaining"] == "0"
        # Asking again before Retry-After elapsed is an early request.
        assert client.get(path).status_code == 429
        assert gusto.rate_limiter.early_requests == 1
        stats = requests.get(f"{gusto.url}/_sandbox/stats", timeout=5).json()
        assert stats["early_requests"] == 1


def test_forced_429_carries_rate_limit_headers(gusto: GustoSandbox, client: Client) -> None:
    gusto.faults.set(throttle_next=1, retry_after=4)
    r = client.get(f"/v1/companies/{client.company}")
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "4"
    assert r.headers["X-RateLimit-Remaining"] == "0"
    reset = datetime.fromisoformat(r.headers["X-RateLimit-Reset"])
    assert 3 <= (reset - parsedate_to_datetime(r.headers["Date"])).total_seconds() <= 6


def test_early_requests_count_only_before_retry_after() -> None:
    now = [100.0]
    limiter = RateLimiter(
        1, 10.0, clock=lambda: now[0], wall=lambda: datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    )
    assert limiter.hit("grant")[0]
    now[0] = 101.5
    allowed, _, reset_in = limiter.hit("grant")
    assert not allowed and reset_in == 8.5  # told Retry-After: 9
    now[0] = 110.4  # the slot is free, but 9 s have not passed since the 429
    assert limiter.hit("grant")[0]
    assert limiter.early_requests == 1
    now[0] = 125.0
    assert limiter.hit("grant")[0]
    assert limiter.early_requests == 1


@pytest.mark.parametrize("machine_now", ["2031-07-04T23:59:58+00:00", "2019-01-01T00:00:01+00:00"])
def test_the_date_header_is_the_pinned_day_whatever_the_machine_clock_says(
    machine_now: str,
) -> None:
    """The sandbox's clock starts at midday of its pinned day: neither the machine's date nor
    its time of day (here just before midnight, then just after) reaches a response."""
    import time_machine  # noqa: PLC0415 - only this test moves the machine's clock

    with (
        time_machine.travel(datetime.fromisoformat(machine_now), tick=True),
        GustoSandbox(today=TODAY) as gusto,
    ):
        client = Client(gusto, gusto.company_uuids[0])
        served = parsedate_to_datetime(
            client.get(f"/v1/companies/{client.company}").headers["Date"]
        )
    assert served.date() == TODAY
    assert served.hour == 12
