"""OData request pieces: operations of a changeset, their results, keys and URL literals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

# Characters left unescaped in keys and query values (F&O reads them literally).
SAFE = "'(),=:$*@/"


@dataclass(frozen=True)
class Operation:
    """One request inside a changeset."""

    method: str
    entity: str
    body: Mapping[str, Any] | None = None
    key: Mapping[str, Any] | None = None
    odata_type: str | None = None


@dataclass(frozen=True)
class Result:
    content_id: int | None
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def fo_date(value: date | str) -> str:
    """F&O date-only fields as midday UTC, which no time zone can shift to another day."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.isoformat()}T12:00:00Z"


def odata_literal(value: Any) -> str:
    """A value as an OData URL literal: strings quoted with embedded quotes doubled."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime):
        # Edm.DateTimeOffset literals (date-effective keys such as Employments) go unquoted.
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return "'" + str(value).replace("'", "''") + "'"


def format_key(key: Mapping[str, Any]) -> str:
    return ",".join(f"{name}={odata_literal(value)}" for name, value in key.items())


def key_path(key: Mapping[str, Any]) -> str:
    """``(Name='x',Other=1)``: a key as it follows an entity set in a URL."""
    return f"({quote(format_key(key), safe=SAFE)})"


def query(params: list[tuple[str, str]]) -> str:
    if not params:
        return ""
    return "?" + "&".join(f"{name}={quote(value, safe=SAFE)}" for name, value in params)
