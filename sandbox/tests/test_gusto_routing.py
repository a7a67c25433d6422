"""The Gusto sandbox's router (Werkzeug's routing.Map) answers unrouted requests as the
hand-written regex router did: 405 naming only the routed methods, 404 for stray slashes,
and HEAD left to http.server (501), over real HTTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import date

import pytest
import requests
from gd_sandbox.gusto import GustoSandbox

TODAY = date(2026, 11, 28)


@pytest.fixture(scope="module")
def gusto() -> Iterator[GustoSandbox]:
    with GustoSandbox(today=TODAY) as sandbox:
        yield sandbox


def _bearer(gusto: GustoSandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {gusto.mint_access_token(gusto.company_uuids[0])}"}


def test_wrong_method_is_405_with_the_routed_methods_only(gusto: GustoSandbox) -> None:
    company = gusto.company_uuids[0]
    r = requests.post(
        f"{gusto.url}/v1/companies/{company}/employees", headers=_bearer(gusto), timeout=10
    )
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET"  # never the HEAD Werkzeug adds to GET rules
    assert r.json()["errors"][0]["category"] == "invalid_operation"
    r = requests.patch(f"{gusto.url}/v1/webhook_subscriptions/abc", timeout=10)
    assert r.headers["Allow"] == "DELETE, GET, PUT"


@pytest.mark.parametrize(
    "path",
    ["/v1/events/", "/v1//events", "/v1/companies/", "/v1/nothing", "/_sandbox/nothing"],
)
def test_unrouted_paths_are_404_never_redirects(gusto: GustoSandbox, path: str) -> None:
    r = requests.get(f"{gusto.url}{path}", allow_redirects=False, timeout=10)
    assert r.status_code == 404
    assert r.json()["errors"][0]["category"] == "not_found"


def test_head_is_not_routed(gusto: GustoSandbox) -> None:
    r = requests.head(f"{gusto.url}/_sandbox/info", timeout=10)
    assert r.status_code == 501


def test_route_names_in_stats_are_the_templates(gusto: GustoSandbox) -> None:
    company = gusto.company_uuids[0]
    payroll = gusto.info()["companies"][0]["payrolls"][0]["uuid"]
    before = gusto.stats.snapshot()["per_route"]
    r = requests.get(
        f"{gusto.url}/v1/companies/{company}/payrolls/{payroll}",
        headers=_bearer(gusto),
        timeout=10,
    )
    assert r.status_code == 200
    after = gusto.stats.snapshot()["per_route"]
    name = "GET /v1/companies/{company_id}/payrolls/{payroll_id}"
    assert after[name] == before.get(name, 0) + 1


def test_keep_alive_survives_a_dropped_response_on_another_connection(
    gusto: GustoSandbox,
) -> None:
    """A lost answer closes its own connection only; a kept-alive one goes on serving."""
    session = requests.Session()
    assert session.get(f"{gusto.url}/_sandbox/stats", timeout=10).status_code == 200
    gusto.faults.set(drop_response_next=1, paths=["/v1/token_info"])
    try:
        with socket.create_connection((gusto.host, gusto.port), timeout=10) as sock:
            sock.sendall(b"GET /v1/token_info HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(1024) == b""  # closed with nothing written
    finally:
        gusto.faults.set(paths=[])
    assert session.get(f"{gusto.url}/_sandbox/stats", timeout=10).status_code == 200
