"""The loopback HTTP server that catches Gusto's OAuth redirect for the length of the dance.

``state`` protects it against a forged redirect; the authorization code never reaches a log.
"""

from __future__ import annotations

import http.server
import queue
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gusto_dynamics.connect.common import ConnectError

LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}


@dataclass(frozen=True)
class Redirect:
    """What came back on the redirect URI."""

    code: str | None
    state: str | None
    error: str | None
    error_description: str | None

    def __repr__(self) -> str:
        # The code is a credential until it is exchanged.
        return f"Redirect(code={'***' if self.code else None}, error={self.error!r})"


class CallbackServer:
    """One-shot HTTP server on the redirect URI's loopback port that catches the redirect."""

    def __init__(self, redirect_uri: str, expected_state: str) -> None:
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS or not parts.port:
            raise ConnectError(
                f"--redirect-uri {redirect_uri!r} must be http://127.0.0.1:PORT/PATH (or "
                "localhost) so this command can receive the redirect itself; register exactly "
                "that URI in the Gusto developer application."
            )
        self.redirect_uri = redirect_uri
        self.path = parts.path or "/"
        self._results: queue.Queue[Redirect] = queue.Queue()
        handler = self._handler_class(expected_state)
        try:
            self._server = http.server.HTTPServer(("127.0.0.1", parts.port), handler)
        except OSError as exc:
            raise ConnectError(
                f"Cannot listen on 127.0.0.1:{parts.port} for the OAuth redirect "
                f"({exc.strerror}). Stop whatever uses that port, or register another "
                "http://127.0.0.1:PORT/callback in the Gusto application and pass it as "
                "--redirect-uri."
            ) from None
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler_class(self, expected_state: str) -> type[http.server.BaseHTTPRequestHandler]:
        results = self._results
        path = self.path

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != path:
                    self._reply(404, "Not the OAuth callback.")
                    return
                query = {key: values[0] for key, values in parse_qs(parts.query).items()}
                redirect = Redirect(
                    code=query.get("code"),
                    state=query.get("state"),
                    error=query.get("error"),
                    error_description=query.get("error_description"),
                )
                if redirect.error:
                    self._reply(400, "Gusto did not authorize the connection. See the terminal.")
                elif not secrets.compare_digest(redirect.state or "", expected_state):
                    self._reply(400, "This redirect does not belong to the running connect.")
                else:
                    self._reply(200, "Connected. You can close this window.")
                results.put(redirect)

            def _reply(self, status: int, message: str) -> None:
                body = f"<!doctype html><title>gusto-dynamics</title><p>{message}</p>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                # The default logs the request line, which carries the authorization code.
                return

        return Handler

    def __enter__(self) -> CallbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait(self, timeout: float) -> Redirect | None:
        try:
            return self._results.get(timeout=timeout)
        except queue.Empty:
            return None
