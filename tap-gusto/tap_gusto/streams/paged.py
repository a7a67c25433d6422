"""Requests of streams that page, window and fetch per item themselves (not the SDK's loop)."""

from __future__ import annotations

import datetime as dt
import typing as t

from tap_gusto.api import list_body, paged
from tap_gusto.client import GustoStream
from tap_gusto.dates import period_windows

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context


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


def key_list(key: str) -> t.Callable[[t.Any], list[t.Any]]:
    """The paged list of an object body: its ``key`` (empty when absent or not a list)."""

    def extract(body: t.Any) -> list[t.Any]:
        value = body.get(key) if isinstance(body, dict) else None
        return value if isinstance(value, list) else []

    return extract
