"""Shared fixtures: a real encrypted store in a temp dir, and a small fake OAuth endpoint."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from gd_vault import Vault, generate_key

# Test helper modules live next to this file (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def vault_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = generate_key()
    text = key.decode() if isinstance(key, bytes) else str(key)
    monkeypatch.setenv("GUSTO_DYNAMICS_VAULT_KEY", text)
    return text


@pytest.fixture
def vault(tmp_path: Path, vault_key: str) -> Vault:
    return Vault.open(tmp_path / "vault.enc")


class FakeOAuth:
    """POST /oauth/token answering refresh grants; scripted failures via ``script``."""

    def __init__(self) -> None:
        self.refreshes = 0
        self.seen_refresh_tokens: list[str] = []
        self.script: list[tuple[int, dict[str, Any]]] = []
        self.expires_in = 7200
        self.lock = threading.Lock()
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake.lock:
                    fake.refreshes += 1
                    fake.seen_refresh_tokens.append(str(body.get("refresh_token")))
                    if fake.script:
                        status, payload = fake.script.pop(0)
                    else:
                        n = fake.refreshes
                        status, payload = (
                            200,
                            {
                                "access_token": f"access-{n}",
                                "refresh_token": f"refresh-{n}",
                                "token_type": "bearer",
                                "expires_in": fake.expires_in,
                                "created_at": 1732033824,
                            },
                        )
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler


@pytest.fixture
def fake_oauth() -> Iterator[FakeOAuth]:
    fake = FakeOAuth()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


def seed_company(
    vault: Any,
    company: str,
    *,
    refresh_token: str = "refresh-0",
    access_token: str | None = None,
    expires_at: int = 0,
    app: dict[str, str] | None = None,
) -> None:
    def write(data: dict[str, Any]) -> None:
        gusto = data.setdefault("gusto", {})
        gusto["app"] = app or {"client_id": "cid", "client_secret": "csecret"}
        gusto.setdefault("companies", {})[company] = {
            "company_uuid": company,
            "company_name": "Test Co",
            "access_token": access_token,
            "refresh_token": refresh_token,
            "expires_at": expires_at,
            "pending_refresh_token": None,
        }

    vault.update(write)


@pytest.fixture
def seed() -> Any:
    return seed_company
