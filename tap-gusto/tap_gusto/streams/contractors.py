"""Contractors and their payments (the target creates vendors and AP invoices from them)."""

from __future__ import annotations

import datetime as dt
import typing as t

from tap_gusto import schemas
from tap_gusto.dates import windows
from tap_gusto.errors import GustoAPIError
from tap_gusto.money import FieldSpec, Kind, of_kind
from tap_gusto.streams.company import company_list
from tap_gusto.streams.paged import PagedFetchMixin, key_list

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


ContractorsStream = company_list("contractors", schemas.CONTRACTORS, (("hourly_rate", Kind.RATE),))


class ContractorPaymentsStream(PagedFetchMixin):
    name = "contractor_payments"
    path = "/v1/companies/{company_uuid}/contractor_payments"
    primary_keys = ("uuid",)
    replication_key = "date"
    schema = schemas.CONTRACTOR_PAYMENTS
    decimal_fields: t.ClassVar[tuple[FieldSpec, ...]] = (
        *of_kind(Kind.MONEY, "bonus", "reimbursement", "wage", "wage_total"),
        ("hours", Kind.HOURS),
        ("hourly_rate", Kind.RATE),
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
                context, path, params, key_list("contractor_payments")
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
