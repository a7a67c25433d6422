"""Throttling against the Gusto sandbox over HTTP: the tap reads the server's limits.

Gusto's 60-s window is shrunk to a few seconds on both sides (the sandbox's
``rate_limit_window`` and the tap limiter's ``WINDOW_SECONDS``) so the runs take seconds; the
tap's own ``max_requests_per_minute`` stays at its default (190), far above the server's 30.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault
from tap_gusto import limiter as limiter_module
from tap_gusto.errors import IncompleteExtractionError
from tap_gusto.tap import DEFAULT_MAX_REQUESTS_PER_MINUTE, TapGusto
from tapgusto_support import (
    SANDBOX_TODAY,
    base_config,
    connect_companies,
    parse_messages,
    records,
    run_tap,
)

WINDOW = 3.0
LIMIT = 30


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    import backoff._sync  # noqa: PLC0415 - patch the sleep the retry loop uses

    monkeypatch.setattr(backoff._sync.time, "sleep", slept.append)
    return slept


@pytest.fixture
def gusto() -> Iterator[GustoSandbox]:
    with GustoSandbox(port=0, seed="demo", today=SANDBOX_TODAY) as sandbox:
        yield sandbox


@pytest.fixture
def slow_gusto(monkeypatch: pytest.MonkeyPatch) -> Iterator[GustoSandbox]:
    """30 requests per (shrunk) minute, as the issue's acceptance run asks."""
    monkeypatch.setattr(limiter_module, "WINDOW_SECONDS", WINDOW)
    with GustoSandbox(
        port=0,
        seed="demo",
        today=SANDBOX_TODAY,
        rate_limit_per_minute=LIMIT,
        rate_limit_window=WINDOW,
    ) as sandbox:
        yield sandbox


def small_company(gusto: GustoSandbox) -> str:
    return gusto.company("Summit Bakery Co").uuid


def run_companies_throttled(
    gusto: GustoSandbox, vault: Vault, *, throttle_next: int, retry_after: int, **config: Any
) -> tuple[list[dict[str, Any]], TapGusto]:
    """The companies stream of the small company, its first requests answered 429."""
    small = small_company(gusto)
    connect_companies(vault, gusto, [small])
    gusto.faults.set(throttle_next=throttle_next, retry_after=retry_after, paths=["/v1/"])
    return run_tap(base_config(vault, gusto, **config), streams=["companies"])


def throttled(gusto: GustoSandbox) -> int:
    return int(gusto.stats.snapshot()["throttled"])


def test_repeated_retry_after_header_is_honoured(
    gusto: GustoSandbox, vault: Vault, no_sleep: list[float]
) -> None:
    """`Retry-After: 20` sent twice arrives as "20, 20": still 20 s, not exponential backoff;
    six 429s in a row are more than backoff_max_tries (5) and still within the deadline."""
    gusto.faults.set(retry_after_repeat=2)
    messages, tap = run_companies_throttled(gusto, vault, throttle_next=6, retry_after=20)
    assert len(records(messages, "companies")) == 1
    assert tap.retry_waits == [(429, 20.0)] * 6
    assert no_sleep == [20.0] * 6
    assert throttled(gusto) == 6


def test_throttling_beyond_the_deadline_fails_the_run(
    gusto: GustoSandbox, vault: Vault, no_sleep: list[float]
) -> None:
    # The company fails alone (per-company isolation); the run ends naming it.
    with pytest.raises(IncompleteExtractionError, match=r"RetriableAPIError.*429"):
        run_companies_throttled(gusto, vault, throttle_next=10, retry_after=60)
    # Two full windows waited (60 + 60 <= 150), a third would pass the deadline.
    assert no_sleep == [60.0, 60.0]
    assert throttled(gusto) == 3


def test_throttle_deadline_is_a_setting(
    gusto: GustoSandbox, vault: Vault, no_sleep: list[float]
) -> None:
    messages, _ = run_companies_throttled(
        gusto, vault, throttle_next=4, retry_after=60, throttle_deadline_seconds=240
    )
    assert len(records(messages, "companies")) == 1
    assert no_sleep == [60.0] * 4


def test_a_30_per_minute_grant_completes_without_429s(
    slow_gusto: GustoSandbox, vault: Vault
) -> None:
    """The acceptance run: the limit is learnt from X-RateLimit-Limit, never configured."""
    small = small_company(slow_gusto)
    connect_companies(vault, slow_gusto, [small])
    config = base_config(vault, slow_gusto)
    assert "max_requests_per_minute" not in config
    messages, tap = run_tap(config)
    limiter = tap.connections.get(small).limiter
    assert limiter.max_requests == DEFAULT_MAX_REQUESTS_PER_MINUTE
    assert limiter.budget == LIMIT
    # Enough requests that a 190-per-window client would have been throttled.
    assert limiter.stats.requests > LIMIT
    assert limiter.stats.peak_in_window <= LIMIT
    assert throttled(slow_gusto) == 0
    assert slow_gusto.rate_limiter.early_requests == 0
    assert tap.retry_waits == []
    assert records(messages, "payrolls")


def test_two_taps_on_one_grant_make_no_429_storm(slow_gusto: GustoSandbox, vault: Vault) -> None:
    """Two taps share one grant's 30 requests: X-RateLimit-Remaining tells each what the other
    used, and X-RateLimit-Reset how long to hold when nothing is left."""
    small = small_company(slow_gusto)
    connect_companies(vault, slow_gusto, [small])
    config = base_config(vault, slow_gusto)
    taps = [TapGusto(config=config, state={}, parse_env_config=False) for _ in range(2)]
    failures: list[BaseException] = []

    def sync(tap: TapGusto) -> None:
        try:
            tap.extract()
        except BaseException as exc:  # reported by the main thread, which asserts
            failures.append(exc)

    out = io.StringIO()
    # One redirect around both threads: redirect_stdout is process-wide, not per thread.
    with contextlib.redirect_stdout(out):
        threads = [threading.Thread(target=sync, args=(tap,)) for tap in taps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    messages = parse_messages(out.getvalue())
    single_run = sum(1 for m in messages if m["type"] == "RECORD") // 2
    assert single_run > 0
    requests_sent = sum(tap.connections.get(small).limiter.stats.requests for tap in taps)
    assert requests_sent > 2 * LIMIT
    waits: list[tuple[int | None, float]] = [w for tap in taps for w in tap.retry_waits]
    assert all(status == 429 for status, _ in waits)  # throttling only, nothing failed
    # Each tap noticed Remaining falling faster than its own use and kept a slot back. Without
    # the headers the same run gets a 429 at every window's end (6 of ~100 requests); at most
    # a race before the sharing is noticed is tolerated here (in practice 0).
    assert all(tap.connections.get(small).limiter.shared_grant for tap in taps)
    assert throttled(slow_gusto) <= 2
    stats: dict[str, Any] = slow_gusto.stats.snapshot()
    assert stats["throttled"] == len(waits)
