"""Fault switches, request statistics and the per-grant rate limiter."""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from datetime import datetime, timedelta
from typing import Any

from gd_sandbox.gusto.http_types import Request, Response

FAULT_KEYS = (
    "status_next",
    "drop_connection_next",
    "drop_response_next",
    "malformed_next",
    "throttle_next",
    "retry_after",
    "retry_after_repeat",
    "paths",
    "unlisted_payrolls",
    "echo_secrets",
)


class Faults(MutableMapping[str, Any]):
    """Switches that make the next requests fail (dict-like; thread safe).

    - `status_next: [code, n]`: answer the next n API requests with `code` (500/502/503...).
    - `drop_connection_next: n`: close the socket without answering; the request is NOT processed.
    - `drop_response_next: n`: process the request, then close the socket without answering
      (the lost-response case: e.g. a refresh that happened although the client saw an error).
    - `malformed_next: n`: process the request, then answer 200 with a truncated JSON body.
    - `throttle_next: n`: answer the next n API requests with 429.
    - `retry_after: s`: `Retry-After` seconds on forced 429s (default 1), and on forced 503s
      when set.
    - `retry_after_repeat: n`: send `Retry-After` n times on every 429 (forced or real), as
      some proxies do; `requests` joins the copies into `"60, 60"`.
    - `paths: [prefix, ...]`: limit the switches above to requests whose path starts with a prefix.
    - `unlisted_payrolls: [uuid, ...]`: the payroll list leaves these payrolls out while pay
      periods and the single-payroll endpoint still show them (Gusto's lists disagreeing).
    - `echo_secrets: 1` (stays on until set to 0): every error answer quotes the request's
      Authorization header and body in its messages, as careless servers and proxies do, so a
      client's redaction of server text can be tested.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        with self._lock:
            return self._values[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.set(**{key: value})

    def __delitem__(self, key: str) -> None:
        with self._lock:
            del self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        return len(self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._values)

    def set(self, **values: Any) -> None:
        self.apply(values)

    def apply(self, values: Mapping[str, Any]) -> None:
        """Validate and merge switches; raises ValueError naming the bad switch."""
        clean: dict[str, Any] = {}
        for key, value in values.items():
            if key not in FAULT_KEYS:
                raise ValueError(f"unknown fault switch {key!r}; known: {', '.join(FAULT_KEYS)}")
            if key == "status_next":
                if value is None:
                    clean[key] = None
                    continue
                if (
                    not isinstance(value, list | tuple)
                    or len(value) != 2
                    or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
                    or not 400 <= value[0] <= 599
                    or value[1] < 0
                ):
                    raise ValueError("status_next must be [status_code (400-599), count]")
                clean[key] = [value[0], value[1]]
            elif key in ("paths", "unlisted_payrolls"):
                if value is not None and not (
                    isinstance(value, list) and all(isinstance(v, str) for v in value)
                ):
                    raise ValueError(f"{key} must be a list of strings")
                clean[key] = value
            else:
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"{key} must be a non-negative integer")
                clean[key] = value
        with self._lock:
            self._values.update(clean)

    def applies_to(self, path: str) -> bool:
        paths = self.snapshot().get("paths")
        return not paths or any(path.startswith(p) for p in paths)

    def take(self, key: str) -> bool:
        """Consume one unit of a counter switch; True if it fired."""
        with self._lock:
            count = self._values.get(key) or 0
            if count <= 0:
                return False
            self._values[key] = count - 1
            return True

    def take_status(self) -> int | None:
        with self._lock:
            spec = self._values.get("status_next")
            if not spec or spec[1] <= 0:
                return None
            spec[1] -= 1
            return int(spec[0])


class Stats:
    """Request counters (thread safe). `snapshot()` is what `/_sandbox/stats` returns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.per_path: Counter[str] = Counter()
            self.per_route: Counter[str] = Counter()
            self.per_status: Counter[int] = Counter()
            self.counters: Counter[str] = Counter()

    def request(self, method: str, path: str) -> None:
        with self._lock:
            self.total += 1
            self.per_path[f"{method} {path}"] += 1

    def route(self, name: str) -> None:
        with self._lock:
            self.per_route[name] += 1

    def status(self, code: int) -> None:
        with self._lock:
            self.per_status[code] += 1
            if code == 429:
                self.counters["throttled"] += 1

    def bump(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.counters[name] += amount

    def __getitem__(self, key: str) -> Any:
        return self.snapshot()[key]

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "per_path": dict(self.per_path),
                "per_route": dict(self.per_route),
                "per_status": {str(k): v for k, v in self.per_status.items()},
                "throttled": self.counters["throttled"],
                "refreshes": self.counters["refreshes"],
                "invalid_grants": self.counters["invalid_grants"],
                "token_grants": self.counters["token_grants"],
                "webhook_deliveries": self.counters["webhook_deliveries"],
                "faults_fired": self.counters["faults_fired"],
            }


