"""`GustoSandbox`: the HTTP server (stdlib ThreadingHTTPServer) around `GustoApp`."""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gd_sandbox.gusto.app import GustoApp
from gd_sandbox.gusto.controls import Faults, RateLimiter, Stats
from gd_sandbox.gusto.http_types import Request, Response, gusto_error
from gd_sandbox.gusto.model import Company
from gd_sandbox.gusto.oauth import OAuthState
from gd_sandbox.gusto.routes.base import SandboxState
from gd_sandbox.gusto.seed import SeedBuilder, uid
from gd_sandbox.httpd import ServedSandbox, serve_methods

log = logging.getLogger("gd_sandbox.gusto")
MAX_BODY = 1_000_000
DEFAULT_REDIRECT_URIS = ("http://127.0.0.1/callback", "http://localhost/callback")


# The sandbox's clock starts at this hour (UTC) of its pinned day: midday, so that no test run
# crosses into the next day and Gusto's today (its Date header) is the pinned day throughout.
START_HOUR_UTC = 12


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    app: GustoApp
    now: Callable[[], datetime]


@serve_methods("GET", "POST", "PUT", "DELETE", "PATCH")
class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "GustoSandbox/1.0"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle + delayed ACK add
        # ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._write(gusto_error(400, "invalid_request", "Bad Content-Length"))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            response = self.server.app.handle(request)
        except Exception:  # a sandbox bug must still answer like a server would
            log.exception("unhandled error on %s %s", self.command, parts.path)
            response = gusto_error(500, "internal_error", "Internal server error")
        if response.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._write(response)

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in [*response.headers.items(), *response.repeated_headers]:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header tells clients Gusto's today: the sandbox's own clock (its pinned day),
        # so a client that counts from the server's date agrees with the sandbox.
        return format_datetime(self.server.now(), usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line may carry query strings (a misplaced client_secret); log the path only.
        log.debug("%s %s", self.command, urlsplit(self.path).path)


class GustoSandbox(ServedSandbox):
    """A local Gusto API. Use as a context manager or call `start()`/`stop()`.

    ``today`` is the sandbox's calendar day, required so that no caller depends on the real
    date by accident: the seed's payroll calendar, the list limits and the ``Date`` header all
    count from it. ``window_rule`` is how list windows select pay periods (see ``app``).
    ``company_level_taxes`` ({name: amount}) adds payroll-level taxes that name no employee to
    every payroll's ``company_taxes`` and to its ``employer_taxes`` total, as Gusto reports them.
    ``calendar_companies`` adds two small companies paid weekly (in arrears) and monthly (on
    the 25th, before the period ends), for tests of the payroll calendar.
    """

    def __init__(
        self,
        port: int = 0,
        seed: str = "demo",
        token_lifetime: int = 7200,
        rate_limit_per_minute: int = 200,
        large_company_employees: int = 0,
        *,
        today: date,
        window_rule: str = "contained",
        calendar_companies: bool = False,
        redirect_uris: list[str] | None = None,
        code_lifetime: int = 600,
        rate_limit_window: float = 60.0,
        host: str = "127.0.0.1",
        company_level_taxes: dict[str, str] | None = None,
    ) -> None:
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the sandbox only binds to 127.0.0.1")
        super().__init__()
        self.host = "127.0.0.1"
        self.port = port
        self.seed = seed
        self.today = today
        # The wall clock is the pinned day at START_HOUR_UTC plus the time elapsed since
        # then: no reading of the machine's date or time of day reaches a response.
        self._clock_origin = time.monotonic()
        self.client_id = "sandbox-" + uid(seed, "oauth-application")[:13]
        self.client_secret = secrets.token_urlsafe(32)
        self.redirect_uris = list(redirect_uris or DEFAULT_REDIRECT_URIS)
        self.faults = Faults()
        self.stats = Stats()
        self.oauth = OAuthState(
            self.client_id, self.client_secret, token_lifetime, code_lifetime=code_lifetime
        )
        self.rate_limiter = RateLimiter(
            rate_limit_per_minute, rate_limit_window, wall=self._server_now
        )
        started = time.monotonic()
        self.companies: list[Company] = SeedBuilder(seed, self.today).build(
            large_company_employees, calendar_companies
        )
        log.debug("seeded in %.2f s", time.monotonic() - started)
        self.app = GustoApp(
            SandboxState(
                seed=seed,
                today=self.today,
                companies=self.companies,
                oauth=self.oauth,
                rate_limiter=self.rate_limiter,
                faults=self.faults,
                stats=self.stats,
                redirect_uris=self.redirect_uris,
                base_url=lambda: self.url,
                window_rule=window_rule,
                company_level_taxes=company_level_taxes,
            )
        )

    # ---- lifecycle -------------------------------------------------------------------------

    def _server_now(self) -> datetime:
        """The sandbox's one wall clock (Date header, X-RateLimit-Reset): the pinned day from
        START_HOUR_UTC on, advancing with the time elapsed since the sandbox was made."""
        elapsed = timedelta(seconds=time.monotonic() - self._clock_origin)
        start = datetime(
            self.today.year, self.today.month, self.today.day, START_HOUR_UTC, tzinfo=UTC
        )
        return start + elapsed

    def start(self) -> GustoSandbox:
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), _Handler)
        server.app = self.app
        server.now = self._server_now
        self.port = server.server_address[1]
        self._serve(server, "gusto-sandbox", poll_interval=0.1)
        return self

    # ---- public API (CONTRACTS section 2) ----------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def company_uuids(self) -> list[str]:
        return [c.uuid for c in self.companies]

    def company(self, name_or_uuid: str) -> Company:
        for c in self.companies:
            if name_or_uuid in (c.uuid, c.name):
                return c
        raise KeyError(f"no sandbox company {name_or_uuid!r}")

    def mint_refresh_token(self, company_uuid: str) -> str:
        """What a completed OAuth authorization-code dance yields, without the dance."""
        self.company(company_uuid)
        record = self.oauth.mint(company_uuid)
        assert record.refresh_token is not None
        return record.refresh_token

    def mint_access_token(self, company_uuid: str) -> str:
        """An access token for `company_uuid`, on a grant of its own."""
        self.company(company_uuid)
        return self.oauth.mint(company_uuid).access_token

    def info(self) -> dict[str, Any]:
        return self.app.admin.info()

    def process_payroll(self, payroll_uuid: str) -> dict[str, Any]:
        return self.app.admin.process_payroll(payroll_uuid)

    def amend_payroll(self, payroll_uuid: str, bonus: Decimal) -> dict[str, Any]:
        return self.app.admin.amend_payroll(payroll_uuid, bonus)

    def cancel_payroll(self, payroll_uuid: str) -> dict[str, Any]:
        return self.app.admin.cancel_payroll(payroll_uuid)

    def terminate_employee(self, employee_uuid: str, effective_date: date) -> dict[str, Any]:
        return self.app.admin.terminate(employee_uuid, effective_date)

    def hire_employee(self, **fields: Any) -> dict[str, Any]:
        return self.app.admin.hire(fields)

    def deliver_webhook(self, **body: Any) -> dict[str, Any]:
        return self.app.admin.deliver(body)

    def payroll_expected(self, payroll_uuid: str) -> dict[str, Any]:
        """The payroll as `GET /_sandbox/payrolls/{uuid}` returns it (every amount a string)."""
        return self.app.admin.payroll_expected(payroll_uuid)
