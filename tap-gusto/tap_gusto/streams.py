"""Gusto streams (names, keys, replication and shapes as in docs/CONTRACTS.md section 4)."""

from __future__ import annotations

import datetime as dt
import typing as t
from decimal import Decimal

from gd_vault.faultpoints import hit

from tap_gusto import schemas
from tap_gusto.client import GustoStream
from tap_gusto.dates import horizon, windows
from tap_gusto.errors import GustoAPIError, IncompletePayrollError
from tap_gusto.money import FieldSpec, Kind

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context

MONEY, HOURS, RATE = Kind.MONEY, Kind.HOURS, Kind.RATE

# State key of the payrolls partition: {payroll_uuid: processed_date} of the payrolls already
# emitted whose processed_date is within the lookback of the bookmark (see PayrollsStream).
EMITTED_KEY = "emitted_payrolls"


class PagedFetchMixin(GustoStream):
    """Helpers for streams that issue their own (windowed / per-item) requests."""

    def fetch(
        self, context: Context | None, path: str, params: dict[str, t.Any]
    ) -> requests.Response:
        prepared = self.build_prepared_request(
            method="GET",
            url=self.connection(context).api_url + path,
            params=params,
            headers=self.http_headers,
        )
        decorated = self.request_decorator(self._request)
        with self.get_http_request_counter() as counter:
            counter.context = context
            response: requests.Response = decorated(prepared, context)
            counter.increment()
        return response

    def pages(
        self,
        context: Context | None,
        path: str,
        params: dict[str, t.Any],
        items: t.Callable[[t.Any], list[t.Any]] | None = None,
    ) -> t.Iterator[tuple[requests.Response, t.Any]]:
        """Every page of a ``page``/``per`` list, with its parsed (Decimal-exact) body.

        ``items`` extracts the paginated list from a body (default: the body itself).
        """
        page = 1
        previous: bytes | None = None
        while True:
            response = self.fetch(context, path, {**params, "page": page, "per": self.page_size})
            total_pages = response.headers.get("X-Total-Pages", "").strip()
            if not total_pages.isdigit() and response.content == previous:
                return  # an endpoint that ignores page/per answered the same page again
            previous = response.content
            body = response.json(parse_float=Decimal)
            yield response, body
            if total_pages.isdigit():
                if page >= int(total_pages):
                    return
            else:
                listed = items(body) if items else body
                if not isinstance(listed, list) or len(listed) < self.page_size:
                    return
            page += 1

    def today(self) -> dt.date:
        return self._tap.today()


def _key_list(key: str) -> t.Callable[[t.Any], list[t.Any]]:
    def extract(body: t.Any) -> list[t.Any]:
        value = body.get(key) if isinstance(body, dict) else None
        return value if isinstance(value, list) else []

    return extract


class CompaniesStream(GustoStream):
    name = "companies"
    path = "/v1/companies/{company_uuid}"
    primary_keys = ("uuid",)
    records_jsonpath = "$"
    paginated = False
    schema = schemas.COMPANIES
    decimal_fields: t.ClassVar[tuple[FieldSpec, ...]] = (("compensations.hourly[].multiple", RATE),)


