"""Client-side rate limiting per company grant, steered by Gusto's rate-limit headers.

Gusto allows 200 requests per rolling minute per OAuth grant and answers 429 beyond that.
Staying under the limit proactively keeps a long extraction from spending its retries on 429s.
All streams of one process share the limiter of a company (they run one after another).

The configured budget is only a starting guess: another process on the same grant, or a grant
with a lower limit, makes it wrong. So every response's ``X-RateLimit-Limit`` lowers the budget
and ``X-RateLimit-Remaining: 0`` holds the next request until ``X-RateLimit-Reset``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

WINDOW_SECONDS = 60.0

# Epoch seconds rather than delta seconds: no server asks to wait 30 years.
_EPOCH_THRESHOLD = 1_000_000_000.0
# An RFC 7231 IMF-fixdate (or RFC 850 / asctime-ish variants parsedate understands). Matched
# before splitting on commas because the date itself contains one ("Wed, 21 Oct 2026 ...").
_HTTP_DATE = re.compile(
    r"(?:[A-Za-z]{3,9},\s*)?\d{1,2}[\s-][A-Za-z]{3}[\s-]\d{2,4}\s+\d{1,2}:\d{2}:\d{2}"
    r"(?:\s*(?:GMT|UTC|[+-]\d{4}))?"
)


def _as_utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def _parse_moment(text: str) -> dt.datetime | None:
    try:
        return _as_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return _as_utc(dt.datetime.fromisoformat(text))
    except ValueError:
        return None


def header_wait_seconds(
    value: str | None, now: dt.datetime, *, epoch_numbers: bool = False
) -> float | None:
    """Seconds to wait that a ``Retry-After`` / ``X-RateLimit-Reset`` value asks for.

    Accepts delta-seconds, HTTP-dates, ISO 8601 datetimes and several of them comma-joined
    (``requests`` joins a repeated header as ``"60, 60"``). With several values the longest
    wait wins: retrying before any of them would be early. ``epoch_numbers`` reads large numbers
    as Unix timestamps (some servers send the reset that way). Past moments give 0; an
    unreadable value gives ``None`` so the caller can fall back to another header.
    """
    if not value or not value.strip():
        return None
    now = _as_utc(now)
    waits: list[float] = []
    for match in _HTTP_DATE.finditer(value):
        moment = _parse_moment(match.group(0))
        if moment is not None:
            waits.append((moment - now).total_seconds())
    rest = _HTTP_DATE.sub(",", value)
    for part in rest.split(","):
        text = part.strip()
        if not text:
            continue
        try:
            number = float(text)
        except ValueError:
            moment = _parse_moment(text)
            if moment is not None:
                waits.append((moment - now).total_seconds())
            continue
        if not math.isfinite(number):
            continue
        if epoch_numbers and number >= _EPOCH_THRESHOLD:
            number -= now.timestamp()
        waits.append(number)
    if not waits:
        return None
    return max(0.0, *waits)


def response_now(headers: Mapping[str, str]) -> dt.datetime:
    """The server's "now" for date-valued headers: its ``Date`` header, else this machine's.

    ``Date`` has whole seconds and is truncated, so waits computed from it err on the long side,
    and a skewed local clock cannot make the tap retry early.
    """
    value = headers.get("Date")
    if value:
        moment = _parse_moment(value)
        if moment is not None:
            return moment
    return dt.datetime.now(dt.UTC)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    # A repeated header arrives comma-joined; the smallest value is the safe one.
    numbers: list[int] = []
    for part in value.split(","):
        try:
            numbers.append(int(part.strip()))
        except ValueError:
            continue
    return min(numbers) if numbers else None


@dataclass(frozen=True)
class RateLimitHeaders:
    """What one response says about the grant's budget (fields ``None`` when not sent)."""

    limit: int | None
    remaining: int | None
    reset_in: float | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitHeaders:
        return cls(
            limit=_int_header(headers, "X-RateLimit-Limit"),
            remaining=_int_header(headers, "X-RateLimit-Remaining"),
            reset_in=header_wait_seconds(
                headers.get("X-RateLimit-Reset"), response_now(headers), epoch_numbers=True
            ),
        )


