"""Fault injection around the routes: the `Faults` switches (see `controls.Faults`) turned into
answers. Never on `/_sandbox/` admin routes, so a test can always read stats and reset faults.

Faults that lose the answer return a `Response` with ``drop=True``: the HTTP layer then shuts the
socket down without writing a byte, which is what a client sees from a dead peer.
"""

from __future__ import annotations

from gd_sandbox.gusto.controls import echo_request
from gd_sandbox.gusto.http_types import Request, Response, gusto_error
from gd_sandbox.gusto.routes.base import SandboxState

ADMIN_PREFIX = "/_sandbox/"


def _armed(state: SandboxState, req: Request) -> bool:
    return not req.path.startswith(ADMIN_PREFIX) and state.faults.applies_to(req.path)


def before_route(state: SandboxState, req: Request) -> Response | None:
    """A fault that answers instead of the route (the request is NOT processed), or None."""
    if not _armed(state, req):
        return None
    faults = state.faults
    if faults.take("drop_connection_next"):
        state.stats.bump("faults_fired")
        return Response(0, drop=True)
    status = faults.take_status()
    if status is not None:
        state.stats.bump("faults_fired")
        retry_after = faults.snapshot().get("retry_after")
        extra = {"Retry-After": str(retry_after)} if status == 503 and retry_after else {}
        return gusto_error(
            status,
            "internal_error",
            f"Simulated upstream failure ({status}); retry later",
            headers=extra,
        )
    if faults.take("throttle_next"):
        state.stats.bump("faults_fired")
        retry = int(faults.snapshot().get("retry_after") or 1)
        return gusto_error(
            429,
            "rate_limit_exceeded",
            "Too many requests; retry after the Retry-After interval",
            headers={**state.rate_limiter.headers(0, retry), "Retry-After": str(retry)},
        )
    return None


def after_route(state: SandboxState, req: Request, response: Response) -> Response:
    """The route ran (its effects stay); a fault may still lose or cut its answer."""
    if _armed(state, req) and state.faults.take("drop_response_next"):
        state.stats.bump("faults_fired")
        return Response(0, drop=True)
    if _armed(state, req) and state.faults.take("malformed_next"):
        state.stats.bump("faults_fired")
        # A body cut mid-stream, as a broken proxy or a reset connection leaves it.
        response.status = 200
        response.body = response.body[: max(1, len(response.body) // 2)]
    return response


def on_answer(state: SandboxState, req: Request, response: Response) -> Response:
    """Faults on every answer, admin ones included: secrets echoed in errors, and
    ``Retry-After`` repeated on 429s as some proxies do."""
    switches = state.faults.snapshot()
    if response.status >= 400 and switches.get("echo_secrets"):
        echo_request(req, response)
    repeat = switches.get("retry_after_repeat") or 0
    if response.status == 429 and repeat > 1 and "Retry-After" in response.headers:
        value = response.headers.pop("Retry-After")
        response.repeated_headers.extend([("Retry-After", value)] * repeat)
    return response
