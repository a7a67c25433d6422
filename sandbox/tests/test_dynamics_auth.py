"""Entra ID client credentials against the sandbox, the way the target does it (MSAL + requests)."""

from __future__ import annotations

from collections.abc import Iterator

import msal
import pytest
import requests
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.dynamics.testing import PinnedSession, data_session, fetch_token
from gd_sandbox.dynamics.tls import make_client_certificate


@pytest.fixture(scope="module")
def dyn() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox() as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def _fresh(dyn: DynamicsSandbox) -> None:
    dyn.reset()
    dyn.token_lifetime = 3599


def _app(
    dyn: DynamicsSandbox, credential: object | None = None, tenant: str | None = None
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        dyn.client_id,
        client_credential=credential if credential is not None else dyn.client_secret,
        authority=f"{dyn.url}/{tenant or dyn.tenant_id}",
        instance_discovery=False,
        verify=dyn.ca_bundle,
        http_client=PinnedSession(dyn.ca_bundle),
    )


def test_msal_acquires_token_that_opens_data(dyn: DynamicsSandbox) -> None:
    result = _app(dyn).acquire_token_for_client(scopes=[f"{dyn.url}/.default"])
    assert result["token_type"] == "Bearer"
    assert result["expires_in"] == 3599
    assert "refresh_token" not in result
    resp = PinnedSession(dyn.ca_bundle).get(
        f"{dyn.url}/data/LegalEntities",
        headers={"Authorization": f"Bearer {result['access_token']}"},
    )
    assert resp.status_code == 200
    assert {r["LegalEntityId"] for r in resp.json()["value"]} == {"rsc", "sbc"}
    assert dyn.stats["tokens_issued"] == 1


def test_msal_with_plain_verify_and_no_env_override(
    dyn: DynamicsSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The exact construction in the brief; it only works when REQUESTS_CA_BUNDLE does not
    # override Session.verify, which is why the target passes its own http_client.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    app = msal.ConfidentialClientApplication(
        dyn.client_id,
        client_credential=dyn.client_secret,
        authority=f"{dyn.url}/{dyn.tenant_id}",
        instance_discovery=False,
        verify=dyn.ca_bundle,
    )
    assert "access_token" in app.acquire_token_for_client(scopes=[f"{dyn.url}/.default"])


def test_wrong_secret_is_invalid_client(dyn: DynamicsSandbox) -> None:
    result = _app(dyn, "not-the-secret").acquire_token_for_client(scopes=[f"{dyn.url}/.default"])
    assert result["error"] == "invalid_client"
    assert 7000215 in result["error_codes"]
    assert result["error_description"].startswith("AADSTS7000215")
    assert "not-the-secret" not in result["error_description"]
    assert dyn.client_secret not in result["error_description"]
    raw = PinnedSession(dyn.ca_bundle).post(
        f"{dyn.url}/{dyn.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": dyn.client_id,
            "client_secret": "nope",
            "scope": f"{dyn.url}/.default",
        },
    )
    assert raw.status_code == 401
    assert set(raw.json()) >= {
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
    }


def test_unknown_tenant_fails_discovery(dyn: DynamicsSandbox) -> None:
    with pytest.raises(ValueError, match="authority configuration"):
        _app(dyn, tenant="00000000-0000-0000-0000-000000000000")
    discovery = PinnedSession(dyn.ca_bundle).get(
        f"{dyn.url}/00000000-0000-0000-0000-000000000000/v2.0/.well-known/openid-configuration"
    )
    assert discovery.status_code == 400
    assert discovery.json()["error_codes"] == [90002]
    raw = PinnedSession(dyn.ca_bundle).post(
        f"{dyn.url}/contoso.onmicrosoft.com/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": dyn.client_id},
    )
    assert raw.status_code == 400
    assert raw.json()["error_codes"] == [90002]


def test_unknown_client_id(dyn: DynamicsSandbox) -> None:
    raw = PinnedSession(dyn.ca_bundle).post(
        f"{dyn.url}/{dyn.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "11111111-2222-3333-4444-555555555555",
            "client_secret": dyn.client_secret,
            "scope": f"{dyn.url}/.default",
        },
    )
    assert raw.status_code == 400
    body = raw.json()
    assert body["error"] == "unauthorized_client"
    assert body["error_codes"] == [700016]


