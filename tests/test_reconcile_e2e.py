"""`gusto-dynamics reconcile` over HTTP against both sandboxes, after the real pipeline ran.

The module has sandboxes of its own: the tests change Gusto (a correction, a hire) and F&O
(deleted and duplicated journals), which the session sandboxes' other users must not see.
Each test breaks one thing, checks the report names it with its fix and exit 1, applies the
fix and checks the month is clean again (exit 0): the month-end routine of the README.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from e2e_support import (
    DYNAMICS_ENVIRONMENT,
    SANDBOX_MAPPING,
    SANDBOX_TODAY,
    run_target,
    target_config,
    tool,
    write_config,
)
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.dynamics.odata import dumps
from gd_sandbox.dynamics.testing import data_session
from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault
from gusto_dynamics.cli import main

PERIOD = "2026-11"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
TAP_START = "2026-11-01"


@dataclass
class World:
    gusto: GustoSandbox
    dyn: DynamicsSandbox
    store: Path
    tap_config: Path
    target_config: Path
    audit_db: Path
    tap_output: str

    def replay(self) -> None:
        """The fix for anything missing: run the target again on what the tap read."""
        run = run_target(self.target_config, self.tap_output)
        assert run.returncode == 0, run.stderr[-3000:]

    def pipeline(self) -> None:
        """Read Gusto afresh and post (the fix for people and payments Gusto added)."""
        self.tap_output = read_tap(self.tap_config)
        self.replay()

    def post_all(self) -> None:
        for company in ("rsc", "sbc"):
            for result in self.dyn.post_journals(company):
                assert "error" not in result, result


def read_tap(tap_config: Path) -> str:
    tap = subprocess.run(
        [tool("tap-gusto"), "--config", str(tap_config)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tap_config.parent,
    )
    assert tap.returncode == 0, tap.stderr[-3000:]
    return tap.stdout


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, vault_key_env: str) -> Iterator[World]:
    work = tmp_path_factory.mktemp("reconcile")
    with (
        GustoSandbox(port=0, seed="demo", rate_limit_per_minute=6000, today=SANDBOX_TODAY) as gusto,
        DynamicsSandbox(port=0) as dyn,
    ):
        store = work / "vault.enc"

        def fill(data: dict[str, Any]) -> None:
            data["gusto"] = {
                "app": {
                    "client_id": gusto.client_id,
                    "client_secret": gusto.client_secret,
                    "api_url": gusto.url,
                },
                "companies": {
                    c: {
                        "company_uuid": c,
                        "access_token": None,
                        "refresh_token": gusto.mint_refresh_token(c),
                        "expires_at": 0,
                        "api_url": gusto.url,
                        "pending_refresh_token": None,
                    }
                    for c in gusto.company_uuids
                },
            }
            data["dynamics"] = {
                "environments": {
                    DYNAMICS_ENVIRONMENT: {
                        **dyn.client_settings(),
                        "certificate_pem": None,
                        "certificate_thumbprint": None,
                    }
                }
            }

        Vault.open(store).update(fill)
        tap_config = work / "tap-config.json"
        tap_config.write_text(
            json.dumps(
                {
                    "api_url": gusto.url,
                    "credentials_store": str(store),
                    "max_requests_per_minute": 6000,
                    "start_date": TAP_START,
                }
            )
        )
        config = write_config(work, target_config(work, store, SANDBOX_MAPPING))
        world = World(gusto, dyn, store, tap_config, config, work / "audit.sqlite", "")
        world.pipeline()
        world.post_all()
        yield world


@dataclass
class Result:
    code: int
    report: dict[str, Any]
    err: str

    def rows(self, section: str, **match: Any) -> list[dict[str, Any]]:
        return [
            r
            for r in self.report["sections"][section]
            if all(r.get(k) == v for k, v in match.items())
        ]

    def breaks(self, section: str) -> list[dict[str, Any]]:
        return [r for r in self.report["sections"][section] if r["break"]]


def reconcile(
    world: World, capsys: pytest.CaptureFixture[str], *extra: str, fmt: str = "json"
) -> Result:
    capsys.readouterr()
    code = main(
        [
            "--vault",
            str(world.store),
            "reconcile",
            "--period",
            PERIOD,
            "--mapping",
            str(SANDBOX_MAPPING),
            "--audit-db",
            str(world.audit_db),
            "--format",
            fmt,
            *extra,
        ]
    )
    out, err = capsys.readouterr()
    return Result(code, json.loads(out) if fmt == "json" and out.strip() else {}, err)


def clean(world: World, capsys: pytest.CaptureFixture[str]) -> Result:
    result = reconcile(world, capsys)
    assert result.code == 0, json.dumps(
        {k: [r for r in v if r["break"]] for k, v in result.report["sections"].items()}, indent=1
    )[:4000]
    return result


def november_payrolls(gusto: GustoSandbox) -> list[dict[str, Any]]:
    return [
        {**p, "company_uuid": c["uuid"]}
        for c in gusto.info()["companies"]
        for p in c["payrolls"]
        if p["processed"] and p["check_date"].startswith(PERIOD)
    ]


def _batch_of(result: Result, payroll_uuid: str) -> str:
    (row,) = result.rows("payrolls", payroll=payroll_uuid[:8])
    batch: str = row["journal"]
    return batch


# ---- the clean month -----------------------------------------------------------------------


def test_clean_month_agrees_to_the_cent_with_both_sandboxes(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    result = clean(world, capsys)
    assert result.report["agrees"] is True and result.report["breaks"] == 0
    payrolls = november_payrolls(world.gusto)
    rows = result.report["sections"]["payrolls"]
    assert {r["payroll"] for r in rows} == {p["uuid"][:8] for p in payrolls}
    assert {r["status"] for r in rows} == {"in F&O and posted"}
    # Gusto's own figures, straight from the sandbox, against the report.
    for payroll in payrolls:
        expected = world.gusto.payroll_expected(payroll["uuid"])
        (row,) = result.rows("payrolls", payroll=payroll["uuid"][:8])
        assert Decimal(row["Gusto gross pay"]) == Decimal(expected["totals"]["gross_pay"])
        assert Decimal(row["Gusto net pay"]) == Decimal(expected["totals"]["net_pay"])
    # F&O's own figures: journal totals and the ledger entries the sandbox posted.
    entities = world.dyn.entities
    headers = {h["JournalBatchNumber"]: h for h in entities["LedgerJournalHeaders"]}
    ledger: dict[str, Decimal] = {}
    for entry in entities["GeneralJournalAccountEntries"]:
        amount = entry["AccountingCurrencyAmount"]
        if amount > 0:
            ledger[entry["JournalNumber"]] = ledger.get(entry["JournalNumber"], Decimal(0)) + amount
    for row in rows:
        header = headers[row["journal"]]
        assert Decimal(row["F&O debit"]) == header["JournalTotalDebit"]
        assert Decimal(row["F&O credit"]) == header["JournalTotalCredit"]
        assert Decimal(row["ledger debit"]) == ledger[row["journal"]]
    totals = result.report["totals"]
    assert Decimal(totals["gusto_gross_pay"]) == sum(
        Decimal(world.gusto.payroll_expected(p["uuid"])["totals"]["gross_pay"]) for p in payrolls
    )
    assert Decimal(totals["ledger_debit"]) == sum(ledger[r["journal"]] for r in rows)
    accounts = result.report["sections"]["accounts"]
    assert accounts and accounts[0]["main account"].startswith("6001")  # wages first
    assert all(Decimal(a["journals - Gusto"]) == 0 for a in accounts)
    payments = result.report["sections"]["contractors"]
    assert payments and {p["status"] for p in payments} == {"invoiced and posted"}


# ---- one break at a time, with its fix -----------------------------------------------------


def test_missing_journal_then_not_yet_posted(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    payroll = november_payrolls(world.gusto)[0]
    batch = _batch_of(clean(world, capsys), payroll["uuid"])
    legal_entity = "rsc" if payroll["company_uuid"] == world.gusto.company_uuids[0] else "sbc"
    deleted = requests.delete(
        f"{world.dyn.url}/_sandbox/journals/{legal_entity}/{batch}",
        verify=world.dyn.ca_bundle,
        timeout=30,
    )
    assert deleted.status_code == 200, deleted.text
    missing = reconcile(world, capsys)
    assert missing.code == 1
    (row,) = missing.rows("payrolls", payroll=payroll["uuid"][:8])
    assert row["status"] == "missing" and row["break"]
    assert "replay" in row["fix"] and payroll["uuid"] in row["fix"]
    assert row["connector says"].startswith("posted")  # the audit trail thinks it is there
    assert missing.report["breaks_by_section"]["accounts"] > 0

    world.replay()
    unposted = reconcile(world, capsys)
    assert unposted.code == 1
    (row,) = unposted.rows("payrolls", payroll=payroll["uuid"][:8])
    assert row["status"] == "in F&O, not yet posted"
    assert "post the journal in F&O" in row["fix"] and batch in row["fix"]
    world.post_all()
    clean(world, capsys)


def test_journal_posted_twice(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    payroll = november_payrolls(world.gusto)[-1]
    batch = _batch_of(clean(world, capsys), payroll["uuid"])
    entities = world.dyn.entities
    (header,) = [h for h in entities["LedgerJournalHeaders"] if h["JournalBatchNumber"] == batch]
    lines = [line for line in entities["LedgerJournalLines"] if line["JournalBatchNumber"] == batch]
    company = header["dataAreaId"]
    copy = "COPY-1"
    # Someone keys the payroll in again by hand: same description, same lines, own number.
    session = data_session(world.dyn)
    json_headers = {"Content-Type": "application/json"}
    made = session.post(
        f"{world.dyn.url}/data/LedgerJournalHeaders",
        data=dumps(
            {
                "dataAreaId": company,
                "JournalBatchNumber": copy,
                "JournalName": header["JournalName"],
                "Description": header["Description"],
            }
        ),
        headers=json_headers,
    )
    assert made.status_code == 201, made.text
    for number, line in enumerate(lines, start=1):
        keep = ("AccountDisplayValue", "CurrencyCode", "TransDate", "Text", "DebitAmount")
        body = {k: line[k] for k in (*keep, "CreditAmount")}
        body |= {"dataAreaId": company, "JournalBatchNumber": copy, "LineNumber": number}
        resp = session.post(
            f"{world.dyn.url}/data/LedgerJournalLines", data=dumps(body), headers=json_headers
        )
        assert resp.status_code == 201, resp.text
    world.dyn.post_journal(company, copy)
    twice = reconcile(world, capsys)
    assert twice.code == 1
    (row,) = twice.rows("payrolls", payroll=payroll["uuid"][:8])
    assert row["status"] == "posted twice"
    assert f"reverse journal {copy}" in row["fix"] and batch in row["fix"]
    assert Decimal(row["F&O debit"]) == 2 * Decimal(row["Gusto journal debit"])
    world.dyn.delete_journal(company, copy)
    clean(world, capsys)


def test_amount_changed_in_gusto_after_posting(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    payroll = november_payrolls(world.gusto)[0]
    batch = _batch_of(clean(world, capsys), payroll["uuid"])
    world.gusto.amend_payroll(payroll["uuid"], Decimal("125.50"))
    changed = reconcile(world, capsys)
    assert changed.code == 1
    (row,) = changed.rows("payrolls", payroll=payroll["uuid"][:8])
    assert row["status"] == "changed in Gusto after posting"
    assert f"reverse {batch}" in row["fix"] and "replay" in row["fix"]
    # The journal still holds the old figures; Gusto's side has the correction.
    expected = world.gusto.payroll_expected(payroll["uuid"])["totals"]["gross_pay"]
    assert Decimal(row["Gusto gross pay"]) == Decimal(expected)
    assert Decimal(row["Gusto journal debit"]) - Decimal(row["F&O debit"]) == Decimal("125.50")
    wages = [a for a in changed.breaks("accounts") if a["main account"] == "600120"]
    assert [Decimal(a["journals - Gusto"]) for a in wages] == [Decimal("-125.50")]

    # The fix: reverse the journal in F&O (the sandbox deletes it), read Gusto again, post.
    legal_entity = row["legal entity"]
    world.dyn.delete_journal(legal_entity, batch)
    world.pipeline()
    world.post_all()
    clean(world, capsys)


def test_hire_not_in_f_and_o(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    clean(world, capsys)
    company = world.gusto.company_uuids[1]
    hired = world.gusto.hire_employee(
        company_uuid=company, first_name="Nora", last_name="Late", hire_date="2026-11-23"
    )
    missing = reconcile(world, capsys)
    assert missing.code == 1
    (row,) = [r for r in missing.breaks("people") if r["name"] == "Nora Late"]
    assert row["event"] == "hire" and row["date"] == "2026-11-23" and row["in F&O"] == "NO"
    assert "replay" in row["fix"]
    assert missing.report["breaks_by_section"] == {
        "payrolls": 0,
        "accounts": 0,
        "headcount": 1,
        "contractors": 0,
    }
    world.pipeline()
    result = clean(world, capsys)
    assert result.rows("people", name="Nora Late")[0]["in F&O"] == "yes"
    assert hired


def test_contractor_payment_without_invoice(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    before = clean(world, capsys)
    payment = before.report["sections"]["contractors"][0]
    world.dyn.delete_journal(payment["legal entity"], payment["invoice journal"])
    missing = reconcile(world, capsys)
    assert missing.code == 1
    (row,) = missing.breaks("contractors")
    assert row["status"] == "no invoice" and row["payment"] == payment["payment"]
    assert "replay-payment" in row["fix"]
    assert Decimal(row["Gusto amount"]) == Decimal(payment["Gusto amount"])
    world.replay()
    unposted = reconcile(world, capsys)
    (row,) = unposted.breaks("contractors")
    assert unposted.code == 1 and row["status"] == "invoiced, not yet posted"
    assert "post the journal in F&O" in row["fix"]
    world.post_all()
    clean(world, capsys)


def test_gusto_outage_exits_2_with_a_clear_message(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.gusto.faults.set(drop_connection_next=50, paths=["/v1/"])
    try:
        down = reconcile(world, capsys)
    finally:
        world.gusto.faults.set(drop_connection_next=0, paths=[])
    assert down.code == 2 and down.report == {}
    assert "could not read Gusto" in down.err and "Nothing was compared" in down.err
    assert "gusto-dynamics connect gusto" in down.err
    clean(world, capsys)


def test_dynamics_outage_exits_2_with_a_clear_message(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.dyn.faults["unavailable_next"] = 50
    try:
        down = reconcile(world, capsys)
    finally:
        world.dyn.faults["unavailable_next"] = 0
    assert down.code == 2 and down.report == {}
    assert "could not read Dynamics 365 F&O" in down.err and world.dyn.url in down.err
    assert "gusto-dynamics connect dynamics" in down.err
    clean(world, capsys)


def chromium() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


@pytest.mark.skipif(chromium() is None, reason=f"no Chromium on PATH ({', '.join(CHROMIUM_NAMES)})")
def test_html_report_renders_in_headless_chromium(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    world.gusto.amend_payroll(november_payrolls(world.gusto)[-1]["uuid"], Decimal("10.00"))
    result = reconcile(world, capsys, "--out", str(tmp_path), fmt="html")
    assert result.code == 1
    (page,) = tmp_path.glob("reconcile-*.html")
    text = page.read_text()
    # Self-contained: nothing to fetch (charts are data URIs), and no secret in it.
    assert "http://" not in text and "https://" not in text and "<link" not in text
    for secret in (world.dyn.client_secret, world.gusto.client_secret):
        assert secret not in text
    browser = chromium()
    assert browser is not None
    run = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            # Nothing of its own on the network (these machines have none beyond the package
            # registries: Chromium would flood it with refused connections), a profile of its own.
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    console = [x for x in run.stderr.splitlines() if "CONSOLE" in x or "Uncaught" in x]
    assert console == []
    assert 'data-ready="yes"' in dom
    assert 'id="summary" class="breaks"' in dom
    for section in ("payrolls", "accounts", "headcount", "people", "contractors"):
        assert f'id="table-{section}"' in dom
    assert dom.count('class="chart"') >= 2
    assert dom.count('data-rendered="true"') >= 2 and 'data-rendered="false"' not in dom
    assert "changed in Gusto after posting" in dom
    # Leave the month clean for whatever runs next.
    row = reconcile(world, capsys).breaks("payrolls")[0]
    world.dyn.delete_journal(row["legal entity"], row["journal"])
    world.pipeline()
    world.post_all()
    clean(world, capsys)


# ---- corrections: one chain per payroll ------------------------------------------------------


def cancelled_as_emitted(tap_output: str, payroll_uuid: str) -> str:
    """The tap's messages with only that payroll's record, marked as tap-gusto marks a payroll
    no longer processed."""
    out = []
    for line in tap_output.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            if message["stream"] != "payrolls" or message["record"]["payroll_uuid"] != payroll_uuid:
                continue
            message["record"] |= {"processed": False, "cancelled": True}
        out.append(json.dumps(message))
    return "\n".join(out) + "\n"


def audit_approve(world: World, payroll_uuid: str) -> None:
    approve = subprocess.run(
        [
            tool("target-dynamics-fo-audit"),
            "corrections",
            "approve",
            payroll_uuid,
            "--config",
            str(world.target_config),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=world.target_config.parent,
    )
    assert approve.returncode == 0, approve.stderr[-3000:]


def test_a_corrected_payroll_is_one_chain_reconciled_once_its_correction_is_posted(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # Last in the module: it leaves chains behind (which reconcile clean).
    clean(world, capsys)
    payrolls = november_payrolls(world.gusto)
    amended, cancelled = payrolls[1], payrolls[2]
    original = _batch_of(clean(world, capsys), amended["uuid"])
    world.gusto.amend_payroll(amended["uuid"], Decimal("40.00"))
    world.gusto.cancel_payroll(cancelled["uuid"])
    # The pipeline finds the amendment and stages its correction (approval is manual by
    # default). This module's reads are full reads without STATE, so the cancellation comes as
    # tap-gusto emits it from its fingerprints (test_e2e_corrections covers that detection).
    earlier = world.tap_output
    world.pipeline()
    run = run_target(world.target_config, cancelled_as_emitted(earlier, cancelled["uuid"]))
    assert run.returncode == 0, run.stderr[-3000:]
    pending = reconcile(world, capsys)
    assert pending.code == 1
    (row,) = pending.rows("payrolls", payroll=amended["uuid"][:8])
    assert row["status"] == "correction pending approval" and row["break"]
    assert f"corrections approve {amended['uuid']}" in row["fix"]
    assert row["journal"] == original

    # Approved and posted at once, not yet posted in F&O: still a break, naming the journals.
    audit_approve(world, amended["uuid"])
    audit_approve(world, cancelled["uuid"])
    unposted = reconcile(world, capsys)
    (row,) = unposted.rows("payrolls", payroll=amended["uuid"][:8])
    assert row["status"] == "in F&O, not yet posted" and row["break"]

    # Posted in F&O: the chain reconciles, original + reversal + repost as one row.
    world.post_all()
    result = clean(world, capsys)
    (row,) = result.rows("payrolls", payroll=amended["uuid"][:8])
    assert row["status"] == "corrected in F&O and posted" and not row["break"]
    chain = row["journal"].split(", ")
    assert chain[0] == original and len(chain) == 3, chain
    assert Decimal(row["F&O debit"]) == Decimal(row["Gusto journal debit"])
    # The cancelled payroll: its original and reversal, netting to zero, reconciled.
    (gone,) = [r for r in result.rows("payrolls") if r["status"].startswith("cancelled")]
    assert gone["status"] == "cancelled in Gusto, reversed in F&O" and not gone["break"]
    assert len(gone["journal"].split(", ")) == 2
    assert Decimal(gone["F&O debit"]) == 0
