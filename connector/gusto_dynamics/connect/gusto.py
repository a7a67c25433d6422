"""`connect gusto` / `disconnect gusto`: the authorization-code grant, once per company (Gusto
binds every token to one company), and its revocation."""

from __future__ import annotations

import argparse
import contextlib
import secrets
import sys
import time
import webbrowser
from collections.abc import Mapping
from typing import Any

import requests
from gd_vault import Vault, VaultError
from tap_gusto.tokens import DEFAULT_API_URL, company_record, oauth_error

from gusto_dynamics.cli import EXIT_OK, emit, open_vault
from gusto_dynamics.connect.callback import CallbackServer
from gusto_dynamics.connect.common import (
    DEFAULT_REDIRECT_URI,
    HTTP_TIMEOUT_SECONDS,
    ConnectError,
    read_secret,
)
from gusto_dynamics.connect.oauth import GustoApp, GustoOAuth, store_gusto_token_set
from gusto_dynamics.status import gusto_status_key


def _resolve_gusto_app(args: argparse.Namespace, data: Mapping[str, Any]) -> GustoApp:
    stored: Mapping[str, Any] = data.get("gusto", {}).get("app", {}) or {}
    api_url = str(args.api_url or stored.get("api_url") or DEFAULT_API_URL).rstrip("/")
    client_id = args.client_id or stored.get("client_id")
    if not client_id:
        raise ConnectError(
            "No Gusto client id: pass --client-id (from the Gusto developer portal, "
            "Applications > your app)."
        )
    companies = data.get("gusto", {}).get("companies", {}) or {}
    if stored.get("client_id") and stored["client_id"] != client_id and companies:
        raise ConnectError(
            f"Companies are already connected with Gusto application {stored['client_id']}; "
            f"their tokens only refresh with that application, so connecting with "
            f"{client_id} is refused. Disconnect them first "
            "(`gusto-dynamics disconnect gusto UUID`) or use the same application."
        )
    if args.client_secret_stdin:
        client_secret = read_secret(True, "")
    elif stored.get("client_id") == client_id and stored.get("client_secret"):
        client_secret = str(stored["client_secret"])
    else:
        client_secret = read_secret(False, "Gusto client secret: ")
    redirect_uri = args.redirect_uri or stored.get("redirect_uri") or DEFAULT_REDIRECT_URI
    return GustoApp(api_url, str(client_id), client_secret, str(redirect_uri))


def _deliver_authorization(args: argparse.Namespace, url: str, server: CallbackServer) -> None:
    emit("Open this URL, sign in as a primary or full-access admin and pick the company:")
    emit(f"  {url}")
    if args.browser == "system":
        try:
            opened = webbrowser.open(url)
        except webbrowser.Error:
            opened = False
        if not opened:
            emit("(No browser could be started here; open the URL yourself.)")
    elif args.browser == "http":
        try:
            response = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS, allow_redirects=True)
        except requests.RequestException as exc:
            raise ConnectError(
                f"Fetching the authorize URL failed ({type(exc).__name__}). --browser http only "
                "works against an authorize endpoint that approves without a login page (the "
                "sandbox); use --browser system or none for real Gusto."
            ) from None
        if response.status_code >= 400 and response.url.split("?")[0] != server.redirect_uri:
            error, description = oauth_error(response, limit=300)
            raise ConnectError(
                f"Gusto's authorize endpoint answered HTTP {response.status_code} "
                f"({error or 'no error code'}{': ' + description if description else ''}). "
                "Check --client-id and that --redirect-uri is registered in the application."
            )
    emit(f"Waiting up to {args.timeout:g}s for the redirect to {server.redirect_uri} ...")