class RateLimiter:
    """Rolling-window limit per OAuth grant (Gusto: 200 requests per 60 s).

    It also notes, per grant, when its last 429 said the client may retry, and counts requests
    that come sooner (``early_requests``): a client that honours ``Retry-After`` has none.
    """

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        wall: Callable[[], datetime],
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        # The server's wall clock, which the Date header shows (the sandbox pins the day):
        # X-RateLimit-Reset must be on the same clock or clients comparing the two are off.
        self.wall = wall
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}
        self._retry_at: dict[str, float] = {}
        self.early_requests = 0

    def hit(self, key: str) -> tuple[bool, int, float]:
        """Record a request; returns (allowed, remaining, seconds until a slot frees up)."""
        now = self.clock()
        with self._lock:
            if now < self._retry_at.get(key, now):
                self.early_requests += 1
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                reset_in = hits[0] + self.window - now
                # The client is told a whole number of seconds, rounded up (retry_after).
                self._retry_at[key] = now + self.retry_after_seconds(reset_in)
                return False, 0, reset_in
            hits.append(now)
            reset_in = hits[0] + self.window - now
            return True, self.limit - len(hits), reset_in

    def headers(self, remaining: int, reset_in: float) -> dict[str, str]:
        """``X-RateLimit-*`` as Gusto documents them; ``Reset`` is a datetime (UTC, whole
        seconds) at which the oldest request of the window leaves it, i.e. one slot frees.

        Rounded up, so a client waiting until then is never early; a client comparing it with
        the (truncated) ``Date`` header errs by at most two seconds on the late side.
        """
        moment = self.wall() + timedelta(seconds=max(0.0, reset_in))
        reset_at = moment.replace(microsecond=0) + timedelta(seconds=1 if moment.microsecond else 0)
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": reset_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    @staticmethod
    def retry_after_seconds(seconds: float) -> int:
        return max(1, math.ceil(seconds))

    @classmethod
    def retry_after(cls, seconds: float) -> str:
        return str(cls.retry_after_seconds(seconds))


def echo_request(req: Request, response: Response) -> None:
    """Quote the request's Authorization header and body in every message of an error answer."""
    try:
        payload = json.loads(response.body)
    except ValueError:
        return
    echo = (
        f" [request Authorization: {req.header('Authorization') or '-'}; "
        f"body: {req.body.decode('utf-8', 'replace') or '-'}]"
    )
    if isinstance(payload, dict):
        for key in ("message", "error_description"):
            if isinstance(payload.get(key), str):
                payload[key] += echo
        if isinstance(payload.get("error"), str):
            payload["error_description"] = str(payload.get("error_description") or "") + echo
        for item in payload.get("errors") or []:
            if isinstance(item, dict):
                item["message"] = str(item.get("message") or "") + echo
    response.body = json.dumps(payload).encode()
