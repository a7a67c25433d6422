"""Request handling of the Gusto sandbox: OAuth, `/v1` API, webhooks, `/_sandbox` admin routes.

Pagination (documented choice): every list endpoint paginates, with or without `page`/`per`, and
always sends `X-Page`, `X-Per-Page`, `X-Total-Count`, `X-Total-Pages`. `per` defaults to 25; it is
capped at 100 for the payroll list and the single payroll's `employee_compensations`, at 500
elsewhere (Gusto documents no maximum there; its own CLI asks for 500). Larger `per` values are
clamped, never rejected. The contractor payments summary is an object and is not paginated.

Payroll and pay-period list windows follow Gusto's documented rule strictly by default
(`window_rule="contained"`): `start_date`/`end_date` select payrolls "whose pay period is after
the start date" and "before the end date", i.e. the whole period inside the window, so a payroll
whose period straddles an edge is in neither of two back-to-back windows. With
`date_filter_by=check_date` only processed regular payrolls are selected, by check date.
`window_rule="period_end"` is the older lenient mode (period END inside the window).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

from gd_sandbox.gusto import render
from gd_sandbox.gusto.controls import Faults, RateLimiter, Stats, echo_request
from gd_sandbox.gusto.http_types import (
    HttpError,
    Request,
    Response,
    gusto_error,
    parse_json_object,
)
from gd_sandbox.gusto.model import (
    BenefitPlan,
    Company,
    Employee,
    PayrollDetail,
    PayrollMeta,
    Termination,
)
from gd_sandbox.gusto.money import ZERO, dec, fmt1, fmt2
from gd_sandbox.gusto.oauth import SCOPES, SYSTEM_SCOPES, OAuthError, OAuthState, TokenRecord
from gd_sandbox.gusto.payroll_calc import PayrollCalculator
from gd_sandbox.gusto.webhooks import SUBSCRIPTION_TYPES, Webhooks


class _HasUuid(Protocol):
    @property
    def uuid(self) -> str: ...


_Item = TypeVar("_Item", bound=_HasUuid)

WINDOW_RULES = ("contained", "period_end")
SUPPORTED_API_VERSIONS = ("2025-06-15", "2025-11-15", "2026-02-01", "2026-06-15")
DEFAULT_API_VERSION = "2025-06-15"
VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
PAYROLL_MAX_PER = 100
DEFAULT_MAX_PER = 500
DEFAULT_PER = 25

Handler = Callable[["Ctx"], Response]


@dataclass
class Ctx:
    req: Request
    params: dict[str, str]
    version: str = DEFAULT_API_VERSION
    token: TokenRecord | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    name: str
    handler: Handler
    kind: str  # "api" (bearer, company token), "system" (bearer, app token), "any" (bearer), "open"


def _shift_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def _parse_date(ctx: Ctx, name: str, default: date | None) -> date | None:
    raw = ctx.req.arg(name)
    if raw is None or raw == "":
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise HttpError(
            422,
            "invalid_attribute_value",
            f"{name} must be a date in YYYY-MM-DD format, got {raw!r}",
            name,
        ) from None


def _csv(ctx: Ctx, name: str, allowed: tuple[str, ...], default: tuple[str, ...]) -> set[str]:
    raw = ctx.req.arg(name)
    if not raw:
        return set(default)
    values = {v.strip() for v in raw.split(",") if v.strip()}
    unknown = values - set(allowed)
    if unknown:
        raise HttpError(
            422,
            "invalid_attribute_value",
            f"{name} has unsupported value(s) {', '.join(sorted(unknown))}; allowed: "
            f"{', '.join(allowed)}",
            name,
        )
    return values


def _truthy(raw: str | None) -> bool:
    return (raw or "").lower() in ("true", "1", "yes")


def paginate(ctx: Ctx, items: list[Any], maximum: int) -> tuple[list[Any], dict[str, str]]:
    def number(name: str, default: int) -> int:
        raw = ctx.req.arg(name)
        if raw is None or raw == "":
            return default
        if not raw.isdigit() or int(raw) < 1:
            raise HttpError(
                422,
                "invalid_attribute_value",
                f"{name} must be a positive integer, got {raw!r}",
                name,
            )
        return int(raw)

    page = number("page", 1)
    per = min(number("per", DEFAULT_PER), maximum)
    total = len(items)
    pages = (total + per - 1) // per
    chunk = items[(page - 1) * per : page * per]
    return chunk, {
        "X-Page": str(page),
        "X-Per-Page": str(per),
        "X-Total-Count": str(total),
        "X-Total-Pages": str(pages),
    }


class GustoApp:
    def __init__(
        self,
        *,
        seed: str,
        today: date,
        companies: list[Company],
        oauth: OAuthState,
        rate_limiter: RateLimiter,
        faults: Faults,
        stats: Stats,
        redirect_uris: list[str],
        base_url: Callable[[], str],
        window_rule: str = "contained",
        company_level_taxes: dict[str, str] | None = None,
    ) -> None:
        if window_rule not in WINDOW_RULES:
            raise ValueError(f"window_rule must be one of {WINDOW_RULES}")
        self.seed = seed
        self.today = today
        self.window_rule = window_rule
        self.companies = {c.uuid: c for c in companies}
        self.company_order = [c.uuid for c in companies]
        self.oauth = oauth
        self.rate_limiter = rate_limiter
        self.faults = faults
        self.stats = stats
        self.redirect_uris = redirect_uris
        self.base_url = base_url
        self.calc = PayrollCalculator(seed, company_level_taxes)
        self.webhooks = Webhooks(stats)
        self.lock = threading.RLock()
        self.routes: list[Route] = []
        self._register()

    # ---- routing ---------------------------------------------------------------------------

    def _add(self, method: str, template: str, handler: Handler, kind: str) -> None:
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self.routes.append(
            Route(method, re.compile(f"^{pattern}$"), f"{method} {template}", handler, kind)
        )

    def _register(self) -> None:
        add = self._add
        add("GET", "/oauth/authorize", self.authorize, "open")
        add("POST", "/oauth/token", self.token, "open")
        add("POST", "/oauth/revoke", self.revoke, "open")
        add("GET", "/v1/token_info", self.token_info, "any")
        add("GET", "/v1/companies/{company_id}", self.get_company, "api")
        add("GET", "/v1/companies/{company_id}/employees", self.list_employees, "api")
        add("GET", "/v1/employees/{employee_id}", self.get_employee, "api")
        add("GET", "/v1/employees/{employee_id}/terminations", self.list_terminations, "api")
        add("GET", "/v1/companies/{company_id}/departments", self.list_departments, "api")
        add("GET", "/v1/departments/{department_id}", self.get_department, "api")
        add("GET", "/v1/companies/{company_id}/locations", self.list_locations, "api")
        add("GET", "/v1/locations/{location_id}", self.get_location, "api")
        add("GET", "/v1/companies/{company_id}/pay_schedules", self.list_pay_schedules, "api")
        add("GET", "/v1/companies/{company_id}/pay_periods", self.list_pay_periods, "api")
        add("GET", "/v1/companies/{company_id}/payrolls", self.list_payrolls, "api")
        add("GET", "/v1/companies/{company_id}/payrolls/{payroll_id}", self.get_payroll, "api")
        add("GET", "/v1/companies/{company_id}/contractors", self.list_contractors, "api")
        add("GET", "/v1/contractors/{contractor_id}", self.get_contractor, "api")
        add(
            "GET",
            "/v1/companies/{company_id}/contractor_payments",
            self.list_contractor_payments,
            "api",
        )
        add(
            "GET",
            "/v1/companies/{company_id}/contractor_payments/{payment_id}",
            self.get_contractor_payment,
            "api",
        )
        add("GET", "/v1/webhook_subscriptions", self.list_subscriptions, "system")
        add("POST", "/v1/webhook_subscriptions", self.create_subscription, "system")
        add("GET", "/v1/webhook_subscriptions/{sub_id}", self.get_subscription, "system")
        add("PUT", "/v1/webhook_subscriptions/{sub_id}", self.update_subscription, "system")
        add("DELETE", "/v1/webhook_subscriptions/{sub_id}", self.delete_subscription, "system")
        add("PUT", "/v1/webhook_subscriptions/{sub_id}/verify", self.verify_subscription, "system")
        add(
            "GET",
            "/v1/webhook_subscriptions/{sub_id}/request_verification_token",
            self.request_verification_token,
            "system",
        )
        add("GET", "/v1/events", self.list_events, "system")
        # Admin routes (not Gusto's).
        add("GET", "/_sandbox/info", self.admin_info, "open")
        add("GET", "/_sandbox/stats", self.admin_stats, "open")
        add("GET", "/_sandbox/faults", self.admin_get_faults, "open")
        add("POST", "/_sandbox/faults", self.admin_faults, "open")
        add("POST", "/_sandbox/refresh_tokens", self.admin_mint, "open")
        add("GET", "/_sandbox/payrolls/{payroll_id}", self.admin_payroll, "open")
        add("POST", "/_sandbox/payrolls/{payroll_id}/process", self.admin_process, "open")
        add("POST", "/_sandbox/payrolls/{payroll_id}/amend", self.admin_amend, "open")
        add("POST", "/_sandbox/payrolls/{payroll_id}/correct", self.admin_amend, "open")
        add("POST", "/_sandbox/payrolls/{payroll_id}/cancel", self.admin_cancel, "open")
        add("POST", "/_sandbox/employees/{employee_id}/terminate", self.admin_terminate, "open")
        add("POST", "/_sandbox/employees", self.admin_hire, "open")
        add("POST", "/_sandbox/webhooks/deliver", self.admin_deliver, "open")

    def handle(self, req: Request) -> Response:
        self.stats.request(req.method, req.path)
        try:
            response = self._dispatch(req)
        except HttpError as exc:
            response = exc.response
        if response.status >= 400 and self.faults.snapshot().get("echo_secrets"):
            echo_request(req, response)
        repeat = self.faults.snapshot().get("retry_after_repeat") or 0
        if response.status == 429 and repeat > 1 and "Retry-After" in response.headers:
            value = response.headers.pop("Retry-After")
            response.repeated_headers.extend([("Retry-After", value)] * repeat)
        self.stats.status(response.status)
        return response

    def _dispatch(self, req: Request) -> Response:
        is_admin = req.path.startswith("/_sandbox/")
        if not is_admin and self.faults.applies_to(req.path):
            if self.faults.take("drop_connection_next"):
                self.stats.bump("faults_fired")
                return Response(0, drop=True)
            status = self.faults.take_status()
            if status is not None:
                self.stats.bump("faults_fired")
                retry_after = self.faults.snapshot().get("retry_after")
                extra = {"Retry-After": str(retry_after)} if status == 503 and retry_after else {}
                return gusto_error(
                    status,
                    "internal_error",
                    f"Simulated upstream failure ({status}); retry later",
                    headers=extra,
                )
            if self.faults.take("throttle_next"):
                self.stats.bump("faults_fired")
                retry = int(self.faults.snapshot().get("retry_after") or 1)
                return gusto_error(
                    429,
                    "rate_limit_exceeded",
                    "Too many requests; retry after the Retry-After interval",
                    headers={
                        **self.rate_limiter.headers(0, retry),
                        "Retry-After": str(retry),
                    },
                )
        allowed_methods: list[str] = []
        for route in self.routes:
            match = route.pattern.match(req.path)
            if not match:
                continue
            if route.method != req.method:
                allowed_methods.append(route.method)
                continue
            self.stats.route(route.name)
            response = self._run(route, Ctx(req, match.groupdict()))
            if (
                not is_admin
                and self.faults.applies_to(req.path)
                and self.faults.take("drop_response_next")
            ):
                self.stats.bump("faults_fired")
                return Response(0, drop=True)
            if (
                not is_admin
                and self.faults.applies_to(req.path)
                and self.faults.take("malformed_next")
            ):
                self.stats.bump("faults_fired")
                # A body cut mid-stream, as a broken proxy or a reset connection leaves it.
                response.status = 200
                response.body = response.body[: max(1, len(response.body) // 2)]
            return response
        if allowed_methods:
            return gusto_error(
                405,
                "invalid_operation",
                f"{req.method} is not allowed on {req.path}; use "
                f"{', '.join(sorted(set(allowed_methods)))}",
                headers={"Allow": ", ".join(sorted(set(allowed_methods)))},
            )
        return gusto_error(404, "not_found", f"No route matches {req.method} {req.path}")

    def _run(self, route: Route, ctx: Ctx) -> Response:
        if route.kind == "open":
            return route.handler(ctx)
        version_error = self._check_version(ctx)
        if version_error is not None:
            return version_error
        echo = {"X-Gusto-API-Version": ctx.version}
        token = self._bearer(ctx)
        if isinstance(token, Response):
            token.headers.update(echo)
            return token
        ctx.token = token
        allowed, remaining, reset_in = self.rate_limiter.hit(token.grant_id)
        if not allowed:
            headers = {
                **self.rate_limiter.headers(0, reset_in),
                **echo,
                "Retry-After": self.rate_limiter.retry_after(reset_in),
            }
            return gusto_error(
                429,
                "rate_limit_exceeded",
                f"Rate limit of {self.rate_limiter.limit} requests per "
                f"{int(self.rate_limiter.window)} s exceeded for this token",
                headers=headers,
            )
        ctx.extra_headers.update(self.rate_limiter.headers(remaining, reset_in))
        ctx.extra_headers.update(echo)
        if route.kind == "api" and token.company_uuid is None:
            response = gusto_error(
                403,
                "missing_permissions",
                "A system access token cannot read company data; use the "
                "company's OAuth access token",
            )
        elif route.kind == "system" and token.company_uuid is not None:
            response = gusto_error(
                403,
                "missing_permissions",
                "Webhook subscriptions and events need a system access token "
                "(grant_type=system_access)",
            )
        else:
            try:
                response = route.handler(ctx)
            except HttpError as exc:
                response = exc.response
        response.headers.update(ctx.extra_headers)
        return response

    def _check_version(self, ctx: Ctx) -> Response | None:
        raw = ctx.req.header("X-Gusto-API-Version")
        if raw is None or raw.strip() == "":
            ctx.version = DEFAULT_API_VERSION
            return None
        raw = raw.strip()
        if not VERSION_RE.match(raw):
            message = f"Invalid API Version `{raw}`. Expected format: YYYY-MM-DD"
        elif raw not in SUPPORTED_API_VERSIONS:
            message = (
                f"Unsupported API Version `{raw}`. Supported versions: "
                f"{', '.join(SUPPORTED_API_VERSIONS)}"
            )
        else:
            ctx.version = raw
            return None
        return gusto_error(406, "invalid_api_version", message, "X-Gusto-API-Version")

    def _bearer(self, ctx: Ctx) -> TokenRecord | Response:
        auth = ctx.req.header("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return self._unauthorized("Missing access token: send `Authorization: Bearer <token>`")
        check = self.oauth.authenticate(value.strip())
        if check.record is None:
            return self._unauthorized(check.problem or "The access token is invalid")
        return check.record

    @staticmethod
    def _unauthorized(message: str) -> Response:
        return gusto_error(
            401,
            "invalid_token",
            message,
            headers={
                "WWW-Authenticate": f'Bearer realm="Doorkeeper", error="invalid_token", '
                f'error_description="{message}"'
            },
        )

    # ---- helpers ---------------------------------------------------------------------------

    def _company(self, ctx: Ctx) -> Company:
        company_id = ctx.params["company_id"]
        return self._owned(ctx, company_id)

    def _owned(self, ctx: Ctx, company_uuid: str) -> Company:
        assert ctx.token is not None
        if company_uuid != ctx.token.company_uuid:
            raise HttpError(
                403,
                "missing_permissions",
                "This access token is not authorized for that company; each token "
                "is bound to the company that granted it",
                "base",
                {"entity_type": "Company", "entity_uuid": company_uuid},
            )
        company = self.companies.get(company_uuid)
        if company is None:
            raise HttpError(404, "not_found", f"Company {company_uuid} not found")
        return company

    def _find_owned(
        self, ctx: Ctx, kind: str, uuid: str, items: Callable[[Company], Iterable[_Item]]
    ) -> tuple[Company, _Item]:
        """An employee, department, location or contractor of a company the token may read."""
        with self.lock:
            for company in self.companies.values():
                for item in items(company):
                    if item.uuid == uuid:
                        self._owned(ctx, company.uuid)
                        return company, item
        raise HttpError(404, "not_found", f"{kind} {uuid} not found")

    def _find_employee(self, ctx: Ctx, employee_uuid: str) -> Employee:
        return self._find_owned(ctx, "Employee", employee_uuid, lambda c: c.employees)[1]

    def _payroll(self, company: Company, payroll_uuid: str) -> PayrollMeta:
        for meta in company.payrolls:
            if meta.uuid == payroll_uuid:
                return meta
        raise HttpError(
            404,
            "not_found",
            f"Payroll {payroll_uuid} not found",
            metadata={"entity_type": "Payroll", "entity_uuid": payroll_uuid},
        )

    def detail(self, company: Company, meta: PayrollMeta) -> PayrollDetail | None:
        if not meta.processed:
            return None
        with self.lock:
            if meta.detail is None:
                meta.detail = self.calc.compute(company, meta)
            return meta.detail

    def _list(self, ctx: Ctx, items: list[Any], maximum: int = DEFAULT_MAX_PER) -> Response:
        chunk, headers = paginate(ctx, items, maximum)
        return Response.json(200, chunk, headers)

    # ---- OAuth -----------------------------------------------------------------------------

    def _redirect_ok(self, uri: str) -> bool:
        if uri in self.redirect_uris:
            return True
        try:
            parts = urlsplit(uri)
            port = parts.port
        except ValueError:
            return False
        if parts.fragment or parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
            return False
        # RFC 8252 section 7.3: loopback redirect URIs match on any port.
        for registered in self.redirect_uris:
            reg = urlsplit(registered)
            if (reg.scheme, reg.hostname, reg.path) == ("http", parts.hostname, parts.path):
                return port is not None
        return False

    def authorize(self, ctx: Ctx) -> Response:
        req = ctx.req
        client_id = req.arg("client_id")
        redirect_uri = req.arg("redirect_uri") or ""
        if client_id != self.oauth.client_id:
            return Response.json(
                401, {"error": "invalid_client", "error_description": "Unknown client_id"}
            )
        if not self._redirect_ok(redirect_uri):
            return Response.json(
                400,
                {
                    "error": "invalid_redirect_uri",
                    "error_description": "The redirect uri included is not valid: it must exactly "
                    f"match a registered URI ({', '.join(self.redirect_uris)}; "
                    "loopback URIs may use any port)",
                },
            )
        state = req.arg("state")

        def redirect(params: dict[str, str]) -> Response:
            if state is not None:
                params["state"] = state
            sep = "&" if "?" in redirect_uri else "?"
            return Response(302, b"", {"Location": redirect_uri + sep + urlencode(params)})

        if req.arg("response_type") != "code":
            return redirect(
                {
                    "error": "unsupported_response_type",
                    "error_description": "Only response_type=code is supported",
                }
            )
        company_uuid = req.arg("company_uuid") or self.company_order[0]
        if company_uuid not in self.companies:
            return redirect(
                {
                    "error": "access_denied",
                    "error_description": f"No company {company_uuid} for this admin",
                }
            )
        code = self.oauth.issue_code(company_uuid, redirect_uri)
        return redirect({"code": code})

    def _token_params(self, req: Request) -> dict[str, str]:
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

    @staticmethod
    def _oauth_error(exc: OAuthError) -> Response:
        return Response.json(
            exc.status,
            {"error": exc.error, "error_description": exc.description},
            {"Cache-Control": "no-store"},
        )

    def token(self, ctx: Ctx) -> Response:
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
            params = self._token_params(req)
        except HttpError:
            return Response.json(
                400, {"error": "invalid_request", "error_description": "Body is not valid JSON"}
            )
        grant_type = params.get("grant_type")
        try:
            self.oauth.check_client(params.get("client_id"), params.get("client_secret"))
            if grant_type == "authorization_code":
                record = self.oauth.exchange_code(params.get("code"), params.get("redirect_uri"))
                self.stats.bump("token_grants")
            elif grant_type == "refresh_token":
                self.stats.bump("refreshes")
                record = self.oauth.refresh(params.get("refresh_token"))
            elif grant_type == "system_access":
                record = self.oauth.system_token()
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
                self.stats.bump("invalid_grants")
            return self._oauth_error(exc)
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
        try:
            params = self._token_params(ctx.req)
            self.oauth.check_client(params.get("client_id"), params.get("client_secret"))
        except HttpError:
            return Response.json(
                400, {"error": "invalid_request", "error_description": "Body is not valid JSON"}
            )
        except OAuthError as exc:
            return self._oauth_error(exc)
        self.oauth.revoke(params.get("token"))
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
                        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, self.oauth.client_id)),
                    },
                    "resource_owner": None,
                },
            )
        company = self.companies[token.company_uuid]
        return Response.json(
            200,
            {
                "scope": SCOPES,
                "resource": {"type": "Company", "uuid": company.uuid},
                "resource_owner": {"type": "CompanyAdmin", "uuid": company.admin_uuid},
            },
        )

    # ---- company data ----------------------------------------------------------------------

    def get_company(self, ctx: Ctx) -> Response:
        return Response.json(200, render.company(self._company(ctx), self.seed))

    def list_employees(self, ctx: Ctx) -> Response:
        company = self._company(ctx)
        with self.lock:
            people = list(company.employees)
        terminated = ctx.req.arg("terminated")
        if terminated is not None:
            people = [e for e in people if e.terminated == _truthy(terminated)]
        location = ctx.req.arg("location_uuid")
        if location:
            people = [e for e in people if e.location.uuid == location]
        chunk, headers = paginate(ctx, people, DEFAULT_MAX_PER)
        return Response.json(200, [render.employee(e) for e in chunk], headers)

    def get_employee(self, ctx: Ctx) -> Response:
        return Response.json(
            200, render.employee(self._find_employee(ctx, ctx.params["employee_id"]))
        )

    def list_terminations(self, ctx: Ctx) -> Response:
        emp = self._find_employee(ctx, ctx.params["employee_id"])
        return Response.json(200, [render.termination(t) for t in emp.terminations])

    def list_departments(self, ctx: Ctx) -> Response:
        company = self._company(ctx)
        with self.lock:
            items = [render.department(d, company) for d in company.departments]
        return self._list(ctx, items)

    def get_department(self, ctx: Ctx) -> Response:
        company, dept = self._find_owned(
            ctx, "Department", ctx.params["department_id"], lambda c: c.departments
        )
        return Response.json(200, render.department(dept, company))

    def list_locations(self, ctx: Ctx) -> Response:
        return self._list(ctx, [render.location(x) for x in self._company(ctx).locations])

    def get_location(self, ctx: Ctx) -> Response:
        _, loc = self._find_owned(ctx, "Location", ctx.params["location_id"], lambda c: c.locations)
        return Response.json(200, render.location(loc))

    def list_pay_schedules(self, ctx: Ctx) -> Response:
        company = self._company(ctx)
        return self._list(ctx, [render.pay_schedule(s, ctx.version) for s in company.pay_schedules])

    def _window(self, ctx: Ctx, default_start: date) -> tuple[date, date]:
        start = _parse_date(ctx, "start_date", default_start)
        end = _parse_date(ctx, "end_date", self.today)
        assert start is not None and end is not None
        if start > end:
            raise HttpError(
                422,
                "invalid_attribute_value",
                f"start_date {start} is after end_date {end}",
                "start_date",
            )
        if end > _shift_months(start, 12):
            raise HttpError(
                422,
                "invalid_attribute_value",
                f"start_date and end_date must be at most one year apart (got {start} to {end})",
                "end_date",
            )
        if end > _shift_months(self.today, 3):
            raise HttpError(
                422,
                "invalid_attribute_value",
                f"end_date {end} may be at most three months in the future (today is {self.today})",
                "end_date",
            )
        return start, end

    def list_pay_periods(self, ctx: Ctx) -> Response:
        company = self._company(ctx)
        start, end = self._window(ctx, _shift_months(self.today, -6))
        _csv(ctx, "payroll_types", ("regular", "transition"), ("regular",))
        items = [
            render.pay_period(p)
            for p in company.payrolls
            if not p.off_cycle and self._period_in_window(p, start, end)
        ]
        return self._list(ctx, items)

    def _period_in_window(self, meta: PayrollMeta, start: date, end: date) -> bool:
        if self.window_rule == "period_end":
            return start <= meta.period_end <= end
        return start <= meta.period_start and meta.period_end <= end

    def list_payrolls(self, ctx: Ctx) -> Response:
        company = self._company(ctx)
        start, end = self._window(ctx, _shift_months(self.today, -6))
        statuses = _csv(ctx, "processing_statuses", ("processed", "unprocessed"), ("processed",))
        legacy_processed = ctx.req.arg("processed")
        if legacy_processed is not None:
            statuses = {"processed" if _truthy(legacy_processed) else "unprocessed"}
        types = _csv(ctx, "payroll_types", ("regular", "off_cycle", "external"), ("regular",))
        if _truthy(ctx.req.arg("include_off_cycle")):
            types.add("off_cycle")
        includes = _csv(
            ctx,
            "include",
            ("taxes", "payroll_status_meta", "totals", "risk_blockers", "reversals"),
            (),
        )
        by_check = ctx.req.arg("date_filter_by") == "check_date"
        selected = []
        with self.lock:
            payrolls = list(company.payrolls)
        unlisted = set(self.faults.snapshot().get("unlisted_payrolls") or ())
        for meta in payrolls:
            if meta.uuid in unlisted:
                continue
            if by_check:
                # Gusto offers the check-date filter for processed regular payrolls only.
                if meta.off_cycle or not meta.processed or not start <= meta.check_date <= end:
                    continue
            elif not self._period_in_window(meta, start, end):
                continue
            if ("processed" if meta.processed else "unprocessed") not in statuses:
                continue
            if meta.payroll_type not in types:
                continue
            selected.append(meta)
        if ctx.req.arg("sort_order") == "desc":
            selected.reverse()
        items = []
        for meta in selected:
            # Computed first: the header's calculated_at comes from it, and a processed
            # payroll's must not read null on the first listing and a time on the next.
            detail = self.detail(company, meta)
            body = render.payroll_header(meta, ctx.version)
            if "payroll_status_meta" not in includes:
                body.pop("payroll_status_meta")
            if "totals" in includes and detail is not None:
                body["totals"] = detail.totals
            items.append(body)
        return self._list(ctx, items, PAYROLL_MAX_PER)

    def get_payroll(self, ctx: Ctx) -> Response:
        company = self._company(ctx)
        meta = self._payroll(company, ctx.params["payroll_id"])
        includes = _csv(
            ctx,
            "include",
            (
                "benefits",
                "deductions",
                "taxes",
                "payroll_status_meta",
                "totals",
                "risk_blockers",
                "reversals",
                "payroll_taxes",
            ),
            (),
        )
        body = render.payroll_header(meta, ctx.version)
        detail = self.detail(company, meta)
        comps: list[dict[str, Any]] = []
        if detail is not None:
            body["totals"] = detail.totals
            body["company_taxes"] = detail.company_taxes
            if "payroll_taxes" in includes:
                body["payroll_taxes"] = detail.payroll_taxes
            body["processing_request"] = {"status": "submit_success", "errors": []}
            body["credit_blockers"] = []
            comps = list(detail.employee_compensations)
        else:
            body["submission_blockers"] = []
            body["processing_request"] = None
        sort_by = ctx.req.arg("sort_by")
        if sort_by:
            field_name, _, direction = sort_by.partition(":")
            if field_name not in ("first_name", "last_name") or direction not in (
                "",
                "asc",
                "desc",
            ):
                raise HttpError(
                    422,
                    "invalid_attribute_value",
                    "sort_by must be first_name or last_name, optionally with :asc or :desc",
                    "sort_by",
                )
            comps.sort(
                key=lambda c: (c[field_name], c["employee_uuid"]), reverse=direction == "desc"
            )
        chunk, headers = paginate(ctx, comps, PAYROLL_MAX_PER)
        if detail is not None:
            body["employee_compensations"] = [
                render.employee_compensation(c, ctx.version, includes, meta=meta, seed=self.seed)
                for c in chunk
            ]
        return Response.json(200, body, headers)

    def list_contractors(self, ctx: Ctx) -> Response:
        return self._list(ctx, [render.contractor(k) for k in self._company(ctx).contractors])

    def get_contractor(self, ctx: Ctx) -> Response:
        _, k = self._find_owned(
            ctx, "Contractor", ctx.params["contractor_id"], lambda c: c.contractors
        )
        return Response.json(200, render.contractor(k))

    def list_contractor_payments(self, ctx: Ctx) -> Response:
        company = self._company(ctx)
        end = _parse_date(ctx, "end_date", self.today)
        assert end is not None
        start = _parse_date(ctx, "start_date", _shift_months(end, -12))
        assert start is not None
        if start > end:
            raise HttpError(
                422,
                "invalid_attribute_value",
                f"start_date {start} is after end_date {end}",
                "start_date",
            )
        contractor_filter = ctx.req.arg("contractor_uuid")
        by_date = _truthy(ctx.req.arg("group_by_date"))
        payments = [
            p
            for p in company.contractor_payments
            if start <= p.date <= end
            and (not contractor_filter or p.contractor_uuid == contractor_filter)
        ]
        payments.sort(key=lambda p: (p.date, p.uuid), reverse=True)  # newest first
        groups: dict[str, list[Any]] = {}
        for payment in payments:
            key = payment.date.isoformat() if by_date else payment.contractor_uuid
            groups.setdefault(key, []).append(payment)

        def total(items: list[Any], attr: str) -> str:
            return fmt1(sum((Decimal(getattr(p, attr)) for p in items), ZERO))

        body = {
            "total": {
                "reimbursements": total(payments, "reimbursement"),
                "wages": total(payments, "wage_total"),
            },
            "contractor_payments": [
                {
                    ("check_date" if by_date else "contractor_uuid"): key,
                    "reimbursement_total": total(items, "reimbursement"),
                    "wage_total": total(items, "wage_total"),
                    "payments": [render.contractor_payment(p) for p in items],
                }
                for key, items in groups.items()
            ],
        }
        return Response.json(200, body)

    def get_contractor_payment(self, ctx: Ctx) -> Response:
        company = self._company(ctx)
        for payment in company.contractor_payments:
            if payment.uuid == ctx.params["payment_id"]:
                return Response.json(200, render.contractor_payment(payment))
        raise HttpError(
            404, "not_found", f"Contractor payment {ctx.params['payment_id']} not found"
        )

    # ---- webhook subscriptions (system token) ----------------------------------------------

    def _subscription(self, ctx: Ctx) -> Any:
        sub = self.webhooks.subscriptions.get(ctx.params["sub_id"])
        if sub is None or sub.status == "removed":
            raise HttpError(
                404, "not_found", f"Webhook subscription {ctx.params['sub_id']} not found"
            )
        return sub

    @staticmethod
    def _subscription_body(ctx: Ctx, *, require_url: bool) -> tuple[str | None, list[str] | None]:
        body = parse_json_object(ctx.req)
        url = body.get("url")
        if url is None and require_url:
            raise HttpError(422, "invalid_attribute_value", "url is required", "url")
        if url is not None and (
            not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https")
        ):
            raise HttpError(422, "invalid_attribute_value", "url must be an http(s) URL", "url")
        types = body.get("subscription_types")
        if types is None and require_url:
            raise HttpError(
                422,
                "invalid_attribute_value",
                "subscription_types is required",
                "subscription_types",
            )
        if types is not None:
            if not isinstance(types, list) or not types:
                raise HttpError(
                    422,
                    "invalid_attribute_value",
                    "subscription_types must be a non-empty list",
                    "subscription_types",
                )
            bad = [t for t in types if t not in SUBSCRIPTION_TYPES]
            if bad:
                raise HttpError(
                    422,
                    "invalid_attribute_value",
                    f"Unknown subscription_types {bad}; allowed: {', '.join(SUBSCRIPTION_TYPES)}",
                    "subscription_types",
                )
        return url, types

    def list_subscriptions(self, ctx: Ctx) -> Response:
        subs = [s.public() for s in self.webhooks.subscriptions.values() if s.status != "removed"]
        return Response.json(200, subs)

    def create_subscription(self, ctx: Ctx) -> Response:
        url, types = self._subscription_body(ctx, require_url=True)
        assert url is not None and types is not None
        # The verification token is POSTed to the URL before this call answers.
        sub, _ = self.webhooks.create(url, types)
        return Response.json(201, sub.public())

    def get_subscription(self, ctx: Ctx) -> Response:
        return Response.json(200, self._subscription(ctx).public())

    def update_subscription(self, ctx: Ctx) -> Response:
        sub = self._subscription(ctx)
        url, types = self._subscription_body(ctx, require_url=False)
        if url is not None and url != sub.url:
            sub.url = url
            sub.status = "pending"
        if types is not None:
            sub.subscription_types = types
        return Response.json(200, sub.public())

    def delete_subscription(self, ctx: Ctx) -> Response:
        self._subscription(ctx).status = "removed"
        return Response(204)

    def verify_subscription(self, ctx: Ctx) -> Response:
        sub = self._subscription(ctx)
        token = parse_json_object(ctx.req).get("verification_token")
        if not isinstance(token, str) or not hmac_equal(token, sub.verification_token):
            raise HttpError(
                422,
                "invalid_attribute_value",
                "verification_token does not match the token sent to the subscription URL",
                "verification_token",
            )
        sub.status = "verified"
        return Response.json(200, sub.public())

    def request_verification_token(self, ctx: Ctx) -> Response:
        sub = self._subscription(ctx)
        self.webhooks.send_verification_token(sub)
        return Response(200)

    def list_events(self, ctx: Ctx) -> Response:
        with self.webhooks.lock:
            events = list(self.webhooks.events)
        after = ctx.req.arg("starting_after_uuid")
        if after:
            index = next((i for i, e in enumerate(events) if e["uuid"] == after), None)
            events = events[index + 1 :] if index is not None else []
        event_type = ctx.req.arg("event_type")
        if event_type:
            if event_type.endswith("*"):
                events = [e for e in events if e["event_type"].startswith(event_type[:-1])]
            else:
                events = [e for e in events if e["event_type"] == event_type]
        resource = ctx.req.arg("resource_uuid")
        if resource:
            events = [e for e in events if e["resource_uuid"] == resource]
        raw_limit = ctx.req.arg("limit") or "25"
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
            raise HttpError(422, "invalid_attribute_value", "limit must be 1-100", "limit")
        if ctx.req.arg("sort_order") == "desc":
            events.reverse()
        return Response.json(200, events[: int(raw_limit)])

    # ---- admin (not Gusto) -----------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        with self.lock:
            companies = []
            for cu in self.company_order:
                c = self.companies[cu]
                companies.append(
                    {
                        "uuid": c.uuid,
                        "name": c.name,
                        "employees": len(c.employees),
                        "departments": [{"uuid": d.uuid, "title": d.title} for d in c.departments],
                        "locations": [
                            {"uuid": x.uuid, "city": x.city, "state": x.state} for x in c.locations
                        ],
                        "contractors": len(c.contractors),
                        "payrolls": [
                            {
                                "uuid": p.uuid,
                                "check_date": p.check_date.isoformat(),
                                "processed": p.processed,
                                "processed_date": (
                                    p.processed_date.isoformat() if p.processed_date else None
                                ),
                                "payroll_type": p.payroll_type,
                                "pay_period": {
                                    "start_date": p.period_start.isoformat(),
                                    "end_date": p.period_end.isoformat(),
                                },
                            }
                            for p in c.payrolls
                        ],
                    }
                )
        return {
            "url": self.base_url(),
            "client_id": self.oauth.client_id,
            "client_secret": self.oauth.client_secret,
            "redirect_uris": list(self.redirect_uris),
            "company_uuids": list(self.company_order),
            "companies": companies,
            "today": self.today.isoformat(),
            "seed": self.seed,
            "token_lifetime": self.oauth.token_lifetime,
            "rate_limit_per_minute": self.rate_limiter.limit,
            "supported_api_versions": list(SUPPORTED_API_VERSIONS),
            "default_api_version": DEFAULT_API_VERSION,
        }

    def admin_info(self, ctx: Ctx) -> Response:
        return Response.json(200, self.info())

    def admin_stats(self, ctx: Ctx) -> Response:
        return Response.json(
            200, {**self.stats.snapshot(), "early_requests": self.rate_limiter.early_requests}
        )

    def admin_get_faults(self, ctx: Ctx) -> Response:
        return Response.json(200, self.faults.snapshot())

    def admin_faults(self, ctx: Ctx) -> Response:
        body = parse_json_object(ctx.req)
        try:
            self.faults.apply(body)
        except ValueError as exc:
            raise HttpError(422, "invalid_attribute_value", str(exc), "faults") from exc
        return Response.json(200, self.faults.snapshot())

    def admin_mint(self, ctx: Ctx) -> Response:
        company_uuid = parse_json_object(ctx.req).get("company_uuid")
        if company_uuid not in self.companies:
            raise HttpError(
                422,
                "invalid_attribute_value",
                f"company_uuid must be one of {', '.join(self.company_order)}",
                "company_uuid",
            )
        record = self.oauth.mint(str(company_uuid))
        return Response.json(
            201, {"company_uuid": company_uuid, "refresh_token": record.refresh_token}
        )

    def _meta_anywhere(self, payroll_uuid: str) -> tuple[Company, PayrollMeta]:
        for company in self.companies.values():
            for meta in company.payrolls:
                if meta.uuid == payroll_uuid:
                    return company, meta
        raise HttpError(404, "not_found", f"Payroll {payroll_uuid} not found")

    def admin_payroll(self, ctx: Ctx) -> Response:
        return Response.json(200, self.admin_payroll_body(ctx.params["payroll_id"]))

    def admin_payroll_body(self, payroll_uuid: str) -> dict[str, Any]:
        """Expected numbers for tests: the payroll with every amount as a string, all pages."""
        company, meta = self._meta_anywhere(payroll_uuid)
        detail = self.detail(company, meta)
        body = render.payroll_header(meta, "2026-06-15")
        if detail is not None:
            body["totals"] = detail.totals
            body["company_taxes"] = detail.company_taxes
            body["employee_compensations"] = detail.employee_compensations
        return body

    def process_payroll(self, payroll_uuid: str) -> dict[str, Any]:
        with self.lock:
            company, meta = self._meta_anywhere(payroll_uuid)
            if meta.processed:
                raise HttpError(
                    422, "invalid_operation", f"Payroll {payroll_uuid} is already processed"
                )
            meta.processed = True
            meta.processed_date = self.today
            self.detail(company, meta)
        deliveries = []
        for event_type in ("payroll.processed", "payroll.paid"):
            event = self.webhooks.event(event_type, "Payroll", meta.uuid, company.uuid)
            deliveries.extend(self.webhooks.broadcast("Payroll", event))
        return {
            "payroll_uuid": meta.uuid,
            "company_uuid": company.uuid,
            "processed": True,
            "deliveries": deliveries,
        }

    def admin_process(self, ctx: Ctx) -> Response:
        return Response.json(200, self.process_payroll(ctx.params["payroll_id"]))

    def amend_payroll(self, payroll_uuid: str, bonus: Decimal) -> dict[str, Any]:
        """Gusto corrects a processed payroll (a bonus paid late to its first employee): gross,
        net and check amounts and the totals move by ``bonus``, consistent to the cent;
        processed_date stays as it was, as Gusto does. Lets tests change a payroll after its
        journal was posted."""
        with self.lock:
            company, meta = self._meta_anywhere(payroll_uuid)
            detail = self.detail(company, meta)
            if detail is None or not detail.employee_compensations:
                raise HttpError(
                    422, "invalid_operation", f"Payroll {payroll_uuid} is not processed"
                )
            comp = detail.employee_compensations[0]
            comp["fixed_compensations"] = [
                *(comp.get("fixed_compensations") or []),
                {"name": "Bonus", "amount": fmt2(bonus), "job_uuid": None},
            ]
            for key in ("gross_pay", "net_pay", "check_amount"):
                comp[key] = fmt2(dec(comp[key]) + bonus)
            detail.totals = self.calc.totals(detail.employee_compensations)
            result = {
                "payroll_uuid": meta.uuid,
                "company_uuid": company.uuid,
                "employee_uuid": comp["employee_uuid"],
                "totals": dict(detail.totals),
            }
        # Gusto announces a change to a payroll with payroll.updated (reference notes, webhooks).
        event = self.webhooks.event("payroll.updated", "Payroll", meta.uuid, company.uuid)
        return {**result, "deliveries": self.webhooks.broadcast("Payroll", event)}

    def admin_amend(self, ctx: Ctx) -> Response:
        """``POST .../amend {"bonus": "12.34"}`` (``.../correct {"amount": ...}`` is the same)."""
        body = parse_json_object(ctx.req)
        raw = body.get("bonus", body.get("amount"))
        try:
            bonus = Decimal(str(raw))
        except ArithmeticError:
            raise HttpError(
                422, "invalid_attribute_value", 'bonus (e.g. "12.34") is required', "bonus"
            ) from None
        if not bonus.is_finite():
            raise HttpError(422, "invalid_attribute_value", "bonus must be finite", "bonus")
        return Response.json(200, self.amend_payroll(ctx.params["payroll_id"], bonus))

    def cancel_payroll(self, payroll_uuid: str) -> dict[str, Any]:
        """Gusto cancels a processed payroll before its funds are debited: unprocessed again."""
        with self.lock:
            company, meta = self._meta_anywhere(payroll_uuid)
            if not meta.processed:
                raise HttpError(
                    422, "invalid_operation", f"Payroll {payroll_uuid} is not processed"
                )
            meta.processed, meta.processed_date, meta.detail = False, None, None
        event = self.webhooks.event("payroll.cancelled", "Payroll", meta.uuid, company.uuid)
        return {"payroll_uuid": meta.uuid, "deliveries": self.webhooks.broadcast("Payroll", event)}

    def admin_cancel(self, ctx: Ctx) -> Response:
        return Response.json(200, self.cancel_payroll(ctx.params["payroll_id"]))

    def terminate(self, employee_uuid: str, effective_date: date) -> dict[str, Any]:
        with self.lock:
            for company in self.companies.values():
                for emp in company.employees:
                    if emp.uuid == employee_uuid:
                        break
                else:
                    continue
                break
            else:
                raise HttpError(404, "not_found", f"Employee {employee_uuid} not found")
            if effective_date < emp.hire_date:
                raise HttpError(
                    422,
                    "invalid_attribute_value",
                    f"effective_date {effective_date} is before the hire date {emp.hire_date}",
                    "effective_date",
                )
            emp.terminations.append(
                Termination(
                    uuid=str(uuid.uuid5(uuid.UUID(emp.uuid), f"termination/{effective_date}")),
                    employee_uuid=emp.uuid,
                    effective_date=effective_date,
                )
            )
            body = render.employee(emp)
        event = self.webhooks.event("employee.terminated", "Employee", emp.uuid, company.uuid)
        body["deliveries"] = self.webhooks.broadcast("Employee", event)
        return body

    def admin_terminate(self, ctx: Ctx) -> Response:
        raw = parse_json_object(ctx.req).get("effective_date")
        try:
            effective = date.fromisoformat(str(raw))
        except ValueError:
            raise HttpError(
                422,
                "invalid_attribute_value",
                "effective_date (YYYY-MM-DD) is required",
                "effective_date",
            ) from None
        return Response.json(200, self.terminate(ctx.params["employee_id"], effective))

    def hire(self, body: dict[str, Any]) -> dict[str, Any]:
        company_uuid = body.get("company_uuid") or self.company_order[0]
        company = self.companies.get(str(company_uuid))
        if company is None:
            raise HttpError(
                422,
                "invalid_attribute_value",
                f"Unknown company_uuid {company_uuid}",
                "company_uuid",
            )
        for key in ("first_name", "last_name"):
            if not isinstance(body.get(key), str) or not body[key].strip():
                raise HttpError(422, "invalid_attribute_value", f"{key} is required", key)
        dept = company.departments[0]
        if body.get("department_uuid") or body.get("department"):
            wanted = body.get("department_uuid") or body.get("department")
            found = [d for d in company.departments if wanted in (d.uuid, d.title)]
            if not found:
                raise HttpError(
                    422,
                    "invalid_attribute_value",
                    f"Unknown department {wanted}",
                    "department_uuid",
                )
            dept = found[0]
        loc = company.locations[0]
        if body.get("location_uuid"):
            matches = [x for x in company.locations if x.uuid == body["location_uuid"]]
            if not matches:
                raise HttpError(
                    422,
                    "invalid_attribute_value",
                    f"Unknown location_uuid {body['location_uuid']}",
                    "location_uuid",
                )
            loc = matches[0]
        pay_type = body.get("pay_type", "hourly")
        if pay_type not in ("hourly", "salary"):
            raise HttpError(
                422, "invalid_attribute_value", "pay_type must be hourly or salary", "pay_type"
            )
        try:
            rate = Decimal(str(body.get("rate", "25.17" if pay_type == "hourly" else "65000")))
            hire_date = date.fromisoformat(str(body.get("hire_date", self.today.isoformat())))
        except (ArithmeticError, ValueError):
            raise HttpError(
                422,
                "invalid_attribute_value",
                "rate must be a decimal string and hire_date YYYY-MM-DD",
                "rate",
            ) from None
        with self.lock:
            index = len(company.employees)
            eu = str(
                uuid.uuid5(
                    uuid.UUID(company.uuid),
                    f"hire/{index}/{body['first_name']}/{body['last_name']}",
                )
            )
            emp = Employee(
                uuid=eu,
                company_uuid=company.uuid,
                first_name=body["first_name"],
                last_name=body["last_name"],
                email=body.get("email") or f"new.hire.{index}@example.com",
                department=dept,
                location=loc,
                job_uuid=str(uuid.uuid5(uuid.UUID(eu), "job")),
                compensation_uuid=str(uuid.uuid5(uuid.UUID(eu), "compensation")),
                title=str(body.get("title", "New Hire")),
                pay_type=pay_type,
                rate=rate,
                hire_date=hire_date,
                payment_method="Direct Deposit",
                date_of_birth=date(1990, 1, 1),
                fit_rate=Decimal("0.1"),
                plan=BenefitPlan(),
            )
            company.employees.append(emp)
            result = render.employee(emp)
        event = self.webhooks.event("employee.created", "Employee", emp.uuid, company.uuid)
        result["deliveries"] = self.webhooks.broadcast("Employee", event)
        return result

    def admin_hire(self, ctx: Ctx) -> Response:
        return Response.json(201, self.hire(parse_json_object(ctx.req)))

    def deliver(self, body: dict[str, Any]) -> dict[str, Any]:
        url = body.get("url")
        if not isinstance(url, str):
            raise HttpError(422, "invalid_attribute_value", "url is required", "url")
        sub = self.webhooks.for_url(url)
        if sub is None:
            raise HttpError(
                422,
                "invalid_attribute_value",
                f"No webhook subscription for {url}; create one with POST "
                "/v1/webhook_subscriptions first",
                "url",
            )
        missing = [k for k in ("event_type", "entity_type", "entity_uuid") if not body.get(k)]
        if missing:
            raise HttpError(
                422, "invalid_attribute_value", f"Missing {', '.join(missing)}", missing[0]
            )
        duplicate = body.get("duplicate", 0)
        if not isinstance(duplicate, int) or isinstance(duplicate, bool) or duplicate < 0:
            raise HttpError(
                422,
                "invalid_attribute_value",
                "duplicate must be a non-negative integer",
                "duplicate",
            )
        company_uuid = str(body.get("company_uuid") or self.company_order[0])
        event = self.webhooks.event(
            str(body["event_type"]),
            str(body["entity_type"]),
            str(body["entity_uuid"]),
            company_uuid,
        )
        signature, results = self.webhooks.deliver(
            sub, event, forge=bool(body.get("forge")), copies=1 + duplicate
        )
        return {
            "event": event,
            "signature": signature,
            "subscription_uuid": sub.uuid,
            "deliveries": [r.public() for r in results],
        }

    def admin_deliver(self, ctx: Ctx) -> Response:
        return Response.json(200, self.deliver(parse_json_object(ctx.req)))


def hmac_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