def connect_gusto(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    app = _resolve_gusto_app(args, vault.read())
    oauth = GustoOAuth(app)
    state = secrets.token_urlsafe(32)
    with CallbackServer(app.redirect_uri, state) as server:
        _deliver_authorization(args, oauth.authorize_url(state, args.company), server)
        redirect = server.wait(args.timeout)
    if redirect is None:
        hint = (
            " The authorize page did not redirect by itself: use --browser system or none."
            if args.browser == "http"
            else ""
        )
        raise ConnectError(
            f"No redirect arrived within {args.timeout:g}s; nothing was stored. Run the "
            f"command again and finish the authorization in time.{hint}"
        )
    if redirect.error:
        raise ConnectError(
            f"Gusto did not authorize the connection ({redirect.error}"
            f"{': ' + redirect.error_description if redirect.error_description else ''}). "
            "Nothing was stored."
        )
    if not secrets.compare_digest(redirect.state or "", state):
        raise ConnectError(
            "The redirect's state does not match this connect attempt (a stale or forged "
            "redirect); nothing was stored. Run the command again and use the URL it prints."
        )
    if not redirect.code:
        raise ConnectError("The redirect carried no authorization code; nothing was stored.")
    received_at = time.time()
    payload = oauth.exchange_code(redirect.code)
    access_token = str(payload["access_token"])
    try:
        company_uuid = oauth.company_of_token(access_token)
        company_name = oauth.company_name(access_token, company_uuid)
        previous = _replace_company_tokens(
            vault,
            oauth,
            company_uuid=company_uuid,
            company_name=company_name,
            payload=payload,
            received_at=received_at,
        )
    except (ConnectError, VaultError, OSError):
        # Do not leave a live grant behind that nobody holds.
        try:
            oauth.revoke(str(payload["refresh_token"]))
        except ConnectError:
            emit("warning: could not revoke the unused token; it is not stored.", sys.stderr)
        raise
    emit(f"Connected Gusto company {company_name} ({company_uuid}) at {app.api_url}.")
    if previous:
        emit("It was connected before; the old grant was replaced and revoked.")
    connected = vault.read().get("gusto", {}).get("companies", {})
    emit(f"{len(connected)} Gusto compan{'y' if len(connected) == 1 else 'ies'} connected.")
    return EXIT_OK


def _replace_company_tokens(
    vault: Vault,
    oauth: GustoOAuth,
    *,
    company_uuid: str,
    company_name: str,
    payload: Mapping[str, Any],
    received_at: float,
) -> bool:
    """Store the new set under the company's refresh lock; revoke the replaced grant."""
    with vault.lock(f"gusto-refresh:{company_uuid}"):
        old = company_record(vault.read(), company_uuid)
        store_gusto_token_set(
            vault,
            oauth.app,
            company_uuid=company_uuid,
            company_name=company_name,
            payload=payload,
            received_at=received_at,
        )
    if not old:
        return False
    old_refresh = old.get("refresh_token")
    if old_refresh and old_refresh != payload["refresh_token"]:
        try:
            oauth.revoke(str(old_refresh))
        except ConnectError as exc:
            emit(f"warning: the replaced grant could not be revoked: {exc}", sys.stderr)
    return True


def disconnect_gusto(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    company_uuid = args.company_uuid
    with vault.lock(f"gusto-refresh:{company_uuid}"):
        data = vault.read()
        record = company_record(data, company_uuid)
        if record is None:
            raise ConnectError(
                f"Gusto company {company_uuid} is not connected in {vault.path}; "
                "`gusto-dynamics status` lists the connected ones."
            )
        stored_app: Mapping[str, Any] = data.get("gusto", {}).get("app", {}) or {}
        app = GustoApp(
            str(record.get("api_url") or stored_app.get("api_url") or DEFAULT_API_URL),
            str(stored_app.get("client_id") or ""),
            str(stored_app.get("client_secret") or ""),
            str(stored_app.get("redirect_uri") or DEFAULT_REDIRECT_URI),
        )
        refresh_token = record.get("refresh_token")
        access_token = record.get("access_token")
        try:
            if not app.client_id or not app.client_secret:
                raise ConnectError("the store holds no Gusto application credentials (gusto.app)")
            oauth = GustoOAuth(app)
            # Revoking the refresh token ends the grant: the access token issued with it dies
            # too. Revoking the access token as well is belt and braces, so its failure is moot.
            if refresh_token:
                oauth.revoke(str(refresh_token))
            if access_token:
                with contextlib.suppress(ConnectError):
                    oauth.revoke(str(access_token))
        except ConnectError as exc:
            if not args.force:
                raise ConnectError(
                    f"Could not revoke company {company_uuid}'s grant at Gusto: {exc} Nothing "
                    "was removed. Retry, or pass --force to remove it from the store anyway "
                    "(then remove the app in Gusto: Settings > Apps)."
                ) from None
            emit(f"warning: not revoked at Gusto ({exc}); removing locally only.", sys.stderr)

        def remove(current: dict[str, Any]) -> None:
            current.get("gusto", {}).get("companies", {}).pop(company_uuid, None)
            current.get("status", {}).pop(gusto_status_key(company_uuid), None)

        vault.update(remove)
    name = record.get("company_name") or company_uuid
    emit(f"Disconnected Gusto company {name} ({company_uuid}).")
    return EXIT_OK
