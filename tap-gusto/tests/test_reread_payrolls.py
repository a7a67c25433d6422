"""Payrolls a webhook names (``reread_payroll_uuids``) are read again whatever the correction
window's fingerprints say: inside the listing, outside it, and once cancelled."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault
from tapgusto_support import (
    SANDBOX_TODAY,
    connect_companies,
    final_state,
    records,
    run_tap,
)


@pytest.fixture
def gusto() -> Iterator[GustoSandbox]:
    with GustoSandbox(port=0, seed="demo", today=SANDBOX_TODAY) as sandbox:
        yield sandbox


def sync(
    gusto: GustoSandbox, vault: Vault, state: dict[str, Any], **settings: Any
) -> tuple[list[str], dict[str, Any]]:
    config = {
        "credentials_store": str(vault.path),
        "start_date": (SANDBOX_TODAY - dt.timedelta(days=365)).isoformat(),
        "correction_window_days": 0,
        **settings,
    }
    messages, tap = run_tap(config, state, streams=["payrolls"])
    assert not tap.partition_failures
    return [r["payroll_uuid"] for r in records(messages, "payrolls")], final_state(messages)


def test_named_payrolls_are_read_again_inside_and_outside_the_listing(
    gusto: GustoSandbox, vault: Vault, caplog: pytest.LogCaptureFixture
) -> None:
    connect_companies(vault, gusto)
    first, state = sync(gusto, vault, {})
    assert first
    processed = sorted(
        (p for c in gusto.info()["companies"] for p in c["payrolls"] if p["uuid"] in first),
        key=lambda p: p["check_date"],
    )
    recent, oldest = processed[-1]["uuid"], processed[0]["uuid"]
    # With the window off, an amendment alone is not noticed...
    gusto.amend_payroll(recent, Decimal("5.00"))
    again, state = sync(gusto, vault, state)
    assert again == []
    # ...a webhook naming it (and one long out of the listing) makes the run read both.
    caplog.set_level("INFO")
    named, state = sync(gusto, vault, state, reread_payroll_uuids=[recent, oldest])
    assert sorted(named) == sorted([recent, oldest])
    # The old one is beyond this run's listing: read alone.
    assert any(
        oldest in r.getMessage() and "(processed: True)" in r.getMessage() for r in caplog.records
    )
    # Cancelled and named: emitted with cancelled: true.
    gusto.cancel_payroll(recent)
    config_state = state
    messages, _ = run_tap(
        {
            "credentials_store": str(vault.path),
            "start_date": (SANDBOX_TODAY - dt.timedelta(days=365)).isoformat(),
            "correction_window_days": 0,
            "reread_payroll_uuids": [recent],
        },
        config_state,
        streams=["payrolls"],
    )
    (cancelled,) = records(messages, "payrolls")
    assert cancelled["payroll_uuid"] == recent and cancelled["cancelled"] is True
