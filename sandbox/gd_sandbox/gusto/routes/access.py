"""Auth checks of the `/v1` routes, in Gusto's order: API version (406), bearer token (401),
rate limit (429), token kind (403), then the route; and the per-company ownership checks that
routes make on the resources they read (403 for another company's, 404 for none)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

from gd_sandbox.gusto.http_types import HttpError, Response, gusto_error
from gd_sandbox.gusto.model import Company, Employee
from gd_sandbox.gusto.oauth import TokenRecord
from gd_sandbox.gusto.routes.base import (
    DEFAULT_API_VERSION,
    SUPPORTED_API_VERSIONS,
    Ctx,
    RouteSpec,
    SandboxState,
)

VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _HasUuid(Protocol):
    @property
    def uuid(self) -> str: ...


_Item = TypeVar("_Item", bound=_HasUuid)


def run_guarded(state: SandboxState, route: RouteSpec, ctx: Ctx) -> Response:
    """Run ``route`` behind the checks its kind asks for; every answer past the version check
    echoes the applied version, and every answer past the token check carries the
    ``X-RateLimit-*`` headers."""
    if route.kind == "open":
        return route.handler(ctx)
    version_error = check_version(ctx)
    if version_error is not None:
        return version_error
    echo = {"X-Gusto-API-Version": ctx.version}
    token = bearer(state, ctx)
    if isinstance(token, Response):
        token.headers.update(echo)
        return token
    ctx.token = token
    limiter = state.rate_limiter
    allowed, remaining, reset_in = limiter.hit(token.grant_id)
    if not allowed:
        headers = {
            **limiter.headers(0, reset_in),
            **echo,
            "Retry-After": limiter.retry_after(reset_in),
        }
        return gusto_error(
            429,
            "rate_limit_exceeded",
            f"Rate limit of {limiter.limit} requests per "
            f"{int(limiter.window)} s exceeded for this token",
            headers=headers,
        )
    ctx.extra_headers.update(limiter.headers(remaining, reset_in))
    ctx.extra_headers.update(echo)
    if route.kind == "api" and token.company_uuid is None:
        response = gusto_error(
            403,
            "missing_permissions",
            "A system access token cannot read company data; use the company's OAuth access token",
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


def check_version(ctx: Ctx) -> Response | None:
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


def bearer(state: SandboxState, ctx: Ctx) -> TokenRecord | Response:
    auth = ctx.req.header("Authorization") or ""
    scheme, _, value = auth.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return unauthorized("Missing access token: send `Authorization: Bearer <token>`")
    check = state.oauth.authenticate(value.strip())
    if check.record is None:
        return unauthorized(check.problem or "The access token is invalid")
    return check.record


def unauthorized(message: str) -> Response:
    return gusto_error(
        401,
        "invalid_token",
        message,
        headers={
            "WWW-Authenticate": f'Bearer realm="Doorkeeper", error="invalid_token", '
            f'error_description="{message}"'
        },
    )


# ---- ownership -----------------------------------------------------------------------------


def company(state: SandboxState, ctx: Ctx) -> Company:
    """The route's ``{company_id}``, if the token belongs to it."""
    return owned(state, ctx, ctx.params["company_id"])


def owned(state: SandboxState, ctx: Ctx, company_uuid: str) -> Company:
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
    found = state.companies.get(company_uuid)
    if found is None:
        raise HttpError(404, "not_found", f"Company {company_uuid} not found")
    return found


def find_owned(
    state: SandboxState,
    ctx: Ctx,
    kind: str,
    uuid: str,
    items: Callable[[Company], Iterable[_Item]],
) -> tuple[Company, _Item]:
    """An employee, department, location or contractor of a company the token may read."""
    with state.lock:
        for candidate in state.companies.values():
            for item in items(candidate):
                if item.uuid == uuid:
                    owned(state, ctx, candidate.uuid)
                    return candidate, item
    raise HttpError(404, "not_found", f"{kind} {uuid} not found")


def find_employee(state: SandboxState, ctx: Ctx, employee_uuid: str) -> Employee:
    return find_owned(state, ctx, "Employee", employee_uuid, lambda c: c.employees)[1]
