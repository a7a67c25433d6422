"""Gusto streams (names, keys, replication and shapes as in docs/CONTRACTS.md section 4)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import typing as t
from decimal import Decimal

from tap_gusto import refresh, schemas
from tap_gusto.api import list_body, paged
from tap_gusto.client import GustoStream
from tap_gusto.conform import paused_gc
from tap_gusto.dates import (
    LONGEST_CHECK_DATE_LAG_DAYS,
    LONGEST_PAY_PERIOD_DAYS,
    horizon,
    period_listing_start,
    period_windows,
    windows,
)
from tap_gusto.errors import GustoAPIError, IncompletePayrollError
from tap_gusto.faults import hit
from tap_gusto.money import FieldSpec, Kind

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context

MONEY, HOURS, RATE = Kind.MONEY, Kind.HOURS, Kind.RATE

# State key of the payrolls partition: {payroll_uuid: processed_date} of the payrolls already
# emitted whose processed_date is within the lookback of the bookmark (see PayrollsStream).
EMITTED_KEY = "emitted_payrolls"
# {payroll_uuid: {"check_date": ISO date, "fingerprint": hex}} of emitted processed payrolls
# paid within the correction window: what their listed totals looked like when emitted.
FINGERPRINTS_KEY = "payroll_fingerprints"


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
        decorated = self.request_decorator(self.send_and_validate)
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
        return paged(
            lambda page: self.fetch(context, path, {**params, "page": page, "per": self.page_size}),
            self.page_size,
            items or list_body,
        )

    def today(self, context: Context | None) -> dt.date:
        """Gusto's date: its list limits and "today" count from its calendar, not this machine's."""
        connection = self.connection(context)
        if connection.server_today is None:
            self.fetch(context, "/v1/token_info", {})  # any response carries Gusto's Date header
        return connection.server_today or dt.datetime.now(dt.UTC).date()

    def check_date_floor(self, context: Context | None) -> dt.date:
        """The earliest check date read: ``start_date``, else one year before Gusto's today."""
        return self.gusto_tap.start_date() or self.today(context) - dt.timedelta(days=365)

    def pay_periods(
        self, context: Context | None, company: str, start: dt.date, end: dt.date
    ) -> t.Iterator[dict[str, t.Any]]:
        """Every pay period of the company wholly inside ``start``..``end``, once each."""
        seen: set[tuple[str, str, str]] = set()
        path = f"/v1/companies/{company}/pay_periods"
        for window_start, window_end in period_windows(start, end):
            params = {"start_date": window_start.isoformat(), "end_date": window_end.isoformat()}
            for _response, body in self.pages(context, path, params):
                for item in body if isinstance(body, list) else []:
                    key = (
                        str(item.get("pay_schedule_uuid")),
                        str(item.get("start_date")),
                        str(item.get("end_date")),
                    )
                    if key not in seen:  # overlapping windows list a period more than once
                        seen.add(key)
                        yield item


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

    def company_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        company = str((context or {})["company_uuid"])
        floor = self.check_date_floor(context)
        end = horizon(self.today(context))
        for period in self.pay_periods(context, company, period_listing_start(floor), end):
            # Listing starts early so that periods straddling the floor are caught; emit those
            # whose payroll is paid on or after it (``start_date`` is a check date).
            if _period_check_date(period) >= floor.isoformat():
                yield period


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

    def company_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        company = str((context or {})["company_uuid"])
        state = self.get_context_state(context)
        start = self.check_date_floor(context)
        if state.get("replication_key") == self.replication_key and state.get(
            "replication_key_value"
        ):
            # ">=" on the bookmark date: payments of that day are re-read (at least once).
            start = max(start, dt.date.fromisoformat(str(state["replication_key_value"])[:10]))
        path = f"/v1/companies/{company}/contractor_payments"
        seen: set[str] = set()
        # A payment has one date, so back-to-back windows list each payment exactly once.
        for window_start, window_end in windows(start, self.today(context)):
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

    Which payrolls: every processed regular and off-cycle payroll whose check date is on or
    after the check-date floor (``start_date``, else one year before Gusto's today) and, on an
    incremental run, whose ``processed_date`` is on or after the bookmark minus
    ``payroll_lookback_days``.

    Listing (``include=totals``): Gusto lists a payroll only when its whole pay period lies in
    the window, so windows overlap by the longest pay period and start early enough to hold
    the period of a payroll paid on the floor (``tap_gusto.dates``). Before anything is
    emitted, the processed regular payrolls that Gusto's pay periods name for the same range
    must all have been listed; if one is not, the company's partition fails, nothing of it is
    emitted and its bookmark stays where it was.

    Detail: every page of ``employee_compensations`` merged into the record. Re-runs never
    re-fetch a payroll already emitted: the partition state keeps ``emitted_payrolls`` =
    {payroll_uuid: processed_date} for every emitted payroll whose processed_date is on or
    after ``bookmark - lookback``; older ones were emitted by the run that moved the bookmark.

    Corrections: the listing always reaches back ``correction_window_days`` of check dates, and
    ``payroll_fingerprints`` keeps a hash of each emitted payroll's listed totals there. A
    payroll whose totals changed since it was emitted is read and emitted again; one that is no
    longer listed as processed is read alone and emitted with ``cancelled: true`` when Gusto
    confirms it is not processed. The target corrects what it posted (docs/accounting.md).
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

    def company_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        employees = self.gusto_tap.streams.get("employees")
        for record in self._payroll_records(context):
            if isinstance(employees, EmployeesStream):
                # Emitted before the payroll, so the target knows every employee it names.
                employees.read_before_payroll(context)
            yield record

    def _payroll_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        company = str((context or {})["company_uuid"])
        state = self.get_context_state(context)
        lookback = dt.timedelta(days=self.gusto_tap.payroll_lookback_days())
        bookmark: dt.date | None = None
        if state.get("replication_key") == self.replication_key and state.get(
            "replication_key_value"
        ):
            bookmark = dt.date.fromisoformat(str(state["replication_key_value"])[:10])
        emitted: dict[str, str] = {
            str(k): str(v) for k, v in (state.get(EMITTED_KEY) or {}).items()
        }
        check_floor = self.check_date_floor(context)
        cutoff = bookmark - lookback if bookmark else None
        # A payroll is processed before its check date, so one processed on or after the cutoff
        # is paid on or after it too: the listing need not reach further back than that.
        needed_from = max(check_floor, cutoff) if cutoff else check_floor
        window = self.gusto_tap.correction_window_days()
        window_from = max(check_floor, self.today(context) - dt.timedelta(days=window))
        fingerprints: dict[str, dict[str, str]] = {
            str(k): {"check_date": str(v["check_date"]), "fingerprint": str(v["fingerprint"])}
            for k, v in (state.get(FINGERPRINTS_KEY) or {}).items()
            if isinstance(v, dict) and str(v.get("check_date")) >= window_from.isoformat()
        }
        if window:
            # The correction window is listed on every run: one list request covers many
            # payrolls, and their totals show an amendment without reading the payroll.
            needed_from = min(needed_from, window_from)
        list_from = period_listing_start(needed_from)
        list_to = horizon(self.today(context))
        # Pay periods first: a payroll processed between the two lists is then in the second.
        named = self._processed_regular_payrolls(context, company, list_from, list_to)
        listed = self._list_payrolls(context, company, list_from, list_to)
        missing = {
            uuid: period
            for uuid, period in named.items()
            if uuid not in listed and _period_check_date(period) >= needed_from.isoformat()
        }
        if missing:
            self.gusto_tap.fail_partition(company, self.name, _missing_message(company, missing))
            return
        statuses_wanted = self.gusto_tap.include_unprocessed()
        latest = bookmark.isoformat() if bookmark else None
        # Payrolls a webhook said were updated or cancelled (reread_payroll_uuids): read again
        # whatever the fingerprints say, inside the correction window or not.
        forced = {str(u) for u in self.config.get("reread_payroll_uuids") or []}
        for uuid, item in listed.items():
            if str(item.get("check_date") or "")[:10] < check_floor.isoformat():
                continue
            processed_date = _processed_date(item)
            if item.get("processed") and not processed_date:
                raise GustoAPIError(
                    f"Gusto lists payroll {uuid} of company {company} as processed "
                    f"without a processed_date ({item.get('processed_date')!r}); the "
                    "tap cannot bookmark it. Report the payroll to Gusto."
                )
            check_date = str(item.get("check_date") or "")[:10]
            known = fingerprints.get(uuid)
            if item.get("processed") and processed_date:
                seen = uuid in emitted or (cutoff and processed_date < cutoff.isoformat())
                if seen and uuid in forced:
                    self.logger.info(
                        "Payroll %s of company %s (check date %s): a webhook reported it "
                        "updated or cancelled; reading and emitting it again.",
                        uuid,
                        company,
                        check_date,
                    )
                elif seen and known and known["fingerprint"] != _fingerprint(item):
                    self.logger.info(
                        "Payroll %s of company %s (check date %s) changed in Gusto after it "
                        "was emitted (its totals differ); reading and emitting it again.",
                        uuid,
                        company,
                        check_date,
                    )
                elif seen:
                    if window and not known and check_date >= window_from.isoformat():
                        # Emitted before fingerprints were kept: today's totals are the base.
                        fingerprints[uuid] = _fingerprint_entry(item)
                    continue
            elif not statuses_wanted and not (uuid in forced and uuid in emitted):
                continue
            record = self.fetch_payroll(context, company, uuid, item)
            if (known or (uuid in forced and uuid in emitted)) and not record.get("processed"):
                record["cancelled"] = True
            hit("tap.payroll.before_emit")
            yield record
            hit("tap.payroll.after_emit")
            # The SDK wrote the record before asking for the next one.
            if record.get("processed") and processed_date:
                emitted[uuid] = processed_date
                latest = max(latest or processed_date, processed_date)
                if window and check_date >= window_from.isoformat():
                    fingerprints[uuid] = _fingerprint_entry(item)
            else:
                fingerprints.pop(uuid, None)
        for uuid in sorted(set(fingerprints) - set(listed)):
            yield from self._unlisted(context, company, uuid, fingerprints)
        for uuid in sorted(forced - set(listed) - set(fingerprints)):
            # Outside the listing (older than the window) or no longer listed: read it alone.
            yield from self._forced(context, company, uuid, uuid in emitted)
        if window:
            state[FINGERPRINTS_KEY] = dict(sorted(fingerprints.items()))
        if latest:
            keep_from = (dt.date.fromisoformat(latest) - lookback).isoformat()
            state[EMITTED_KEY] = {
                uuid: day for uuid, day in sorted(emitted.items()) if day >= keep_from
            }
        markers = state.get("progress_markers")
        # The SDK makes the bookmark the highest processed_date emitted in this run: a run that
        # re-emits only older payrolls (amended, cancelled, named by a webhook) would move it
        # back and the next run would read again what it already emitted.
        if (
            bookmark
            and isinstance(markers, dict)
            and markers.get("replication_key_value")
            and str(markers["replication_key_value"])[:10] < bookmark.isoformat()
        ):
            markers["replication_key_value"] = state["replication_key_value"]

    def _forced(
        self, context: Context | None, company: str, uuid: str, was_emitted: bool
    ) -> t.Iterable[dict[str, t.Any]]:
        """A payroll a webhook named that this run's listing does not hold: read it alone and
        emit it; ``cancelled: true`` when it is no longer processed and this tap emitted it as
        processed (else the target decides from its audit trail whether it ever posted it).
        One of another company is left to the run of its own company."""
        try:
            record = self.fetch_payroll(context, company, uuid, {})
        except GustoAPIError as exc:
            if "answered 404 " not in str(exc):
                raise
            # Another company's payroll (a run over several companies gets one list), or one
            # Gusto deleted: never guess a journal away. A deleted payroll this tap emitted in
            # the window is emitted as cancelled from its fingerprint (_unlisted).
            self.logger.info(
                "Payroll %s, named in reread_payroll_uuids, is not a payroll of company %s "
                "(404): left to its own company's run. If Gusto deleted it after its journal "
                "was posted and it is outside the correction window, reverse that journal in "
                "F&O by hand (target-dynamics-fo-audit show %s names it).",
                uuid,
                company,
                uuid,
            )
            return
        if str(record.get("company_uuid") or company) != company:
            return
        if not record.get("processed") and was_emitted:
            record["cancelled"] = True
        self.logger.info(
            "Payroll %s of company %s: a webhook reported it updated or cancelled; emitting it "
            "again (processed: %s).",
            uuid,
            company,
            record.get("processed"),
        )
        hit("tap.payroll.before_emit")
        yield record

    def _unlisted(
        self,
        context: Context | None,
        company: str,
        uuid: str,
        fingerprints: dict[str, dict[str, str]],
    ) -> t.Iterable[dict[str, t.Any]]:
        """A payroll emitted as processed and no longer listed as processed: read it alone (one
        request, only when one disappears) so that a listing glitch never reverses a journal;
        emit it with ``cancelled: true`` when Gusto says it is no longer processed."""
        try:
            record = self.fetch_payroll(context, company, uuid, {})
        except GustoAPIError as exc:
            # A deleted payroll is as gone as a cancelled one; any other failure fails the run.
            if "answered 404 " not in str(exc):
                raise
            record = {
                "payroll_uuid": uuid,
                "company_uuid": company,
                "check_date": fingerprints[uuid]["check_date"],
                "processed": False,
                "employee_compensations": [],
                "employee_compensations_count": 0,
                "payroll_type": "regular",
            }
        if record.get("processed"):
            return  # still processed; its totals are checked when it is listed again
        record["cancelled"] = True
        self.logger.info(
            "Payroll %s of company %s was emitted as processed and is no longer processed in "
            "Gusto (cancelled); emitting it with cancelled: true.",
            uuid,
            company,
        )
        hit("tap.payroll.before_emit")
        yield record
        hit("tap.payroll.after_emit")
        fingerprints.pop(uuid, None)

    def _list_payrolls(
        self, context: Context | None, company: str, start: dt.date, end: dt.date
    ) -> dict[str, dict[str, t.Any]]:
        """Listed payrolls by uuid (each once, in Gusto's order) over overlapping windows."""
        statuses = "processed,unprocessed" if self.gusto_tap.include_unprocessed() else "processed"
        path = f"/v1/companies/{company}/payrolls"
        listed: dict[str, dict[str, t.Any]] = {}
        for window_start, window_end in period_windows(start, end):
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
                    if uuid and uuid not in listed:
                        listed[uuid] = item
                        self._warn_if_outside_assumptions(
                            company, uuid, item.get("pay_period"), item.get("check_date")
                        )
        return listed

    def _processed_regular_payrolls(
        self, context: Context | None, company: str, start: dt.date, end: dt.date
    ) -> dict[str, dict[str, t.Any]]:
        """Pay periods by the uuid of the processed regular payroll each names."""
        named: dict[str, dict[str, t.Any]] = {}
        for period in self.pay_periods(context, company, start, end):
            payroll = period.get("payroll") or {}
            uuid = str(payroll.get("payroll_uuid") or payroll.get("uuid") or "")
            kind = str(payroll.get("payroll_type") or "regular")
            if uuid and payroll.get("processed") is True and kind == "regular":
                named[uuid] = period
                self._warn_if_outside_assumptions(company, uuid, period, payroll.get("check_date"))
        return named

    def _warn_if_outside_assumptions(
        self, company: str, uuid: str, period: t.Any, check_date: t.Any
    ) -> None:
        """Say so when a pay period is longer, or paid later, than the windows allow for: a
        payroll like it whose period straddled a window edge could not be listed."""
        if not isinstance(period, dict):
            return
        try:
            first = dt.date.fromisoformat(str(period.get("start_date"))[:10])
            last = dt.date.fromisoformat(str(period.get("end_date"))[:10])
            paid = dt.date.fromisoformat(str(check_date)[:10])
        except ValueError:
            return
        if (last - first).days + 1 > LONGEST_PAY_PERIOD_DAYS or (
            paid - last
        ).days > LONGEST_CHECK_DATE_LAG_DAYS:
            self.logger.warning(
                "Payroll %s of company %s has pay period %s..%s and check date %s, beyond the "
                "%s-day periods and %s-day payment lag the listing windows are built for; the "
                "completeness check still covers regular payrolls. Report this schedule to the "
                "tap's maintainers.",
                uuid,
                company,
                first,
                last,
                paid,
                LONGEST_PAY_PERIOD_DAYS,
                LONGEST_CHECK_DATE_LAG_DAYS,
            )

    def fetch_payroll(
        self, context: Context | None, company: str, uuid: str, listed: dict[str, t.Any]
    ) -> dict[str, t.Any]:
        """The single-payroll response with ALL pages of employee_compensations merged."""
        path = f"/v1/companies/{company}/payrolls/{uuid}"
        params = {"include": "benefits,deductions,taxes"}
        # Pages of thousands of employees parse into millions of objects (paused_gc says why).
        with paused_gc():
            record, compensations, announced = self._read_payroll_pages(
                context, company, uuid, path, params
            )
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

    def _read_payroll_pages(
        self,
        context: Context | None,
        company: str,
        uuid: str,
        path: str,
        params: dict[str, t.Any],
    ) -> tuple[dict[str, t.Any] | None, list[dict[str, t.Any]], int | None]:
        """(first page's body, every page's compensations, Gusto's X-Total-Count)."""
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
        return record, compensations, announced

    def post_process(
        self, row: dict[str, t.Any], context: Context | None = None
    ) -> dict[str, t.Any] | None:
        row["processed_date"] = _processed_date(row)
        for key in ("calculated_at", "payroll_deadline"):
            if row.get(key) == "nil":
                row[key] = None
        return super().post_process(row, context)


def _period_check_date(period: dict[str, t.Any]) -> str:
    """The check date of a pay period's payroll, else the period's end (no payroll yet)."""
    payroll = period.get("payroll") if isinstance(period.get("payroll"), dict) else {}
    return str((payroll or {}).get("check_date") or period.get("end_date") or "")[:10]


def _missing_message(company: str, missing: dict[str, dict[str, t.Any]]) -> str:
    named = "; ".join(
        f"payroll {uuid} (check date {_period_check_date(period)}, pay period "
        f"{period.get('start_date')}..{period.get('end_date')})"
        for uuid, period in sorted(missing.items())
    )
    return (
        f"Gusto's pay periods of company {company} name processed payrolls that its payroll "
        f"list did not return: {named}. Nothing of this company was emitted and its bookmark "
        "did not move, so no payroll is skipped for good: run the sync again. If it fails "
        "the same way, Gusto's lists disagree; report the payroll uuids to Gusto."
    )


def _fingerprint(item: dict[str, t.Any]) -> str:
    """A short hash of a listed payroll's totals and calculation time, amounts normalised so
    that "100.0", "100.00" and 100 agree (the list's JSON numbers and strings vary)."""
    totals = item.get("totals") if isinstance(item.get("totals"), dict) else {}
    canonical = {}
    for key, value in sorted((totals or {}).items()):
        try:
            canonical[key] = format(Decimal(str(value)).normalize(), "f")
        except ArithmeticError:
            canonical[key] = str(value)
    text = json.dumps([canonical, item.get("calculated_at")], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _fingerprint_entry(item: dict[str, t.Any]) -> dict[str, str]:
    return {"check_date": str(item.get("check_date") or "")[:10], "fingerprint": _fingerprint(item)}


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