def test_v1_endpoint_with_resource(dyn: DynamicsSandbox) -> None:
    raw = PinnedSession(dyn.ca_bundle).post(
        f"{dyn.url}/{dyn.tenant_id}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": dyn.client_id,
            "client_secret": dyn.client_secret,
            "resource": dyn.url,
        },
    )
    assert raw.status_code == 200
    body = raw.json()
    assert body["resource"] == dyn.url
    assert body["expires_in"] == "3599"
    assert "refresh_token" not in body
    resp = PinnedSession(dyn.ca_bundle).get(
        f"{dyn.url}/data/JournalNames", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert resp.status_code == 200


def test_trailing_slash_audience_is_rejected_by_data(dyn: DynamicsSandbox) -> None:
    # Entra issues the token, F&O refuses it: aud must be the URL without trailing slash.
    token = fetch_token(dyn, scope=f"{dyn.url}//.default")
    resp = PinnedSession(dyn.ca_bundle).get(
        f"{dyn.url}/data/JournalNames", headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status_code == 401


def test_foreign_resource_is_refused(dyn: DynamicsSandbox) -> None:
    result = _app(dyn).acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert result["error_codes"] == [500011]


def test_expired_token_gets_401_and_a_new_one_works(dyn: DynamicsSandbox) -> None:
    dyn.token_lifetime = 0
    expired = fetch_token(dyn)
    session = PinnedSession(dyn.ca_bundle)
    resp = session.get(
        f"{dyn.url}/data/JournalNames", headers={"Authorization": f"Bearer {expired}"}
    )
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    dyn.token_lifetime = 3599
    fresh = fetch_token(dyn)
    assert (
        session.get(
            f"{dyn.url}/data/JournalNames", headers={"Authorization": f"Bearer {fresh}"}
        ).status_code
        == 200
    )


def test_expire_tokens_fault_invalidates_current_tokens(dyn: DynamicsSandbox) -> None:
    session = data_session(dyn)
    assert session.get(f"{dyn.url}/data/JournalNames").status_code == 200
    requests.post(f"{dyn.url}/_sandbox/faults", json={"expire_tokens": True}, verify=dyn.ca_bundle)
    assert session.get(f"{dyn.url}/data/JournalNames").status_code == 401
    assert dyn.faults["expire_tokens"] is False
    assert data_session(dyn).get(f"{dyn.url}/data/JournalNames").status_code == 200


def test_missing_and_garbage_tokens(dyn: DynamicsSandbox) -> None:
    session = PinnedSession(dyn.ca_bundle)
    assert session.get(f"{dyn.url}/data/JournalNames").status_code == 401
    assert (
        session.get(
            f"{dyn.url}/data/JournalNames", headers={"Authorization": "Bearer abc.def.ghi"}
        ).status_code
        == 401
    )


def test_certificate_credential_sha1_thumbprint(dyn: DynamicsSandbox) -> None:
    cert = dyn.certificate
    assert cert is not None
    app = _app(dyn, {"private_key": cert.private_key_pem, "thumbprint": cert.sha1_thumbprint})
    result = app.acquire_token_for_client(scopes=[f"{dyn.url}/.default"])
    assert "access_token" in result, result


def test_certificate_credential_public_certificate_ps256(dyn: DynamicsSandbox) -> None:
    cert = dyn.certificate
    assert cert is not None
    app = _app(
        dyn, {"private_key": cert.private_key_pem, "public_certificate": cert.certificate_pem}
    )
    result = app.acquire_token_for_client(scopes=[f"{dyn.url}/.default"])
    assert "access_token" in result, result


def test_certificate_signed_by_unregistered_key_is_refused(dyn: DynamicsSandbox) -> None:
    other = make_client_certificate("someone else")
    app = _app(dyn, {"private_key": other.private_key_pem, "thumbprint": other.sha1_thumbprint})
    result = app.acquire_token_for_client(scopes=[f"{dyn.url}/.default"])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [700027]


def test_token_endpoint_outage_fault(dyn: DynamicsSandbox) -> None:
    dyn.faults["token_unavailable_next"] = 1
    # MSAL raises on a 5xx from the token endpoint (and remembers Retry-After per app).
    with pytest.raises(msal.exceptions.MsalServiceError, match="503"):
        _app(dyn).acquire_token_for_client(scopes=[f"{dyn.url}/.default"])
    assert "access_token" in _app(dyn).acquire_token_for_client(scopes=[f"{dyn.url}/.default"])
    assert dyn.stats["requests"]["token"]["POST"] == {"503": 1, "200": 1}