@dataclass
class LimiterStats:
    requests: int = 0
    throttled_429: int = 0
    peak_in_window: int = 0
    waits: list[float] = field(default_factory=list)
    retry_after_waits: list[float] = field(default_factory=list)
    #: Waits caused by ``X-RateLimit-Remaining: 0`` (the server's view, not the local window).
    server_waits: list[float] = field(default_factory=list)


class RateLimiter:
    """Blocks ``acquire()`` until a request fits the local window and the server's budget."""

    def __init__(
        self,
        max_requests_per_minute: int,
        *,
        window_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if max_requests_per_minute < 1:
            raise ValueError(
                f"max_requests_per_minute must be at least 1, got {max_requests_per_minute}."
            )
        self.max_requests = max_requests_per_minute
        # Looked up now, not at import, so tests can shrink Gusto's window with the sandbox's.
        self.window = WINDOW_SECONDS if window_seconds is None else window_seconds
        self._clock = clock
        # Looked up now, not at import, so tests can replace time.sleep.
        self._sleep = sleep or time.sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        #: ``X-RateLimit-Limit`` of the latest response that sent one.
        self.server_limit: int | None = None
        # Monotonic moment before which the server said no slot is free (Remaining 0).
        self._blocked_until: float | None = None
        self._last_remaining: int | None = None
        self._sent_since_report = 0
        #: Set once the server's Remaining fell faster than this process spends it.
        self.shared_grant = False
        self.stats = LimiterStats()

    @property
    def budget(self) -> int:
        """Requests allowed per window: the configured limit, lowered to the server's."""
        if self.server_limit is None:
            return self.max_requests
        return max(1, min(self.max_requests, self.server_limit))

    def acquire(self) -> float:
        """Wait until one more request is allowed, record it, return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                delay = 0.0
                if len(self._sent) >= self.budget:
                    delay = self._sent[0] + self.window - now
                server_delay = 0.0
                if self._blocked_until is not None:
                    server_delay = self._blocked_until - now
                    if server_delay <= 0:
                        self._blocked_until = None
                if server_delay > delay:
                    delay = server_delay
                    self.stats.server_waits.append(server_delay)
                if delay <= 0:
                    self._sent.append(now)
                    self._sent_since_report += 1
                    self.stats.requests += 1
                    self.stats.peak_in_window = max(self.stats.peak_in_window, len(self._sent))
                    if waited:
                        self.stats.waits.append(waited)
                    return waited
            self._sleep(delay)
            waited += delay

    def observe(self, info: RateLimitHeaders, *, throttled: bool = False) -> None:
        """Adopt the server's view of the grant's budget from one response.

        For a 429 only the limit is taken: the retry already waits ``Retry-After`` in the
        stream's backoff, and holding the limiter too would wait twice.
        """
        with self._lock:
            if info.limit is not None and info.limit >= 1:
                self.server_limit = info.limit
            sent, self._sent_since_report = self._sent_since_report, 0
            if throttled or info.remaining is None:
                self._last_remaining = None
                return
            last, self._last_remaining = self._last_remaining, info.remaining
            if last is not None and info.remaining < last - sent:
                # The window only refills, so a bigger drop than this process's own requests
                # means another client spends the same grant.
                self.shared_grant = True
            # Both clients seeing "1 left" would both send and one would get a 429; keeping
            # one slot back when the grant is shared turns that race into a wait.
            reserve = 1 if self.shared_grant else 0
            if info.remaining <= reserve and info.reset_in is not None:
                # The budget is used up (another client, or a lower limit). A rolling window
                # frees a slot within one window, so a longer reset (a clock mix-up) is
                # capped rather than stalling the run.
                self._blocked_until = self._clock() + min(info.reset_in, self.window)
            else:
                self._blocked_until = None

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
