"""Fault switches, the request limiter and the /_sandbox admin endpoints, over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.dynamics.testing import PinnedSession, data_session


@pytest.fixture(scope="module")
def dyn() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox() as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def http(dyn: DynamicsSandbox) -> PinnedSession:
    return data_session(dyn)


@pytest.fixture(autouse=True)
def _fresh(dyn: DynamicsSandbox) -> None:
    dyn.reset()


def admin(
    dyn: DynamicsSandbox, path: str, body: dict[str, object] | None = None
) -> requests.Response:
    session = PinnedSession(dyn.ca_bundle)
    url = f"{dyn.url}/_sandbox/{path}"
    resp: requests.Response = (
        session.post(url, json=body or {}) if body is not None else session.get(url)
    )
    return resp


def test_throttle_next_gives_429_with_retry_after(
    http: PinnedSession, dyn: DynamicsSandbox
) -> None:
    admin(dyn, "faults", {"throttle_next": 2, "retry_after": 7})
    for _ in range(2):
        resp = http.get(f"{dyn.url}/data/JournalNames")
        assert resp.status_code == 429
        assert resp.headers["Retry-After"] == "7"
        assert "high resource utilization" in resp.json()["error"]["message"]
    assert http.get(f"{dyn.url}/data/JournalNames").status_code == 200
    assert dyn.stats["throttled"] == 2
    assert dyn.stats["requests"]["JournalNames"]["GET"] == {"429": 2, "200": 1}


def test_unavailable_next(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    dyn.faults["unavailable_next"] = 1
    assert http.get(f"{dyn.url}/data/JournalNames").status_code == 503
    assert http.get(f"{dyn.url}/data/JournalNames").status_code == 200


def test_lose_response_commits_the_write(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    dyn.faults["lose_response_next_write"] = 1
    # Reads never consume the switch.
    assert http.get(f"{dyn.url}/data/JournalNames").status_code == 200
    with pytest.raises(requests.ConnectionError):
        http.post(
            f"{dyn.url}/data/LedgerJournalHeaders",
            json={"JournalName": "Payroll", "JournalBatchNumber": "LOST-1"},
        )
    assert [h["JournalBatchNumber"] for h in dyn.entities["LedgerJournalHeaders"]] == ["LOST-1"]
    found = http.get(
        f"{dyn.url}/data/LedgerJournalHeaders(dataAreaId='rsc',JournalBatchNumber='LOST-1')"
    )
    assert found.status_code == 200
    assert dyn.stats["lost_responses"] == 1


def test_drop_connection_does_not_process(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    dyn.faults["drop_connection_next"] = 1
    with pytest.raises(requests.ConnectionError):
        http.post(
            f"{dyn.url}/data/LedgerJournalHeaders",
            json={"JournalName": "Payroll", "JournalBatchNumber": "DROP-1"},
        )
    assert dyn.entities["LedgerJournalHeaders"] == []
    assert dyn.stats["dropped_connections"] == 1


def test_request_limiter_window() -> None:
    with DynamicsSandbox(rate_limit_requests=3, rate_limit_window_seconds=120) as dyn:
        http = data_session(dyn)
        statuses = [http.get(f"{dyn.url}/data/JournalNames").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        last = http.get(f"{dyn.url}/data/JournalNames")
        assert 1 <= int(last.headers["Retry-After"]) <= 120
        assert "exceeded the limit of 3 over the time window of 120 seconds" in last.text
        admin(dyn, "faults", {"rate_limit_requests": 0})
        assert http.get(f"{dyn.url}/data/JournalNames").status_code == 200


def test_admin_info_stats_reset_and_unknown_fault(
    http: PinnedSession, dyn: DynamicsSandbox
) -> None:
    info = admin(dyn, "info").json()
    assert info["url"] == dyn.url
    assert info["tenant_id"] == dyn.tenant_id
    assert info["authority"] == f"{dyn.url}/{dyn.tenant_id}"
    assert info["config"]["ledger_format"] == [
        "MainAccount",
        "BusinessUnit",
        "Department",
        "CostCenter",
    ]
    http.post(f"{dyn.url}/data/VendorGroups", json={"VendorGroupId": "TEMP", "Description": "t"})
    stats = admin(dyn, "stats").json()
    assert stats["requests"]["VendorGroups"]["POST"] == {"201": 1}
    assert stats["tokens_issued"] >= 1
    bad = admin(dyn, "faults", {"explode": 1})
    assert bad.status_code == 400
    assert "unknown fault" in bad.json()["error"]
    assert admin(dyn, "reset", {}).status_code == 200
    assert {g["VendorGroupId"] for g in dyn.entities["VendorGroups"]} == {"CONTRACT"}
    assert admin(dyn, "stats").json()["total"] == 0


def test_admin_post_unknown_journal(dyn: DynamicsSandbox) -> None:
    resp = admin(dyn, "journals/rsc/NOPE/post", {})
    assert resp.status_code == 404
    assert "NOPE" in resp.json()["error"]


def test_secret_never_in_responses_or_state(dyn: DynamicsSandbox) -> None:
    resp = PinnedSession(dyn.ca_bundle).post(
        f"{dyn.url}/{dyn.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": dyn.client_id,
            "client_secret": dyn.client_secret + "x",
            "scope": f"{dyn.url}/.default",
        },
    )
    assert dyn.client_secret not in resp.text
    assert dyn.client_secret not in str(dyn.stats)
