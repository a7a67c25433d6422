"""The one Gusto HTTP client: every call to Gusto, from the tap and the connector, goes here.

What it owns, so that no caller writes it again:

* ``GustoClient.send``: one request for one grant - the company's rate limiter, the bearer
  token, and one refresh-and-resend on 401 (a token another process already rotated);
* ``GustoClient.request``: ``send`` under ``with_retries`` (``tap_gusto.retries``) - 429s wait
  what Gusto asks (``Retry-After``, else ``X-RateLimit-Reset``) within a time budget, 5xx and
  dropped connections back off exponentially for a few tries;
* ``GustoClient.pages``: Gusto's ``page``/``per`` lists (``tap_gusto.pages``);
* ``post_token``: the ``/oauth/token`` call of the authorization-code exchange, the
  single-use refresh (``tap_gusto.tokens``, which keeps the vault lock and the rotation rules)
  and the application's system token.

The retry and paging names are re-exported here, so callers import everything from this module.
It imports nothing of the connector, the target or the sandbox: the tap installs on its own.
"""

from __future__ import annotations

import abc
import dataclasses
import time
import typing as t
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from http import HTTPStatus

import requests
from requests.auth import AuthBase
from singer_sdk.exceptions import RetriableAPIError

from tap_gusto.faults import hit
from tap_gusto.limiter import RateLimitHeaders
from tap_gusto.pages import MAX_PAGE_SIZE, GustoPaginator, list_body, next_page, paged, total_pages
from tap_gusto.retries import (
    DEFAULT_BACKOFF_MAX_TRIES,
    DEFAULT_THROTTLE_DEADLINE_SECONDS,
    MAX_TRIES_BACKSTOP,
    exponential_wait,
    is_retriable,
    response_retry_after,
    retry_after_seconds,
    retry_waits,
    with_retries,
)

if t.TYPE_CHECKING:
    from tap_gusto.limiter import RateLimiter

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_BACKOFF_MAX_TRIES",
    "DEFAULT_THROTTLE_DEADLINE_SECONDS",
    "IDEMPOTENT_METHODS",
    "MAX_PAGE_SIZE",
    "MAX_TRIES_BACKSTOP",
    "REQUEST_TIMEOUT_SECONDS",
    "GustoClient",
    "GustoPaginator",
    "RefreshingAuth",
    "SystemTokenAuth",
    "SystemTokenRefusedError",
    "exponential_wait",
    "is_retriable",
    "list_body",
    "next_page",
    "paged",
    "response_retry_after",
    "retry_after_seconds",
    "retry_waits",
    "token_lifetime_seconds",
    "token_pair",
    "total_pages",
    "with_retries",
]

DEFAULT_API_VERSION = "2026-06-15"
REQUEST_TIMEOUT_SECONDS = 120
#: Methods Gusto may see twice without harm; a POST that failed with a 5xx or a dropped
#: connection may have been carried out (a webhook subscription created), so it is not resent.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def token_lifetime_seconds(token_response: Mapping[str, t.Any]) -> int:
    """`expires_in` of an OAuth token response (Gusto's default 2 h when absent), whole seconds."""
    return int(Decimal(str(token_response.get("expires_in") or 7200)))


# -- sending ----------------------------------------------------------------------------------


