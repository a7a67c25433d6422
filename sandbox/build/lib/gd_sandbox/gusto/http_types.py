"""Transport-neutral request/response records used between the HTTP handler and the app."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gd_sandbox.gusto import jsonenc


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Header lines written after ``headers``, where one name may appear several times.
    repeated_headers: list[tuple[str, str]] = field(default_factory=list)
    # Close the socket without writing anything (simulated network failure).
    drop: bool = False

    @classmethod
    def json(cls, status: int, value: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(
            status,
            jsonenc.dumps(value).encode(),
            {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )


def error_body(
    category: str, message: str, error_key: str = "base", metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"error_key": error_key, "category": category, "message": message}
    if metadata:
        entry["metadata"] = metadata
    return {"errors": [entry]}


def gusto_error(
    status: int,
    category: str,
    message: str,
    error_key: str = "base",
    *,
    metadata: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response.json(status, error_body(category, message, error_key, metadata), headers)


class HttpError(Exception):
    """Raised inside a route to answer with a Gusto `errors[]` body."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        error_key: str = "base",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.response = gusto_error(status, category, message, error_key, metadata=metadata)


def parse_json_object(req: Request) -> dict[str, Any]:
    if not req.body.strip():
        return {}
    try:
        value = json.loads(req.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HttpError(
            400, "invalid_request", f"Request body is not valid JSON: {exc}", "body"
        ) from exc
    if not isinstance(value, dict):
        raise HttpError(400, "invalid_request", "Request body must be a JSON object", "body")
    return value