class EmployeesStream(PagedFetchMixin):
    name = "employees"
    path = "/v1/companies/{company_uuid}/employees"
    primary_keys = ("uuid",)
    schema = schemas.EMPLOYEES
    decimal_fields: t.ClassVar[tuple[FieldSpec, ...]] = (
        ("jobs[].rate", RATE),
        ("jobs[].compensations[].rate", RATE),
        ("jobs[].compensations[].minimum_wages[].wage", RATE),
        ("eligible_paid_time_off[].accrual_rate", RATE),
        ("eligible_paid_time_off[].accrual_balance", RATE),
        ("eligible_paid_time_off[].maximum_accrual_balance", RATE),
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


class DepartmentsStream(GustoStream):
    name = "departments"
    path = "/v1/companies/{company_uuid}/departments"
    primary_keys = ("uuid",)
    schema = schemas.DEPARTMENTS


class LocationsStream(GustoStream):
    name = "locations"
    path = "/v1/companies/{company_uuid}/locations"
    primary_keys = ("uuid",)
    schema = schemas.LOCATIONS


class PaySchedulesStream(GustoStream):
    name = "pay_schedules"
    path = "/v1/companies/{company_uuid}/pay_schedules"
    primary_keys = ("uuid",)
    schema = schemas.PAY_SCHEDULES


class ContractorsStream(GustoStream):
    name = "contractors"
    path = "/v1/companies/{company_uuid}/contractors"
    primary_keys = ("uuid",)
    schema = schemas.CONTRACTORS
    decimal_fields: t.ClassVar[tuple[FieldSpec, ...]] = (("hourly_rate", RATE),)


class PayPeriodsStream(PagedFetchMixin):
    name = "pay_periods"
    path = "/v1/companies/{company_uuid}/pay_periods"
    primary_keys = ("company_uuid", "pay_schedule_uuid", "start_date", "end_date")
    record_id_field = "start_date"
    schema = schemas.PAY_PERIODS

    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        company = str((context or {})["company_uuid"])
        seen: set[tuple[str, str, str]] = set()
        path = f"/v1/companies/{company}/pay_periods"
        for start, end in windows(self._tap.start_date(), horizon(self.today())):
            params = {"start_date": start.isoformat(), "end_date": end.isoformat()}
            for _response, body in self.pages(context, path, params):
                for item in body if isinstance(body, list) else []:
                    key = (
                        str(item.get("pay_schedule_uuid")),
                        str(item.get("start_date")),
                        str(item.get("end_date")),
                    )
                    if key not in seen:  # a period spanning two windows is listed twice
                        seen.add(key)
                        yield item


class ContractorPaymentsStream(PagedFetchMixin):
    name = "contractor_payments"
    path = "/v1/companies/{company_uuid}/contractor_payments"
    primary_keys = ("uuid",)
    replication_key = "date"
    schema = schemas.CONTRACTOR_PAYMENTS
    decimal_fields: t.ClassVar[tuple[FieldSpec, ...]] = (
        ("bonus", MONEY),
        ("reimbursement", MONEY),
        ("wage", MONEY),
        ("wage_total", MONEY),
        ("hours", HOURS),
        ("hourly_rate", RATE),
    )

    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        company = str((context or {})["company_uuid"])
        state = self.get_context_state(context)
        start = self._tap.start_date()
        if state.get("replication_key") == self.replication_key and state.get(
            "replication_key_value"
        ):
            # ">=" on the bookmark date: payments of that day are re-read (at least once).
            start = max(start, dt.date.fromisoformat(str(state["replication_key_value"])[:10]))
        path = f"/v1/companies/{company}/contractor_payments"
        seen: set[str] = set()
        for window_start, window_end in windows(start, self.today()):
            params = {"start_date": window_start.isoformat(), "end_date": window_end.isoformat()}
            for _response, body in self.pages(
                context, path, params, _key_list("contractor_payments")
            ):
                if not isinstance(body, dict):
                    raise GustoAPIError(
                        f"Gusto's contractor payments list for company {company} is not the "
                        "documented object shape; check the api_version setting."
                    )
                for group in body.get("contractor_payments") or []:
                    for payment in group.get("payments") or []:
                        payment.setdefault("contractor_uuid", group.get("contractor_uuid"))
                        if payment.get("uuid") not in seen:
                            seen.add(str(payment.get("uuid")))
                            yield payment


class PayrollsStream(PagedFetchMixin):
    """One self-contained record per payroll, incremental on ``processed_date`` per company.

    Listing: processed regular and off-cycle payrolls (``include=totals``) in windows of at
    most one year, from the bookmark minus ``payroll_lookback_days`` (or ``start_date``) to
    three months ahead. Detail: every page of ``employee_compensations`` merged into the record.

    Re-runs never re-fetch a payroll already emitted: the partition state keeps
    ``emitted_payrolls`` = {payroll_uuid: processed_date} for every emitted payroll whose
    processed_date is on or after ``bookmark - lookback``. A listed payroll is fetched only if
    it is not in that map and its processed_date is not older than ``bookmark - lookback``
    (older ones were emitted by the run that moved the bookmark past them).
    """

    name = "payrolls"
    path = "/v1/companies/{company_uuid}/payrolls"
    primary_keys = ("payroll_uuid",)
    replication_key = "processed_date"
    record_id_field = "payroll_uuid"
    schema = schemas.PAYROLLS
    decimal_fields: t.ClassVar[tuple[FieldSpec, ...]] = (
        ("totals.*", MONEY),
        ("company_taxes[].amount", MONEY),
        ("payroll_taxes[].amount", MONEY),
        ("employee_compensations[].gross_pay", MONEY),
        ("employee_compensations[].net_pay", MONEY),
        ("employee_compensations[].check_amount", MONEY),
        ("employee_compensations[].fixed_compensations[].amount", MONEY),
        ("employee_compensations[].hourly_compensations[].amount", MONEY),
        ("employee_compensations[].hourly_compensations[].hours", HOURS),
        ("employee_compensations[].hourly_compensations[].compensation_multiplier", RATE),
        ("employee_compensations[].paid_time_off[].hours", HOURS),
        ("employee_compensations[].paid_time_off[].amount", MONEY),
        ("employee_compensations[].paid_time_off[].final_payout_unused_hours_input", HOURS),
        ("employee_compensations[].reimbursements[].amount", MONEY),
        ("employee_compensations[].benefits[].employee_deduction", MONEY),
        ("employee_compensations[].benefits[].company_contribution", MONEY),
        ("employee_compensations[].deductions[].amount", MONEY),
        ("employee_compensations[].taxes[].amount", MONEY),
    )

    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        company = str((context or {})["company_uuid"])
        state = self.get_context_state(context)
        lookback = dt.timedelta(days=self._tap.payroll_lookback_days())
        bookmark: dt.date | None = None
        if state.get("replication_key") == self.replication_key and state.get(
            "replication_key_value"
        ):
            bookmark = dt.date.fromisoformat(str(state["replication_key_value"])[:10])
        emitted: dict[str, str] = {
            str(k): str(v) for k, v in (state.get(EMITTED_KEY) or {}).items()
        }
        floor = self._tap.start_date()
        start = max(floor, bookmark - lookback) if bookmark else floor
        cutoff = (bookmark - lookback).isoformat() if bookmark else None
        statuses = "processed,unprocessed" if self._tap.include_unprocessed() else "processed"
        path = f"/v1/companies/{company}/payrolls"
        done_this_run: set[str] = set()
        latest = bookmark.isoformat() if bookmark else None
        for window_start, window_end in windows(start, horizon(self.today())):
            params = {
                "processing_statuses": statuses,
                "payroll_types": "regular,off_cycle",
                "include": "totals",
                "start_date": window_start.isoformat(),
                "end_date": window_end.isoformat(),
            }
            for _response, body in self.pages(context, path, params):
                for item in body if isinstance(body, list) else []:
                    uuid = str(item.get("payroll_uuid") or item.get("uuid") or "")
                    if not uuid or uuid in done_this_run:
                        continue
                    processed_date = _processed_date(item)
                    if item.get("processed") and not processed_date:
                        raise GustoAPIError(
                            f"Gusto lists payroll {uuid} of company {company} as processed "
                            f"without a processed_date ({item.get('processed_date')!r}); the "
                            "tap cannot bookmark it. Report the payroll to Gusto."
                        )
                    if item.get("processed") and processed_date:
                        if uuid in emitted or (cutoff and processed_date < cutoff):
                            continue
                    elif not self._tap.include_unprocessed():
                        continue
                    done_this_run.add(uuid)
                    record = self.fetch_payroll(context, company, uuid, item)
                    hit("tap.payroll.before_emit")
                    yield record
                    hit("tap.payroll.after_emit")
                    # The SDK wrote the record before asking for the next one.
                    if record.get("processed") and processed_date:
                        emitted[uuid] = processed_date
                        latest = max(latest or processed_date, processed_date)
        if latest:
            keep_from = (dt.date.fromisoformat(latest) - lookback).isoformat()
            state[EMITTED_KEY] = {
                uuid: day for uuid, day in sorted(emitted.items()) if day >= keep_from
            }

    def fetch_payroll(
        self, context: Context | None, company: str, uuid: str, listed: dict[str, t.Any]
    ) -> dict[str, t.Any]:
        """The single-payroll response with ALL pages of employee_compensations merged."""
        path = f"/v1/companies/{company}/payrolls/{uuid}"
        params = {"include": "benefits,deductions,taxes"}
        record: dict[str, t.Any] | None = None
        compensations: list[dict[str, t.Any]] = []
        announced: int | None = None
        for response, body in self.pages(
            context, path, params, _key_list("employee_compensations")
        ):
            if not isinstance(body, dict):
                raise GustoAPIError(
                    f"Gusto returned a non-object body for payroll {uuid} of company {company}."
                )
            header = response.headers.get("X-Total-Count", "").strip()
            if header.isdigit():
                if announced is not None and int(header) != announced:
                    raise IncompletePayrollError(
                        f"Payroll {uuid} of company {company} changed while it was read "
                        f"(X-Total-Count {announced} then {header}); rerun the sync."
                    )
                announced = int(header)
            if record is None:
                record = body
            compensations.extend(body.get("employee_compensations") or [])
        assert record is not None
        count = announced if announced is not None else len(compensations)
        employees = {str(c.get("employee_uuid")) for c in compensations}
        if len(compensations) != count or len(employees) != len(compensations):
            raise IncompletePayrollError(
                f"Payroll {uuid} of company {company}: read {len(compensations)} employee "
                f"compensations ({len(employees)} distinct employees) but Gusto announced "
                f"{count}. The payroll is not emitted; rerun the sync."
            )
        for key, value in listed.items():
            record.setdefault(key, value)  # e.g. totals when the detail omits them
        record["payroll_uuid"] = str(record.get("payroll_uuid") or record.get("uuid") or uuid)
        record["employee_compensations"] = compensations
        record["employee_compensations_count"] = count
        record["payroll_type"] = "off_cycle" if record.get("off_cycle") else "regular"
        return record

    def post_process(
        self, row: dict[str, t.Any], context: Context | None = None
    ) -> dict[str, t.Any] | None:
        row["processed_date"] = _processed_date(row)
        for key in ("calculated_at", "payroll_deadline"):
            if row.get(key) == "nil":
                row[key] = None
        return super().post_process(row, context)


def _processed_date(item: dict[str, t.Any]) -> str | None:
    value = item.get("processed_date")
    if not isinstance(value, str) or len(value) < 10 or value[4] != "-":
        return None  # Gusto's sample shows "nil" for unprocessed payrolls
    return value[:10]


STREAM_TYPES: tuple[type[GustoStream], ...] = (
    CompaniesStream,
    EmployeesStream,
    DepartmentsStream,
    LocationsStream,
    PaySchedulesStream,
    PayPeriodsStream,
    PayrollsStream,
    ContractorsStream,
    ContractorPaymentsStream,
)