class RefreshingAuth(AuthBase, abc.ABC):
    """Bearer auth that can replace a token Gusto rejected with 401: a company's grant
    (``GustoCompanyAuth``, single-use refresh under the store's lock) or the app's
    (``SystemTokenAuth``)."""

    last_token: str | None = None

    @abc.abstractmethod
    def token(self) -> str:
        """The bearer token to send now (refreshed first if it is about to expire)."""

    @abc.abstractmethod
    def refresh_after_unauthorized(self, rejected: str) -> object:
        """Replace ``rejected`` after a 401, unless another request already did."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self.token()
        self.last_token = token
        request.headers["Authorization"] = f"Bearer {token}"
        return request


@dataclasses.dataclass(repr=False, kw_only=True)
class GustoClient:
    """Calls to one Gusto environment on behalf of one grant (a company's, or the app's).

    ``auth`` is applied to every request (``None``: the caller sets its own headers, as the
    OAuth endpoints do); ``limiter`` paces a company's requests across the process; ``sleep``
    replaces ``time.sleep`` for the retry waits (tests, a clock of the caller's).
    """

    api_url: str
    auth: RefreshingAuth | None = None
    limiter: RateLimiter | None = None
    session: requests.Session = dataclasses.field(default_factory=requests.Session)
    api_version: str = DEFAULT_API_VERSION
    user_agent: str | None = None
    timeout: float = REQUEST_TIMEOUT_SECONDS
    max_tries: int = DEFAULT_BACKOFF_MAX_TRIES
    throttle_deadline: float = DEFAULT_THROTTLE_DEADLINE_SECONDS
    sleep: Callable[[float], None] | None = None

    def __post_init__(self) -> None:
        self.api_url = self.api_url.rstrip("/")

    def __repr__(self) -> str:
        return f"GustoClient(api_url={self.api_url!r})"

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "X-Gusto-API-Version": self.api_version}
        if self.user_agent:
            headers["User-Agent"] = self.user_agent
        return headers

    def _send_once(
        self,
        request: requests.PreparedRequest,
        transmit: Callable[..., requests.Response],
        **kwargs: t.Any,
    ) -> requests.Response:
        if self.limiter is not None:
            self.limiter.acquire()
        prepared = self.auth(request.copy()) if self.auth is not None else request
        hit("tap.request.before")
        response = transmit(prepared, **kwargs)
        hit("tap.request.after")
        if self.limiter is not None:
            throttled = response.status_code == HTTPStatus.TOO_MANY_REQUESTS
            self.limiter.observe(
                RateLimitHeaders.from_headers(response.headers), throttled=throttled
            )
            if throttled:
                self.limiter.throttled(response_retry_after(response))
        return response

    def send(
        self,
        request: requests.PreparedRequest,
        *,
        transmit: Callable[..., requests.Response] | None = None,
        **kwargs: t.Any,
    ) -> requests.Response:
        """One request (not validated, not retried): limiter, token, one refresh on 401.

        ``transmit`` is the plain HTTP send (default: this client's session); ``kwargs`` go
        to it (``timeout`` defaults to the client's).
        """
        send = transmit or self.session.send
        kwargs.setdefault("timeout", self.timeout)
        response = self._send_once(request, send, **kwargs)
        auth = self.auth
        if response.status_code == HTTPStatus.UNAUTHORIZED and auth is not None and auth.last_token:
            # Expired or revoked (another process used a newer token): one refresh, one resend.
            auth.refresh_after_unauthorized(auth.last_token)
            response = self._send_once(request, send, **kwargs)
        return response

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, t.Any] | None = None,
        json: t.Any = None,
        headers: Mapping[str, str] | None = None,
        retry: bool = True,
    ) -> requests.Response:
        """``send`` with retries; returns the final response, whatever its status.

        Raises ``RetriableAPIError`` (with the response) when 429s or 5xx outlast the budgets,
        and the ``requests`` exception when the connection keeps failing. A non-idempotent
        method is retried only on 429 (Gusto did not carry it out).
        """
        prepared = self.session.prepare_request(
            requests.Request(
                method,
                self.api_url + path,
                params=dict(params or {}),
                json=json,
                headers={**self.headers(), **(headers or {})},
            )
        )
        idempotent = method.upper() in IDEMPOTENT_METHODS

        def attempt() -> requests.Response:
            response = self.send(prepared)
            status = response.status_code
            if status == HTTPStatus.TOO_MANY_REQUESTS or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
                raise RetriableAPIError(f"{method} {path}: HTTP {status}", response)
            return response

        def retriable(exc: BaseException) -> bool:
            if not retry or not is_retriable(exc):
                return False
            response = getattr(exc, "response", None)
            throttled = response is not None and response.status_code == 429
            return idempotent or throttled

        return with_retries(
            attempt,
            retriable=retriable,
            max_tries=self.max_tries,
            throttle_deadline=self.throttle_deadline,
            sleep=self.sleep,
        )

    def get(self, path: str, params: Mapping[str, t.Any] | None = None) -> requests.Response:
        return self.request("GET", path, params=params)

    def pages(
        self,
        path: str,
        params: Mapping[str, t.Any] | None = None,
        *,
        page_size: int = MAX_PAGE_SIZE,
        items: Callable[[t.Any], t.Any] = list_body,
        check: Callable[[requests.Response], object] | None = None,
    ) -> Iterator[tuple[requests.Response, t.Any]]:
        """Every page of a ``page``/``per`` list (``check`` validates each response)."""

        def fetch(page: int) -> requests.Response:
            response = self.get(path, {**(params or {}), "page": page, "per": page_size})
            if check is not None:
                check(response)
            return response

        return paged(fetch, page_size, items)

    def post_token(self, body: Mapping[str, str]) -> requests.Response:
        """POST ``/oauth/token`` once (code exchange, refresh, system token); not retried here.

        The refresh retries it itself, under its vault lock; a code is single-use, so a failed
        exchange is not resent.
        """
        headers = {**self.headers(), "Content-Type": "application/json"}
        return self.session.post(
            self.api_url + "/oauth/token", json=dict(body), headers=headers, timeout=self.timeout
        )


def token_pair(response: requests.Response) -> dict[str, t.Any] | None:
    """The body of a 200 token response that carries both an access and a refresh token.

    ``None`` otherwise: without a new refresh token nobody can tell whether the old one
    survives, so the caller must neither use the access token nor store anything.
    """
    try:
        payload = response.json(parse_float=Decimal)
    except ValueError:
        return None
    if (
        not isinstance(payload, dict)
        or not payload.get("access_token")
        or not payload.get("refresh_token")
    ):
        return None
    return payload


class SystemTokenAuth(RefreshingAuth):
    """The application's own (system access) token: no company, no refresh token to rotate."""

    def __init__(
        self,
        client: GustoClient,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.client_id = client_id
        self.client_secret = client_secret
        self.clock = clock
        self.value: str | None = None
        self.expires_at = 0.0

    def __repr__(self) -> str:
        return f"SystemTokenAuth(client_id={self.client_id!r})"

    def token(self) -> str:
        if self.value and self.clock() < self.expires_at - 60:
            return self.value
        response = self.client.post_token(
            {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "grant_type": "system_access",
            }
        )
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        if response.status_code != HTTPStatus.OK or not isinstance(
            payload.get("access_token"), str
        ):
            raise SystemTokenRefusedError(response.status_code, payload)
        self.value = str(payload["access_token"])
        self.expires_at = self.clock() + token_lifetime_seconds(payload)
        return self.value

    def refresh_after_unauthorized(self, rejected: str) -> object:
        # An expired or revoked system token: mint another on the next request (once: the
        # client resends a 401 only once).
        if self.value == rejected:
            self.value = None
        return None


class SystemTokenRefusedError(Exception):
    """Gusto did not issue a system access token (status and OAuth error kept for messages)."""

    def __init__(self, status: int, payload: Mapping[str, t.Any]) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.error = str(payload.get("error") or "")
