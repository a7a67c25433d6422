"""Account structures with required dimensions (opt-in via /_sandbox/config)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.dynamics.odata import dumps
from gd_sandbox.dynamics.testing import PinnedSession, data_session

DATE = "2026-01-15T12:00:00Z"
PNL_RULE = {"from": "600000", "to": "699999", "required": ["BusinessUnit", "Department"]}


@pytest.fixture(scope="module")
def dyn() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox() as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def http(dyn: DynamicsSandbox) -> PinnedSession:
    return data_session(dyn)


@pytest.fixture(autouse=True)
def _fresh(dyn: DynamicsSandbox, http: PinnedSession) -> None:
    dyn.reset()
    resp = http.post(f"{dyn.url}/_sandbox/config", json={"account_structures": [PNL_RULE]})
    assert resp.status_code == 200, resp.text


def _line(http: PinnedSession, dyn: DynamicsSandbox, **body: Any) -> requests.Response:
    header = http.post(f"{dyn.url}/data/LedgerJournalHeaders", json={"JournalName": "Payroll"})
    assert header.status_code == 201, header.text
    payload = {
        "JournalBatchNumber": header.json()["JournalBatchNumber"],
        "AccountType": "Ledger",
        "CurrencyCode": "USD",
        "TransDate": DATE,
        "DebitAmount": 1,
        **body,
    }
    resp: requests.Response = http.post(
        f"{dyn.url}/data/LedgerJournalLines",
        data=dumps(payload),
        headers={"Content-Type": "application/json"},
    )
    return resp


def test_pnl_line_without_required_dimension_is_rejected(
    dyn: DynamicsSandbox, http: PinnedSession
) -> None:
    resp = _line(http, dyn, AccountDisplayValue="600200-100--DEN")
    assert resp.status_code == 500
    message = resp.json()["error"]["innererror"]["message"]
    assert "Invalid value in AccountDisplayValue: '600200-100--DEN'" in message
    assert "requires a value for financial dimension 'Department'" in message


def test_line_with_required_dimensions_and_balance_sheet_line_pass(
    dyn: DynamicsSandbox, http: PinnedSession
) -> None:
    assert _line(http, dyn, AccountDisplayValue="600200-100-110-").status_code == 201
    assert _line(http, dyn, AccountDisplayValue="210400---").status_code == 201


def test_structures_are_readable_and_resettable(dyn: DynamicsSandbox, http: PinnedSession) -> None:
    rows = http.get(f"{dyn.url}/data/AccountStructureRequirements").json()["value"]
    assert [(r["AccountStructure"], r["RequiredDimensions"]) for r in rows] == [
        ("Payroll structure", "BusinessUnit,Department")
    ]
    ledgers = http.get(f"{dyn.url}/data/Ledgers").json()["value"]
    assert {r["AccountStructureName1"] for r in ledgers} == {"Payroll structure"}
    http.post(f"{dyn.url}/_sandbox/config", json={"account_structures": []})
    assert _line(http, dyn, AccountDisplayValue="600200---").status_code == 201
