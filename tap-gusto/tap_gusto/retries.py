"""Retries of Gusto requests: how long a 429 asks to wait, exponential backoff for 5xx and
dropped connections, and ``with_retries``, ``backoff``'s loop under those two budgets (the same
library the SDK's request loop uses for the streams)."""

from __future__ import annotations

import random
import typing as t
from collections.abc import Callable
from http import HTTPStatus

import backoff
import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_gusto.limiter import header_wait_seconds, response_now

if t.TYPE_CHECKING:
    from backoff.types import Details

T = t.TypeVar("T")

BACKOFF_FACTOR_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 60.0
DEFAULT_BACKOFF_MAX_TRIES = 5
#: Two and a half of Gusto's 60-s windows: a shared grant frees a slot within two.
DEFAULT_THROTTLE_DEADLINE_SECONDS = 150.0
MAX_TRIES_BACKSTOP = 10_000


def retry_after_seconds(exc: BaseException) -> float | None:
    """Seconds a 429 carried by ``exc`` asks to wait, else ``None``."""
    response = getattr(exc, "response", None)
    return response_retry_after(response) if response is not None else None


def response_retry_after(response: requests.Response) -> float | None:
    """Seconds a 429 response asks to wait: ``Retry-After``, else ``X-RateLimit-Reset``.

    ``None`` for other statuses and for a 429 that says neither (the caller backs off).
    """
    if response.status_code != HTTPStatus.TOO_MANY_REQUESTS:
        return None
    headers = response.headers
    now = response_now(headers)
    wait = header_wait_seconds(headers.get("Retry-After"), now)
    if wait is None:
        wait = header_wait_seconds(headers.get("X-RateLimit-Reset"), now, epoch_numbers=True)
    return wait


def exponential_wait(step: int) -> float:
    """2, 4, 8 … s (capped) plus up to 1 s jitter, so clients that failed together spread out."""
    base = min(BACKOFF_CAP_SECONDS, BACKOFF_FACTOR_SECONDS * 2.0**step)
    return base + random.uniform(0, 1)  # noqa: S311 - jitter, not crypto


def retry_waits(
    max_tries: int, throttle_deadline: float
) -> t.Generator[float | None, BaseException | None, None]:
    """``backoff`` wait generator with two budgets; returning gives up on the request.

    A 429 is Gusto asking for patience, not a failure: it is retried for as long as the
    waits it asked for add up to ``throttle_deadline`` (at least two 60-s windows by default,
    so a grant shared with another process still gets through). 5xx and dropped connections
    are failures and get ``max_tries`` tries. The throttle budget counts the waits themselves,
    not the clock, so it is the same whether or not a test replaces ``sleep``.
    """
    failures = 0
    throttled_for = 0.0
    throttled_step = 0
    exc = yield None  # backoff primes the generator with an empty send
    while True:
        response = getattr(exc, "response", None)
        if response is not None and response.status_code == HTTPStatus.TOO_MANY_REQUESTS:
            wait = response_retry_after(response)
            if wait is None:
                wait = exponential_wait(throttled_step)
                throttled_step += 1
            if throttled_for + wait > throttle_deadline:
                return
            throttled_for += wait
        else:
            failures += 1
            if failures >= max_tries:
                return
            wait = exponential_wait(failures - 1)
        exc = yield wait


def _paced_waits(
    failure_tries: int, throttle_deadline: float, sleep: Callable[[float], None] | None
) -> t.Generator[float | None, BaseException | None, None]:
    """``retry_waits``; with ``sleep`` given, that function does the waiting.

    ``backoff`` always sleeps with ``time.sleep``; a caller that injects its own sleep (the
    token manager's tests, a clock of its own) gets each wait slept by it, and ``backoff``
    then sleeps 0 s.
    """
    waits = retry_waits(failure_tries, throttle_deadline)
    exc = yield next(waits)
    while True:
        try:
            wait = waits.send(exc)
        except StopIteration:
            return
        if sleep is not None and wait:
            sleep(wait)
            wait = 0.0
        exc = yield wait


def is_retriable(exc: BaseException) -> bool:
    """A 429/5xx (raised as ``RetriableAPIError``) or a connection that failed or timed out."""
    return isinstance(exc, RetriableAPIError | requests.ConnectionError | requests.Timeout)


def with_retries(
    call: Callable[[], T],
    *,
    retriable: Callable[[BaseException], bool] = is_retriable,
    max_tries: int = DEFAULT_BACKOFF_MAX_TRIES,
    throttle_deadline: float = DEFAULT_THROTTLE_DEADLINE_SECONDS,
    sleep: Callable[[float], None] | None = None,
    on_backoff: Callable[[Details], None] | None = None,
) -> T:
    """``call()`` retried by ``backoff`` on what ``retriable`` accepts, waits by ``retry_waits``.

    When the budgets are spent the last exception propagates (a ``RetriableAPIError`` carries
    its response, so the caller can name the status in its own message).
    """
    # backoff types its wait generators as never yielding None; ours yields None once, to be
    # primed, as backoff's own generators do.
    wait_gen = t.cast("Callable[..., t.Generator[float, t.Any, None]]", _paced_waits)
    retried = backoff.on_exception(
        wait_gen,
        Exception,
        max_tries=MAX_TRIES_BACKSTOP,  # only a backstop: the wait generator gives up first
        jitter=None,  # exponential_wait jitters 5xx waits; a 429 waits exactly as asked
        giveup=lambda exc: not retriable(exc),
        on_backoff=on_backoff,
        logger=None,  # callers log their own (scrubbed) lines
        failure_tries=max_tries,
        throttle_deadline=throttle_deadline,
        sleep=sleep,
    )(call)
    return retried()
