"""A Gusto that echoes every secret it is sent: no secret may reach any output of the tap.

The Gusto sandbox's ``echo_secrets`` switch quotes the request's Authorization header and body
in every error answer. The tap then meets a 503 (its "Backing off" lines), a 404 (an ERROR and
a fatal exception) and a refresh answered 400 (the refresh token and the client secret echoed).
Every byte the tap wrote is searched for every secret this test knows of, and for any bearer
credential at all.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import tool
from gd_sandbox.gusto import GustoSandbox
from gd_vault import KEY_ENV, Vault

SUMMIT = "ee2ce936-5d04-5cda-8909-6ace20a55be1"
TODAY = dt.date(2026, 12, 3)
# "Bearer " followed by anything but the mask is a leaked credential, whoever's it is.
LEAKED_BEARER = re.compile(r"(?i)bearer\s+(?!\*\*\*)[A-Za-z0-9\-._~+/]{6,}")


@pytest.fixture
def echoing_gusto() -> Iterator[GustoSandbox]:
    with GustoSandbox(port=0, today=TODAY) as gusto:
        gusto.faults.set(echo_secrets=1)
        yield gusto


def _store(path: Path, gusto: GustoSandbox) -> str:
    refresh = gusto.mint_refresh_token(SUMMIT)

    def fill(data: dict[str, Any]) -> None:
        data["gusto"] = {
            "app": {
                "client_id": gusto.client_id,
                "client_secret": gusto.client_secret,
                "api_url": gusto.url,
            },
            "companies": {
                SUMMIT: {
                    "company_uuid": SUMMIT,
                    "access_token": None,
                    "refresh_token": refresh,
                    "expires_at": 0,
                    "api_url": gusto.url,
                    "pending_refresh_token": None,
                }
            },
        }

    Vault.open(path).update(fill)
    return refresh


def _tap(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("tap-gusto"), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _secrets(store: Path, gusto: GustoSandbox, minted: list[str]) -> set[str]:
    data = Vault.open(store).read()
    company = data["gusto"]["companies"][SUMMIT]
    found = {gusto.client_secret, os.environ[KEY_ENV], *minted}
    found.update(
        str(company[k])
        for k in ("access_token", "refresh_token", "pending_refresh_token")
        if company.get(k)
    )
    return {s for s in found if s}


def test_secrets_echoed_by_gusto_never_reach_the_tap_output(
    echoing_gusto: GustoSandbox, vault_key_env: str, tmp_path: Path
) -> None:
    gusto = echoing_gusto
    store = tmp_path / "vault.enc"
    minted = [_store(store, gusto)]
    config = tmp_path / "tap.json"
    config.write_text(
        json.dumps(
            {
                "api_url": gusto.url,
                "credentials_store": str(store),
                "company_ids": [SUMMIT],
                "start_date": (TODAY - dt.timedelta(days=20)).isoformat(),
                "max_requests_per_minute": 6000,
            }
        )
    )
    outputs: dict[str, str] = {}

    # 503s answered with the Authorization header echoed: "Backing off" lines. (The run's
    # outcome does not matter here: any later error answer is echoed and searched too.)
    gusto.faults.set(status_next=[503, 2], retry_after=1, paths=["/v1/"])
    backoff = _tap(config)
    outputs["503"] = backoff.stdout + backoff.stderr
    assert "Backing off" in backoff.stderr, backoff.stderr[-3000:]

    # A 404 with the header echoed: an ERROR line and the fatal exception.
    gusto.faults.set(status_next=[404, 1], paths=["/v1/"])
    missing = _tap(config)
    outputs["404"] = missing.stdout + missing.stderr
    assert missing.returncode != 0
    assert "404" in missing.stderr

    # A refresh answered 400 with its body echoed: the refresh token and the client secret.
    def expire(data: dict[str, Any]) -> None:
        data["gusto"]["companies"][SUMMIT]["expires_at"] = 0

    Vault.open(store).update(expire)
    minted.extend(
        str(v)
        for k, v in Vault.open(store).read()["gusto"]["companies"][SUMMIT].items()
        if k in ("access_token", "refresh_token") and v
    )
    gusto.faults.set(status_next=[400, 1], paths=["/oauth/"])
    refused = _tap(config)
    outputs["refresh 400"] = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert "HTTP 400" in refused.stderr, refused.stderr[-3000:]
    # The echo really happened (the sandbox quoted the request), and was scrubbed.
    assert "[request Authorization" in refused.stderr

    secrets = _secrets(store, gusto, minted)
    assert gusto.client_secret in secrets and len(secrets) >= 4
    for name, text in outputs.items():
        for secret in secrets:
            assert secret not in text, f"a secret reached the tap output ({name})"
        assert not LEAKED_BEARER.search(text), f"a bearer credential reached the output ({name})"
