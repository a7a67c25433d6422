"""Token manager against a fake OAuth endpoint over HTTP and a real encrypted store."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from gd_vault import Vault
from tap_gusto.errors import GustoAuthError, ReconnectRequiredError
from tap_gusto.tokens import AppCredentials, TokenManager, resolve_app_credentials

COMPANY = "c0ffee00-0000-4000-8000-000000000001"
APP = AppCredentials("cid", "csecret")


def manager(vault: Vault, fake: Any, **kw: object) -> TokenManager:
    return TokenManager(vault, COMPANY, APP, fake.url, sleep=lambda _s: None, **kw)  # type: ignore[arg-type]


def stored(vault: Vault) -> dict[str, object]:
    return dict(vault.read()["gusto"]["companies"][COMPANY])


def test_refreshes_when_no_access_token_and_stores_rotation_first(
    vault: Vault, fake_oauth: Any, seed: Any
) -> None:
    seed(vault, COMPANY)
    tokens = manager(vault, fake_oauth)
    assert tokens.access_token() == "access-1"
    record = stored(vault)
    assert record["refresh_token"] == "refresh-1"
    assert record["access_token"] == "access-1"
    assert isinstance(record["expires_at"], int)
    assert record["last_refresh_at"]
    assert fake_oauth.seen_refresh_tokens == ["refresh-0"]
    # Valid token in memory: no second refresh.
    assert tokens.access_token() == "access-1"
    assert fake_oauth.refreshes == 1


def test_adopts_token_refreshed_by_another_process(
    vault: Vault, fake_oauth: Any, seed: Any
) -> None:
    seed(vault, COMPANY, access_token="other", expires_at=int(time.time()) + 3600)
    assert manager(vault, fake_oauth).access_token() == "other"
    assert fake_oauth.refreshes == 0


def test_proactive_refresh_inside_margin(vault: Vault, fake_oauth: Any, seed: Any) -> None:
    seed(vault, COMPANY, access_token="old", expires_at=int(time.time()) + 30)
    assert manager(vault, fake_oauth).access_token() == "access-1"
    assert fake_oauth.refreshes == 1


def test_unauthorized_refreshes_once_then_reuses(vault: Vault, fake_oauth: Any, seed: Any) -> None:
    seed(vault, COMPANY, access_token="revoked", expires_at=int(time.time()) + 3600)
    tokens = manager(vault, fake_oauth)
    assert tokens.access_token() == "revoked"
    assert tokens.refresh_after_unauthorized("revoked") == "access-1"
    # A second 401 report for the old token does not refresh again.
    assert tokens.refresh_after_unauthorized("revoked") == "access-1"
    assert fake_oauth.refreshes == 1


def test_invalid_grant_names_company_and_command_never_token(
    vault: Vault, fake_oauth: Any, caplog: pytest.LogCaptureFixture, seed: Any
) -> None:
    seed(vault, COMPANY, refresh_token="super-secret-refresh")
    fake_oauth.script = [(400, {"error": "invalid_grant", "error_description": "revoked"})]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ReconnectRequiredError) as err:
        manager(vault, fake_oauth).access_token()
    message = str(err.value)
    assert COMPANY in message
    assert "Test Co" in message
    assert "gusto-dynamics connect gusto" in message
    assert "super-secret-refresh" not in message
    assert "super-secret-refresh" not in caplog.text
    assert "csecret" not in caplog.text
    assert fake_oauth.refreshes == 1  # a dead grant is not retried
    assert stored(vault)["refresh_token"] == "super-secret-refresh"


def test_server_error_retries_with_same_refresh_token(
    vault: Vault, fake_oauth: Any, seed: Any
) -> None:
    seed(vault, COMPANY)
    fake_oauth.script = [(503, {"error": "server_error"})]
    assert manager(vault, fake_oauth).access_token() == "access-2"
    assert fake_oauth.seen_refresh_tokens == ["refresh-0", "refresh-0"]


def test_response_without_refresh_token_is_not_used(
    vault: Vault, fake_oauth: Any, seed: Any
) -> None:
    seed(vault, COMPANY)
    fake_oauth.script = [(200, {"access_token": "a", "expires_in": 7200})]
    with pytest.raises(GustoAuthError, match="lacks an access or refresh token"):
        manager(vault, fake_oauth).access_token()
    assert stored(vault)["refresh_token"] == "refresh-0"


def test_invalid_client_message(vault: Vault, fake_oauth: Any, seed: Any) -> None:
    seed(vault, COMPANY)
    fake_oauth.script = [(401, {"error": "invalid_client"})]
    with pytest.raises(GustoAuthError, match="client_id / client_secret") as err:
        manager(vault, fake_oauth).access_token()
    assert "csecret" not in str(err.value)


def test_unknown_company_asks_to_connect(vault: Vault, fake_oauth: Any, seed: Any) -> None:
    seed(vault, "someone-else")
    with pytest.raises(ReconnectRequiredError, match="not connected"):
        manager(vault, fake_oauth).access_token()


def test_short_lifetime_margin_does_not_refresh_every_call(
    vault: Vault, fake_oauth: Any, seed: Any
) -> None:
    seed(vault, COMPANY)
    clock = [1000.0]
    fake_oauth.expires_in = 4
    tokens = TokenManager(
        vault, COMPANY, APP, fake_oauth.url, clock=lambda: clock[0], sleep=lambda _s: None
    )
    tokens.access_token()
    clock[0] += 2.0  # margin is a quarter of 4 s
    tokens.access_token()
    assert fake_oauth.refreshes == 1
    clock[0] += 1.5
    tokens.access_token()
    assert fake_oauth.refreshes == 2


def test_app_credentials_config_wins_over_store() -> None:
    data = {"gusto": {"app": {"client_id": "store-id", "client_secret": "store-secret"}}}
    assert resolve_app_credentials(data, "cfg-id", "cfg-secret").client_id == "cfg-id"
    assert resolve_app_credentials(data, None, None).client_secret == "store-secret"
    assert "store-secret" not in repr(resolve_app_credentials(data, None, None))
    with pytest.raises(GustoAuthError, match="client_id"):
        resolve_app_credentials({}, None, None)
