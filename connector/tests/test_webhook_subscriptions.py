"""Subscribe/verify/list against the Gusto sandbox, then signed, forged and duplicate deliveries."""

from __future__ import annotations

import io
import json
import shlex
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from gd_vault import Vault, generate_key
from gusto_dynamics import cli
from gusto_dynamics.webhooks.app import ReceiverSettings, create_receiver
from gusto_dynamics.webhooks.store import verification_tokens
from gusto_dynamics.webhooks.testing import ReceiverThread

gusto_sandbox = pytest.importorskip("gd_sandbox.gusto")


class World:
    def __init__(self, gusto: Any, vault_path: Path, tmp: Path) -> None:
        self.gusto = gusto
        self.vault_path = vault_path
        self.vault = Vault.open(vault_path)
        self.calls = tmp / "calls.log"
        record = (
            f'echo "{{company_uuid}} $GUSTO_DYNAMICS_RUN_KIND" >> {shlex.quote(str(self.calls))}'
        )
        self.settings = ReceiverSettings(
            commands={"payroll": record, "people": record},
            state_dir=tmp / "state",
            retry_delays=(),
            shutdown_grace_seconds=5,
        )

    def cli(self, *args: str) -> int:
        return cli.main(["--vault", str(self.vault_path), *args])

    def invocations(self) -> list[list[str]]:
        if not self.calls.exists():
            return []
        return [line.split() for line in self.calls.read_text().splitlines()]

    def deliver(self, url: str, **body: Any) -> dict[str, Any]:
        response = requests.post(
            f"{self.gusto.url}/_sandbox/webhooks/deliver", json={"url": url, **body}, timeout=30
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("GUSTO_DYNAMICS_VAULT_KEY", generate_key().decode())
    monkeypatch.delenv("GUSTO_DYNAMICS_VAULT_KEY_FILE", raising=False)
    with gusto_sandbox.GustoSandbox(port=0, seed="demo", today=date(2026, 12, 3)) as gusto:
        path = tmp_path / "vault.enc"
        companies = {
            c: {
                "company_uuid": c,
                "company_name": gusto.company(c).name,
                "refresh_token": gusto.mint_refresh_token(c),
                "api_url": gusto.url,
            }
            for c in gusto.company_uuids
        }
        Vault.open(path).update(
            lambda data: {
                "gusto": {
                    "app": {
                        "client_id": gusto.client_id,
                        "client_secret": gusto.client_secret,
                        "api_url": gusto.url,
                    },
                    "companies": companies,
                }
            }
        )
        yield World(gusto, path, tmp_path)


def test_subscribe_verifies_through_the_running_receiver_and_events_flow(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    ridgeline = world.gusto.company_uuids[0]
    with ReceiverThread(create_receiver(world.settings, store=world.vault)) as server:
        assert world.cli("webhooks", "subscribe", "--url", server.url, "--wait", "20") == 0
        out = capsys.readouterr().out
        pairs = verification_tokens(world.vault.read())
        assert len(pairs) == 1
        subscription_uuid, token = pairs[0]
        assert subscription_uuid in out
        assert token not in out
        assert not world.vault.read()["gusto"].get("webhooks_pending")

        assert world.cli("webhooks", "list", "--json") == 0
        listed = json.loads(capsys.readouterr().out)["subscriptions"]
        assert [(s["uuid"], s["status"], s["token_stored"]) for s in listed] == [
            (subscription_uuid, "verified", True)
        ]

        signed = world.deliver(
            server.url,
            event_type="payroll.processed",
            entity_type="Payroll",
            entity_uuid="c02f2c32-34f7-4128-9145-7d49f0c3f355",
            company_uuid=ridgeline,
            duplicate=2,
        )
        assert [d["status"] for d in signed["deliveries"]] == [200, 200, 200]
        forged = world.deliver(
            server.url,
            event_type="payroll.paid",
            entity_type="Payroll",
            entity_uuid="c02f2c32-34f7-4128-9145-7d49f0c3f355",
            company_uuid=ridgeline,
            forge=True,
        )
        assert [d["status"] for d in forged["deliveries"]] == [401]
        assert server.receiver.coordinator.wait_idle(30)
        assert world.invocations() == [[ridgeline, "payroll"]]
        row = server.receiver.ledger.get(signed["event"]["uuid"])
        assert row is not None
        assert (row["deliveries"], row["status"]) == (3, "done")
        assert server.receiver.ledger.get(forged["event"]["uuid"]) is None


def test_processing_a_payroll_in_the_sandbox_starts_a_run_for_that_company(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    company = world.gusto.company(world.gusto.company_uuids[1])
    unprocessed = next(p for p in company.payrolls if not p.processed)
    with ReceiverThread(create_receiver(world.settings, store=world.vault)) as server:
        assert world.cli("webhooks", "subscribe", "--url", server.url, "--types", "Payroll") == 0
        response = requests.post(
            f"{world.gusto.url}/_sandbox/payrolls/{unprocessed.uuid}/process", timeout=30
        )
        assert response.status_code == 200, response.text
        assert server.receiver.coordinator.wait_idle(30)
    runs = world.invocations()
    # payroll.processed and payroll.paid arrive together: one or two runs, never more.
    assert 1 <= len(runs) <= 2
    assert {tuple(r) for r in runs} == {(company.uuid, "payroll")}


def test_wrong_token_from_stdin_leaves_the_subscription_unverified(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("0e8b1c9a-1111-4222-8333-944455556666\n"))
    code = world.cli(
        "webhooks",
        "subscribe",
        "--url",
        "https://hooks.example.com/webhooks/gusto",
        "--verification-token-stdin",
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "still pending" in err
    assert "webhooks verify" in err
    assert verification_tokens(world.vault.read()) == []


def test_subscribe_without_a_reachable_receiver_times_out_with_a_fix(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code = world.cli(
        "webhooks", "subscribe", "--url", "http://127.0.0.1:9/webhooks/gusto", "--wait", "0.5"
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "gusto-dynamics webhooks serve" in err
    assert world.gusto.client_secret not in err
    assert not world.vault.read()["gusto"].get("webhooks_pending")


def test_reverify_restores_a_lost_token(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    with ReceiverThread(create_receiver(world.settings, store=world.vault)) as server:
        assert world.cli("webhooks", "subscribe", "--url", server.url) == 0
        ((subscription_uuid, _),) = verification_tokens(world.vault.read())

        def forget(data: dict[str, Any]) -> None:
            data["gusto"]["webhooks"] = {}

        world.vault.update(forget)
        assert world.cli("webhooks", "verify", subscription_uuid, "--wait", "20") == 0
        assert [u for u, _ in verification_tokens(world.vault.read())] == [subscription_uuid]


def test_bad_url_and_unknown_types_are_refused(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert world.cli("webhooks", "subscribe", "--url", "http://hooks.example.com/x") == 1
    assert "must be https" in capsys.readouterr().err
    code = world.cli(
        "webhooks", "subscribe", "--url", "https://h.example.com/x", "--types", "Payrol"
    )
    assert code == 1
    assert "unknown subscription type(s) Payrol" in capsys.readouterr().err
