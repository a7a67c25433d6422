"""The HTTP side of the Dynamics sandbox: response records, request counters and the
stdlib request handler that hands every request to the sandbox and writes its answer."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from gd_sandbox.httpd import serve_methods

from .odata import ODataError, dumps

log = logging.getLogger("gd_sandbox.dynamics")

JSON_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8"


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def reason(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Unknown"


def json_response(status: int, payload: Any, *extra: tuple[str, str]) -> Response:
    return Response(
        status,
        dumps(payload).encode(),
        [("Content-Type", JSON_TYPE), ("OData-Version", "4.0"), *extra],
    )


def odata_error(err: ODataError) -> Response:
    return json_response(err.status, err.body())


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self.total = 0
        self.requests: dict[str, dict[str, dict[str, int]]] = {}
        self.batches = 0
        self.batch_operations = 0
        self.changesets_committed = 0
        self.changesets_rolled_back = 0
        self.throttled = 0
        self.unavailable = 0
        self.lost_responses = 0
        self.dropped_connections = 0
        self.unauthorized = 0

    def count(self, entity: str, method: str, status: int) -> None:
        with self.lock:
            self.total += 1
            per = self.requests.setdefault(entity, {}).setdefault(method, {})
            per[str(status)] = per.get(str(status), 0) + 1

    def bump(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict[str, Any]:
        with self.lock:
            return {
                "total": self.total,
                "requests": {
                    e: {m: dict(s) for m, s in ms.items()} for e, ms in self.requests.items()
                },
                "batches": self.batches,
                "batch_operations": self.batch_operations,
                "changesets_committed": self.changesets_committed,
                "changesets_rolled_back": self.changesets_rolled_back,
                "throttled": self.throttled,
                "unavailable": self.unavailable,
                "lost_responses": self.lost_responses,
                "dropped_connections": self.dropped_connections,
                "unauthorized": self.unauthorized,
            }


class CloseConnection(Exception):  # noqa: N818
    """Raised to end a request by closing the socket without any response."""


class Handles(Protocol):
    """What the server hands every request to (the ``DynamicsSandbox``)."""

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], read_body: Callable[[], bytes]
    ) -> Response: ...


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: Handles


@serve_methods("GET", "POST", "PATCH", "PUT", "DELETE", "MERGE")
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    timeout = 30
    server: Server

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError, ssl.SSLError):
            assert isinstance(self.request, ssl.SSLSocket)
            self.request.do_handshake()

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline().strip().split(b";")[0]
                size = int(size_line or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        sandbox = self.server.sandbox
        headers = {k.lower(): v for k, v in self.headers.items()}
        body_cache: list[bytes] = []

        def read_body() -> bytes:
            if not body_cache:
                body_cache.append(self._read_body())
            return body_cache[0]

        try:
            resp = sandbox.handle(self.command, self.path, headers, read_body)
        except CloseConnection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except Exception:
            log.exception("sandbox error on %s %s", self.command, self.path.split("?")[0])
            resp = json_response(500, {"error": {"code": "", "message": "Sandbox internal error."}})
        if not body_cache:
            read_body()  # keep the connection in sync for the next request
        self.send_response(resp.status, resp.reason)
        for name, value in resp.headers:
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(resp.body)))
        self.send_header("request-id", str(uuid.uuid4()))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)
