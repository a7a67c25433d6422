"""The webhook receiver: a small Starlette app served by uvicorn.

Order of checks on ``POST /webhooks/gusto``: size (Content-Length, then the streamed size), then
the signature over the raw bytes, and only then JSON. The response goes out as soon as the event
is recorded; runs happen on the coordinator's worker threads, so Gusto gets its 2xx well inside
its 10 s limit however long a pipeline run takes.

Slow or abusive clients: each request's headers must arrive within ``header_timeout_seconds``
and its body within ``body_timeout_seconds`` (408), bodies over ``max_body`` get 413, a header
block still incomplete past 16 KiB is refused, and at most ``max_connections`` connections are
served at once (503 beyond). So a few clients trickling bytes cannot hold every slot while
Gusto's deliveries wait (docs/webhooks-and-scheduling.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from gusto_dynamics.runner import (
    DEFAULT_COMMAND,
    KINDS,
    CommandLauncher,
    RunCoordinator,
    RunOutcome,
)
from gusto_dynamics.webhooks.events import EventError, EventLedger, parse_event, run_kind
from gusto_dynamics.webhooks.signature import SIGNATURE_HEADER, matching_subscription
from gusto_dynamics.webhooks.store import (
    SecretStore,
    default_state_dir,
    has_live_pending,
    looks_like_verification_token,
    open_store,
    record_handshake,
    verification_tokens,
)

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/gusto"
DEFAULT_MAX_BODY = 65536
DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0
DEFAULT_BODY_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_CONNECTIONS = 256
MAX_HEADER_BYTES = 16384


class _HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's headers.

    uvicorn has no header timeout (its keep-alive timer starts only after a response, and any
    byte received cancels it), so a client trickling its headers would hold a connection slot
    for as long as it likes; at the concurrency cap everyone else, Gusto included, gets 503.
    """

    header_timeout: float = DEFAULT_HEADER_TIMEOUT_SECONDS
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        awaited_after = self.cycle

        def expire() -> None:
            # Close only if no new request's headers arrived and nothing is being answered.
            idle = awaited_after is None or awaited_after.response_complete
            if self.cycle is awaited_after and idle and not self.transport.is_closing():
                self.transport.close()

        self._deadline = self.loop.call_later(self.header_timeout, expire)


class _TooLargeError(Exception):
    pass


