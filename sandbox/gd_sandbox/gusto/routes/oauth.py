"""OAuth routes: `GET /oauth/authorize`, `POST /oauth/token`, `POST /oauth/revoke` and
`GET /v1/token_info`. Errors here are RFC 6749 `{"error", "error_description"}`, not Gusto's
`errors[]`: that is what Doorkeeper answers."""

from __future__ import annotations

import base64
import binascii
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

from gd_sandbox.gusto.http_types import HttpError, Request, Response, parse_json_object
from gd_sandbox.gusto.oauth import SCOPES, SYSTEM_SCOPES, OAuthError
from gd_sandbox.gusto.routes.base import Ctx, RouteSpec, SandboxState

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


def _oauth_error(exc: OAuthError) -> Response:
    return Response.json(
        exc.status,
        {"error": exc.error, "error_description": exc.description},
        {"Cache-Control": "no-store"},
    )


def _bad_body() -> Response:
    return Response.json(
        400, {"error": "invalid_request", "error_description": "Body is not valid JSON"}
    )


def _token_params(req: Request) -> dict[str, str]:
    """The token endpoint's parameters from a JSON or form body, client credentials also
    from HTTP Basic (body values win, as Doorkeeper reads them)."""
    content_type = (req.header("Content-Type") or "").split(";")[0].strip().lower()
    params: dict[str, str] = {}
    if content_type == "application/json":
        body = parse_json_object(req)
        params = {k: str(v) for k, v in body.items() if v is not None}
    elif req.body:
        try:
            form = parse_qs(req.body.decode(), keep_blank_values=True)
        except UnicodeDecodeError as exc:
            raise HttpError(400, "invalid_request", "Body is not UTF-8 form data") from exc
        params = {k: v[-1] for k, v in form.items()}
    basic = req.header("Authorization") or ""
    if basic.lower().startswith("basic "):
        try:
            user, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, secret = "", ""
        params.setdefault("client_id", user)
        params.setdefault("client_secret", secret)
    return params


class OAuthRoutes:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[RouteSpec]:
        return [
            RouteSpec("GET", "/oauth/authorize", self.authorize, "open"),
            RouteSpec("POST", "/oauth/token", self.token, "open"),
            RouteSpec("POST", "/oauth/revoke", self.revoke, "open"),
            RouteSpec("GET", "/v1/token_info", self.token_info, "any"),
        ]

    def _redirect_ok(self, uri: str) -> bool:
        redirect_uris = self.state.redirect_uris
        if uri in redirect_uris:
            return True
        try:
            parts = urlsplit(uri)
            port = parts.port
        except ValueError:
            return False
        if parts.fragment or parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
            return False
        # RFC 8252 section 7.3: loopback redirect URIs match on any port.
        for registered in redirect_uris:
            reg = urlsplit(registered)
            if (reg.scheme, reg.hostname, reg.path) == ("http", parts.hostname, parts.path):
                return port is not None
        return False

    def authorize(self, ctx: Ctx) -> Response:
        state = self.state
        req = ctx.req
        client_id = req.arg("client_id")
        redirect_uri = req.arg("redirect_uri") or ""
        if client_id != state.oauth.client_id:
            return Response.json(
                401, {"error": "invalid_client", "error_description": "Unknown client_id"}
            )
        if not self._redirect_ok(redirect_uri):
            return Response.json(
                400,
                {
                    "error": "invalid_redirect_uri",
                    "error_description": "The redirect uri included is not valid: it must exactly "
                    f"match a registered URI ({', '.join(state.redirect_uris)}; "
                    "loopback URIs may use any port)",
                },
            )
        oauth_state = req.arg("state")

        def redirect(params: dict[str, str]) -> Response:
            if oauth_state is not None:
                params["state"] = oauth_state
            sep = "&" if "?" in redirect_uri else "?"
            return Response(302, b"", {"Location": redirect_uri + sep + urlencode(params)})

        if req.arg("response_type") != "code":
            return redirect(
                {
                    "error": "unsupported_response_type",
                    "error_description": "Only response_type=code is supported",
                }
            )
        company_uuid = req.arg("company_uuid") or state.company_order[0]
        if company_uuid not in state.companies:
            return redirect(
                {
                    "error": "access_denied",
                    "error_description": f"No company {company_uuid} for this admin",
                }
            )
        code = state.oauth.issue_code(company_uuid, redirect_uri)
        return redirect({"code": code})

    def token(self, ctx: Ctx) -> Response:
        state = self.state
        req = ctx.req
        if "client_secret" in req.query:
            return Response.json(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "client_secret must be sent in the request body, never in "
                    "the URL",
                },
            )
        try:
            params = _token_params(req)
        except HttpError:
            return _bad_body()
        grant_type = params.get("grant_type")
        try:
            state.oauth.check_client(params.get("client_id"), params.get("client_secret"))
            if grant_type == "authorization_code":
                record = state.oauth.exchange_code(params.get("code"), params.get("redirect_uri"))
                state.stats.bump("token_grants")
            elif grant_type == "refresh_token":
                state.stats.bump("refreshes")
                record = state.oauth.refresh(params.get("refresh_token"))
            elif grant_type == "system_access":
                record = state.oauth.system_token()
                return Response.json(
                    200,
                    {
                        "access_token": record.access_token,
                        "token_type": "Bearer",
                        "created_at": record.created_at,
                        "expires_in": record.expires_in,
                        "scope": SYSTEM_SCOPES,
                    },
                    {"Cache-Control": "no-store"},
                )
            else:
                raise OAuthError(
                    400,
                    "unsupported_grant_type",
                    "The authorization grant type is not supported by the authorization server.",
                )
        except OAuthError as exc:
            if exc.error == "invalid_grant":
                state.stats.bump("invalid_grants")
            return _oauth_error(exc)
        return Response.json(
            200,
            {
                "access_token": record.access_token,
                "token_type": "bearer",
                "expires_in": record.expires_in,
                "refresh_token": record.refresh_token,
                "scope": SCOPES,
                "created_at": record.created_at,
            },
            {"Cache-Control": "no-store"},
        )

    def revoke(self, ctx: Ctx) -> Response:
        oauth = self.state.oauth
        try:
            params = _token_params(ctx.req)
            oauth.check_client(params.get("client_id"), params.get("client_secret"))
        except HttpError:
            return _bad_body()
        except OAuthError as exc:
            return _oauth_error(exc)
        oauth.revoke(params.get("token"))
        return Response.json(200, {})

    def token_info(self, ctx: Ctx) -> Response:
        token = ctx.token
        assert token is not None
        if token.company_uuid is None:
            return Response.json(
                200,
                {
                    "scope": SYSTEM_SCOPES,
                    "resource": {
                        "type": "Oauth::Application",
                        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, self.state.oauth.client_id)),
                    },
                    "resource_owner": None,
                },
            )
        company = self.state.companies[token.company_uuid]
        return Response.json(
            200,
            {
                "scope": SCOPES,
                "resource": {"type": "Company", "uuid": company.uuid},
                "resource_owner": {"type": "CompanyAdmin", "uuid": company.admin_uuid},
            },
        )
