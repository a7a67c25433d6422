"""Sliding-window limiter with a fake clock (no wall time involved)."""

from __future__ import annotations

from tap_gusto.limiter import RateLimiter


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