@dataclass
class WebhookReceiver:
    store: SecretStore
    ledger: EventLedger
    coordinator: RunCoordinator
    max_body: int = DEFAULT_MAX_BODY
    shutdown_grace_seconds: float = 30.0
    header_timeout_seconds: float = DEFAULT_HEADER_TIMEOUT_SECONDS
    body_timeout_seconds: float = DEFAULT_BODY_TIMEOUT_SECONDS
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    def record_outcome(self, outcome: RunOutcome) -> None:
        summary = f"exit={outcome.returncode} attempt={outcome.attempt} log={outcome.log_path}"
        self.ledger.finish(outcome.event_uuids, outcome.ok, summary)

    def resume_unfinished(self) -> int:
        """Queue events accepted before a restart whose runs never finished."""
        self.ledger.prune()
        unfinished = self.ledger.unfinished()
        for event_uuid, company_uuid, kind in unfinished:
            self.coordinator.submit(company_uuid, kind, event_uuid)
        if unfinished:
            logger.info("resumed %d accepted but unfinished webhook events", len(unfinished))
        return len(unfinished)

    def build_app(self) -> Starlette:
        @asynccontextmanager
        async def lifespan(_app: Starlette) -> AsyncIterator[None]:
            self.coordinator.start()
            await run_in_threadpool(self.resume_unfinished)
            try:
                yield
            finally:
                await run_in_threadpool(self.coordinator.stop, self.shutdown_grace_seconds)

        return Starlette(
            routes=[
                Route(WEBHOOK_PATH, self.receive, methods=["POST"]),
                Route("/healthz", self.health, methods=["GET"]),
            ],
            lifespan=lifespan,
        )

    async def health(self, _request: Request) -> JSONResponse:
        busy = len(self.coordinator.pending_companies())
        return JSONResponse({"status": "ok", "companies_queued_or_running": busy})

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                size = -1
            if size < 0:
                raise EventError("invalid Content-Length header")
            if size > self.max_body:
                raise _TooLargeError
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body:
                raise _TooLargeError
        return bytes(body)

    async def receive(self, request: Request) -> JSONResponse:
        client = request.client.host if request.client else "?"
        try:
            body = await asyncio.wait_for(self._read_body(request), self.body_timeout_seconds)
        except TimeoutError:
            logger.warning(
                "rejected webhook from %s: body not received within %gs",
                client,
                self.body_timeout_seconds,
            )
            return _error(408, f"body not received within {self.body_timeout_seconds:g}s")
        except _TooLargeError:
            logger.warning("rejected webhook from %s: body over %d bytes", client, self.max_body)
            return _error(413, f"body larger than {self.max_body} bytes")
        except EventError as exc:
            return _error(400, str(exc))

        try:
            data = await run_in_threadpool(self.store.read)
        except Exception as exc:
            # Gusto retries non-2xx, so a temporarily unreadable store loses nothing.
            logger.error(
                "cannot read the credential store to verify a webhook: %s (%s); answering 503",
                type(exc).__name__,
                exc,
            )
            return _error(503, "credential store unavailable")

        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            return await self._handshake(body, data, client)

        subscription_uuid = matching_subscription(body, signature, verification_tokens(data))
        if subscription_uuid is None:
            logger.warning(
                "rejected webhook from %s: X-Gusto-Signature matches no stored verification token",
                client,
            )
            return _error(401, "invalid signature")

        try:
            event = parse_event(json.loads(body))
        except (EventError, ValueError) as exc:
            logger.error(
                "signed webhook from subscription %s is unusable: %s; answering 400",
                subscription_uuid,
                exc,
            )
            return _error(400, f"unusable event: {exc}")

        kind = run_kind(event.event_type)
        companies = data.get("gusto", {}).get("companies", {})
        if kind is not None and event.company_uuid not in companies:
            logger.warning(
                "event %s (%s) is for company %s, which is not connected; ignoring it "
                "(connect it with `gusto-dynamics connect`)",
                event.uuid,
                event.event_type,
                event.company_uuid,
            )
            kind = None
        first = await run_in_threadpool(self.ledger.record, event, subscription_uuid, kind)
        if not first:
            logger.info("duplicate delivery of event %s (%s) ignored", event.uuid, event.event_type)
            return JSONResponse({"status": "duplicate"})
        if kind is None:
            logger.info("event %s (%s) needs no run", event.uuid, event.event_type)
            return JSONResponse({"status": "ignored"})
        queued = self.coordinator.submit(event.company_uuid, kind, event.uuid)
        logger.info(
            "event %s (%s) for company %s: %s run %s",
            event.uuid,
            event.event_type,
            event.company_uuid,
            kind,
            queued,
        )
        return JSONResponse({"status": "accepted", "run": queued})

    async def _handshake(self, body: bytes, data: dict[str, Any], client: str) -> JSONResponse:
        # Unsigned bodies are only ever looked at while `webhooks subscribe` waits for a token.
        if not has_live_pending(data):
            logger.warning("rejected unsigned webhook from %s: no X-Gusto-Signature", client)
            return _error(401, "missing X-Gusto-Signature")
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        token = payload.get("verification_token") if isinstance(payload, dict) else None
        if (
            not isinstance(payload, dict)
            or set(payload) != {"verification_token"}
            or not (looks_like_verification_token(token))
        ):
            logger.warning("rejected unsigned webhook from %s: not a handshake", client)
            return _error(401, "missing X-Gusto-Signature")
        accepted = await run_in_threadpool(record_handshake, self.store, str(token))
        if not accepted:
            return _error(401, "no subscription is being verified")
        logger.info(
            "received a subscription verification token from %s; "
            "`gusto-dynamics webhooks subscribe` will confirm it with Gusto",
            client,
        )
        return JSONResponse({"status": "verification token received"})


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind before serving so port 0 yields a known free port (tests, `--port 0`)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # Listening now lets early connections wait in the backlog until uvicorn accepts them.
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def ledger_path(state_dir: Path) -> Path:
    return state_dir / "webhook-events.sqlite"


