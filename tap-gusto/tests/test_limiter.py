"""Sliding-window limiter with a fake clock (no wall time involved)."""

from __future__ import annotations

from tap_gusto.limiter import RateLimiter, RateLimitHeaders


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_allows_max_then_waits_for_oldest_to_leave_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        assert limiter.acquire() == 0.0
        clock.now += 1.0
    # 3 requests at t=1000,1001,1002; now 1003: the 4th must wait until 1060.
    waited = limiter.acquire()
    assert waited == 57.0
    assert clock.slept == [57.0]
    assert limiter.stats.requests == 4
    assert limiter.in_window == 3


def test_sliding_not_fixed_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 30
    limiter.acquire()
    clock.now += 31  # first request left the window, second has not
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == 29.0


def test_throttled_is_recorded() -> None:
    clock = FakeClock()
    limiter = RateLimiter(100, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.throttled(7.0)
    assert limiter.stats.throttled_429 == 1
    assert limiter.stats.retry_after_waits == [7.0]


def test_limiter_lowers_its_budget_to_the_server_limit() -> None:
    clock = FakeClock()
    limiter = RateLimiter(190, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.observe(RateLimitHeaders(limit=2, remaining=1, reset_in=60.0))
    assert limiter.budget == 2
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == 60.0  # the local window now holds 2, not 190
    limiter.observe(RateLimitHeaders(limit=500, remaining=400, reset_in=1.0))
    assert limiter.budget == 190  # never above what the user configured


def test_limiter_waits_for_reset_when_the_server_has_no_slot_left() -> None:
    clock = FakeClock()
    limiter = RateLimiter(190, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    # Another process used the grant: only 1 request locally, yet none remaining.
    limiter.observe(RateLimitHeaders(limit=200, remaining=0, reset_in=7.0))
    assert limiter.acquire() == 7.0
    assert limiter.stats.server_waits == [7.0]
    limiter.observe(RateLimitHeaders(limit=200, remaining=0, reset_in=3.0))
    limiter.observe(RateLimitHeaders(limit=200, remaining=5, reset_in=3.0))
    assert limiter.acquire() == 0.0  # a later answer with slots left lifts the hold


def test_limiter_does_not_hold_after_a_429() -> None:
    # The retry's backoff already waits Retry-After; holding here too would wait twice.
    clock = FakeClock()
    limiter = RateLimiter(190, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.observe(RateLimitHeaders(limit=30, remaining=0, reset_in=9.0), throttled=True)
    assert limiter.budget == 30
    assert limiter.acquire() == 0.0


def test_limiter_keeps_a_slot_back_once_another_client_shares_the_grant() -> None:
    clock = FakeClock()
    limiter = RateLimiter(190, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.observe(RateLimitHeaders(limit=30, remaining=20, reset_in=3.0))
    limiter.acquire()
    limiter.observe(RateLimitHeaders(limit=30, remaining=19, reset_in=3.0))
    assert not limiter.shared_grant  # fell by exactly this process's one request
    limiter.acquire()
    limiter.observe(RateLimitHeaders(limit=30, remaining=15, reset_in=3.0))
    assert limiter.shared_grant  # fell by 4 for 1 sent: someone else uses the grant
    limiter.acquire()
    limiter.observe(RateLimitHeaders(limit=30, remaining=1, reset_in=2.0))
    # With the last slot up for grabs by both clients, wait for the window to free one.
    assert limiter.acquire() == 2.0
