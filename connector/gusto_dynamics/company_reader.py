"""Reads of one connected Gusto company for the connector's commands (calendar, reconcile).

Sending, retrying, token refresh and paging are the tap's Gusto client's (``tap_gusto.api``);
this module only turns its failures into messages that name the company and the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import requests
from singer_sdk.exceptions import RetriableAPIError
from tap_gusto.api import MAX_PAGE_SIZE, GustoClient, list_body, paged
from tap_gusto.auth import GustoCompanyAuth, resolve_api_url
from tap_gusto.client import gusto_error_messages
from tap_gusto.tokens import TokenManager, resolve_app_credentials

REQUEST_TIMEOUT_SECONDS = 30.0
#: Tries of a GET failing with 5xx or a dropped connection (429s wait as Gusto asks instead).
REQUEST_TRIES = 4


class CalendarError(Exception):
    """Reading a company's pay calendar failed; the message names the company and the fix."""


class CompanyReader:
    """GETs for one company through the tap's Gusto client (token manager, 401 refresh, retries).

    This class only turns the client's failures into ``CalendarError`` messages that name the
    company and the fix; sending, retrying and paging are ``tap_gusto.api.GustoClient``'s.
    """

    def __init__(
        self,
        vault: Any,
        company_uuid: str,
        *,
        api_url: str | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        data = vault.read()
        self.company_uuid = company_uuid
        self.api_url = resolve_api_url(api_url, data, company_uuid)
        app = resolve_app_credentials(data, None, None)
        self.tokens = TokenManager(vault, company_uuid, app, self.api_url, session=session)
        self.auth = GustoCompanyAuth(self.tokens)
        self.client = GustoClient(
            api_url=self.api_url,
            auth=self.auth,
            session=self.tokens.session,
            timeout=REQUEST_TIMEOUT_SECONDS,
            max_tries=REQUEST_TRIES,
            sleep=sleep,
        )

    def get_all(self, path: str, params: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for _response, body in self.pages(path, params):
            if not isinstance(body, list):
                raise CalendarError(f"company {self.company_uuid}: {path} did not return a list")
            rows.extend(r for r in body if isinstance(r, dict))
        return rows

    def pages(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        items: Callable[[Any], Any] = list_body,
    ) -> Iterator[tuple[requests.Response, Any]]:
        """Every page of a ``page``/``per`` list (bodies parsed with money as ``Decimal``);
        ``items`` finds the paged list in a body (an object such as a payroll pages its
        ``employee_compensations``)."""
        return paged(
            lambda page: self.get(path, {**(params or {}), "page": str(page), "per": "100"}),
            MAX_PAGE_SIZE,
            items,
        )

    def get(self, path: str, params: Mapping[str, str]) -> requests.Response:
        try:
            response = self.client.get(path, params)
        except RetriableAPIError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            raise CalendarError(
                f"company {self.company_uuid}: GET {path} kept failing "
                f"(HTTP {status}); try again later"
            ) from None
        except requests.RequestException as exc:
            raise CalendarError(
                f"company {self.company_uuid}: cannot reach Gusto at {self.api_url} "
                f"({type(exc).__name__})"
            ) from None
        if response.status_code != 200:
            detail = gusto_error_messages(response)
            raise CalendarError(
                f"company {self.company_uuid}: GET {path} failed with HTTP "
                f"{response.status_code}{': ' + detail if detail else ''}"
                + (
                    " (missing scope pay_schedules:read / payrolls:read?)"
                    if response.status_code == 403
                    else ""
                )
            )
        return response
