"""`/_sandbox/...` admin routes (not Gusto's, no token) and the data changes behind them, which
`GustoSandbox` also offers as methods: process, amend or cancel a payroll, hire or terminate an
employee, deliver a webhook. Each change sends the webhook events Gusto would."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from gd_sandbox.gusto import render
from gd_sandbox.gusto.http_types import HttpError, Response, parse_json_object
from gd_sandbox.gusto.model import BenefitPlan, Employee, Termination
from gd_sandbox.gusto.money import dec, fmt2
from gd_sandbox.gusto.routes.base import (
    DEFAULT_API_VERSION,
    SUPPORTED_API_VERSIONS,
    Ctx,
    RouteSpec,
    SandboxState,
)

# The newest version renders every amount as a string: the exact expected numbers for tests.
EXPECTED_VERSION = "2026-06-15"


def _bad(message: str, key: str) -> HttpError:
    return HttpError(422, "invalid_attribute_value", message, key)


class AdminRoutes:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[RouteSpec]:
        payroll = "/_sandbox/payrolls/{payroll_id}"
        return [
            RouteSpec("GET", "/_sandbox/info", self.admin_info, "open"),
            RouteSpec("GET", "/_sandbox/stats", self.admin_stats, "open"),
            RouteSpec("GET", "/_sandbox/faults", self.admin_get_faults, "open"),
            RouteSpec("POST", "/_sandbox/faults", self.admin_faults, "open"),
            RouteSpec("POST", "/_sandbox/refresh_tokens", self.admin_mint, "open"),
            RouteSpec("GET", payroll, self.admin_payroll, "open"),
            RouteSpec("POST", payroll + "/process", self.admin_process, "open"),
            RouteSpec("POST", payroll + "/amend", self.admin_amend, "open"),
            RouteSpec("POST", payroll + "/correct", self.admin_amend, "open"),
            RouteSpec("POST", payroll + "/cancel", self.admin_cancel, "open"),
            RouteSpec(
                "POST", "/_sandbox/employees/{employee_id}/terminate", self.admin_terminate, "open"
            ),
            RouteSpec("POST", "/_sandbox/employees", self.admin_hire, "open"),
            RouteSpec("POST", "/_sandbox/webhooks/deliver", self.admin_deliver, "open"),
        ]

    # ---- reading -------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        state = self.state
        with state.lock:
            companies = []
            for cu in state.company_order:
                c = state.companies[cu]
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
            "url": state.base_url(),
            "client_id": state.oauth.client_id,
            "client_secret": state.oauth.client_secret,
            "redirect_uris": list(state.redirect_uris),
            "company_uuids": list(state.company_order),
            "companies": companies,
            "today": state.today.isoformat(),
            "seed": state.seed,
            "token_lifetime": state.oauth.token_lifetime,
            "rate_limit_per_minute": state.rate_limiter.limit,
            "supported_api_versions": list(SUPPORTED_API_VERSIONS),
            "default_api_version": DEFAULT_API_VERSION,
        }

    def admin_info(self, ctx: Ctx) -> Response:
        return Response.json(200, self.info())

    def admin_stats(self, ctx: Ctx) -> Response:
        stats = self.state.stats.snapshot()
        return Response.json(
            200, {**stats, "early_requests": self.state.rate_limiter.early_requests}
        )

    def admin_get_faults(self, ctx: Ctx) -> Response:
        return Response.json(200, self.state.faults.snapshot())

    def admin_faults(self, ctx: Ctx) -> Response:
        body = parse_json_object(ctx.req)
        try:
            self.state.faults.apply(body)
        except ValueError as exc:
            raise _bad(str(exc), "faults") from exc
        return Response.json(200, self.state.faults.snapshot())

    def admin_mint(self, ctx: Ctx) -> Response:
        state = self.state
        company_uuid = parse_json_object(ctx.req).get("company_uuid")
        if company_uuid not in state.companies:
            raise _bad(
                f"company_uuid must be one of {', '.join(state.company_order)}", "company_uuid"
            )
        record = state.oauth.mint(str(company_uuid))
        return Response.json(
            201, {"company_uuid": company_uuid, "refresh_token": record.refresh_token}
        )

    def admin_payroll(self, ctx: Ctx) -> Response:
        return Response.json(200, self.payroll_expected(ctx.params["payroll_id"]))

    def payroll_expected(self, payroll_uuid: str) -> dict[str, Any]:
        """Expected numbers for tests: the payroll with every amount as a string, all pages."""
        company, meta = self.state.meta_anywhere(payroll_uuid)
        detail = self.state.detail(company, meta)
        body = render.payroll_header(meta, EXPECTED_VERSION)
        if detail is not None:
            body["totals"] = detail.totals
            body["company_taxes"] = detail.company_taxes
            body["employee_compensations"] = detail.employee_compensations
        return body

    # ---- payrolls ------------------------------------------------------------------------

    def process_payroll(self, payroll_uuid: str) -> dict[str, Any]:
        state = self.state
        with state.lock:
            company, meta = state.meta_anywhere(payroll_uuid)
            if meta.processed:
                raise HttpError(
                    422, "invalid_operation", f"Payroll {payroll_uuid} is already processed"
                )
            meta.processed = True
            meta.processed_date = state.today
            state.detail(company, meta)
        deliveries = []
        for event_type in ("payroll.processed", "payroll.paid"):
            event = state.webhooks.event(event_type, "Payroll", meta.uuid, company.uuid)
            deliveries.extend(state.webhooks.broadcast("Payroll", event))
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
        state = self.state
        with state.lock:
            company, meta = state.meta_anywhere(payroll_uuid)
            detail = state.detail(company, meta)
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
            detail.totals = state.calc.totals(detail.employee_compensations)
            result = {
                "payroll_uuid": meta.uuid,
                "company_uuid": company.uuid,
                "employee_uuid": comp["employee_uuid"],
                "totals": dict(detail.totals),
            }
        # Gusto announces a change to a payroll with payroll.updated (reference notes, webhooks).
        event = state.webhooks.event("payroll.updated", "Payroll", meta.uuid, company.uuid)
        return {**result, "deliveries": state.webhooks.broadcast("Payroll", event)}

    def admin_amend(self, ctx: Ctx) -> Response:
        """``POST .../amend {"bonus": "12.34"}`` (``.../correct {"amount": ...}`` is the same)."""
        body = parse_json_object(ctx.req)
        raw = body.get("bonus", body.get("amount"))
        try:
            bonus = Decimal(str(raw))
        except ArithmeticError:
            raise _bad('bonus (e.g. "12.34") is required', "bonus") from None
        if not bonus.is_finite():
            raise _bad("bonus must be finite", "bonus")
        return Response.json(200, self.amend_payroll(ctx.params["payroll_id"], bonus))

    def cancel_payroll(self, payroll_uuid: str) -> dict[str, Any]:
        """Gusto cancels a processed payroll before its funds are debited: unprocessed again."""
        state = self.state
        with state.lock:
            company, meta = state.meta_anywhere(payroll_uuid)
            if not meta.processed:
                raise HttpError(
                    422, "invalid_operation", f"Payroll {payroll_uuid} is not processed"
                )
            meta.processed, meta.processed_date, meta.detail = False, None, None
        event = state.webhooks.event("payroll.cancelled", "Payroll", meta.uuid, company.uuid)
        return {"payroll_uuid": meta.uuid, "deliveries": state.webhooks.broadcast("Payroll", event)}

    def admin_cancel(self, ctx: Ctx) -> Response:
        return Response.json(200, self.cancel_payroll(ctx.params["payroll_id"]))

    # ---- employees -----------------------------------------------------------------------

    def terminate(self, employee_uuid: str, effective_date: date) -> dict[str, Any]:
        state = self.state
        with state.lock:
            found = [
                (company, emp)
                for company in state.companies.values()
                for emp in company.employees
                if emp.uuid == employee_uuid
            ]
            if not found:
                raise HttpError(404, "not_found", f"Employee {employee_uuid} not found")
            company, emp = found[0]
            if effective_date < emp.hire_date:
                raise _bad(
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
        event = state.webhooks.event("employee.terminated", "Employee", emp.uuid, company.uuid)
        body["deliveries"] = state.webhooks.broadcast("Employee", event)
        return body

    def admin_terminate(self, ctx: Ctx) -> Response:
        raw = parse_json_object(ctx.req).get("effective_date")
        try:
            effective = date.fromisoformat(str(raw))
        except ValueError:
            raise _bad("effective_date (YYYY-MM-DD) is required", "effective_date") from None
        return Response.json(200, self.terminate(ctx.params["employee_id"], effective))

    def hire(self, body: dict[str, Any]) -> dict[str, Any]:
        state = self.state
        company_uuid = body.get("company_uuid") or state.company_order[0]
        company = state.companies.get(str(company_uuid))
        if company is None:
            raise _bad(f"Unknown company_uuid {company_uuid}", "company_uuid")
        for key in ("first_name", "last_name"):
            if not isinstance(body.get(key), str) or not body[key].strip():
                raise _bad(f"{key} is required", key)
        dept = company.departments[0]
        if body.get("department_uuid") or body.get("department"):
            wanted = body.get("department_uuid") or body.get("department")
            found = [d for d in company.departments if wanted in (d.uuid, d.title)]
            if not found:
                raise _bad(f"Unknown department {wanted}", "department_uuid")
            dept = found[0]
        loc = company.locations[0]
        if body.get("location_uuid"):
            matches = [x for x in company.locations if x.uuid == body["location_uuid"]]
            if not matches:
                raise _bad(f"Unknown location_uuid {body['location_uuid']}", "location_uuid")
            loc = matches[0]
        pay_type = body.get("pay_type", "hourly")
        if pay_type not in ("hourly", "salary"):
            raise _bad("pay_type must be hourly or salary", "pay_type")
        try:
            rate = Decimal(str(body.get("rate", "25.17" if pay_type == "hourly" else "65000")))
            hire_date = date.fromisoformat(str(body.get("hire_date", state.today.isoformat())))
        except (ArithmeticError, ValueError):
            raise _bad("rate must be a decimal string and hire_date YYYY-MM-DD", "rate") from None
        with state.lock:
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
        event = state.webhooks.event("employee.created", "Employee", emp.uuid, company.uuid)
        result["deliveries"] = state.webhooks.broadcast("Employee", event)
        return result

    def admin_hire(self, ctx: Ctx) -> Response:
        return Response.json(201, self.hire(parse_json_object(ctx.req)))

    # ---- webhooks ------------------------------------------------------------------------

    def deliver(self, body: dict[str, Any]) -> dict[str, Any]:
        """One event to one subscription, optionally with a forged signature or duplicated
        (for tests of a receiver's signature check and idempotence)."""
        state = self.state
        url = body.get("url")
        if not isinstance(url, str):
            raise _bad("url is required", "url")
        sub = state.webhooks.for_url(url)
        if sub is None:
            raise _bad(
                f"No webhook subscription for {url}; create one with POST "
                "/v1/webhook_subscriptions first",
                "url",
            )
        missing = [k for k in ("event_type", "entity_type", "entity_uuid") if not body.get(k)]
        if missing:
            raise _bad(f"Missing {', '.join(missing)}", missing[0])
        duplicate = body.get("duplicate", 0)
        if not isinstance(duplicate, int) or isinstance(duplicate, bool) or duplicate < 0:
            raise _bad("duplicate must be a non-negative integer", "duplicate")
        company_uuid = str(body.get("company_uuid") or state.company_order[0])
        event = state.webhooks.event(
            str(body["event_type"]),
            str(body["entity_type"]),
            str(body["entity_uuid"]),
            company_uuid,
        )
        signature, results = state.webhooks.deliver(
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
