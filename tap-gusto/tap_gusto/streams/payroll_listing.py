"""Which payrolls a company has: the payroll list checked against the pay periods, and the
fingerprints that show a payroll changed after it was emitted (PayrollsStream's docstring)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import typing as t
from decimal import Decimal

from tap_gusto.dates import LONGEST_CHECK_DATE_LAG_DAYS, LONGEST_PAY_PERIOD_DAYS, period_windows
from tap_gusto.streams.paged import PagedFetchMixin

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

# State key of the payrolls partition: {payroll_uuid: processed_date} of the payrolls already
# emitted whose processed_date is within the lookback of the bookmark (see PayrollsStream).
EMITTED_KEY = "emitted_payrolls"
# {payroll_uuid: {"check_date": ISO date, "fingerprint": hex}} of emitted processed payrolls
# paid within the correction window: what their listed totals looked like when emitted.
FINGERPRINTS_KEY = "payroll_fingerprints"


class PayrollListing(PagedFetchMixin):
    """The payroll list and the pay periods' processed regular payrolls of one company."""

    def list_payrolls(
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

    def processed_regular_payrolls(
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


def period_check_date(period: dict[str, t.Any]) -> str:
    """The check date of a pay period's payroll, else the period's end (no payroll yet)."""
    payroll = period.get("payroll") if isinstance(period.get("payroll"), dict) else {}
    return str((payroll or {}).get("check_date") or period.get("end_date") or "")[:10]


def missing_message(company: str, missing: dict[str, dict[str, t.Any]]) -> str:
    named = "; ".join(
        f"payroll {uuid} (check date {period_check_date(period)}, pay period "
        f"{period.get('start_date')}..{period.get('end_date')})"
        for uuid, period in sorted(missing.items())
    )
    return (
        f"Gusto's pay periods of company {company} name processed payrolls that its payroll "
        f"list did not return: {named}. Nothing of this company was emitted and its bookmark "
        "did not move, so no payroll is skipped for good: run the sync again. If it fails "
        "the same way, Gusto's lists disagree; report the payroll uuids to Gusto."
    )


def fingerprint(item: dict[str, t.Any]) -> str:
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


def fingerprint_entry(item: dict[str, t.Any]) -> dict[str, str]:
    return {"check_date": str(item.get("check_date") or "")[:10], "fingerprint": fingerprint(item)}


def processed_day(item: dict[str, t.Any]) -> str | None:
    value = item.get("processed_date")
    if not isinstance(value, str) or len(value) < 10 or value[4] != "-":
        return None  # Gusto's sample shows "nil" for unprocessed payrolls
    return value[:10]
