"""Helpers for tests that run the tap against the Gusto sandbox over HTTP."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from gd_vault import Vault
from tap_gusto.tap import TapGusto


def connect_companies(vault: Vault, gusto: Any, companies: list[str] | None = None) -> None:
    """What `gusto-dynamics connect gusto` leaves in the store, via the sandbox shortcut."""
    chosen = companies or list(gusto.company_uuids)

    def write(data: dict[str, Any]) -> None:
        store = data.setdefault("gusto", {})
        store["app"] = {
            "client_id": gusto.client_id,
            "client_secret": gusto.client_secret,
            "api_url": gusto.url,
        }
        for company in chosen:
            store.setdefault("companies", {})[company] = {
                "company_uuid": company,
                "company_name": gusto.company(company).name,
                "access_token": None,
                "refresh_token": gusto.mint_refresh_token(company),
                "expires_at": 0,
                "api_url": gusto.url,
                "connected_at": f"{gusto.today.isoformat()}T00:00:00+00:00",
                "pending_refresh_token": None,
            }

    vault.update(write)


# The sandbox's pinned "today" in every tap test: no test depends on the real date.
SANDBOX_TODAY = dt.date(2026, 12, 3)


def base_config(vault: Vault, gusto: Any, **extra: Any) -> dict[str, Any]:
    start = (gusto.today - dt.timedelta(days=730)).isoformat()
    return {"credentials_store": str(vault.path), "start_date": start, **extra}


def run_tap(
    config: dict[str, Any],
    state: dict[str, Any] | None = None,
    streams: list[str] | None = None,
) -> tuple[list[dict[str, Any]], TapGusto]:
    """Run a sync in-process; return the Singer messages (numbers as Decimal) and the tap."""
    tap = TapGusto(config=config, state=state or {}, parse_env_config=False)
    if streams is not None:
        for name, stream in tap.streams.items():
            stream.selected = name in streams
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap.extract()
    return parse_messages(out.getvalue()), tap


def parse_messages(text: str) -> list[dict[str, Any]]:
    return [json.loads(line, parse_float=Decimal) for line in text.splitlines() if line.strip()]


def records(messages: list[dict[str, Any]], stream: str) -> list[dict[str, Any]]:
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def final_state(messages: list[dict[str, Any]]) -> dict[str, Any]:
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    return states[-1] if states else {}


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path
