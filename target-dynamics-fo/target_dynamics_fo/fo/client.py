"""OData client for Dynamics 365 F&O: reads with paging, writes, and atomic ``$batch`` changesets.

Retry rules (one place for all of them):
- 429: wait exactly ``Retry-After`` seconds (30 s when the header is missing, the fallback
  Microsoft's own sample uses), then retry. A throttled request was not executed, so this is safe
  for writes too. If the wait would overrun the request deadline the call fails now instead of
  sleeping for nothing.
- 401: ask Entra for a fresh token (not the cached one) and retry once; a second 401 is a
  configuration problem and raised as :class:`DynamicsAuthError`.
- 5xx and dropped connections on reads: exponential backoff within the deadline.
- 5xx without an F&O error body and dropped connections on writes: the write may have committed,
  so the client does not resend it; it raises :class:`WriteOutcomeUnknownError` and the caller looks
  the record up before deciding to send again (see ``posting.py``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Generator, Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypedDict, Unpack, cast
from urllib.parse import urlsplit

import backoff
import requests

from target_dynamics_fo.fo.auth import PinnedSession
from target_dynamics_fo.fo.batch import build_batch_body, parse_batch_response
from target_dynamics_fo.fo.errors import (
    DynamicsThrottledError,
    ODataBatchError,
    ODataError,
    WriteOutcomeUnknownError,
    describe_error,
)
from target_dynamics_fo.fo.odata import Operation, Result, key_path, query
from target_dynamics_fo.ledger import dumps, loads

DEFAULT_DEADLINE_SECONDS = 300
DEFAULT_MAX_RETRIES = 8
RETRY_AFTER_FALLBACK_SECONDS = 30.0
# F&O caps one $batch at 5,000 operations (service protection documentation).
MAX_BATCH_OPERATIONS = 5000


class RequestAudit(Protocol):
    """Where every request's answer is written (the audit store); the client passes all five."""

    def record_request(
        self,
        method: str,
        entity: str,
        status: int | None,
        journal: str | None,
        error: str | None,
        /,
    ) -> None: ...


class TokenSource(Protocol):
    def token(self, force_refresh: bool = False) -> str: ...

    def unauthorized_error(self) -> Exception: ...


class Query(TypedDict, total=False):
    """What narrows a collection read (see :meth:`ODataClient.iter_all`)."""

    filter: str | None
    select: list[str] | None
    cross_company: bool
    top: int | None
    journal_number: str | None


class _RetryableError(Exception):
    """An attempt's answer that a later attempt may change: after `wait` seconds (None: the
    client's exponential backoff), or at once with a fresh token (`refresh`)."""

    def __init__(
        self,
        what: str,
        *,
        status: int | None = None,
        wait: float | None = None,
        throttled: bool = False,
        refresh: bool = False,
    ) -> None:
        super().__init__(what)
        self.what = what
        self.status = status
        self.wait = wait
        self.throttled = throttled
        self.refresh = refresh


