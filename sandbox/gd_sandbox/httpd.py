"""What the HTTP servers of both sandboxes share."""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, TypeVar

_Handler = TypeVar("_Handler", bound=type[BaseHTTPRequestHandler])


def serve_methods(*methods: str) -> Callable[[_Handler], _Handler]:
    """Route each HTTP method to the handler class's ``_handle``: BaseHTTPRequestHandler looks
    for a ``do_<METHOD>`` attribute and answers 501 to a method without one."""

    def apply(cls: _Handler) -> _Handler:
        handle = vars(cls)["_handle"]
        for method in methods:
            setattr(cls, f"do_{method}", handle)
        return cls

    return apply


class ServedSandbox(abc.ABC):
    """A sandbox answering on a server thread from ``start()`` to ``stop()``, also as a context
    manager."""

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @abc.abstractmethod
    def start(self) -> Self:
        """Bind the server (a no-op when it runs already) and serve it with ``_serve``."""

    def _serve(self, server: ThreadingHTTPServer, name: str, **serve_options: Any) -> None:
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name=name, kwargs=serve_options, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
