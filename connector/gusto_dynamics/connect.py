"""`connect` / `disconnect`: put Gusto and Dynamics credentials into the store and take them out.

Gusto: OAuth authorization-code grant, once per company (Gusto binds every token to one
company). The redirect comes back to a loopback HTTP server we run for the duration of the
dance; ``state`` protects it against a forged redirect.

Dynamics: client credentials (secret or certificate) for one F&O environment, checked by getting
a token from Entra and reading one row of ``LegalEntities``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import getpass
import http.server
import queue
import secrets
import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from gd_vault import Vault, VaultData, VaultError, scrub
from singer_sdk.exceptions import RetriableAPIError
from tap_gusto.api import GustoClient, token_pair
from tap_gusto.tokens import DEFAULT_API_URL, company_record, now_iso, oauth_error
from target_dynamics_fo.fo import DynamicsAuthError, EntraTokenProvider, ODataClient, ODataError

from gusto_dynamics.cli import EXIT_FAILED, EXIT_OK, CommandError, emit, open_vault
from gusto_dynamics.status import dynamics_status_key, gusto_status_key

DEFAULT_REDIRECT_URI = "http://127.0.0.1:8765/callback"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
HTTP_TIMEOUT_SECONDS = 30.0
CHECK_DEADLINE_SECONDS = 60.0
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}
ENTRA_APPS_MENU = "System administration > Setup > Microsoft Entra applications"


class ConnectError(CommandError):
    """A connect/disconnect step failed; nothing half-done was stored."""


def read_secret(from_stdin: bool, prompt: str) -> str:
    """A secret from one stdin line or an interactive prompt: never from argv."""
    secret = sys.stdin.readline().strip() if from_stdin else getpass.getpass(prompt).strip()
    if not secret:
        source = "stdin" if from_stdin else "the prompt"
        raise ConnectError(f"No secret was given on {source}; nothing was stored.")
    return secret


# -- Gusto: loopback redirect receiver ------------------------------------------------------


@dataclass(frozen=True)
class Redirect:
    """What came back on the redirect URI."""

    code: str | None
    state: str | None
    error: str | None
    error_description: str | None

    def __repr__(self) -> str:
        # The code is a credential until it is exchanged.
        return f"Redirect(code={'***' if self.code else None}, error={self.error!r})"


class CallbackServer:
    """One-shot HTTP server on the redirect URI's loopback port that catches the redirect."""

    def __init__(self, redirect_uri: str, expected_state: str) -> None:
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS or not parts.port:
            raise ConnectError(
                f"--redirect-uri {redirect_uri!r} must be http://127.0.0.1:PORT/PATH (or "
                "localhost) so this command can receive the redirect itself; register exactly "
                "that URI in the Gusto developer application."
            )
        self.redirect_uri = redirect_uri
        self.path = parts.path or "/"
        self._results: queue.Queue[Redirect] = queue.Queue()
        handler = self._handler_class(expected_state)
        try:
            self._server = http.server.HTTPServer(("127.0.0.1", parts.port), handler)
        except OSError as exc:
            raise ConnectError(
                f"Cannot listen on 127.0.0.1:{parts.port} for the OAuth redirect "
                f"({exc.strerror}). Stop whatever uses that port, or register another "
                "http://127.0.0.1:PORT/callback in the Gusto application and pass it as "
                "--redirect-uri."
            ) from None
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler_class(self, expected_state: str) -> type[http.server.BaseHTTPRequestHandler]:
        results = self._results
        path = self.path

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != path:
                    self._reply(404, "Not the OAuth callback.")
                    return
                query = {key: values[0] for key, values in parse_qs(parts.query).items()}
                redirect = Redirect(
                    code=query.get("code"),
                    state=query.get("state"),
                    error=query.get("error"),
                    error_description=query.get("error_description"),
                )
                if redirect.error:
                    self._reply(400, "Gusto did not authorize the connection. See the terminal.")
                elif not secrets.compare_digest(redirect.state or "", expected_state):
                    self._reply(400, "This redirect does not belong to the running connect.")
                else:
                    self._reply(200, "Connected. You can close this window.")
                results.put(redirect)

            def _reply(self, status: int, message: str) -> None:
                body = f"<!doctype html><title>gusto-dynamics</title><p>{message}</p>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                # The default logs the request line, which carries the authorization code.
                return

        return Handler

    def __enter__(self) -> CallbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait(self, timeout: float) -> Redirect | None:
        try:
            return self._results.get(timeout=timeout)
        except queue.Empty:
            return None


# -- Gusto: API calls -----------------------------------------------------------------------


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
    lifetime = int(payload.get("expires_in") or 7200)
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


