"""employees_refresh=daily over HTTP: an incremental run with nothing new skips the employees.

Requests are counted by the Gusto sandbox. The sandbox's day is pinned (SANDBOX_TODAY) and is
what its Date header says; no test depends on the real date.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault, generate_key
from tap_gusto.refresh import READ_ON_KEY, read_due
from tapgusto_support import (
    SANDBOX_TODAY,
    base_config,
    connect_companies,
    final_state,
    records,
    run_tap,
)

EMPLOYEES_ROUTE = "GET /v1/companies/{company_id}/employees"
# Token refresh, company, departments, locations, pay schedules, contractors, pay periods and
# payroll list windows, contractor payments: what an incremental run costs without employees.
MAX_REQUESTS_PER_COMPANY = 12


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    mp = pytest.MonkeyPatch()
    key = generate_key()
    mp.setenv("GUSTO_DYNAMICS_VAULT_KEY", key.decode() if isinstance(key, bytes) else key)
    tmp = tmp_path_factory.mktemp("refresh")
    with GustoSandbox(port=0, seed="demo", today=SANDBOX_TODAY) as gusto:
        vault = Vault.open(tmp / "vault.enc")
        connect_companies(vault, gusto)
        # One year of history (the default when start_date is unset): each further year adds
        # pay period windows to every run (the pay_periods stream is full table).
        start = (SANDBOX_TODAY - dt.timedelta(days=365)).isoformat()
        config = base_config(vault, gusto, start_date=start)
        messages, _ = run_tap(config)
        yield {"gusto": gusto, "config": config, "messages": messages}
    mp.undo()


def employee_partitions(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["context"]["company_uuid"]: p for p in state["bookmarks"]["employees"]["partitions"]}


def counted_run(
    gusto: Any, config: dict[str, Any], state: dict[str, Any]
) -> tuple[list[dict[str, Any]], int, int]:
    before = gusto.stats.snapshot()
    messages, _ = run_tap(config, copy.deepcopy(state))
    after = gusto.stats.snapshot()
    made = after["total"] - before["total"]
    employee_reads = after["per_route"].get(EMPLOYEES_ROUTE, 0) - before["per_route"].get(
        EMPLOYEES_ROUTE, 0
    )
    return messages, made, employee_reads


def test_first_run_reads_employees_and_keeps_gustos_day(env: dict[str, Any]) -> None:
    companies = env["gusto"].company_uuids
    assert {r["company_uuid"] for r in records(env["messages"], "employees")} == set(companies)
    partitions = employee_partitions(final_state(env["messages"]))
    assert {c: partitions[c][READ_ON_KEY] for c in companies} == {
        c: SANDBOX_TODAY.isoformat() for c in companies
    }


def test_incremental_rerun_with_nothing_new_skips_employees(env: dict[str, Any]) -> None:
    gusto = env["gusto"]
    state = final_state(env["messages"])
    messages, made, employee_reads = counted_run(gusto, env["config"], state)
    assert records(messages, "payrolls") == []
    assert records(messages, "employees") == []
    assert employee_reads == 0
    companies = len(gusto.company_uuids)
    print(f"incremental rerun: {made} Gusto requests for {companies} companies")
    assert made <= MAX_REQUESTS_PER_COMPANY * companies
    # The day of the last read stays for the next run.
    partitions = employee_partitions(final_state(messages))
    assert all(p[READ_ON_KEY] == SANDBOX_TODAY.isoformat() for p in partitions.values())


def test_next_gusto_day_reads_employees_again(env: dict[str, Any]) -> None:
    state = copy.deepcopy(final_state(env["messages"]))
    yesterday = (SANDBOX_TODAY - dt.timedelta(days=1)).isoformat()
    for partition in employee_partitions(state).values():
        partition[READ_ON_KEY] = yesterday
    messages, _, employee_reads = counted_run(env["gusto"], env["config"], state)
    assert employee_reads >= len(env["gusto"].company_uuids)
    assert {r["company_uuid"] for r in records(messages, "employees")} == set(
        env["gusto"].company_uuids
    )


def test_always_reads_employees(env: dict[str, Any]) -> None:
    config = {**env["config"], "employees_refresh": "always"}
    _, _, employee_reads = counted_run(env["gusto"], config, final_state(env["messages"]))
    assert employee_reads >= len(env["gusto"].company_uuids)


def test_new_payroll_is_preceded_by_its_companys_employees(env: dict[str, Any]) -> None:
    gusto = env["gusto"]
    state = final_state(env["messages"])
    info = gusto.info()
    company = info["company_uuids"][1]
    hired = gusto.hire_employee(company_uuid=company, first_name="Nia", last_name="Okafor")
    pending = next(
        p
        for c in info["companies"]
        for p in c["payrolls"]
        if not p["processed"] and c["uuid"] == company
    )
    gusto.process_payroll(pending["uuid"])
    messages, _, employee_reads = counted_run(gusto, env["config"], state)
    assert employee_reads >= 1
    order = [
        (m["stream"], m["record"].get("company_uuid"))
        for m in messages
        if m["type"] == "RECORD" and m["stream"] in ("employees", "payrolls")
    ]
    first_payroll = order.index(("payrolls", company))
    assert ("employees", company) in order[:first_payroll]
    assert hired["uuid"] in {r["uuid"] for r in records(messages, "employees")}
    # Companies without a new payroll were not read again.
    others = {r["company_uuid"] for r in records(messages, "employees")} - {company}
    assert others == set()


def test_read_due_rules() -> None:
    today = dt.date(2026, 12, 3)
    assert read_due("daily", {}, today, payroll_ahead=False) == "first run for this company"
    assert read_due("daily", {READ_ON_KEY: "2026-12-03"}, today, payroll_ahead=False) is None
    assert read_due("daily", {READ_ON_KEY: "2026-12-02"}, today, payroll_ahead=False)
    assert read_due("daily", {READ_ON_KEY: "2026-12-03"}, today, payroll_ahead=True)
    assert read_due("always", {READ_ON_KEY: "2026-12-03"}, today, payroll_ahead=False)
    assert read_due("daily", {READ_ON_KEY: "garbage"}, today, payroll_ahead=False)
