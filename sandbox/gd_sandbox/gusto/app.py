"""Request handling of the Gusto sandbox: the route table and the order every request goes
through (statistics, fault injection, routing, auth checks, the route, faults on the answer).
The routes themselves live in `gd_sandbox.gusto.routes`, one module per group.

Why Werkzeug's `routing.Map` on the stdlib `http.server` (see `server.py`) rather than Starlette
on uvicorn: the sandbox's faults need control of the socket that an ASGI server keeps to itself.
`drop_connection_next`/`drop_response_next` shut the socket down with no byte written (uvicorn
answers 500 to an app that sends nothing); the `Date` header comes from the sandbox's pinned day
(uvicorn writes the real date); `Retry-After` may repeat as separate header lines; each
connection is served on its own thread with HTTP/1.1 keep-alive exactly as before, so a route
that blocks (creating a webhook subscription POSTs to the subscriber before answering) stalls
no other client. `routing.Map` brings the matching, ``405`` with the allowed methods, and
thread-safe lookups, with no change to any of that.
"""

from __future__ import annotations

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect, Rule

from gd_sandbox.gusto.http_types import HttpError, Request, Response, gusto_error
from gd_sandbox.gusto.routes import access, inject
from gd_sandbox.gusto.routes.admin import AdminRoutes
from gd_sandbox.gusto.routes.base import (
    DEFAULT_API_VERSION,
    KINDS,
    SUPPORTED_API_VERSIONS,
    WINDOW_RULES,
    Ctx,
    RouteSpec,
    SandboxState,
)
from gd_sandbox.gusto.routes.company import CompanyRoutes
from gd_sandbox.gusto.routes.oauth import OAuthRoutes
from gd_sandbox.gusto.routes.payrolls import PayrollRoutes
from gd_sandbox.gusto.routes.webhooks import WebhookRoutes

__all__ = ["DEFAULT_API_VERSION", "SUPPORTED_API_VERSIONS", "WINDOW_RULES", "GustoApp"]


def _rule_path(template: str) -> str:
    """``/v1/companies/{company_id}`` -> Werkzeug's ``/v1/companies/<company_id>`` (the default
    converter matches one non-empty path segment, as the routes always have)."""
    return template.replace("{", "<").replace("}", ">")


class GustoApp:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.admin = AdminRoutes(self.state)
        groups = (
            OAuthRoutes(self.state),
            CompanyRoutes(self.state),
            PayrollRoutes(self.state),
            WebhookRoutes(self.state),
            self.admin,
        )
        self.routes: dict[str, RouteSpec] = {}
        for group in groups:
            for route in group.routes():
                assert route.kind in KINDS and route.name not in self.routes, route
                self.routes[route.name] = route
        # merge_slashes off: "/v1//companies" is a 404, not a redirect; strict_slashes stays
        # on, so "/v1/events/" is a 404 too, as the regex router answered.
        self.url_map = Map(
            [
                Rule(_rule_path(r.template), methods=[r.method], endpoint=name)
                for name, r in self.routes.items()
            ],
            merge_slashes=False,
        )

    def handle(self, req: Request) -> Response:
        state = self.state
        state.stats.request(req.method, req.path)
        try:
            response = self._dispatch(req)
        except HttpError as exc:
            response = exc.response
        response = inject.on_answer(state, req, response)
        state.stats.status(response.status)
        return response

    def _dispatch(self, req: Request) -> Response:
        state = self.state
        fault = inject.before_route(state, req)
        if fault is not None:
            return fault
        # One adapter per request: binding is cheap and leaves nothing shared between threads.
        adapter = self.url_map.bind("127.0.0.1")
        try:
            name, params = adapter.match(req.path, req.method)
        except MethodNotAllowed as exc:
            # Werkzeug adds HEAD to every GET rule; the server answers HEAD with 501, so the
            # Allow header names only the methods that are really routed.
            allowed = sorted({m for m in exc.valid_methods or () if m != "HEAD"})
            return gusto_error(
                405,
                "invalid_operation",
                f"{req.method} is not allowed on {req.path}; use {', '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
        except (NotFound, RequestRedirect):
            return gusto_error(404, "not_found", f"No route matches {req.method} {req.path}")
        route = self.routes[str(name)]
        state.stats.route(route.name)
        ctx = Ctx(req, {key: str(value) for key, value in params.items()})
        return inject.after_route(state, req, access.run_guarded(state, route, ctx))