@dataclass
class ReceiverSettings:
    host: str = "127.0.0.1"
    port: int = 8787
    max_body: int = DEFAULT_MAX_BODY
    commands: dict[str, str] | None = None
    state_dir: Path | None = None
    vault: Path | None = None
    max_parallel: int = 1
    run_timeout_seconds: float = 3600.0
    retry_delays: tuple[float, ...] = (60.0, 300.0)
    cwd: Path | None = None
    shutdown_grace_seconds: float = 30.0
    header_timeout_seconds: float = DEFAULT_HEADER_TIMEOUT_SECONDS
    body_timeout_seconds: float = DEFAULT_BODY_TIMEOUT_SECONDS
    max_connections: int = DEFAULT_MAX_CONNECTIONS


def create_receiver(
    settings: ReceiverSettings, store: SecretStore | None = None
) -> WebhookReceiver:
    if settings.max_body < 1024:
        raise ValueError("--max-body must be at least 1024 bytes; Gusto events are ~300 bytes")
    store = store if store is not None else open_store(settings.vault)
    state_dir = settings.state_dir or default_state_dir(settings.vault)
    commands = {kind: DEFAULT_COMMAND for kind in KINDS} | (settings.commands or {})
    ledger = EventLedger(ledger_path(state_dir))
    launcher = CommandLauncher(
        commands,
        state_dir / "runs",
        timeout_seconds=settings.run_timeout_seconds,
        cwd=settings.cwd,
        rereads=ledger.payrolls_to_reread,
    )
    coordinator = RunCoordinator(
        launcher, max_parallel=settings.max_parallel, retry_delays=settings.retry_delays
    )
    receiver = WebhookReceiver(
        store,
        ledger,
        coordinator,
        max_body=settings.max_body,
        shutdown_grace_seconds=settings.shutdown_grace_seconds,
        header_timeout_seconds=settings.header_timeout_seconds,
        body_timeout_seconds=settings.body_timeout_seconds,
        max_connections=settings.max_connections,
    )
    coordinator.set_outcome_handler(receiver.record_outcome)
    return receiver


def create_server(receiver: WebhookReceiver, host: str, port: int) -> tuple[Any, socket.socket]:
    """A uvicorn server and its bound socket; run with ``server.run(sockets=[sock])``."""
    protocol = type(
        "HeaderDeadlineProtocol",
        (_HeaderDeadlineProtocol,),
        {"header_timeout": receiver.header_timeout_seconds},
    )
    config = uvicorn.Config(
        receiver.build_app(),
        http=protocol,
        log_level="info",
        timeout_keep_alive=5,
        limit_concurrency=receiver.max_connections,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        # Behind a TLS-terminating proxy on the same host (deploy/), trust its X-Forwarded-For.
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        server_header=False,
    )
    return uvicorn.Server(config), bind_socket(host, port)


def serve(settings: ReceiverSettings) -> None:
    receiver = create_receiver(settings)
    # Fail now on a wrong key or a damaged store rather than with a 503 per delivery.
    data = receiver.store.read()
    if not verification_tokens(data):
        logger.warning(
            "no verified webhook subscription in the store: every signed event will get 401 "
            "until `gusto-dynamics webhooks subscribe --url https://...` has run"
        )
    if not data.get("gusto", {}).get("companies"):
        logger.warning("no Gusto company is connected: events will be ignored")
    server, sock = create_server(receiver, settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    logger.info("webhook receiver listening on http://%s:%d%s", host, port, WEBHOOK_PATH)
    try:
        server.run(sockets=[sock])
    finally:
        receiver.ledger.close()
