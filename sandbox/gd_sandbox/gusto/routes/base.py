"""What every route group shares: the sandbox's state, the request context, route records,
query-parameter parsing and pagination (the one place each lives)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from gd_sandbox.gusto.controls import Faults, RateLimiter, Stats
from gd_sandbox.gusto.http_types import HttpError, Request, Response
from gd_sandbox.gusto.model import Company, PayrollDetail, PayrollMeta
from gd_sandbox.gusto.oauth import OAuthState, TokenRecord
from gd_sandbox.gusto.payroll_calc import PayrollCalculator
from gd_sandbox.gusto.webhooks import Webhooks

WINDOW_RULES = ("contained", "period_end")
SUPPORTED_API_VERSIONS = ("2025-06-15", "2025-11-15", "2026-02-01", "2026-06-15")
DEFAULT_API_VERSION = "2025-06-15"
PAYROLL_MAX_PER = 100
DEFAULT_MAX_PER = 500
DEFAULT_PER = 25
# Who may call a route: "api" (bearer, company token), "system" (bearer, app token),
# "any" (bearer of either kind), "open" (no token: OAuth endpoints and /_sandbox admin).
KINDS = ("api", "system", "any", "open")


@dataclass
class Ctx:
    req: Request
    params: dict[str, str]
    version: str = DEFAULT_API_VERSION
    token: TokenRecord | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Ctx], Response]


@dataclass(frozen=True)
class RouteSpec:
    """One route as a group declares it; ``template`` uses ``{name}`` placeholders and is also
    the route's name in ``stats.per_route`` (``"GET /v1/companies/{company_id}"``)."""

    method: str
    template: str
    handler: Handler
    kind: str

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


class SandboxState:
    """The sandbox's data and switches, shared by every route group.

    ``lock`` guards the mutable seed (employees hired or terminated, payrolls processed,
    amended or cancelled, lazily computed payroll details) against concurrent clients: the
    server answers each connection on its own thread.
    """

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
        window_rule: str,
        company_level_taxes: dict[str, str] | None,
    ) -> None:
        if window_rule not in WINDOW_RULES:
            raise ValueError(f"window_rule must be one of {WINDOW_RULES}")
        self.seed, self.today, self.window_rule = seed, today, window_rule
        self.companies = {c.uuid: c for c in companies}
        self.company_order = [c.uuid for c in companies]
        # The server's controls, shared with it: it owns them and reports them as its own.
        self.oauth, self.rate_limiter, self.faults, self.stats = oauth, rate_limiter, faults, stats
        self.redirect_uris, self.base_url = redirect_uris, base_url
        self.calc = PayrollCalculator(seed, company_level_taxes)
        self.webhooks = Webhooks(stats)
        self.lock = threading.RLock()

    def detail(self, company: Company, meta: PayrollMeta) -> PayrollDetail | None:
        """A processed payroll's amounts, computed on first use (the seed has a year of them)."""
        if not meta.processed:
            return None
        with self.lock:
            if meta.detail is None:
                meta.detail = self.calc.compute(company, meta)
            return meta.detail

    def meta_anywhere(self, payroll_uuid: str) -> tuple[Company, PayrollMeta]:
        """A payroll of any company (admin routes act without a company's token)."""
        for company in self.companies.values():
            for meta in company.payrolls:
                if meta.uuid == payroll_uuid:
                    return company, meta
        raise HttpError(404, "not_found", f"Payroll {payroll_uuid} not found")


# ---- query parameters ----------------------------------------------------------------------


def shift_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def parse_date(ctx: Ctx, name: str, default: date | None) -> date | None:
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


def date_window(start: date | None, end: date | None) -> tuple[date, date]:
    """A ``start_date``..``end_date`` window of a list, which may not run backwards."""
    assert start is not None and end is not None
    if start > end:
        raise HttpError(
            422,
            "invalid_attribute_value",
            f"start_date {start} is after end_date {end}",
            "start_date",
        )
    return start, end


def csv(ctx: Ctx, name: str, allowed: tuple[str, ...], default: tuple[str, ...]) -> set[str]:
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


def truthy(raw: str | None) -> bool:
    return (raw or "").lower() in ("true", "1", "yes")


# ---- pagination ----------------------------------------------------------------------------


def paginate(ctx: Ctx, items: list[Any], maximum: int) -> tuple[list[Any], dict[str, str]]:
    """One page of ``items`` and its ``X-Page``/``X-Per-Page``/``X-Total-*`` headers: every list
    paginates, asked to or not; ``per`` larger than ``maximum`` is clamped, never rejected."""

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


def page_response(ctx: Ctx, items: list[Any], maximum: int = DEFAULT_MAX_PER) -> Response:
    chunk, headers = paginate(ctx, items, maximum)
    return Response.json(200, chunk, headers)
