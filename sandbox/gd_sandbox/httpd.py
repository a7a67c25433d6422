"""What the request handlers of both sandboxes share."""

from __future__ import annotations

from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import TypeVar

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
