"""Base REST stream for Gusto: URLs, headers, pagination, retries, error messages, money."""

from __future__ import annotations

import typing as t
from decimal import Decimal
from http import HTTPStatus
from urllib.parse import urlparse

import requests
from gd_vault.redact import scrub
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.jsonpath import extract_jsonpath
from singer_sdk.pagination import BaseAPIPaginator
from singer_sdk.streams import RESTStream

from tap_gusto.api import (
    DEFAULT_API_VERSION,
    DEFAULT_BACKOFF_MAX_TRIES,
    DEFAULT_THROTTLE_DEADLINE_SECONDS,
    MAX_PAGE_SIZE,
    MAX_TRIES_BACKSTOP,
    REQUEST_TIMEOUT_SECONDS,
    GustoPaginator,
    response_retry_after,
    retry_after_seconds,
    retry_waits,
)
from tap_gusto.conform import conform_stream_record, paused_gc
from tap_gusto.errors import GustoAPIError, GustoTapError
from tap_gusto.money import FieldSpec, Where, convert_fields
from tap_gusto.tokens import echoed_secrets

if t.TYPE_CHECKING:
    from backoff.types import Details
    from singer_sdk.helpers.types import Context

    from tap_gusto.auth import CompanyConnection
    from tap_gusto.tap import TapGusto

MAX_ERROR_MESSAGES = 3

__all__ = [
    "DEFAULT_API_VERSION",
    "MAX_PAGE_SIZE",
    "GustoPaginator",
    "GustoStream",
    "response_retry_after",
    "retry_after_seconds",
    "retry_waits",
]


def gusto_error_messages(response: requests.Response) -> str:
    """Gusto's ``errors[].message`` texts (a few, truncated); never the whole body (PII).

    Scrubbed by the shared rule (``gd_vault.redact.scrub``): Gusto may echo the request's
    Authorization header, and this text goes into errors and the SDK's "Backing off" lines.
    """
    try:
        payload = response.json()
    except ValueError:
        return ""
    secrets = echoed_secrets(response)
    messages: list[str] = []

    def collect(errors: t.Any) -> None:
        if not isinstance(errors, list):
            return
        for item in errors:
            if not isinstance(item, dict):
                continue
            text = item.get("message") or item.get("category") or item.get("error_key")
            if text:
                messages.append(scrub(str(text), secrets)[:200])
            collect(item.get("errors"))

    if isinstance(payload, dict):
        collect(payload.get("errors"))
        if not messages and payload.get("message"):
            messages.append(scrub(str(payload["message"]), secrets)[:200])
        if not messages and payload.get("error"):
            messages.append(scrub(str(payload["error"]), secrets)[:200])
    return "; ".join(messages[:MAX_ERROR_MESSAGES])


