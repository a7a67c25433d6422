"""OAuth2 against the Gusto sandbox over real HTTP: code flow, refresh rotation, revoke."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from gd_sandbox.gusto import GustoSandbox

TODAY = date(2026, 11, 28)
REDIRECT = "http://127.0.0.1:8765/callback"


@pytest.fixture
def gusto() -> Iterator[GustoSandbox]:
    with GustoSandbox(today=TODAY) as sandbox:
        yield sandbox


def authorize(gusto: GustoSandbox, company: str | None = None, state: str = "s-1") -> str:
    params = {
        "client_id": gusto.client_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "state": state,
    }
    if company:
        params["company_uuid"] = company
    r = requests.get(
        f"{gusto.url}/oauth/authorize", params=params, allow_redirects=False, timeout=5
    )
    assert r.status_code == 302, r.text
    location = urlsplit(r.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0]


def token_request(gusto: GustoSandbox, **body: str) -> requests.Response:
    payload = {"client_id": gusto.client_id, "client_secret": gusto.client_secret, **body}
    return requests.post(f"{gusto.url}/oauth/token", json=payload, timeout=5)


def exchange(gusto: GustoSandbox, code: str) -> dict[str, Any]:
    r = token_request(gusto, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def refresh(gusto: GustoSandbox, refresh_token: str) -> requests.Response:
    return token_request(gusto, grant_type="refresh_token", refresh_token=refresh_token)


def api_get(gusto: GustoSandbox, path: str, token: str) -> requests.Response:
    return requests.get(
        f"{gusto.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )


def test_code_flow_yields_company_bound_token(gusto: GustoSandbox) -> None:
    company_b = gusto.company_uuids[1]
    tokens = exchange(gusto, authorize(gusto, company_b))
    assert set(tokens) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "scope",
        "created_at",
    }
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 7200
    assert isinstance(tokens["created_at"], int)
    info = api_get(gusto, "/v1/token_info", tokens["access_token"])
    assert info.status_code == 200
    assert info.json()["resource"] == {"type": "Company", "uuid": company_b}
    assert info.json()["resource_owner"]["type"] == "CompanyAdmin"


def test_default_company_is_the_first(gusto: GustoSandbox) -> None:
    tokens = exchange(gusto, authorize(gusto))
    info = api_get(gusto, "/v1/token_info", tokens["access_token"]).json()
    assert info["resource"]["uuid"] == gusto.company_uuids[0]


def test_code_is_single_use(gusto: GustoSandbox) -> None:
    code = authorize(gusto)
    exchange(gusto, code)
    again = token_request(gusto, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_expired_code_is_rejected() -> None:
    with GustoSandbox(today=TODAY, code_lifetime=0) as gusto:
        r = token_request(
            gusto, grant_type="authorization_code", code=authorize(gusto), redirect_uri=REDIRECT
        )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"


def test_form_encoded_body_is_accepted(gusto: GustoSandbox) -> None:
    r = requests.post(
        f"{gusto.url}/oauth/token",
        timeout=5,
        data={
            "client_id": gusto.client_id,
            "client_secret": gusto.client_secret,
            "grant_type": "authorization_code",
            "code": authorize(gusto),
            "redirect_uri": REDIRECT,
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["refresh_token"]


def test_bad_client_secret_is_invalid_client(gusto: GustoSandbox) -> None:
    r = requests.post(
        f"{gusto.url}/oauth/token",
        timeout=5,
        json={
            "client_id": gusto.client_id,
            "client_secret": "wrong",
            "grant_type": "authorization_code",
            "code": authorize(gusto),
            "redirect_uri": REDIRECT,
        },
    )
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert gusto.client_secret not in r.text


def test_client_secret_in_url_is_400(gusto: GustoSandbox) -> None:
    r = requests.post(
        f"{gusto.url}/oauth/token",
        params={"client_secret": gusto.client_secret},
        json={
            "client_id": gusto.client_id,
            "grant_type": "refresh_token",
            "refresh_token": gusto.mint_refresh_token(gusto.company_uuids[0]),
        },
        timeout=5,
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


def test_unregistered_redirect_uri_is_refused(gusto: GustoSandbox) -> None:
    r = requests.get(
        f"{gusto.url}/oauth/authorize",
        allow_redirects=False,
        timeout=5,
        params={
            "client_id": gusto.client_id,
            "redirect_uri": "https://evil.example/cb",
            "response_type": "code",
        },
    )
    assert r.status_code == 400
    assert "Location" not in r.headers


def test_refresh_rotates_and_old_token_dies_on_first_use_of_new(gusto: GustoSandbox) -> None:
    first = exchange(gusto, authorize(gusto))
    r1 = refresh(gusto, first["refresh_token"])
    assert r1.status_code == 200
    second = r1.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    # Grace: the new access token is unused, so the old refresh token still works (lost response).
    r2 = refresh(gusto, first["refresh_token"])
    assert r2.status_code == 200
    third = r2.json()
    # The old access token also still works until the new one is used.
    assert api_get(gusto, "/v1/token_info", first["access_token"]).status_code == 200
    # First use of the newest access token revokes the token it was refreshed from.
    assert api_get(gusto, "/v1/token_info", third["access_token"]).status_code == 200
    reuse = refresh(gusto, first["refresh_token"])
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    assert reuse.json()["error_description"]
    old_access = api_get(gusto, "/v1/token_info", first["access_token"])
    assert old_access.status_code == 401
    assert old_access.json()["errors"][0]["category"] == "invalid_token"
    # The newest pair keeps working and rotates again.
    assert refresh(gusto, third["refresh_token"]).status_code == 200
    stats = gusto.stats.snapshot()
    assert stats["refreshes"] == 4
    assert stats["invalid_grants"] == 1


def test_revoke_kills_the_grant(gusto: GustoSandbox) -> None:
    tokens = exchange(gusto, authorize(gusto))
    r = requests.post(
        f"{gusto.url}/oauth/revoke",
        timeout=5,
        json={
            "client_id": gusto.client_id,
            "client_secret": gusto.client_secret,
            "token": tokens["access_token"],
        },
    )
    assert r.status_code == 200
    assert api_get(gusto, "/v1/token_info", tokens["access_token"]).status_code == 401
    assert refresh(gusto, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_expired_access_token_is_401_and_refresh_recovers() -> None:
    with GustoSandbox(today=TODAY, token_lifetime=0) as gusto:
        tokens = exchange(gusto, authorize(gusto))
        r = api_get(gusto, "/v1/token_info", tokens["access_token"])
        assert r.status_code == 401
        assert r.json()["errors"][0]["category"] == "invalid_token"
        assert "expired" in r.json()["errors"][0]["message"]
        assert "invalid_token" in r.headers["WWW-Authenticate"]
        assert refresh(gusto, tokens["refresh_token"]).status_code == 200


def test_missing_and_unknown_tokens_are_401(gusto: GustoSandbox) -> None:
    cu = gusto.company_uuids[0]
    assert requests.get(f"{gusto.url}/v1/companies/{cu}", timeout=5).status_code == 401
    assert api_get(gusto, f"/v1/companies/{cu}", "nope").status_code == 401


def test_system_access_token(gusto: GustoSandbox) -> None:
    r = token_request(gusto, grant_type="system_access")
    assert r.status_code == 200
    body = r.json()
    assert "refresh_token" not in body
    assert body["token_type"] == "Bearer"
    info = api_get(gusto, "/v1/token_info", body["access_token"]).json()
    assert info["resource"]["type"] == "Oauth::Application"
    assert info["resource_owner"] is None
    # A system token cannot read company data.
    company = api_get(gusto, f"/v1/companies/{gusto.company_uuids[0]}", body["access_token"])
    assert company.status_code == 403


def test_unsupported_grant_type(gusto: GustoSandbox) -> None:
    r = token_request(gusto, grant_type="password")
    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"


def test_minted_refresh_token_behaves_like_a_dance(gusto: GustoSandbox) -> None:
    company = gusto.company_uuids[1]
    r = refresh(gusto, gusto.mint_refresh_token(company))
    assert r.status_code == 200
    info = api_get(gusto, "/v1/token_info", r.json()["access_token"]).json()
    assert info["resource"]["uuid"] == company
