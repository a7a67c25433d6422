"""End to end over HTTP: the Gusto sandbox processes a payroll and sends signed webhooks; the
receiver (uvicorn) verifies them and runs `tap-gusto | target-dynamics-fo` for that company; the
journal appears in the Dynamics sandbox."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from e2e_support import SANDBOX_TODAY
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from gd_vault import KEY_ENV, KEY_FILE_ENV, Vault, generate_key
from gusto_dynamics.cli import main
from gusto_dynamics.webhooks.app import ReceiverSettings, create_receiver
from gusto_dynamics.webhooks.testing import ReceiverThread

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _exe(name: str) -> str:
    return shutil.which(name) or str(BIN / name)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv(KEY_ENV, generate_key().decode())
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    with (
        GustoSandbox(port=0, seed="demo", today=SANDBOX_TODAY) as gusto,
        DynamicsSandbox(port=0) as dyn,
    ):
        vault_path = tmp_path / "vault.enc"
        companies = {
            c: {
                "company_uuid": c,
                "company_name": gusto.company(c).name,
                "refresh_token": gusto.mint_refresh_token(c),
                "api_url": gusto.url,
            }
            for c in gusto.company_uuids
        }
        environment = {
            **dyn.client_settings(),
            "certificate_pem": None,
            "certificate_thumbprint": None,
        }
        Vault.open(vault_path).update(
            lambda data: {
                "gusto": {
                    "app": {
                        "client_id": gusto.client_id,
                        "client_secret": gusto.client_secret,
                        "api_url": gusto.url,
                    },
                    "companies": companies,
                },
                "dynamics": {"environments": {"sandbox": environment}},
            }
        )
        today = gusto.today.isoformat()
        tap_config = tmp_path / "tap.json"
        # Only payrolls from today on: the one this test processes (and nothing of last year).
        tap_config.write_text(
            json.dumps({"credentials_store": str(vault_path), "start_date": today})
        )
        target_config = tmp_path / "target.json"
        target_config.write_text(
            json.dumps(
                {
                    "credentials_store": str(vault_path),
                    "dynamics_environment": "sandbox",
                    # The target's schema default for authority_host beats the store's value
                    # (reported to its owner), so name the sandbox authority here too.
                    "authority_host": dyn.url,
                    "mapping_file": str(ROOT / "config" / "mapping.yml"),
                    "audit_db": str(tmp_path / "audit.sqlite"),
                }
            )
        )
        # `--config ENV` makes the tap honour TAP_GUSTO_COMPANY_IDS set by the receiver.
        command = (
            f"{shlex.quote(_exe('tap-gusto'))} --config {shlex.quote(str(tap_config))} "
            f"--config ENV | {shlex.quote(_exe('target-dynamics-fo'))} "
            f"--config {shlex.quote(str(target_config))}"
        )
        yield {
            "gusto": gusto,
            "dyn": dyn,
            "vault_path": vault_path,
            "settings": ReceiverSettings(
                commands={"payroll": command, "people": command},
                state_dir=tmp_path / "state",
                vault=vault_path,
                retry_delays=(),
                run_timeout_seconds=300,
                shutdown_grace_seconds=30,
            ),
        }


def _journals(dyn: DynamicsSandbox) -> list[dict[str, Any]]:
    return list(dyn.entities.get("LedgerJournalHeaders", []))


@pytest.mark.slow
def test_processed_payroll_webhook_posts_a_journal(world: dict[str, Any]) -> None:
    gusto: GustoSandbox = world["gusto"]
    dyn: DynamicsSandbox = world["dyn"]
    bakery = gusto.company("Summit Bakery Co")
    payroll = next(p for p in bakery.payrolls if not p.processed)
    before = _journals(dyn)

    receiver = create_receiver(world["settings"])
    with ReceiverThread(receiver) as server:
        code = main(
            [
                "--vault",
                str(world["vault_path"]),
                "webhooks",
                "subscribe",
                "--url",
                server.url,
                "--types",
                "Payroll,Employee",
            ]
        )
        assert code == 0
        response = requests.post(
            f"{gusto.url}/_sandbox/payrolls/{payroll.uuid}/process", timeout=60
        )
        assert response.status_code == 200, response.text
        # A forged copy of a payroll event changes nothing.
        forged = requests.post(
            f"{gusto.url}/_sandbox/webhooks/deliver",
            json={
                "url": server.url,
                "event_type": "payroll.processed",
                "entity_type": "Payroll",
                "entity_uuid": payroll.uuid,
                "company_uuid": gusto.company_uuids[0],
                "forge": True,
            },
            timeout=30,
        )
        assert [d["status"] for d in forged.json()["deliveries"]] == [401]
        assert receiver.coordinator.wait_idle(300)
        counts = receiver.ledger.counts()

    assert counts.get("failed", 0) == 0, counts
    after = _journals(dyn)
    new = [j for j in after if j not in before]
    assert len(new) == 1, new
    journal = new[0]
    assert journal["dataAreaId"] == "sbc"
    # The journal names the payroll, and it balances to the cent (Decimal, as stored).
    assert payroll.uuid[:8] in journal["Description"]
    lines = [
        line
        for line in dyn.entities.get("LedgerJournalLines", [])
        if line["JournalBatchNumber"] == journal["JournalBatchNumber"]
        and line["dataAreaId"] == "sbc"
    ]
    assert lines
    debits = sum((Decimal(line["DebitAmount"]) for line in lines), Decimal("0"))
    credits = sum((Decimal(line["CreditAmount"]) for line in lines), Decimal("0"))
    assert debits == credits == Decimal(journal["JournalTotalDebit"])
    gross = Decimal(gusto.payroll_expected(payroll.uuid)["totals"]["gross_pay"])
    assert debits >= gross > 0


def _stateful(world: dict[str, Any], tmp_path: Path, window_days: int) -> str:
    """A payroll command that carries STATE between runs (as Meltano does) with the tap's
    correction window set to ``window_days`` and corrections posted as found."""
    tap_config = tmp_path / "tap-stateful.json"
    base = json.loads((tmp_path / "tap.json").read_text())
    tap_config.write_text(json.dumps({**base, "correction_window_days": window_days}))
    target_config = tmp_path / "target-auto.json"
    target = json.loads((tmp_path / "target.json").read_text())
    target_config.write_text(json.dumps({**target, "corrections_approval": "automatic"}))
    state = shlex.quote(str(tmp_path / "state.json"))
    out = shlex.quote(str(tmp_path / "target.out"))
    return (
        f"{shlex.quote(_exe('tap-gusto'))} --config {shlex.quote(str(tap_config))} --config ENV "
        f"$([ -s {state} ] && echo --state {state}) | "
        f"{shlex.quote(_exe('target-dynamics-fo'))} --config {shlex.quote(str(target_config))} "
        f"> {out} && grep '^{{' {out} | tail -n 1 > {state}.new && mv {state}.new {state}"
    )


@pytest.mark.slow
def test_payroll_updated_and_cancelled_webhooks_re_read_that_payroll_and_correct_it_once(
    world: dict[str, Any], tmp_path: Path
) -> None:
    """The tap's correction window is off (0 days): only the signed webhooks make the runs read
    the payroll again, and the target corrects it exactly once per change."""
    gusto: GustoSandbox = world["gusto"]
    dyn: DynamicsSandbox = world["dyn"]
    bakery = gusto.company("Summit Bakery Co")
    payroll = next(p for p in bakery.payrolls if not p.processed)
    command = _stateful(world, tmp_path, window_days=0)
    settings: ReceiverSettings = world["settings"]
    settings.commands = {"payroll": command, "people": command}

    receiver = create_receiver(settings)
    with ReceiverThread(receiver) as server:
        code = main(
            [
                "--vault",
                str(world["vault_path"]),
                "webhooks",
                "subscribe",
                "--url",
                server.url,
                "--types",
                "Payroll",
            ]
        )
        assert code == 0
        processed = requests.post(
            f"{gusto.url}/_sandbox/payrolls/{payroll.uuid}/process", timeout=60
        )
        assert processed.status_code == 200, processed.text
        assert receiver.coordinator.wait_idle(300)
        assert len(_journals(dyn)) == 1, _journals(dyn)

        # Gusto amends it and says so (payroll.updated, signed): the run re-reads it.
        amended = requests.post(
            f"{gusto.url}/_sandbox/payrolls/{payroll.uuid}/amend",
            json={"bonus": "30.00"},
            timeout=60,
        )
        assert amended.status_code == 200, amended.text
        assert [d["status"] for d in amended.json()["deliveries"]] == [200]
        assert receiver.coordinator.wait_idle(300)
        headers = [str(h["Description"]) for h in _journals(dyn)]
        assert [d.split(" ")[0] for d in headers[1:]] == ["Reversal", "Repost"], headers

        # Cancelled in Gusto (payroll.cancelled, signed): what stands is reversed, once.
        cancelled = requests.post(
            f"{gusto.url}/_sandbox/payrolls/{payroll.uuid}/cancel", timeout=60
        )
        assert cancelled.status_code == 200, cancelled.text
        assert receiver.coordinator.wait_idle(300)
        counts = receiver.ledger.counts()

    assert counts.get("failed", 0) == 0, counts
    headers = [str(h["Description"]) for h in _journals(dyn)]
    assert len(headers) == 4 and headers[-1].startswith("Reversal 2 of "), headers
    net: dict[str, Decimal] = {}
    for line in dyn.entities["LedgerJournalLines"]:
        key = str(line["AccountDisplayValue"])
        net[key] = (
            net.get(key, Decimal(0)) + Decimal(line["DebitAmount"]) - Decimal(line["CreditAmount"])
        )
    # Original, reversal, repost and the cancellation's reversal net to nothing, to the cent.
    assert {k: v for k, v in net.items() if v} == {}
