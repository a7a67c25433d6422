"""Failure handling against the Gusto sandbox over HTTP: rate limits, retries, versions, tokens."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import requests.adapters
from gd_faultpoints import KILL_ENV, KILL_EXIT_CODE
from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault
from tap_gusto.errors import IncompleteExtractionError
from tap_gusto.run_status import read_status, status_path
from tap_gusto.tap import TapGusto
from tap_gusto.tokens import AppCredentials, TokenManager
from tapgusto_support import (
    SANDBOX_TODAY,
    base_config,
    connect_companies,
    final_state,
    parse_messages,
    records,
    run_tap,
    write_json,
)


@pytest.fixture
def gusto() -> Iterator[GustoSandbox]:
    with GustoSandbox(port=0, seed="demo", today=SANDBOX_TODAY) as sandbox:
        yield sandbox


@pytest.fixture
def small(gusto: GustoSandbox) -> str:
    """The small company (Summit Bakery): keeps these runs short."""
    return gusto.company("Summit Bakery Co").uuid


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    import backoff._sync  # noqa: PLC0415 - patch the sleep the retry loop uses

    # The retry loop and the limiter both sleep through time.sleep; record instead of waiting.
    monkeypatch.setattr(backoff._sync.time, "sleep", slept.append)
    return slept


def test_429_waits_exactly_retry_after(
    gusto: GustoSandbox, vault: Vault, small: str, no_sleep: list[float]
) -> None:
    connect_companies(vault, gusto, [small])
    gusto.faults.set(throttle_next=1, retry_after=7, paths=["/v1/"])
    messages, tap = run_tap(base_config(vault, gusto), streams=["companies"])
    assert len(records(messages, "companies")) == 1
    assert tap.retry_waits == [(429, 7.0)]
    assert no_sleep == [7.0]
    limiter = tap.connections.get(small).limiter
    assert limiter.stats.throttled_429 == 1
    assert limiter.stats.retry_after_waits == [7.0]
    assert (
        gusto.stats.snapshot()["per_status"].get(
            "429", gusto.stats.snapshot()["per_status"].get(429)
        )
        == 1
    )


def test_5xx_and_dropped_connection_retry_with_backoff(
    gusto: GustoSandbox, vault: Vault, small: str, no_sleep: list[float]
) -> None:
    connect_companies(vault, gusto, [small])
    gusto.faults.set(status_next=[503, 2], drop_connection_next=1, paths=["/v1/"])
    messages, tap = run_tap(base_config(vault, gusto), streams=["companies"])
    assert len(records(messages, "companies")) == 1
    statuses = [status for status, _ in tap.retry_waits]
    assert sorted(statuses, key=str) == sorted([None, 503, 503], key=str)
    waits = [wait for _, wait in tap.retry_waits]
    assert 2.0 <= waits[0] < 3.0 and 4.0 <= waits[1] < 5.0 and 8.0 <= waits[2] < 9.0


def test_406_names_version_and_fix(gusto: GustoSandbox, vault: Vault, small: str) -> None:
    connect_companies(vault, gusto, [small])
    config = base_config(vault, gusto, api_version="2024-04-01")
    with pytest.raises(IncompleteExtractionError) as err:
        run_tap(config, streams=["companies"])
    message = str(err.value)
    assert "GustoAPIError" in message
    assert "2024-04-01" in message and "406" in message and "api_version" in message
    assert f"/v1/companies/{small}" in message


def test_other_4xx_names_endpoint_and_gusto_message_without_query(
    gusto: GustoSandbox, vault: Vault, small: str
) -> None:
    connect_companies(vault, gusto, [small])
    gusto.faults.set(status_next=[422, 1], paths=[f"/v1/companies/{small}/payrolls"])
    with pytest.raises(IncompleteExtractionError) as err:
        run_tap(base_config(vault, gusto), streams=["payrolls"])
    message = str(err.value)
    assert "GustoAPIError" in message
    assert f"GET /v1/companies/{small}/payrolls" in message
    assert "Simulated upstream failure" in message
    assert "include=" not in message and "?" not in message


def test_revoked_refresh_token_asks_to_reconnect(
    gusto: GustoSandbox, vault: Vault, small: str
) -> None:
    connect_companies(vault, gusto, [small])
    dead = vault.read()["gusto"]["companies"][small]["refresh_token"]
    gusto.oauth.revoke(dead)
    with pytest.raises(IncompleteExtractionError) as err:
        run_tap(base_config(vault, gusto), streams=["companies"])
    message = str(err.value)
    assert "ReconnectRequiredError" in message
    assert small in message and "Summit Bakery Co" in message
    assert "gusto-dynamics connect gusto" in message
    assert dead not in message


def test_one_second_tokens_refresh_many_times_without_invalid_grant(
    tmp_path: Path, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each request takes at least 50 ms (as a real network would), so the run outlives several
    # 1-second tokens however fast the sandbox answers.
    real_send = requests.adapters.HTTPAdapter.send

    def slow_send(self: requests.adapters.HTTPAdapter, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.05)
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", slow_send)
    with GustoSandbox(port=0, seed="demo", token_lifetime=1, today=SANDBOX_TODAY) as gusto:
        connect_companies(vault, gusto)
        # Payrolls of both companies: long enough (dozens of multi-page payrolls) for the
        # 1-second tokens to expire again and again, proactively and with 401s.
        messages, tap = run_tap(base_config(vault, gusto), streams=["payrolls", "employees"])
        assert records(messages, "payrolls")
        stats = gusto.stats.snapshot()
        assert stats["refreshes"] >= 3
        assert stats["invalid_grants"] == 0
        made = sum(tap.connections.get(c).tokens.refresh_count for c in gusto.company_uuids)
        assert made == stats["refreshes"]


REFRESH_CHILD = """
import os, sys, time
from gd_vault import Vault
from tap_gusto.tokens import AppCredentials, TokenManager
store, company, client_id, client_secret, url, go = sys.argv[1:]
tokens = TokenManager(Vault.open(store), company, AppCredentials(client_id, client_secret), url)
while not os.path.exists(go):
    time.sleep(0.01)
