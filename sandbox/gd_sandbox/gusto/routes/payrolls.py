"""Payroll routes (company token): the payroll list, one payroll, and pay periods.

List windows follow Gusto's documented rule strictly by default (``window_rule="contained"``):
`start_date`/`end_date` select payrolls "whose pay period is after the start date" and "before
the end date", i.e. the whole period inside the window, so a payroll whose period straddles an
edge is in neither of two back-to-back windows. With `date_filter_by=check_date` only processed
regular payrolls are selected, by check date. ``window_rule="period_end"`` is the older lenient
mode (period END inside the window). Windows are at most one year long and end at most three
months after the sandbox's ``today`` (else 422).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from gd_sandbox.gusto import render
from gd_sandbox.gusto.http_types import HttpError, Response
from gd_sandbox.gusto.model import Company, PayrollMeta
from gd_sandbox.gusto.routes import access
from gd_sandbox.gusto.routes.base import (
    PAYROLL_MAX_PER,
    Ctx,
    RouteSpec,
    SandboxState,
    csv,
    date_window,
    page_response,
    paginate,
    parse_date,
    shift_months,
    truthy,
)

LIST_INCLUDES = ("taxes", "payroll_status_meta", "totals", "risk_blockers", "reversals")
SHOW_INCLUDES = ("benefits", "deductions", *LIST_INCLUDES, "payroll_taxes")


class PayrollRoutes:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[RouteSpec]:
        return [
            RouteSpec(
                "GET", "/v1/companies/{company_id}/pay_periods", self.list_pay_periods, "api"
            ),
            RouteSpec("GET", "/v1/companies/{company_id}/payrolls", self.list_payrolls, "api"),
            RouteSpec(
                "GET", "/v1/companies/{company_id}/payrolls/{payroll_id}", self.get_payroll, "api"
            ),
        ]

    def _window(self, ctx: Ctx, default_start: date) -> tuple[date, date]:
        today = self.state.today
        start, end = date_window(
            parse_date(ctx, "start_date", default_start), parse_date(ctx, "end_date", today)
        )
        if end > shift_months(start, 12):
            raise HttpError(
                422,
                "invalid_attribute_value",
                f"start_date and end_date must be at most one year apart (got {start} to {end})",
                "end_date",
            )
        if end > shift_months(today, 3):
            raise HttpError(
                422,
                "invalid_attribute_value",
                f"end_date {end} may be at most three months in the future (today is {today})",
                "end_date",
            )
        return start, end

    def _period_in_window(self, meta: PayrollMeta, start: date, end: date) -> bool:
        if self.state.window_rule == "period_end":
            return start <= meta.period_end <= end
        return start <= meta.period_start and meta.period_end <= end

    def list_pay_periods(self, ctx: Ctx) -> Response:
        company = access.company(self.state, ctx)
        start, end = self._window(ctx, shift_months(self.state.today, -6))
        csv(ctx, "payroll_types", ("regular", "transition"), ("regular",))
        items = [
            render.pay_period(p)
            for p in company.payrolls
            if not p.off_cycle and self._period_in_window(p, start, end)
        ]
        return page_response(ctx, items)

    def _selected(self, ctx: Ctx, company: Company) -> list[PayrollMeta]:
        start, end = self._window(ctx, shift_months(self.state.today, -6))
        statuses = csv(ctx, "processing_statuses", ("processed", "unprocessed"), ("processed",))
        legacy_processed = ctx.req.arg("processed")
        if legacy_processed is not None:
            statuses = {"processed" if truthy(legacy_processed) else "unprocessed"}
        types = csv(ctx, "payroll_types", ("regular", "off_cycle", "external"), ("regular",))
        if truthy(ctx.req.arg("include_off_cycle")):
            types.add("off_cycle")
        by_check = ctx.req.arg("date_filter_by") == "check_date"
        selected = []
        with self.state.lock:
            payrolls = list(company.payrolls)
        unlisted = set(self.state.faults.snapshot().get("unlisted_payrolls") or ())
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
        return selected

    def list_payrolls(self, ctx: Ctx) -> Response:
        company = access.company(self.state, ctx)
        # Parameters are checked window, statuses, types, include: a request with several
        # bad ones is told about the same one as before.
        selected = self._selected(ctx, company)
        includes = csv(ctx, "include", LIST_INCLUDES, ())
        items = []
        for meta in selected:
            # Computed first: the header's calculated_at comes from it, and a processed
            # payroll's must not read null on the first listing and a time on the next.
            detail = self.state.detail(company, meta)
            body = render.payroll_header(meta, ctx.version)
            if "payroll_status_meta" not in includes:
                body.pop("payroll_status_meta")
            if "totals" in includes and detail is not None:
                body["totals"] = detail.totals
            items.append(body)
        return page_response(ctx, items, PAYROLL_MAX_PER)

    def get_payroll(self, ctx: Ctx) -> Response:
        company = access.company(self.state, ctx)
        meta = _payroll(company, ctx.params["payroll_id"])
        includes = csv(ctx, "include", SHOW_INCLUDES, ())
        body = render.payroll_header(meta, ctx.version)
        detail = self.state.detail(company, meta)
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
        # A payroll's employee_compensations page like a list; the header repeats on each page.
        chunk, headers = paginate(ctx, comps, PAYROLL_MAX_PER)
        if detail is not None:
            body["employee_compensations"] = [
                render.employee_compensation(
                    c, ctx.version, includes, meta=meta, seed=self.state.seed
                )
                for c in chunk
            ]
        return Response.json(200, body, headers)


def _payroll(company: Company, payroll_uuid: str) -> PayrollMeta:
    for meta in company.payrolls:
        if meta.uuid == payroll_uuid:
            return meta
    raise HttpError(
        404,
        "not_found",
        f"Payroll {payroll_uuid} not found",
        metadata={"entity_type": "Payroll", "entity_uuid": payroll_uuid},
    )
