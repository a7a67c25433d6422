"""The company and its people and reference data: companies, employees, departments, locations,
pay schedules."""

from __future__ import annotations

import typing as t
from decimal import Decimal

from tap_gusto import refresh, schemas
from tap_gusto.client import GustoStream
from tap_gusto.errors import GustoAPIError
from tap_gusto.money import FieldSpec, Kind, of_kind
from tap_gusto.streams.paged import PagedFetchMixin

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


def company_list(
    name: str, schema: dict[str, t.Any], decimal_fields: tuple[FieldSpec, ...] = ()
) -> type[GustoStream]:
    """The stream of a plain list of one company's objects keyed by ``uuid``, read by the SDK's
    paginated request at ``/v1/companies/{company_uuid}/<name>``."""
    attributes = {
        "__module__": __name__,
        "name": name,
        "path": f"/v1/companies/{{company_uuid}}/{name}",
        "primary_keys": ("uuid",),
        "schema": schema,
        "decimal_fields": decimal_fields,
    }
    title = "".join(word.title() for word in name.split("_")) + "Stream"
    return t.cast("type[GustoStream]", type(title, (GustoStream,), attributes))


class CompaniesStream(GustoStream):
    name = "companies"
    path = "/v1/companies/{company_uuid}"
    primary_keys = ("uuid",)
    records_jsonpath = "$"
    paginated = False
    schema = schemas.COMPANIES
    decimal_fields: t.ClassVar[tuple[FieldSpec, ...]] = (
        ("compensations.hourly[].multiple", Kind.RATE),
    )


DepartmentsStream = company_list("departments", schemas.DEPARTMENTS)
LocationsStream = company_list("locations", schemas.LOCATIONS)
PaySchedulesStream = company_list("pay_schedules", schemas.PAY_SCHEDULES)


class EmployeesStream(PagedFetchMixin):
    name = "employees"
    path = "/v1/companies/{company_uuid}/employees"
    primary_keys = ("uuid",)
    schema = schemas.EMPLOYEES
    decimal_fields: t.ClassVar[tuple[FieldSpec, ...]] = of_kind(
        Kind.RATE,
        "jobs[].rate",
        "jobs[].compensations[].rate",
        "jobs[].compensations[].minimum_wages[].wage",
        "eligible_paid_time_off[].accrual_rate",
        "eligible_paid_time_off[].accrual_balance",
        "eligible_paid_time_off[].maximum_accrual_balance",
    )

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # Companies whose employees this run has not read (refresh.py): the payrolls stream
        # reads them before emitting a payroll of one (read_before_payroll).
        self.unread: set[str] = set()
        self._payroll_ahead: set[str] = set()

    def company_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        company = str((context or {})["company_uuid"])
        state = self.get_context_state(context)
        gusto_today = self.today(context)
        why = refresh.read_due(
            self.gusto_tap.employees_refresh(),
            state,
            gusto_today,
            payroll_ahead=company in self._payroll_ahead,
        )
        if why is None:
            self.unread.add(company)
            self.logger.info(
                "Employees of company %s not read again: read on Gusto's day %s already "
                "(employees_refresh=daily); they are read before any payroll is emitted.",
                company,
                state.get(refresh.READ_ON_KEY),
            )
            return
        self.logger.info("Reading the employees of company %s: %s.", company, why)
        self.unread.discard(company)
        yield from super().company_records(context)
        # Only a complete read counts (a failure above leaves the last day in place).
        state[refresh.READ_ON_KEY] = gusto_today.isoformat()

    def read_before_payroll(self, context: Context | None) -> None:
        """Read (and emit) the company's employees now if this run has not read them."""
        company = str((context or {})["company_uuid"])
        if company not in self.unread or not self.selected:
            return
        self._payroll_ahead.add(company)
        try:
            self.sync(dict(context or {}))
        finally:
            self._payroll_ahead.discard(company)
        if company in self.gusto_tap.partition_failures:
            raise GustoAPIError(
                f"The employees of company {company} could not be read before its payrolls; "
                "no payroll is emitted without them. Run the sync again."
            )

    def post_process(
        self, row: dict[str, t.Any], context: Context | None = None
    ) -> dict[str, t.Any] | None:
        # The list embeds terminations; fetch them only if a terminated employee lacks them.
        if row.get("terminated") and not row.get("terminations"):
            response = self.fetch(context, f"/v1/employees/{row['uuid']}/terminations", {})
            body = response.json(parse_float=Decimal)
            row["terminations"] = body if isinstance(body, list) else []
        return super().post_process(row, context)
