"""A scripted HTTP server on 127.0.0.1 and a fake token source for client unit tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from target_dynamics_fo.fo import DynamicsAuthError


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: str | bytes = ""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering


Handler = Callable[[Seen], Reply]


class ScriptedServer:
    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.script: list[Reply | Handler] = []
        self.fallback: Handler = lambda _s: Reply(404, '{"error":{"message":"not scripted"}}')
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.command, self.path, dict(self.headers), body)
                outer.seen.append(seen)
                step = outer.script.pop(0) if outer.script else outer.fallback
                reply = step(seen) if callable(step) else step
                if reply.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                data = reply.body.encode() if isinstance(reply.body, str) else reply.body
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _serve  # noqa: N815

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def scripted() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


class FakeTokens:
    """Token source: a new token string each forced refresh."""

    def __init__(self) -> None:
        self.issued = 1
        self.forced = 0

    def token(self, force_refresh: bool = False) -> str:
        if force_refresh:
            self.forced += 1
            self.issued += 1
        return f"tok-{self.issued}"

    def unauthorized_error(self) -> Exception:
        return DynamicsAuthError("rejected twice: check Microsoft Entra applications")


class RecordingAudit:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, int | None, str | None, str | None]] = []
        self.outcomes: list[dict[str, Any]] = []

    def record_request(
        self,
        method: str,
        entity: str,
        status: int | None,
        journal_number: str | None = None,
        error: str | None = None,
    ) -> None:
        self.requests.append((method, entity, status, journal_number, error))

    def record_outcome(self, payroll_uuid: str, outcome: str, **kw: Any) -> None:
        self.outcomes.append({"payroll_uuid": payroll_uuid, "outcome": outcome, **kw})
