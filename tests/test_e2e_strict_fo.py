"""A customer's stricter F&O (issue 14): account structures that require BusinessUnit and
Department on every P&L account, the payroll company's legal entity not the user's default
one, company-level taxes, a contractor without a department and a linked vendor that is an
organisation. Everything posts, the expense equals Gusto's cost to the cent, and what cannot
post is refused before anything is written, naming the mapping key to set."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import (
    DYNAMICS_ENVIRONMENT,
    SANDBOX_MAPPING,
    SANDBOX_TODAY,
    processed_payrolls,
    run_target,
    target_config,
    tool,
    write_config,
)
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.dynamics.testing import data_session
from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault

RIDGELINE = "0c991fcc-d01e-50c4-90c6-d27026b49396"
SUMMIT = "ee2ce936-5d04-5cda-8909-6ace20a55be1"
CITY_TAX = "Denver OPT"
PNL = {"from": "600000", "to": "699999", "required": ["BusinessUnit", "Department"]}
D0 = Decimal(0)


@pytest.fixture(scope="module")
def gusto() -> Iterator[GustoSandbox]:
    with GustoSandbox(
        port=0,
        rate_limit_per_minute=6000,
        today=SANDBOX_TODAY,
        company_level_taxes={CITY_TAX: "4.00"},
    ) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def store(
    tmp_path_factory: pytest.TempPathFactory,
    vault_key_env: str,
    gusto: GustoSandbox,
    dynamics_sandbox: DynamicsSandbox,
) -> Path:
    path = tmp_path_factory.mktemp("strict-store") / "vault.enc"
    dyn = dynamics_sandbox

    def fill(data: dict[str, Any]) -> None:
        section = data.setdefault("gusto", {})
        section["app"] = {
            "client_id": gusto.client_id,
            "client_secret": gusto.client_secret,
            "api_url": gusto.url,
        }
        section["companies"] = {
            uuid: {
                "company_uuid": uuid,
                "access_token": None,
                "refresh_token": gusto.mint_refresh_token(uuid),
                "expires_at": 0,
                "api_url": gusto.url,
                "pending_refresh_token": None,
            }
            for uuid in gusto.company_uuids
        }
        data.setdefault("dynamics", {}).setdefault("environments", {})[DYNAMICS_ENVIRONMENT] = {
            **dyn.client_settings(),
        }

    Vault.open(path).update(fill)
    return path


@pytest.fixture(scope="module")
def messages(
    tmp_path_factory: pytest.TempPathFactory, gusto: GustoSandbox, store: Path
) -> list[dict[str, Any]]:
    """The tap's output, with one Ridgeline contractor's department removed."""
    work = tmp_path_factory.mktemp("strict-tap")
    config = work / "tap-config.json"
    config.write_text(
        json.dumps(
            {"api_url": gusto.url, "credentials_store": str(store), "max_requests_per_minute": 6000}
        )
    )
    result = subprocess.run(
        [tool("tap-gusto"), "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=work,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    contractors = [
        m
        for m in out
        if m.get("type") == "RECORD"
        and m["stream"] == "contractors"
        and m["record"]["company_uuid"] == RIDGELINE
    ]
    for key in ("department", "department_uuid", "department_title"):
        contractors[0]["record"].pop(key, None)
    return out


def mapping(tmp_path: Path, *, strict_ready: bool, link: dict[str, str] | None = None) -> Path:
    raw = yaml.safe_load(SANDBOX_MAPPING.read_text())
    for uuid in (RIDGELINE, SUMMIT):
        company = raw["companies"][uuid]
        company.pop("post_company_taxes", None)  # the default: post them
        company["accounts"]["employer_taxes"][CITY_TAX] = {"expense": "600200", "payable": "210130"}
    if strict_ready:
        ridgeline = raw["companies"][RIDGELINE]["dimensions"]
        ridgeline["default"] = {"BusinessUnit": "900", "Department": "910"}
        raw["companies"][SUMMIT]["dimensions"]["fixed"] = {"BusinessUnit": "900"}
    if link:
        raw["companies"][RIDGELINE]["contractors"]["links"] = link
    path = tmp_path / "mapping.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture
def strict_dynamics(fresh_dynamics: DynamicsSandbox) -> Iterator[DynamicsSandbox]:
    # sbc is the service user's default company, so every rsc read needs cross-company=true
    fresh_dynamics.configure(account_structures=[PNL], default_company="sbc")
    yield fresh_dynamics
    fresh_dynamics.reset()


def _run(tmp_path: Path, store: Path, mapping_path: Path, messages: list[dict[str, Any]]) -> Any:
    config = write_config(tmp_path, target_config(tmp_path, store, mapping_path))
    return run_target(config, "\n".join(json.dumps(m) for m in messages) + "\n")


def _records(messages: list[dict[str, Any]], stream: str) -> list[dict[str, Any]]:
    return [m["record"] for m in messages if m.get("type") == "RECORD" and m["stream"] == stream]


def test_everything_posts_and_the_expense_is_gusto_cost_to_the_cent(
    tmp_path: Path,
    store: Path,
    gusto: GustoSandbox,
    strict_dynamics: DynamicsSandbox,
    messages: list[dict[str, Any]],
) -> None:
    run = _run(tmp_path, store, mapping(tmp_path, strict_ready=True), messages)
    assert run.returncode == 0, run.stderr[-3000:]
    entities = strict_dynamics.entities
    payrolls = {p["payroll_uuid"]: p for p in _records(messages, "payrolls")}
    assert set(payrolls) == set(processed_payrolls(gusto))
    headers = entities["LedgerJournalHeaders"]
    assert len(headers) == len(payrolls)
    assert {h["dataAreaId"] for h in headers} == {"rsc", "sbc"}
    lines_of: dict[str, list[dict[str, Any]]] = {}
    for line in entities["LedgerJournalLines"]:
        lines_of.setdefault(line["JournalBatchNumber"], []).append(line)
    by_description = {h["Description"].split()[3]: h["JournalBatchNumber"] for h in headers}
    for uuid, payroll in payrolls.items():
        lines = lines_of[by_description[uuid[:8]]]
        totals = {k: Decimal(str(v)) for k, v in payroll["totals"].items() if v is not None}
        cost = (
            totals["gross_pay"]
            - totals["imputed_pay"]
            + totals["employer_taxes"]
            + totals["benefits"]
            + totals["reimbursements"]
        )
        pnl = [x for x in lines if x["AccountDisplayValue"].startswith("6")]
        expense = sum((Decimal(str(x["DebitAmount"] - x["CreditAmount"])) for x in pnl), D0)
        assert expense == cost, uuid
        er_tax = sum(
            (
                Decimal(str(x["DebitAmount"] - x["CreditAmount"]))
                for x in pnl
                if x["AccountDisplayValue"].startswith("600200")
            ),
            D0,
        )
        assert er_tax == totals["employer_taxes"]  # company taxes included, nothing short
        assert any(t["name"] == CITY_TAX for t in payroll["company_taxes"])
        for x in pnl:
            _, unit, department, _ = x["AccountDisplayValue"].split("-")
            assert unit and department, x["AccountDisplayValue"]
    payments = _records(messages, "contractor_payments")
    assert payments
    assert len(entities["VendInvoiceJournalHeaders"]) == len(payments)
    for x in entities["VendInvoiceJournalLines"]:
        _, unit, department, _ = x["OffsetAccountDisplayValue"].split("-")
        assert unit and department


def test_missing_required_dimensions_are_refused_before_posting_naming_the_key(
    tmp_path: Path,
    store: Path,
    strict_dynamics: DynamicsSandbox,
    messages: list[dict[str, Any]],
) -> None:
    run = _run(tmp_path, store, mapping(tmp_path, strict_ready=False), messages)
    assert run.returncode == 1
    summit = f"companies.'{SUMMIT}'.dimensions"
    assert "on main account 600100 has no BusinessUnit" in run.stderr
    assert "account structure 'Payroll structure' of legal entity sbc requires" in run.stderr
    assert f"{summit}.fixed" in run.stderr
    assert f"companies.'{RIDGELINE}'.dimensions.default for contractors" in run.stderr
    entities = strict_dynamics.entities
    # nothing of Summit's was written, and F&O never had to reject a line
    assert {h["dataAreaId"] for h in entities["LedgerJournalHeaders"]} == {"rsc"}
    assert strict_dynamics.stats["requests"].get("$batch", {}).get("POST", {}).get("500") is None


def test_a_linked_organisation_vendor_keeps_its_identity(
    tmp_path: Path,
    store: Path,
    strict_dynamics: DynamicsSandbox,
    messages: list[dict[str, Any]],
) -> None:
    person = next(
        c
        for c in _records(messages, "contractors")
        if c["company_uuid"] == RIDGELINE and c.get("type") == "Individual"
    )
    existing = {
        "dataAreaId": "rsc",
        "VendorAccountNumber": "V00042",
        "VendorGroupId": "CONTRACT",
        "VendorPartyType": "Organization",
        "VendorOrganizationName": "Whitfield Consulting LLC",
        "CurrencyCode": "USD",
    }
    created = data_session(strict_dynamics).post(
        f"{strict_dynamics.url}/data/VendorsV2", json=existing
    )
    assert created.status_code == 201, created.text
    path = mapping(tmp_path, strict_ready=True, link={person["uuid"]: "V00042"})
    run = _run(tmp_path, store, path, messages)
    assert run.returncode == 0, run.stderr[-3000:]
    vendor = next(
        v for v in strict_dynamics.entities["VendorsV2"] if v["VendorAccountNumber"] == "V00042"
    )
    assert vendor["VendorPartyType"] == "Organization"
    assert vendor["VendorOrganizationName"] == "Whitfield Consulting LLC"
    assert vendor["PersonLastName"] == ""
    assert "V00042" in run.stderr and "was left as it is" in run.stderr
    assert "update_linked_vendors: true" in run.stderr