print(tokens.access_token())
"""


def test_two_processes_refreshing_at_once_make_one_refresh(
    gusto: GustoSandbox, vault: Vault, small: str, tmp_path: Path
) -> None:
    connect_companies(vault, gusto, [small])
    go = tmp_path / "go"
    argv = [
        sys.executable,
        "-c",
        REFRESH_CHILD,
        str(vault.path),
        small,
        gusto.client_id,
        gusto.client_secret,
        gusto.url,
        str(go),
    ]
    procs = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    go.touch()  # both children race for the refresh once they are up
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    tokens = [out.strip() for out, _err in outputs]
    assert tokens[0] == tokens[1]
    assert gusto.stats.snapshot()["refreshes"] == 1
    assert vault.read()["gusto"]["companies"][small]["access_token"] == tokens[0]


MID_WRITE_RUNNER = """
import os, sys
def crash(*_args):
    # Killed after the new store file was written and fsynced, before it replaced the old one.
    os._exit(87)
os.replace = crash
from tap_gusto.tap import TapGusto
TapGusto.cli()
"""


@pytest.mark.parametrize(
    ("crash", "code"),
    [
        ("tap.refresh.before_request:1", KILL_EXIT_CODE),
        ("tap.refresh.after_response:1", KILL_EXIT_CODE),
        ("mid_store_write", 87),
    ],
)
def test_killed_refresh_leaves_a_usable_store(
    gusto: GustoSandbox, vault: Vault, small: str, tmp_path: Path, crash: str, code: int
) -> None:
    connect_companies(vault, gusto, [small])
    before = dict(vault.read()["gusto"]["companies"][small])
    config = write_json(tmp_path / "config.json", base_config(vault, gusto))
    env = {**os.environ}
    if crash == "mid_store_write":
        argv = [sys.executable, "-c", MID_WRITE_RUNNER, "--config", str(config)]
    else:
        env[KILL_ENV] = crash
        argv = [sys.executable, "-m", "tap_gusto", "--config", str(config)]
    result = subprocess.run(argv, check=False, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == code, result.stderr[-2000:]
    assert vault.read()["gusto"]["companies"][small]["refresh_token"] == before["refresh_token"]
    expected_refreshes = 0 if crash.startswith("tap.refresh.before_request") else 1
    assert gusto.stats.snapshot()["refreshes"] == expected_refreshes

    messages, _ = run_tap(base_config(vault, gusto), streams=["companies"])
    assert len(records(messages, "companies")) == 1
    assert gusto.stats.snapshot()["invalid_grants"] == 0
    after = vault.read()["gusto"]["companies"][small]
    assert after["refresh_token"] != before["refresh_token"]
    # The next refresh (with the newly stored token) works too: the chain is intact.
    gusto.faults.set()
    tokens = TokenManager(
        vault, small, AppCredentials(gusto.client_id, gusto.client_secret), gusto.url
    )
    assert tokens.refresh_after_unauthorized(str(after["access_token"]))
    assert gusto.stats.snapshot()["invalid_grants"] == 0


def test_include_unprocessed_emits_but_never_bookmarks(
    gusto: GustoSandbox, vault: Vault, small: str
) -> None:
    connect_companies(vault, gusto, [small])
    info = gusto.info()
    pending = {
        p["uuid"]
        for c in info["companies"]
        if c["uuid"] == small
        for p in c["payrolls"]
        if not p["processed"]
    }
    assert pending
    messages, _ = run_tap(base_config(vault, gusto, include_unprocessed=True), streams=["payrolls"])
    payrolls = records(messages, "payrolls")
    unprocessed = [p for p in payrolls if not p["processed"]]
    assert {p["payroll_uuid"] for p in unprocessed} == pending
    assert all(p["processed_date"] is None for p in unprocessed)
    partition = final_state(messages)["bookmarks"]["payrolls"]["partitions"][0]
    assert not pending & set(partition["emitted_payrolls"])
    processed_dates = [p["processed_date"] for p in payrolls if p["processed"]]
    assert partition["replication_key_value"] == max(processed_dates)


def test_lost_refresh_response_is_retried_with_the_same_token(
    gusto: GustoSandbox, vault: Vault, small: str, no_sleep: list[float]
) -> None:
    connect_companies(vault, gusto, [small])
    gusto.faults.set(drop_response_next=1, paths=["/oauth/token"])
    messages, _ = run_tap(base_config(vault, gusto), streams=["companies"])
    assert len(records(messages, "companies")) == 1
    stats = gusto.stats.snapshot()
    # Gusto issued a token pair nobody saw; the old refresh token was still valid for the retry.
    assert stats["refreshes"] == 2
    assert stats["invalid_grants"] == 0
    assert no_sleep  # waited before retrying the refresh


def test_a_revoked_company_fails_alone_and_the_healthy_one_is_read(
    gusto: GustoSandbox, vault: Vault, small: str
) -> None:
    """Issue 14: one revoked grant must not stop the other companies."""
    connect_companies(vault, gusto)
    healthy = next(c for c in gusto.company_uuids if c != small)
    gusto.oauth.revoke(vault.read()["gusto"]["companies"][small]["refresh_token"])
    tap = TapGusto(config=base_config(vault, gusto), state={}, parse_env_config=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(IncompleteExtractionError) as err:
        tap.extract()
    assert small in str(err.value) and "gusto-dynamics connect gusto" in str(err.value)
    assert healthy not in str(err.value)
    messages = parse_messages(out.getvalue())
    emitted = {r["company_uuid"] for r in records(messages, "payrolls")}
    assert emitted == {healthy}
    processed = {p.uuid for p in gusto.company(healthy).payrolls if p.processed}
    assert {r["payroll_uuid"] for r in records(messages, "payrolls")} == processed
    partitions = final_state(messages)["bookmarks"]["payrolls"]["partitions"]
    by_company = {p["context"]["company_uuid"]: p for p in partitions}
    assert "replication_key_value" in by_company[healthy]
    assert "replication_key_value" not in by_company.get(small, {})
    status = read_status(status_path())
    assert status[f"gusto:{small}"]["last_run_ok"] is False
    assert "connect gusto" in status[f"gusto:{small}"]["last_run_message"]
    assert status[f"gusto:{healthy}"]["last_run_ok"] is True
