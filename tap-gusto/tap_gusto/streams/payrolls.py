"""Pay periods and payrolls (the payroll list, corrections and re-reads; one payroll's read is
in ``payroll_detail.py``)."""

from __future__ import annotations

import datetime as dt
import typing as t

from tap_gusto import schemas
from tap_gusto.dates import horizon, period_listing_start
from tap_gusto.errors import GustoAPIError
from tap_gusto.faults import hit
from tap_gusto.money import FieldSpec, Kind, of_kind
from tap_gusto.streams.paged import PagedFetchMixin
from tap_gusto.streams.payroll_detail import COMPENSATIONS_STREAM, CompensationRows, PayrollDetail
from tap_gusto.streams.payroll_listing import (
    EMITTED_KEY,
    FINGERPRINTS_KEY,
    fingerprint,
    fingerprint_entry,
    missing_message,
    period_check_date,
    processed_day,
)

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


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
            if period_check_date(period) >= floor.isoformat():
                yield period


class PayrollsStream(PayrollDetail):
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

    Detail: every page of ``employee_compensations``, merged into the record or emitted ahead
    of it as ``payroll_compensations`` (``payroll_record_shape``, payroll_detail.py). Re-runs never
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
        *of_kind(Kind.MONEY, "totals.*", "company_taxes[].amount", "payroll_taxes[].amount"),
        *PayrollDetail.detail_fields,
    )

    def company_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        for record in self._payroll_records(context):
            self.employees_first(context)
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
        named = self.processed_regular_payrolls(context, company, list_from, list_to)
        listed = self.list_payrolls(context, company, list_from, list_to)
        missing = {
            uuid: period
            for uuid, period in named.items()
            if uuid not in listed and period_check_date(period) >= needed_from.isoformat()
        }
        if missing:
            self.gusto_tap.fail_partition(company, self.name, missing_message(company, missing))
            return
        statuses_wanted = self.gusto_tap.include_unprocessed()
        latest = bookmark.isoformat() if bookmark else None
        # Payrolls a webhook said were updated or cancelled (reread_payroll_uuids): read again
        # whatever the fingerprints say, inside the correction window or not.
        forced = {str(u) for u in self.config.get("reread_payroll_uuids") or []}
        for uuid, item in listed.items():
            if str(item.get("check_date") or "")[:10] < check_floor.isoformat():
                continue
            processed_date = processed_day(item)
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
                elif seen and known and known["fingerprint"] != fingerprint(item):
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
                        fingerprints[uuid] = fingerprint_entry(item)
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
                    fingerprints[uuid] = fingerprint_entry(item)
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
                **self.no_compensations(),
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

    def post_process(
        self, row: dict[str, t.Any], context: Context | None = None
    ) -> dict[str, t.Any] | None:
        row["processed_date"] = processed_day(row)
        for key in ("calculated_at", "payroll_deadline"):
            if row.get(key) == "nil":
                row[key] = None
        return super().post_process(row, context)


class PayrollCompensationsStream(CompensationRows):
    """``payroll_record_shape: split``: one record per employee compensation of a payroll read,
    keyed by ``payroll_uuid`` and ``employee_uuid``, with the read's ``fetch_id``."""

    name = COMPENSATIONS_STREAM
    parent_stream_type = PayrollsStream
