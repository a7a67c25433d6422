"""Company data routes (company token): the company, its employees and their terminations,
departments, locations, pay schedules, contractors and contractor payments."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, TypeVar

from gd_sandbox.gusto import render
from gd_sandbox.gusto.http_types import HttpError, Response
from gd_sandbox.gusto.model import Company, Contractor, Location
from gd_sandbox.gusto.money import ZERO, fmt1
from gd_sandbox.gusto.routes import access, base
from gd_sandbox.gusto.routes.base import (
    DEFAULT_MAX_PER,
    Ctx,
    Handler,
    RouteSpec,
    SandboxState,
    page_response,
    paginate,
    truthy,
)

_Owned = TypeVar("_Owned", Location, Contractor)


class CompanyRoutes:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[RouteSpec]:
        company = "/v1/companies/{company_id}"
        table: list[tuple[str, Handler]] = [
            (company, self.get_company),
            (f"{company}/employees", self.list_employees),
            ("/v1/employees/{employee_id}", self.get_employee),
            ("/v1/employees/{employee_id}/terminations", self.list_terminations),
            (f"{company}/departments", self.list_departments),
            ("/v1/departments/{department_id}", self.get_department),
            (f"{company}/locations", self.list_locations),
            ("/v1/locations/{location_id}", self.get_location),
            (f"{company}/pay_schedules", self.list_pay_schedules),
            (f"{company}/contractors", self.list_contractors),
            ("/v1/contractors/{contractor_id}", self.get_contractor),
            (f"{company}/contractor_payments", self.list_contractor_payments),
            (f"{company}/contractor_payments/{{payment_id}}", self.get_contractor_payment),
        ]
        return [RouteSpec("GET", template, handler, "api") for template, handler in table]

    def get_company(self, ctx: Ctx) -> Response:
        return Response.json(200, render.company(access.company(self.state, ctx), self.state.seed))

    def list_employees(self, ctx: Ctx) -> Response:
        company = access.company(self.state, ctx)
        with self.state.lock:
            people = list(company.employees)
        terminated = ctx.req.arg("terminated")
        if terminated is not None:
            people = [e for e in people if e.terminated == truthy(terminated)]
        location = ctx.req.arg("location_uuid")
        if location:
            people = [e for e in people if e.location.uuid == location]
        chunk, headers = paginate(ctx, people, DEFAULT_MAX_PER)
        return Response.json(200, [render.employee(e) for e in chunk], headers)

    def get_employee(self, ctx: Ctx) -> Response:
        employee = access.find_employee(self.state, ctx, ctx.params["employee_id"])
        return Response.json(200, render.employee(employee))

    def list_terminations(self, ctx: Ctx) -> Response:
        employee = access.find_employee(self.state, ctx, ctx.params["employee_id"])
        return Response.json(200, [render.termination(t) for t in employee.terminations])

    def list_departments(self, ctx: Ctx) -> Response:
        company = access.company(self.state, ctx)
        with self.state.lock:
            items = [render.department(d, company) for d in company.departments]
        return page_response(ctx, items)

    def get_department(self, ctx: Ctx) -> Response:
        company, dept = access.find_owned(
            self.state, ctx, "Department", ctx.params["department_id"], lambda c: c.departments
        )
        return Response.json(200, render.department(dept, company))

    def list_locations(self, ctx: Ctx) -> Response:
        company = access.company(self.state, ctx)
        return page_response(ctx, [render.location(x) for x in company.locations])

    def get_location(self, ctx: Ctx) -> Response:
        return self._show_owned(ctx, "Location", lambda c: c.locations, render.location)

    def list_pay_schedules(self, ctx: Ctx) -> Response:
        company = access.company(self.state, ctx)
        return page_response(
            ctx, [render.pay_schedule(s, ctx.version) for s in company.pay_schedules]
        )

    def list_contractors(self, ctx: Ctx) -> Response:
        company = access.company(self.state, ctx)
        return page_response(ctx, [render.contractor(k) for k in company.contractors])

    def get_contractor(self, ctx: Ctx) -> Response:
        return self._show_owned(ctx, "Contractor", lambda c: c.contractors, render.contractor)

    def _show_owned(
        self,
        ctx: Ctx,
        kind: str,
        items: Callable[[Company], Iterable[_Owned]],
        show: Callable[[_Owned], dict[str, Any]],
    ) -> Response:
        """A location or contractor by its ``<kind>_id``, of a company the token may read."""
        param = ctx.params[f"{kind.lower()}_id"]
        _, item = access.find_owned(self.state, ctx, kind, param, items)
        return Response.json(200, show(item))

    def list_contractor_payments(self, ctx: Ctx) -> Response:
        """Gusto's summary object (totals, then payments grouped by contractor or by date):
        not a list, so not paginated."""
        company = access.company(self.state, ctx)
        end = base.parse_date(ctx, "end_date", self.state.today)
        assert end is not None
        start, end = base.date_window(
            base.parse_date(ctx, "start_date", base.shift_months(end, -12)), end
        )
        contractor_filter = ctx.req.arg("contractor_uuid")
        by_date = truthy(ctx.req.arg("group_by_date"))
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
        company = access.company(self.state, ctx)
        for payment in company.contractor_payments:
            if payment.uuid == ctx.params["payment_id"]:
                return Response.json(200, render.contractor_payment(payment))
        raise HttpError(
            404, "not_found", f"Contractor payment {ctx.params['payment_id']} not found"
        )