class ODataClient:
    """Requests to one F&O environment's ``/data`` endpoint."""

    def __init__(  # noqa: PLR0917 - the documented constructor shape
        self,
        environment_url: str,
        token_provider: TokenSource,
        ca_bundle: str | None = None,
        request_deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
        max_retries: int = DEFAULT_MAX_RETRIES,
        audit: RequestAudit | None = None,
        *,
        backoff_base_seconds: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        self.environment_url = environment_url.rstrip("/")
        self.data_url = f"{self.environment_url}/data"
        self.tokens = token_provider
        self.deadline_seconds = float(request_deadline_seconds)
        self.max_retries = max(1, int(max_retries))
        self.audit = audit
        self.backoff_base_seconds = backoff_base_seconds
        self.sleep = sleep
        self.session = session or PinnedSession(ca_bundle if ca_bundle else True)
        self.request_count = 0

    # -- public API -------------------------------------------------------------------------

    def get_all(self, entity: str, **query: Unpack[Query]) -> list[dict[str, Any]]:
        return list(self.iter_all(entity, **query))

    def iter_all(
        self,
        entity: str,
        *,
        filter: str | None = None,
        select: list[str] | None = None,
        cross_company: bool = False,
        top: int | None = None,
        journal_number: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every row of a collection, following ``@odata.nextLink`` verbatim."""
        params: list[tuple[str, str]] = []
        if cross_company:
            params.append(("cross-company", "true"))
        if filter:
            params.append(("$filter", filter))
        if select:
            params.append(("$select", ",".join(select)))
        if top is not None:
            params.append(("$top", str(top)))
        url: str | None = f"{self.data_url}/{entity}" + query(params)
        while url:
            response = self.call("GET", url, entity, journal_number=journal_number)
            payload = self._json(response, entity)
            rows = payload.get("value") if isinstance(payload, dict) else None
            if not isinstance(rows, list):
                raise ODataError(
                    f"Dynamics returned no 'value' list for {entity}",
                    entity=entity,
                    status=response.status_code,
                )
            yield from rows
            next_link = payload.get("@odata.nextLink")
            url = self._same_host(str(next_link), entity) if next_link else None

    def get_one(
        self,
        entity: str,
        key: Mapping[str, Any],
        *,
        journal_number: str | None = None,
        cross_company: bool = False,
    ) -> dict[str, Any] | None:
        """One row by key, or None; `cross_company` for a row outside the default company."""
        url = f"{self.data_url}/{entity}{key_path(key)}"
        if cross_company:
            # Without it F&O answers 404 for any company but the user's default one.
            url += "?cross-company=true"
        try:
            response = self.call("GET", url, entity, journal_number=journal_number)
        except ODataError as exc:
            if exc.status == 404:
                return None
            raise
        payload = self._json(response, entity)
        return payload if isinstance(payload, dict) else None

    def post(
        self, entity: str, body: Mapping[str, Any], *, journal_number: str | None = None
    ) -> dict[str, Any]:
        response = self.call(
            "POST",
            f"{self.data_url}/{entity}",
            entity,
            body=dumps(body),
            content_type="application/json",
            journal_number=journal_number,
            write=True,
        )
        payload = self._json(response, entity) if response.content else {}
        return payload if isinstance(payload, dict) else {}

    def patch(
        self,
        entity: str,
        key: Mapping[str, Any],
        body: Mapping[str, Any],
        *,
        journal_number: str | None = None,
    ) -> None:
        url = f"{self.data_url}/{entity}{key_path(key)}"
        self.call(
            "PATCH",
            url,
            entity,
            body=dumps(body),
            content_type="application/json",
            journal_number=journal_number,
            write=True,
        )

    def batch(
        self, changeset: list[Operation], *, journal_number: str | None = None
    ) -> list[Result]:
        """Send the operations as ONE atomic changeset; any inner failure fails them all."""
        if not changeset:
            return []
        if len(changeset) > MAX_BATCH_OPERATIONS:
            raise ODataError(
                f"{len(changeset)} operations exceed the Dynamics limit of "
                f"{MAX_BATCH_OPERATIONS} per $batch.",
                entity="$batch",
            )
        batch_boundary = f"batch_{uuid.uuid4()}"
        body = build_batch_body(self.data_url, changeset, batch_boundary)
        entities = sorted({op.entity for op in changeset})
        label = "$batch[" + ",".join(entities) + f";{len(changeset)} ops]"
        response = self.call(
            "POST",
            f"{self.data_url}/$batch",
            label,
            body=body,
            content_type=f"multipart/mixed; boundary={batch_boundary}",
            journal_number=journal_number,
            write=True,
        )
        results = parse_batch_response(response.text, response.headers.get("Content-Type", ""))
        by_id = {index: op for index, op in enumerate(changeset, start=1)}
        for result in results:
            if result.status >= 400:
                text = dumps(result.body) if result.body is not None else ""
                message, error_type = describe_error(text, result.status)
                op = by_id.get(result.content_id or 0)
                where = f" (operation {result.content_id}: {op.method} {op.entity})" if op else ""
                error = ODataBatchError(
                    f"Dynamics rejected the changeset{where}: {message}",
                    status=result.status,
                    content_id=result.content_id,
                    entity=op.entity if op else None,
                    error_type=error_type,
                )
                self._audit("POST", label, result.status, journal_number, error.message)
                raise error
        if len(results) != len(changeset):
            raise WriteOutcomeUnknownError(
                f"Dynamics answered {len(results)} of {len(changeset)} changeset operations; "
                "the outcome of the batch is unknown.",
                entity="$batch",
                status=response.status_code,
            )
        return results

    # -- transport --------------------------------------------------------------------------

    def backoff(self, attempt: int) -> float:
        """Wait after failed attempt `attempt`: 1, 2, 4 ... times the base, 60 s at most."""
        return float(min(self.backoff_base_seconds * (2 ** (attempt - 1)), 60.0))

    def call(
        self,
        method: str,
        url: str,
        entity: str,
        *,
        body: str | None = None,
        content_type: str | None = None,
        journal_number: str | None = None,
        write: bool = False,
    ) -> requests.Response:
        """One request, sent again under the retry rules of the module docstring."""
        started = time.monotonic()
        refreshed = False  # a fresh token was asked for once already
        force = False  # the next attempt asks for a fresh token

        def attempt() -> requests.Response:
            nonlocal refreshed, force
            remaining = self.deadline_seconds - (time.monotonic() - started)
            headers = {
                "Authorization": f"Bearer {self.tokens.token(force_refresh=force)}",
                "Accept": "application/json",
                "OData-Version": "4.0",
                "OData-MaxVersion": "4.0",
            }
            force = False
            if content_type:
                headers["Content-Type"] = content_type
            self.request_count += 1
            try:
                response = self.session.request(
                    method,
                    url,
                    data=body.encode() if body is not None else None,
                    headers=headers,
                    timeout=(10, max(1.0, min(remaining, 300.0))),
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                reason = f"connection failed ({type(exc).__name__})"
                self._audit(method, entity, None, journal_number, reason)
                if write:
                    raise WriteOutcomeUnknownError(
                        f"{method} {entity}: {reason} after the request was sent; "
                        "it may have been saved.",
                        entity=entity,
                    ) from exc
                raise _RetryableError(
                    f"{method} {entity}: Dynamics unreachable ({reason})"
                ) from exc
            status = response.status_code
            if status < 400:
                self._audit(method, entity, status, journal_number, None)
                return response
            message, error_type = describe_error(response.text, status)
            self._audit(method, entity, status, journal_number, message)
            if status == 401:
                if refreshed:
                    raise self.tokens.unauthorized_error()
                refreshed = force = True
                raise _RetryableError(f"{method} {entity}: HTTP 401", status=status, refresh=True)
            if status == 429:
                wait = _retry_after(response.headers.get("Retry-After"))
                raise _RetryableError(
                    f"{method} {entity}: Dynamics is throttling requests (HTTP 429, "
                    f"Retry-After {wait:g} s)",
                    status=status,
                    wait=wait,
                    throttled=True,
                )
            if status < 500:
                raise ODataError(
                    f"{method} {entity}: HTTP {status}: {message}",
                    status=status,
                    entity=entity,
                    error_type=error_type,
                )
            if not write:
                raise _RetryableError(
                    f"{method} {entity}: Dynamics error HTTP {status} ({message})", status=status
                )
            if status == 500 and '"innererror"' in response.text:
                # F&O reports failed validation of a write as HTTP 500 with an Infolog:
                # a definite answer, nothing was saved.
                raise ODataError(
                    f"{method} {entity}: {message}",
                    status=status,
                    entity=entity,
                    error_type=error_type,
                )
            raise WriteOutcomeUnknownError(
                f"{method} {entity}: HTTP {status} ({message}); the write may have been saved.",
                status=status,
                entity=entity,
            )

        # backoff drives the attempts; the waits, the budgets and the final error are _waits'.
        wait_gen = cast("Callable[..., Generator[float, Any, None]]", self._waits)
        retried = backoff.on_exception(
            wait_gen, _RetryableError, jitter=None, logger=None, started=started, entity=entity
        )(attempt)
        return retried()

    def _waits(
        self, *, started: float, entity: str
    ) -> Generator[float, _RetryableError | None, None]:
        """backoff's wait generator: sent each failed attempt's _RetryableError, in order.

        It sleeps with the client's own ``sleep`` (tests inject one; backoff always uses
        ``time.sleep``) and hands backoff 0 s, or raises the error that ends the call when the
        wait would spend the retry budget or pass the request deadline.
        """
        again = yield 0.0  # backoff primes the generator first
        attempt = 0
        while again is not None:
            attempt += 1
            if not again.refresh:
                wait = self.backoff(attempt) if again.wait is None else again.wait
                self._wait_or_raise(attempt, wait, started, again, entity)
            again = yield 0.0

    def _wait_or_raise(
        self, attempt: int, wait: float, started: float, again: _RetryableError, entity: str
    ) -> None:
        elapsed = time.monotonic() - started
        error_class = DynamicsThrottledError if again.throttled else ODataError
        if attempt >= self.max_retries:
            raise error_class(
                f"{again.what}; gave up after {attempt} attempts (max_retries).",
                status=again.status,
                entity=entity,
            ) from again.__cause__
        if elapsed + wait > self.deadline_seconds:
            raise error_class(
                f"{again.what}; waiting {wait:g} s more would pass the request deadline of "
                f"{self.deadline_seconds:g} s (request_deadline_seconds).",
                status=again.status,
                entity=entity,
            ) from again.__cause__
        self.sleep(wait)

    def _audit(
        self,
        method: str,
        entity: str,
        status: int | None,
        journal_number: str | None,
        error: str | None,
    ) -> None:
        if self.audit is not None:
            self.audit.record_request(method, entity, status, journal_number, error)

    def _json(self, response: requests.Response, entity: str) -> Any:
        try:
            return loads(response.text)
        except ValueError as exc:
            raise ODataError(
                f"Dynamics returned a response for {entity} that is not JSON "
                f"(HTTP {response.status_code}).",
                status=response.status_code,
                entity=entity,
            ) from exc

    def _same_host(self, link: str, entity: str) -> str:
        # The bearer token goes with every request: never follow a link to another host.
        if link.startswith("/"):
            return f"{self.environment_url}{link}"
        if urlsplit(link).netloc.lower() != urlsplit(self.environment_url).netloc.lower():
            raise ODataError(
                f"Dynamics returned a next page link for {entity} on another host; refusing to "
                "send the token there.",
                entity=entity,
            )
        return link


def _retry_after(value: str | None) -> float:
    if not value:
        return RETRY_AFTER_FALLBACK_SECONDS
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return RETRY_AFTER_FALLBACK_SECONDS
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
