"""Client-side rate limiter: one sliding 60-second window per company grant.

Gusto allows 200 requests per rolling minute per OAuth grant and answers 429 beyond that.
Staying under the limit proactively keeps a long extraction from spending its retries on 429s.
All streams of one process share the limiter of a company (they run one after another).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW_SECONDS = 60.0


@dataclass
class LimiterStats:
    requests: int = 0
    throttled_429: int = 0
    peak_in_window: int = 0
    waits: list[float] = field(default_factory=list)
    retry_after_waits: list[float] = field(default_factory=list)


class RateLimiter:
    """Blocks ``acquire()`` until a request fits into the sliding window."""

    def __init__(
        self,
        max_requests_per_minute: int,
        *,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if max_requests_per_minute < 1:
            raise ValueError(
                f"max_requests_per_minute must be at least 1, got {max_requests_per_minute}."
            )
        self.max_requests = max_requests_per_minute
        self.window = window_seconds
        self._clock = clock
        # Looked up now, not at import, so tests can replace time.sleep.
        self._sleep = sleep or time.sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self.stats = LimiterStats()

    def acquire(self) -> float:
        """Wait until one more request is allowed, record it, return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                delay = 0.0
                if len(self._sent) >= self.max_requests:
                    delay = self._sent[0] + self.window - now
                if delay <= 0:
                    self._sent.append(now)
                    self.stats.requests += 1
                    self.stats.peak_in_window = max(self.stats.peak_in_window, len(self._sent))
                    if waited:
                        self.stats.waits.append(waited)
                    return waited
            self._sleep(delay)
            waited += delay

    def throttled(self, retry_after: float | None) -> None:
        """Record a 429. The retry itself waits ``Retry-After`` (the stream's backoff), and
        streams of one process run one after another, so nothing else needs holding here."""
        with self._lock:
            self.stats.throttled_429 += 1
            if retry_after is not None:
                self.stats.retry_after_waits.append(retry_after)

    @property
    def in_window(self) -> int:
        with self._lock:
            now = self._clock()
            return sum(1 for sent in self._sent if sent > now - self.window)