class CompanySession(requests.Session):
    """A session that sends every request on behalf of its stream's current company.

    ``send`` is what the SDK's request loop calls; ``transmit`` is the plain HTTP send used
    once the company's limiter and token have been applied. A candidate for upstreaming as a
    "per-context session" hook; it uses only ``requests`` and the stream's public methods.
    """

    def __init__(self, stream: GustoStream) -> None:
        super().__init__()
        self.owner_stream = stream

    def send(self, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:
        return self.owner_stream.send_request(request, self.owner_stream.active_context)

    def transmit(self, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:
        return super().send(request, **kwargs)


class GustoStream(RESTStream[int]):
    """Common behaviour of every Gusto stream. One partition per company."""

    records_jsonpath = "$[*]"
    paginated = True
    # post_process conforms records itself, in one compiled pass (tap_gusto/conform.py).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    #: Money/hours/rate fields converted to Decimal in ``post_process``.
    decimal_fields: t.ClassVar[tuple[FieldSpec, ...]] = ()
    #: Field naming a record in error messages.
    record_id_field = "uuid"

    #: The partition being synced by the SDK's request loop (see ``company_records``).
    active_context: Context | None = None

    def __init__(self, tap: TapGusto, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(tap, *args, **kwargs)
        # Our own reference to the tap, instead of the SDK's private ``_tap``.
        self.gusto_tap = tap

    # -- partitions, URLs, headers ----------------------------------------------------

    @property
    def partitions(self) -> list[dict[str, t.Any]] | None:
        return [{"company_uuid": company} for company in self.gusto_tap.company_ids]

    @property
    def url_base(self) -> str:
        # The base URL depends on the company (its grant belongs to one environment).
        return ""

    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        """One company's records; a failure of that company fails its partition only.

        A revoked grant, a missing scope or an API still failing after retries stops this
        company's partitions (this stream's bookmark does not move, its later streams are
        skipped) while the other companies go on; the run then exits non-zero naming each
        failed company and its fix (``TapGusto.fail_partition``).
        """
        company = str((context or {}).get("company_uuid") or "")
        if company in self.gusto_tap.partition_failures:
            self.logger.warning(
                "Stream %s skipped for company %s: an earlier stream of it failed.",
                self.name,
                company,
            )
            return
        try:
            yield from self.company_records(context)
        except (GustoTapError, RetriableAPIError, requests.RequestException) as exc:
            # Records already emitted stand (the target posts each exactly once); what was
            # not emitted must be read again, so the bookmark stays where it was.
            self.get_context_state(context).pop("progress_markers", None)
            self.gusto_tap.fail_partition(company, self.name, f"{type(exc).__name__}: {exc}")

    def company_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        """The records of the company in ``context`` (the SDK's paginated request by default)."""
        # The SDK's request loop does not hand the context to the session: note it here (one
        # partition of a stream is synced at a time; children are other stream objects).
        self.active_context = context
        yield from super().get_records(context)

    def connection(self, context: Context | None) -> CompanyConnection:
        if not context or "company_uuid" not in context:
            raise GustoAPIError(f"Stream {self.name} was synced without a company context.")
        return self.gusto_tap.connections.get(str(context["company_uuid"]))

    def get_url(self, context: Context | None) -> str:
        base = self.connection(context).api_url
        path = self.path or ""
        for key, value in (context or {}).items():
            path = path.replace(f"{{{key}}}", str(value))
        return base + path

    @property
    def http_headers(self) -> dict[str, str]:
        return {
            "Accept": "application/json",
            "X-Gusto-API-Version": self.config.get("api_version") or DEFAULT_API_VERSION,
            "User-Agent": self.user_agent,
        }

    @property
    def user_agent(self) -> str:  # type: ignore[override]
        return self.gusto_tap.user_agent

    @property
    def timeout(self) -> int:
        return REQUEST_TIMEOUT_SECONDS

    @property
    def page_size(self) -> int:
        return min(int(self.config.get("page_size") or MAX_PAGE_SIZE), MAX_PAGE_SIZE)

    def get_new_paginator(self) -> BaseAPIPaginator[int] | None:
        return GustoPaginator(self.page_size) if self.paginated else None

    def get_url_params(
        self, context: Context | None, next_page_token: int | None
    ) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {}
        if self.paginated:
            params["page"] = next_page_token or 1
            params["per"] = self.page_size
        return params

    # -- responses --------------------------------------------------------------------

    def parse_response(self, response: requests.Response) -> t.Iterable[dict[str, t.Any]]:
        payload = response.json(parse_float=Decimal)
        yield from extract_jsonpath(self.records_jsonpath, input=payload)

    def post_process(
        self, row: dict[str, t.Any], context: Context | None = None
    ) -> dict[str, t.Any] | None:
        company = str((context or {}).get("company_uuid") or row.get("company_uuid") or "")
        row["company_uuid"] = company
        where = Where(company, self.name, str(row.get(self.record_id_field) or "?"))
        with paused_gc():
            convert_fields(row, self.decimal_fields, where)
            return conform_stream_record(self, row)

    # -- requests, auth, limits ----------------------------------------------------------

    def send_request(
        self, prepared_request: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        """Send one request for the company in ``context``: limiter, token, one 401 refresh.

        The company's ``GustoClient`` does it (the one client the connector uses too); the plain
        send is this stream's session. Not validated here: callers (``fetch``, the SDK's
        request loop) validate the response.
        """
        connection = self.connection(context)
        session = self.requests_session
        transmit = session.transmit if isinstance(session, CompanySession) else session.send
        response = connection.client.send(
            prepared_request,
            transmit=transmit,
            timeout=self.timeout,
            allow_redirects=self.allow_redirects,
        )
        connection.note_server_date(response)
        self._check_version_echo(response)
        return response

    def send_and_validate(
        self, prepared_request: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        """``send_request`` then ``validate_response``: what ``request_decorator`` retries."""
        response = self.send_request(prepared_request, context)
        self.validate_response(response)
        return response

    @property
    def requests_session(self) -> requests.Session:
        # Public hook (RESTStream.requests_session): the SDK's own request loop sends through
        # this session, which routes each request through the company's limiter, token manager
        # and 401 refresh, the same path as ``fetch`` - no private SDK method is overridden.
        session = self.__dict__.get("_company_session")
        if session is None:
            session = CompanySession(self)
            self.__dict__["_company_session"] = session
        return t.cast("requests.Session", session)

    def _check_version_echo(self, response: requests.Response) -> None:
        """Gusto echoes the API version it applied; say so once if it is not the one asked."""
        echoed = response.headers.get("X-Gusto-API-Version")
        wanted = self.config.get("api_version") or DEFAULT_API_VERSION
        if echoed and echoed != wanted and not self.gusto_tap.version_mismatch_logged:
            self.gusto_tap.version_mismatch_logged = True
            self.logger.warning(
                "Gusto applied API version %s although %s was requested; amounts and fields "
                "follow the applied version.",
                echoed,
                wanted,
            )

    def endpoint(self, response: requests.Response) -> str:
        """Method and path of the request, without the query string."""
        method = response.request.method if response.request is not None else "GET"
        return f"{method} {urlparse(response.url).path or self.path}"

    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status < HTTPStatus.BAD_REQUEST:
            return
        if status == HTTPStatus.TOO_MANY_REQUESTS or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetriableAPIError(self.response_error_message(response), response)
        details = gusto_error_messages(response)
        suffix = f": {details}" if details else ""
        if status == HTTPStatus.NOT_ACCEPTABLE:
            version = self.config.get("api_version") or DEFAULT_API_VERSION
            raise GustoAPIError(
                f"Gusto refused API version {version} (406 Not Acceptable) for "
                f"{self.endpoint(response)}{suffix}. Set the tap setting api_version to a "
                f"version Gusto supports (the tap is built for {DEFAULT_API_VERSION}; "
                "versions older than 2025-06-15 are sunset) and check the app's minimum "
                "version in Gusto's Developer Portal."
            )
        if status == HTTPStatus.UNAUTHORIZED:
            raise GustoAPIError(
                f"Gusto answered 401 Unauthorized for {self.endpoint(response)} even after a "
                f"token refresh{suffix}. Reconnect the company with "
                "`gusto-dynamics connect gusto`."
            )
        if status == HTTPStatus.FORBIDDEN:
            raise GustoAPIError(
                f"Gusto answered 403 Forbidden for {self.endpoint(response)}{suffix}. The app "
                "lacks a scope for this data or the token is not for this company; check the "
                "app's scopes and company_ids, then reconnect with `gusto-dynamics connect gusto`."
            )
        raise GustoAPIError(
            f"Gusto answered {status} {response.reason} for {self.endpoint(response)}{suffix}."
        )

    def response_error_message(self, response: requests.Response) -> str:
        details = gusto_error_messages(response)
        return f"{response.status_code} {response.reason} for {self.endpoint(response)}" + (
            f": {details}" if details else ""
        )

    # -- retries ------------------------------------------------------------------------

    def backoff_wait_generator(self) -> t.Generator[float, None, None]:
        # The SDK's backoff_runtime would honour Retry-After but shares one try count between
        # 429s and 5xx; this generator keeps the two budgets apart (see retry_waits).
        return t.cast(
            "t.Generator[float, None, None]",
            retry_waits(self.server_error_max_tries(), self.throttle_deadline_seconds()),
        )

    def backoff_jitter(self, value: float) -> float:
        # Jitter is added only on the 5xx/connection path; a 429's wait stays exactly as asked.
        return value

    def server_error_max_tries(self) -> int:
        """Tries per request on 5xx and dropped connections (setting ``backoff_max_tries``)."""
        return int(self.config.get("backoff_max_tries") or DEFAULT_BACKOFF_MAX_TRIES)

    def throttle_deadline_seconds(self) -> float:
        """Seconds of 429 waits one request may accumulate before the run fails."""
        value = self.config.get("throttle_deadline_seconds")
        return float(DEFAULT_THROTTLE_DEADLINE_SECONDS if value is None else value)

    def backoff_max_tries(self) -> int:
        # Only a backstop: retry_waits gives up first, on its own 429 and 5xx budgets.
        return MAX_TRIES_BACKSTOP

    def backoff_handler(self, details: Details) -> None:
        exc = details.get("exception")
        response = getattr(exc, "response", None)
        status = response.status_code if response is not None else None
        wait = float(details.get("wait") or 0.0)
        self.gusto_tap.retry_waits.append((status, wait))
        cause = f"HTTP {status}" if status is not None else type(exc).__name__
        self.logger.warning(
            "Retrying %s in %.2fs after %s (try %s).",
            self.endpoint(response) if response is not None else self.path,
            wait,
            cause,
            details.get("tries"),
        )
