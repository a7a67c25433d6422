"""End-to-end over HTTP against the Gusto sandbox: counts, exact totals, state, re-runs."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault, generate_key
from tap_gusto.run_status import read_status, status_path
from tapgusto_support import (
    SANDBOX_TODAY,
    base_config,
    connect_companies,
    final_state,
    records,
    run_tap,
)

DETAIL_ROUTE = "GET /v1/companies/{company_id}/payrolls/{payroll_id}"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    mp = pytest.MonkeyPatch()
    key = generate_key()
    mp.setenv("GUSTO_DYNAMICS_VAULT_KEY", key.decode() if isinstance(key, bytes) else key)
    tmp = tmp_path_factory.mktemp("sync")
    with GustoSandbox(port=0, seed="demo", today=SANDBOX_TODAY) as gusto:
        vault = Vault.open(tmp / "vault.enc")
        connect_companies(vault, gusto)
        config = base_config(vault, gusto)
        messages, tap = run_tap(config)
        yield {
            "gusto": gusto,
            "vault": vault,
            "config": config,
            "messages": messages,
            "tap": tap,
            "tmp": tmp,
        }
    mp.undo()


def by_company(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["company_uuid"], []).append(row)
    return grouped


def test_record_counts_equal_sandbox(env: dict[str, Any]) -> None:
    info = env["gusto"].info()
    messages = env["messages"]
    for company in info["companies"]:
        uuid = company["uuid"]
        assert len(by_company(records(messages, "employees"))[uuid]) == company["employees"]
        assert {d["uuid"] for d in by_company(records(messages, "departments"))[uuid]} == {
            d["uuid"] for d in company["departments"]
        }
        assert {loc["uuid"] for loc in by_company(records(messages, "locations"))[uuid]} == {
            loc["uuid"] for loc in company["locations"]
        }
        assert (
            len(by_company(records(messages, "contractors")).get(uuid, []))
            == (company["contractors"])
        )
        processed = {p["uuid"] for p in company["payrolls"] if p["processed"]}
        emitted = {p["payroll_uuid"] for p in by_company(records(messages, "payrolls"))[uuid]}
        assert emitted == processed
    companies = records(messages, "companies")
    assert {c["uuid"] for c in companies} == set(info["company_uuids"])


def test_every_record_carries_company_uuid(env: dict[str, Any]) -> None:
    for message in env["messages"]:
        if message["type"] == "RECORD":
            assert message["record"]["company_uuid"] in env["gusto"].company_uuids


def test_payroll_totals_exact_and_self_contained(env: dict[str, Any]) -> None:
    payrolls = records(env["messages"], "payrolls")
    assert payrolls
    off_cycle = 0
    for payroll in payrolls:
        expected = env["gusto"].payroll_expected(payroll["payroll_uuid"])
        for key, value in expected["totals"].items():
            got = payroll["totals"][key]
            assert isinstance(got, Decimal)
            assert got == Decimal(str(value)), (payroll["payroll_uuid"], key)
        comps = payroll["employee_compensations"]
        assert payroll["employee_compensations_count"] == len(comps)
        assert len(comps) == len(expected["employee_compensations"])
        gross = sum((c["gross_pay"] for c in comps), Decimal(0))
        assert gross == payroll["totals"]["gross_pay"]
        net = sum((c["net_pay"] for c in comps), Decimal(0))
        assert net == payroll["totals"]["net_pay"]
        employee_taxes = sum(
            (t["amount"] for c in comps for t in c["taxes"] if not t["employer"]), Decimal(0)
        )
        assert employee_taxes == payroll["totals"]["employee_taxes"]
        assert payroll["payroll_type"] == ("off_cycle" if payroll["off_cycle"] else "regular")
        off_cycle += payroll["payroll_type"] == "off_cycle"
    assert off_cycle >= 1


def test_large_company_payroll_spans_pages(env: dict[str, Any]) -> None:
    stats = env["gusto"].stats.snapshot()
    counts = [n for path, n in stats["per_path"].items() if "/payrolls/" in path]
    assert max(counts) >= 2  # 120 employees at 100 per page: two pages merged into one record


def test_state_bookmarks_are_strings_per_company(env: dict[str, Any]) -> None:
    state = final_state(env["messages"])
    partitions = state["bookmarks"]["payrolls"]["partitions"]
    assert {p["context"]["company_uuid"] for p in partitions} == set(env["gusto"].company_uuids)
    for partition in partitions:
        assert isinstance(partition["replication_key_value"], str)
        dt.date.fromisoformat(partition["replication_key_value"])
        emitted = partition["emitted_payrolls"]
        assert emitted and all(isinstance(v, str) for v in emitted.values())
        assert "progress_markers" not in partition


def test_rerun_with_state_fetches_no_payroll_detail(env: dict[str, Any]) -> None:
    gusto = env["gusto"]
    state = final_state(env["messages"])
    before = gusto.stats.snapshot()["per_route"].get(DETAIL_ROUTE, 0)
    messages, _ = run_tap(env["config"], state, streams=["payrolls", "contractor_payments"])
    after = gusto.stats.snapshot()["per_route"].get(DETAIL_ROUTE, 0)
    assert after == before
    assert records(messages, "payrolls") == []
    new_state = final_state(messages)
    assert new_state["bookmarks"]["payrolls"] == state["bookmarks"]["payrolls"]

    # A payroll processed now (late) is picked up by the next run, and only it.
    info = gusto.info()
    pending = [
        p
        for c in info["companies"]
        for p in c["payrolls"]
        if not p["processed"] and c["uuid"] == info["company_uuids"][1]
    ]
    assert pending, "the sandbox seeds one unprocessed upcoming payroll"
    gusto.process_payroll(pending[0]["uuid"])
    messages, _ = run_tap(env["config"], new_state, streams=["payrolls"])
    assert [p["payroll_uuid"] for p in records(messages, "payrolls")] == [pending[0]["uuid"]]
    assert gusto.stats.snapshot()["per_route"][DETAIL_ROUTE] == after + 1


def test_store_has_rotated_tokens_and_refresh_time(env: dict[str, Any]) -> None:
    data = env["vault"].read()
    for company in env["gusto"].company_uuids:
        record = data["gusto"]["companies"][company]
        assert record["last_refresh_at"]
        assert record["expires_at"] > 0
    assert env["gusto"].stats.snapshot()["invalid_grants"] == 0


def test_run_outcome_recorded_per_company_for_status(env: dict[str, Any]) -> None:
    status = read_status(status_path())
    for company in env["gusto"].company_uuids:
        entry = status[f"gusto:{company}"]
        assert entry["last_run_ok"] is True
        assert entry["last_run_at"]
        assert entry["last_run_message"] == "extraction completed"


def test_failed_run_recorded_as_failed(env: dict[str, Any]) -> None:
    config = {**env["config"], "api_version": "2019-01-01"}  # refused by Gusto with a 406
    with pytest.raises(Exception, match="2019-01-01"):
        run_tap(config, streams=["companies"])
    status = read_status(status_path())
    for company in env["gusto"].company_uuids:
        assert status[f"gusto:{company}"]["last_run_ok"] is False
        assert "2019-01-01" in status[f"gusto:{company}"]["last_run_message"]
    run_tap(env["config"], streams=["companies"])  # leave the shared store as the others expect


def test_contractor_payments_flattened_with_money(env: dict[str, Any]) -> None:
    payments = records(env["messages"], "contractor_payments")
    assert payments
    for payment in payments:
        assert payment["uuid"] and payment["contractor_uuid"] and payment["date"]
        assert isinstance(payment["wage_total"], Decimal)


def test_employees_carry_terminations(env: dict[str, Any]) -> None:
    employees = records(env["messages"], "employees")
    terminated = [e for e in employees if e["terminated"]]
    assert terminated
    for employee in terminated:
        assert employee["terminations"]
        assert {"uuid", "effective_date", "active"} <= set(employee["terminations"][0])


def test_tokens_never_in_output(env: dict[str, Any], tmp_path: Path) -> None:
    data = env["vault"].read()
    secrets = [env["gusto"].client_secret]
    for record in data["gusto"]["companies"].values():
        secrets += [record["access_token"], record["refresh_token"]]
    text = repr(env["messages"])
    for secret in secrets:
        assert secret not in text


def test_stream_maps_and_catalog_selection(env: dict[str, Any]) -> None:
    config = {
        **env["config"],
        "stream_maps": {"employees": {"date_of_birth": None, "email": None}},
    }
    messages, _ = run_tap(config, streams=["employees", "departments"])
    assert {m["stream"] for m in messages if m["type"] == "RECORD"} == {
        "employees",
        "departments",
    }
    for employee in records(messages, "employees"):
        assert "date_of_birth" not in employee and "email" not in employee
        assert employee["uuid"] and employee["company_uuid"]


def test_cli_about_documents_every_setting() -> None:
    about = subprocess.run(
        [sys.executable, "-m", "tap_gusto", "--about", "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
    )
    settings = json.loads(about.stdout)["settings"]["properties"]
    for name in (
        "api_url",
        "api_version",
        "client_id",
        "client_secret",
        "credentials_store",
        "company_ids",
        "start_date",
        "payroll_lookback_days",
        "include_unprocessed",
        "page_size",
        "max_requests_per_minute",
        "user_agent",
    ):
        assert settings[name].get("description"), name
    assert settings["client_secret"].get("secret") is True
    assert settings["client_id"].get("secret") is True