def _connect_gusto(args: argparse.Namespace) -> int:
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


def _disconnect_gusto(args: argparse.Namespace) -> int:
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


# -- Dynamics -------------------------------------------------------------------------------


def check_dynamics(environment: Mapping[str, Any]) -> str:
    """Get a token and read one legal entity; returns a one-line success description.

    Raises ``ConnectError`` naming what failed and where to fix it.
    """
    secret_values = [environment.get("client_secret"), environment.get("certificate_pem")]
    try:
        provider = EntraTokenProvider(
            environment_url=str(environment["environment_url"]),
            tenant_id=str(environment["tenant_id"]),
            client_id=str(environment["client_id"]),
            client_secret=environment.get("client_secret"),
            certificate_pem=environment.get("certificate_pem"),
            certificate_thumbprint=environment.get("certificate_thumbprint"),
            authority_host=str(environment.get("authority_host") or DEFAULT_AUTHORITY_HOST),
            ca_bundle=environment.get("ca_bundle"),
        )
        provider.token()
    except DynamicsAuthError as exc:
        raise ConnectError(f"Getting a token failed: {scrub(str(exc), secret_values)}") from None
    client = ODataClient(
        provider.environment_url,
        provider,
        ca_bundle=environment.get("ca_bundle"),
        request_deadline_seconds=CHECK_DEADLINE_SECONDS,
        max_retries=2,
    )
    try:
        rows = client.get_all("LegalEntities", top=1)
    except DynamicsAuthError as exc:
        raise ConnectError(
            f"Entra issued a token but F&O refused it: {scrub(str(exc), secret_values)}"
        ) from None
    except ODataError as exc:
        if exc.status == 403:
            raise ConnectError(
                f"F&O accepted the app but its user may not read LegalEntities (HTTP 403). Give "
                f"the user mapped to client id {environment['client_id']} in {ENTRA_APPS_MENU} "
                "the roles the integration needs, and make sure the user is enabled."
            ) from None
        raise ConnectError(
            f"Reading LegalEntities from {provider.environment_url} failed: "
            f"{scrub(exc.message, secret_values)}"
        ) from None
    if not rows:
        return "token OK, but the environment returned no legal entity (check the user's roles)"
    first = rows[0]
    return f"token OK, read legal entity {first.get('LegalEntityId')} ({first.get('Name')})"


