"""Reading Gusto's throttling headers and the two retry budgets (no HTTP, no wall time).

The limiter's use of the headers is tested in test_limiter.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
from singer_sdk.exceptions import RetriableAPIError
from tap_gusto.client import response_retry_after, retry_waits
from tap_gusto.limiter import RateLimitHeaders, header_wait_seconds

NOW = dt.datetime(2026, 12, 3, 10, 0, 0, tzinfo=dt.UTC)
DATE = "Thu, 03 Dec 2026 10:00:00 GMT"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("60", 60.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("60, 60", 60.0),  # a repeated header as requests joins it
        ("30,60", 60.0),  # disagreeing copies: the longest, never early
        ("Thu, 03 Dec 2026 10:01:00 GMT", 60.0),
        ("Thu, 03 Dec 2026 10:01:00 GMT, Thu, 03 Dec 2026 10:01:30 GMT", 90.0),
        ("Thu, 03 Dec 2026 10:00:20 GMT, 45", 45.0),
        ("Thursday, 03-Dec-26 10:00:30 GMT", 30.0),  # RFC 850, still allowed by RFC 9110
        ("2026-12-03T10:00:05Z", 5.0),
        ("Thu, 03 Dec 2026 09:59:00 GMT", 0.0),  # already past: retry now
        ("-5", 0.0),
    ],
)
def test_retry_after_forms(value: str, expected: float) -> None:
    assert header_wait_seconds(value, NOW) == pytest.approx(expected)


@pytest.mark.parametrize("value", [None, "", "  ", "soon", "inf", "nan", ", ,"])
def test_unreadable_retry_after_is_none(value: str | None) -> None:
    assert header_wait_seconds(value, NOW) is None


def test_reset_as_epoch_seconds_only_when_asked() -> None:
    epoch = str(int(NOW.timestamp()) + 12)
    assert header_wait_seconds(epoch, NOW, epoch_numbers=True) == pytest.approx(12.0)
    assert header_wait_seconds("12", NOW, epoch_numbers=True) == pytest.approx(12.0)


def response(status: int, headers: dict[str, str]) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer.headers.update(headers)
    return answer


def test_429_falls_back_to_rate_limit_reset_against_gusto_date() -> None:
    # The reset is read against Gusto's own Date header, so local clock skew cannot shorten it.
    answer = response(429, {"Date": DATE, "X-RateLimit-Reset": "2026-12-03T10:00:42Z"})
    assert response_retry_after(answer) == pytest.approx(42.0)
    both = response(
        429, {"Date": DATE, "Retry-After": "60, 60", "X-RateLimit-Reset": "2026-12-03T10:00:42Z"}
    )
    assert response_retry_after(both) == pytest.approx(60.0)
    assert response_retry_after(response(429, {"Retry-After": "later"})) is None
    assert response_retry_after(response(503, {"Retry-After": "5"})) is None


def test_rate_limit_headers_parsed_from_a_response() -> None:
    info = RateLimitHeaders.from_headers(
        response(
            200,
            {
                "Date": DATE,
                "X-RateLimit-Limit": "30",
                "X-RateLimit-Remaining": "0, 0",
                "X-RateLimit-Reset": "2026-12-03T10:00:03Z",
            },
        ).headers
    )
    assert info == RateLimitHeaders(limit=30, remaining=0, reset_in=3.0)
    assert RateLimitHeaders.from_headers({}) == RateLimitHeaders(None, None, None)


def error(status: int, headers: dict[str, str] | None = None) -> RetriableAPIError:
    return RetriableAPIError(f"HTTP {status}", response(status, headers or {}))


def drive(generator: Any, errors: list[BaseException]) -> list[float]:
    """Feed errors to a wait generator as backoff does; the waits until it gives up."""
    next(generator)
    waits: list[float] = []
    for exc in errors:
        try:
            waits.append(generator.send(exc))
        except StopIteration:
            break
    return waits


def test_429s_retry_past_the_5xx_try_count_until_the_deadline() -> None:
    throttled = [error(429, {"Retry-After": "30, 30"}) for _ in range(10)]
    # 5 waits of 30 s fill a 150-s deadline exactly; the 6th would pass it: give up there.
    assert drive(retry_waits(5, 150.0), throttled) == [30.0] * 5
    sixty = [error(429, {"Retry-After": "60"}) for _ in range(5)]
    assert drive(retry_waits(5, 150.0), sixty) == [60.0, 60.0]  # two whole windows


def test_5xx_keep_their_own_try_count_between_429s() -> None:
    mixed = [
        error(503),
        error(429, {"Retry-After": "1"}),
        error(502),
        error(429, {"Retry-After": "1"}),
        error(500),
        error(500),
        error(500),
    ]
    waits = drive(retry_waits(4, 150.0), mixed)
    # Three 5xx waits (tries 1-3 failed), the 4th 5xx failure gives up; 429s cost no tries.
    assert len(waits) == 5
    assert waits[1] == waits[3] == 1.0
    assert 2.0 <= waits[0] <= 3.0 and 4.0 <= waits[2] <= 5.0 and 8.0 <= waits[4] <= 9.0


def test_429_without_any_hint_backs_off_within_the_deadline() -> None:
    waits = drive(retry_waits(5, 20.0), [error(429) for _ in range(10)])
    assert len(waits) == 3  # 2-3, 4-5, 8-9 s: the next 16-17 s would pass 20 s
    assert sum(waits) <= 20.0
