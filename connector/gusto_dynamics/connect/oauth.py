"""Gusto's OAuth endpoints for connect/disconnect, through the tap's Gusto client, and the
atomic write of a company's fresh token set into the store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import requests
from gd_vault import Vault, VaultData, scrub
from singer_sdk.exceptions import RetriableAPIError
from tap_gusto.api import GustoClient, token_lifetime_seconds, token_pair
from tap_gusto.tokens import now_iso, oauth_error

from gusto_dynamics.connect.common import HTTP_TIMEOUT_SECONDS, ConnectError


@dataclass(frozen=True)
class GustoApp:
    api_url: str
    client_id: str
    client_secret: str
    redirect_uri: str

    def __repr__(self) -> str:
        return f"GustoApp(api_url={self.api_url!r}, client_id={self.client_id!r})"


class GustoOAuth:
    """The handful of Gusto endpoints the connect/disconnect commands need."""

    def __init__(self, app: GustoApp, session: requests.Session | None = None) -> None:
        self.app = app
        # The tap's Gusto client: these calls carry their own credentials (no company grant).
        self.client = GustoClient(api_url=app.api_url, timeout=HTTP_TIMEOUT_SECONDS)
        if session is not None:
            self.client.session = session

    def authorize_url(self, state: str, company_uuid: str | None = None) -> str:
        params = {
            "client_id": self.app.client_id,
            "redirect_uri": self.app.redirect_uri,
            "response_type": "code",
            "state": state,
        }
        if company_uuid:
            params["company_uuid"] = company_uuid
        return f"{self.app.api_url}/oauth/authorize?{urlencode(params)}"

    def _send(self, call: Callable[[], requests.Response], what: str) -> requests.Response:
        """``call()``'s response, also when retries ran out; unreachable Gusto as a ConnectError."""
        try:
            return call()
        except RetriableAPIError as exc:
            if exc.response is None:
                raise
            return exc.response
        except requests.RequestException as exc:
            raise ConnectError(
                f"Cannot reach Gusto at {self.app.api_url} to {what} ({type(exc).__name__}). "
                "Check --api-url and the network."
            ) from None

    def exchange_code(self, code: str) -> dict[str, Any]:
        # A code is single-use: one POST, never resent (``post_token`` does not retry).
        response = self._send(
            lambda: self.client.post_token(
                {
                    "client_id": self.app.client_id,
                    "client_secret": self.app.client_secret,
                    "redirect_uri": self.app.redirect_uri,
                    "code": code,
                    "grant_type": "authorization_code",
                }
            ),
            "exchange the authorization code",
        )
        if response.status_code != 200:
            error, description = oauth_error(response, limit=300)
            detail = scrub(f"{error}: {description}", [self.app.client_secret, code])
            if error == "invalid_client" or response.status_code == 401:
                hint = (
                    "the client id or client secret is wrong for "
                    f"{self.app.api_url} (demo and production apps have different credentials)"
                )
            elif error == "invalid_grant":
                hint = (
                    "the authorization code expired, was already used, or --redirect-uri "
                    "differs from the one used to authorize; run the command again"
                )
            else:
                hint = "Gusto refused the code exchange"
            raise ConnectError(
                f"Token exchange failed: {hint} (HTTP {response.status_code}, {detail}). "
                "Nothing was stored."
            )
        payload = token_pair(response)
        if payload is None:
            raise ConnectError(
                "Gusto's token response has no access or refresh token; nothing was stored. "
                "Run the command again."
            )
        return payload

    def _get(self, path: str, access_token: str, what: str) -> dict[str, Any]:
        response = self._send(
            lambda: self.client.request(
                "GET", path, headers={"Authorization": f"Bearer {access_token}"}
            ),
            what,
        )
        if response.status_code != 200:
            error, description = oauth_error(response, limit=300)
            raise ConnectError(
                f"Gusto answered HTTP {response.status_code} when asked to {what} "
                f"({scrub(f'{error} {description}'.strip(), [access_token]) or 'no detail'}). "
                "If it is 403, the application lacks the companies:read scope."
            )
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise ConnectError(f"Gusto returned no JSON object when asked to {what}.")
        return payload

    def company_of_token(self, access_token: str) -> str:
        info = self._get("/v1/token_info", access_token, "identify the token's company")
        resource = info.get("resource") or {}
        if not isinstance(resource, dict) or resource.get("type") != "Company":
            raise ConnectError(
                "The token Gusto issued is not bound to a company (token_info resource type "
                f"{resource.get('type') if isinstance(resource, dict) else None!r}). Authorize "
                "as a company's primary or full-access admin and pick the company."
            )
        company_uuid = resource.get("uuid")
        if not isinstance(company_uuid, str) or not company_uuid:
            raise ConnectError("Gusto's token_info names no company uuid; run the command again.")
        return company_uuid

    def company_name(self, access_token: str, company_uuid: str) -> str:
        company = self._get(f"/v1/companies/{company_uuid}", access_token, "read the company")
        return str(company.get("name") or company.get("trade_name") or company_uuid)

    def revoke(self, token: str) -> None:
        response = self._send(
            lambda: self.client.request(
                "POST",
                "/oauth/revoke",
                json={
                    "client_id": self.app.client_id,
                    "client_secret": self.app.client_secret,
                    "token": token,
                },
            ),
            "revoke the token",
        )
        if response.status_code != 200:
            error, description = oauth_error(response, limit=300)
            raise ConnectError(
                f"Gusto refused to revoke the token (HTTP {response.status_code}, "
                f"{scrub(f'{error} {description}'.strip(), [token, self.app.client_secret])})."
            )


def _expires_at(payload: Mapping[str, Any], received_at: float) -> int:
    lifetime = token_lifetime_seconds(payload)
    created = payload.get("created_at")
    issued = received_at
    # Token responses are parsed with exact decimals (tap_gusto.api.token_pair).
    if isinstance(created, int | float | Decimal) and not isinstance(created, bool):
        issued = float(created)
    elif isinstance(created, str):
        try:
            issued = dt.datetime.fromisoformat(created).timestamp()
        except ValueError:
            issued = received_at
    # A server clock ahead of ours must not make us believe the token lives longer.
    return int(min(issued, received_at) + lifetime)


def store_gusto_token_set(
    vault: Vault,
    app: GustoApp,
    *,
    company_uuid: str,
    company_name: str,
    payload: Mapping[str, Any],
    received_at: float,
) -> VaultData:
    """Write one company's fresh token set (and the app credentials) in one atomic update."""
    connected_at = now_iso()
    record = {
        "company_uuid": company_uuid,
        "company_name": company_name,
        "access_token": str(payload["access_token"]),
        "refresh_token": str(payload["refresh_token"]),
        "expires_at": _expires_at(payload, received_at),
        "scope": str(payload.get("scope") or ""),
        "api_url": app.api_url,
        "connected_at": connected_at,
        "last_refresh_at": None,
        "pending_refresh_token": None,
    }

    def write(data: dict[str, Any]) -> None:
        gusto = data.setdefault("gusto", {})
        gusto["app"] = {
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "api_url": app.api_url,
            "redirect_uri": app.redirect_uri,
        }
        gusto.setdefault("companies", {})[company_uuid] = record

    return vault.update(write)