def _connect_dynamics(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    certificate_pem: str | None = None
    client_secret: str | None = None
    if args.certificate:
        if not args.thumbprint:
            raise ConnectError("--certificate needs --thumbprint (the certificate's SHA-1 hex).")
        try:
            certificate_pem = Path(args.certificate).expanduser().read_text()
        except OSError as exc:
            raise ConnectError(
                f"Cannot read the certificate {args.certificate}: {exc.strerror}."
            ) from None
        if "PRIVATE KEY" not in certificate_pem:
            raise ConnectError(
                f"{args.certificate} holds no private key; pass the PEM with the private key "
                "and the certificate (the one whose public part is uploaded to the app)."
            )
    else:
        client_secret = read_secret(args.client_secret_stdin, "Entra client secret: ")
    environment: dict[str, Any] = {
        "environment_url": args.environment_url.rstrip("/"),
        "tenant_id": args.tenant_id,
        "client_id": args.client_id,
        "client_secret": client_secret,
        "certificate_pem": certificate_pem,
        "certificate_thumbprint": args.thumbprint if certificate_pem else None,
        "authority_host": (args.authority_host or DEFAULT_AUTHORITY_HOST).rstrip("/"),
        "ca_bundle": str(Path(args.ca_bundle).expanduser().absolute()) if args.ca_bundle else None,
    }
    try:
        outcome = check_dynamics(environment)
        ok = True
    except ConnectError as exc:
        outcome = str(exc)
        ok = False
    checked = {"last_check_at": now_iso(), "last_check_ok": ok, "last_check_message": outcome}
    kept_previous = False

    def write(data: dict[str, Any]) -> None:
        nonlocal kept_previous
        environments = data.setdefault("dynamics", {}).setdefault("environments", {})
        # A failed attempt must not replace settings that work: keep them and report.
        if not ok and args.name in environments:
            kept_previous = True
            return
        environments[args.name] = environment
        data.setdefault("status", {})[dynamics_status_key(args.name)] = checked

    vault.update(write)
    if not ok:
        emit(f"error: connection check failed: {outcome}", sys.stderr)
        if kept_previous:
            emit(
                f"The settings already stored for {args.name!r} were kept unchanged; fix the "
                "cause and run the command again.",
                sys.stderr,
            )
        else:
            emit(
                f"The settings are stored as {args.name!r} (status shows the failed check); fix "
                "the cause and run the command again.",
                sys.stderr,
            )
        return EXIT_FAILED
    emit(f"Stored Dynamics environment {args.name!r} ({environment['environment_url']}).")
    emit(f"Connection check passed: {outcome}.")
    return EXIT_OK


def _disconnect_dynamics(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    if args.name not in vault.read().get("dynamics", {}).get("environments", {}):
        raise ConnectError(
            f"No Dynamics environment named {args.name!r} in {vault.path}; "
            "`gusto-dynamics status` lists them."
        )

    def remove(data: dict[str, Any]) -> None:
        data.get("dynamics", {}).get("environments", {}).pop(args.name, None)
        data.get("status", {}).pop(dynamics_status_key(args.name), None)

    vault.update(remove)
    emit(f"Removed Dynamics environment {args.name!r} from the store.")
    emit("Client credentials cannot be revoked from here: delete the secret in Microsoft Entra ID")
    emit("(App registrations > your app > Certificates & secrets) if it should stop working.")
    return EXIT_OK


# -- parsers --------------------------------------------------------------------------------


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("the timeout must be positive")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    connect = subparsers.add_parser("connect", help="connect a Gusto company or F&O environment")
    systems = connect.add_subparsers(dest="system", metavar="SYSTEM", required=True)

    gusto = systems.add_parser("gusto", help="authorize one Gusto company (run once per company)")
    gusto.add_argument("--api-url", help=f"Gusto API base URL (default {DEFAULT_API_URL})")
    gusto.add_argument("--client-id", help="Gusto application client id")
    gusto.add_argument(
        "--client-secret-stdin",
        action="store_true",
        help="read the client secret from one line of stdin (default: stored, else prompt)",
    )
    gusto.add_argument(
        "--redirect-uri",
        help=f"registered loopback redirect URI (default {DEFAULT_REDIRECT_URI})",
    )
    gusto.add_argument("--timeout", type=_positive_seconds, default=300.0, metavar="SECONDS")
    gusto.add_argument(
        "--browser",
        choices=["system", "none", "http"],
        default="system",
        help="system: open a browser; none: print the URL only; http: follow the URL "
        "without a browser (sandbox)",
    )
    gusto.add_argument("--company", metavar="UUID", help="company to pick (sandbox only)")
    gusto.set_defaults(handler=_connect_gusto)

    dynamics = systems.add_parser("dynamics", help="store and check one F&O environment")
    dynamics.add_argument("--name", required=True, help="name for this environment, e.g. prod")
    dynamics.add_argument(
        "--environment-url", required=True, help="https://<env>.operations.dynamics.com"
    )
    dynamics.add_argument("--tenant-id", required=True, help="Entra tenant id or domain")
    dynamics.add_argument("--client-id", required=True, help="Entra application (client) id")
    credential = dynamics.add_mutually_exclusive_group()
    credential.add_argument(
        "--client-secret-stdin",
        action="store_true",
        help="read the client secret from one line of stdin (default: prompt)",
    )
    credential.add_argument(
        "--certificate", metavar="PATH", help="PEM file with the private key and certificate"
    )
    dynamics.add_argument("--thumbprint", help="SHA-1 thumbprint (hex) of --certificate")
    dynamics.add_argument(
        "--authority-host",
        help=f"Entra authority host (default {DEFAULT_AUTHORITY_HOST}); e.g. "
        "https://login.microsoftonline.us for US Government clouds",
    )
    dynamics.add_argument(
        "--ca-bundle",
        metavar="PATH",
        help="PEM bundle of the CA(s) to trust for Entra and F&O, for a TLS-inspecting proxy or "
        "private CA (and the local sandbox); default: the system's trusted CAs",
    )
    dynamics.set_defaults(handler=_connect_dynamics)

    disconnect = subparsers.add_parser("disconnect", help="remove a connection from the store")
    targets = disconnect.add_subparsers(dest="system", metavar="SYSTEM", required=True)
    gusto_off = targets.add_parser("gusto", help="revoke a company's grant at Gusto and forget it")
    gusto_off.add_argument("company_uuid", metavar="COMPANY_UUID")
    gusto_off.add_argument(
        "--force", action="store_true", help="remove from the store even if revoking fails"
    )
    gusto_off.set_defaults(handler=_disconnect_gusto)
    dynamics_off = targets.add_parser("dynamics", help="forget an F&O environment")
    dynamics_off.add_argument("name", metavar="NAME")
    dynamics_off.set_defaults(handler=_disconnect_dynamics)
