"""The webhook receiver over real HTTP (uvicorn on a free 127.0.0.1 port)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from gd_vault import Vault, generate_key
from gusto_dynamics.webhooks.app import ReceiverSettings, WebhookReceiver, create_receiver
from gusto_dynamics.webhooks.events import EventLedger, parse_event
from gusto_dynamics.webhooks.signature import SIGNATURE_HEADER, sign
from gusto_dynamics.webhooks.store import begin_pending, pending_tokens
from gusto_dynamics.webhooks.testing import ReceiverThread

COMPANY_A = "7f9d3c2e-0000-4000-8000-00000000000a"
COMPANY_B = "7f9d3c2e-0000-4000-8000-00000000000b"
STRANGER = "7f9d3c2e-0000-4000-8000-0000000000ff"
SUBSCRIPTION = "c5fdae57-5483-4529-9aae-f0edceed92d4"
TOKEN = "6590f590-3dba-495e-9bea-c361e1e2efc0"


class Env:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.vault = Vault.open(tmp_path / "vault.enc", key=generate_key())
        self.vault.update(
            lambda data: {
                "gusto": {
                    "companies": {c: {"company_uuid": c} for c in (COMPANY_A, COMPANY_B)},
                    "webhooks": {SUBSCRIPTION: {"verification_token": TOKEN, "url": "x"}},
                }
            }
        )
        self.calls = tmp_path / "calls.log"
        self.gate = tmp_path / "gate"
        self.gate.touch()
        # Records each invocation, then waits for the gate so a test can hold a run open.
        script = (
            f'echo "$TAP_GUSTO_COMPANY_IDS {{company_uuid}} $GUSTO_DYNAMICS_RUN_KIND" '
            f">> {shlex.quote(str(self.calls))}; "
            f"while [ ! -e {shlex.quote(str(self.gate))} ]; do sleep 0.02; done"
        )
        self.settings = ReceiverSettings(
            commands={"payroll": script, "people": script},
            state_dir=tmp_path / "state",
            retry_delays=(),
            run_timeout_seconds=60,
            shutdown_grace_seconds=5,
        )

    def receiver(self) -> WebhookReceiver:
        return create_receiver(self.settings, store=self.vault)

    def invocations(self) -> list[list[str]]:
        if not self.calls.exists():
            return []
        return [line.split() for line in self.calls.read_text().splitlines()]


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


@pytest.fixture
def running(env: Env) -> Iterator[ReceiverThread]:
    with ReceiverThread(env.receiver()) as server:
        yield server


def event(event_type: str = "payroll.processed", company: str = COMPANY_A) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "event_type": event_type,
        "resource_type": "Company",
        "resource_uuid": company,
        "entity_type": "Payroll",
        "entity_uuid": str(uuid.uuid4()),
        "timestamp": 1764355200,
    }


def post(url: str, body: bytes, signature: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    return requests.post(url, data=body, headers=headers, timeout=10)


def deliver(url: str, payload: dict[str, Any], token: str = TOKEN) -> requests.Response:
    body = json.dumps(payload).encode()
    return post(url, body, sign(body, token))


def idle(server: ReceiverThread) -> None:
    assert server.receiver.coordinator.wait_idle(30)


def test_signed_event_starts_a_run_for_that_company(env: Env, running: ReceiverThread) -> None:
    payload = event()
    response = deliver(running.url, payload)
    assert response.status_code == 200
    assert response.json() == {"status": "accepted", "run": "queued"}
    idle(running)
    assert env.invocations() == [[json.dumps([COMPANY_A]).replace(" ", ""), COMPANY_A, "payroll"]]
    row = running.receiver.ledger.get(payload["uuid"])
    assert row is not None
    assert row["status"] == "done"
    assert row["subscription_uuid"] == SUBSCRIPTION
    state_files = [p for p in (env.tmp / "state").rglob("*") if p.is_file()]
    assert state_files
    assert all(p.stat().st_mode & 0o077 == 0 for p in state_files), state_files


def test_uppercase_signature_and_lowercase_header_name_are_accepted(
    env: Env, running: ReceiverThread
) -> None:
    body = json.dumps(event()).encode()
    response = requests.post(
        running.url, data=body, headers={"x-gusto-signature": sign(body, TOKEN).upper()}, timeout=10
    )
    assert response.status_code == 200


def test_forged_signature_is_401_and_starts_nothing(env: Env, running: ReceiverThread) -> None:
    payload = event()
    response = deliver(running.url, payload, token="not-the-verification-token")
    assert response.status_code == 401
    assert TOKEN not in response.text
    # Signed for a different body: the payload was altered in transit.
    body = json.dumps(payload).encode()
    tampered = body.replace(COMPANY_A.encode(), COMPANY_B.encode())
    assert post(running.url, tampered, sign(body, TOKEN)).status_code == 401
    idle(running)
    assert env.invocations() == []
    assert running.receiver.ledger.get(payload["uuid"]) is None


def test_missing_signature_is_401_and_starts_nothing(env: Env, running: ReceiverThread) -> None:
    payload = event()
    response = post(running.url, json.dumps(payload).encode(), None)
    assert response.status_code == 401
    idle(running)
    assert env.invocations() == []
    assert running.receiver.ledger.get(payload["uuid"]) is None


def test_oversized_body_is_413_by_header_and_by_streamed_size(
    env: Env, running: ReceiverThread
) -> None:
    big = json.dumps(event() | {"padding": "x" * 70_000}).encode()
    assert post(running.url, big, sign(big, TOKEN)).status_code == 413

    def chunks() -> Iterator[bytes]:
        # No Content-Length: chunked transfer, so only the streamed size can catch it.
        for offset in range(0, len(big), 8192):
            yield big[offset : offset + 8192]

    response = requests.post(
        running.url, data=chunks(), headers={SIGNATURE_HEADER: sign(big, TOKEN)}, timeout=10
    )
    assert response.status_code == 413
    idle(running)
    assert env.invocations() == []


def test_duplicate_delivery_starts_nothing_new_even_after_restart(env: Env) -> None:
    payload = event()
    with ReceiverThread(env.receiver()) as server:
        assert deliver(server.url, payload).json()["status"] == "accepted"
        idle(server)
        assert deliver(server.url, payload).json() == {"status": "duplicate"}
        idle(server)
        assert len(env.invocations()) == 1
    with ReceiverThread(env.receiver()) as server:
        assert deliver(server.url, payload).json() == {"status": "duplicate"}
        idle(server)
        row = server.receiver.ledger.get(payload["uuid"])
        assert row is not None
        assert row["deliveries"] == 3
    assert len(env.invocations()) == 1


def test_burst_of_twenty_starts_at_most_two_runs_per_company(
    env: Env, running: ReceiverThread
) -> None:
    env.gate.unlink()  # hold the first run open while the burst arrives
    payloads = [event("payroll.processed" if i % 2 else "payroll.paid") for i in range(20)]
    payloads += [event(company=COMPANY_B) for _ in range(5)]
    for payload in payloads:
        assert deliver(running.url, payload).status_code == 200
    env.gate.touch()
    idle(running)
    runs = env.invocations()
    per_company = {c: sum(1 for r in runs if r[1] == c) for c in (COMPANY_A, COMPANY_B)}
    assert 1 <= per_company[COMPANY_A] <= 2
    assert 1 <= per_company[COMPANY_B] <= 2
    for payload in payloads:
        row = running.receiver.ledger.get(payload["uuid"])
        assert row is not None
        assert row["status"] == "done"


def test_people_events_run_the_people_command(env: Env, running: ReceiverThread) -> None:
    assert deliver(running.url, event("employee.terminated")).json()["status"] == "accepted"
    idle(running)
    assert deliver(running.url, event("contractor.created")).json()["status"] == "accepted"
    idle(running)
    assert [r[2] for r in env.invocations()] == ["people", "people"]


def test_events_that_post_nothing_and_unknown_companies_are_ignored(
    env: Env, running: ReceiverThread
) -> None:
    for payload in (event("payroll.created"), event("company.updated"), event(company=STRANGER)):
        response = deliver(running.url, payload)
        assert response.json() == {"status": "ignored"}
    idle(running)
    assert env.invocations() == []


def test_signed_but_malformed_event_is_400(env: Env, running: ReceiverThread) -> None:
    payload = event()
    del payload["uuid"]
    response = deliver(running.url, payload)
    assert response.status_code == 400
    assert "uuid" in response.json()["error"]


def test_handshake_only_while_a_subscription_is_being_created(
    env: Env, running: ReceiverThread
) -> None:
    handshake = json.dumps({"verification_token": "0e8b1c9a-1111-4222-8333-944455556666"}).encode()
    assert post(running.url, handshake, None).status_code == 401

    nonce = begin_pending(env.vault, "https://hooks.example.com/webhooks/gusto")
    other = json.dumps({"verification_token": "abcdefgh1234", "event_type": "x"}).encode()
    assert post(running.url, other, None).status_code == 401
    assert post(running.url, json.dumps(event()).encode(), None).status_code == 401
    response = post(running.url, handshake, None)
    assert response.status_code == 200
    assert pending_tokens(env.vault, nonce) == ["0e8b1c9a-1111-4222-8333-944455556666"]
    # gd_vault's redacting repr hides it like every other secret.
    assert "0e8b1c9a" not in repr(env.vault.read())
    idle(running)
    assert env.invocations() == []


def test_unfinished_events_resume_after_restart(env: Env) -> None:
    working = env.settings.commands
    env.settings.commands = {"payroll": "exit 3", "people": "exit 3"}
    payload = event()
    with ReceiverThread(env.receiver()) as server:
        deliver(server.url, payload)
        idle(server)
        row = server.receiver.ledger.get(payload["uuid"])
        assert row is not None
        assert row["status"] == "failed"
        assert "exit=3" in row["outcome"]

    # Simulate a crash between acknowledging and running: the event is still queued.
    receiver = env.receiver()
    second = event()
    receiver.ledger.record(parse_event(second), SUBSCRIPTION, "payroll")
    receiver.ledger.close()
    env.settings.commands = working
    with ReceiverThread(env.receiver()) as server:
        idle(server)
        row = server.receiver.ledger.get(second["uuid"])
        assert row is not None
        assert row["status"] == "done"
    # The failed one is left to the scheduled catch-up, not replayed on every restart.
    assert [r[1] for r in env.invocations()] == [COMPANY_A]


def test_cli_serve_subprocess_end_to_end(env: Env) -> None:
    """`gusto-dynamics webhooks serve` as an operator starts it: real process, real signals."""
    key = generate_key().decode()
    path = env.tmp / "cli-vault.enc"
    Vault.open(path, key=key).update(lambda data: env.vault.read())
    marker = env.tmp / "cli-run.txt"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gusto_dynamics",
            "--vault",
            str(path),
            "webhooks",
            "serve",
            "--port",
            "0",
            "--state-dir",
            str(env.tmp / "cli-state"),
            "--payroll-command",
            f'echo "$TAP_GUSTO_COMPANY_IDS" > {shlex.quote(str(marker))}',
        ],
        env={**os.environ, "GUSTO_DYNAMICS_VAULT_KEY": key},
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    try:
        assert proc.stderr is not None
        url = None
        for line in proc.stderr:
            seen.append(line)
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+/webhooks/gusto)", line)
            if found:
                url = found.group(1)
                break
        assert url, "".join(seen)
        assert deliver(url, event()).json()["status"] == "accepted"
        for line in proc.stderr:
            seen.append(line)
            if "run succeeded" in line:
                break
        assert json.loads(marker.read_text()) == [COMPANY_A]
        proc.send_signal(signal.SIGTERM)
        seen.extend(proc.stderr)  # to EOF
        proc.wait(timeout=30)
        # uvicorn shuts down gracefully, then re-raises SIGTERM (systemd counts that as clean).
        assert proc.returncode in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in "".join(seen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert TOKEN not in "".join(seen)


def test_ledger_forgets_old_finished_events_but_keeps_unfinished(tmp_path: Path) -> None:
    ledger = EventLedger(tmp_path / "ledger.sqlite")
    done, queued = parse_event(event()), parse_event(event())
    ledger.record(done, SUBSCRIPTION, "payroll")
    ledger.record(queued, SUBSCRIPTION, "payroll")
    ledger.finish((done.uuid,), ok=True, outcome="exit=0")
    with sqlite3.connect(tmp_path / "ledger.sqlite") as conn:
        conn.execute("UPDATE webhook_events SET received_at = '2020-01-01T00:00:00+00:00'")
    assert ledger.prune(keep_days=90) == 1
    assert ledger.get(done.uuid) is None
    assert ledger.get(queued.uuid) is not None
    ledger.close()


# -- slow and abusive clients ------------------------------------------------------------------


class SlowClients:
    """``count`` connections that send part of a request's headers, then a byte at a time."""

    def __init__(self, port: int, count: int) -> None:
        self.sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
        for sock in self.sockets:
            sock.sendall(b"POST /webhooks/gusto HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        while not self._stop.wait(0.2):
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.send(b"a")

    def closed_by_server(self, within: float) -> int:
        """How many of the connections the receiver has closed (EOF or reset)."""
        closed = 0
        for sock in self.sockets:
            sock.settimeout(within)
            try:
                closed += sock.recv(1) == b""
            except (ConnectionResetError, BrokenPipeError):
                closed += 1
            except TimeoutError:
                pass
        return closed

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()


def test_fifty_slow_clients_neither_block_deliveries_nor_health_and_are_dropped(
    env: Env,
) -> None:
    env.settings.header_timeout_seconds = 2.0
    with ReceiverThread(env.receiver()) as running:
        slow = SlowClients(running.port, 50)
        try:
            assert requests.get(running.base_url + "/healthz", timeout=10).status_code == 200
            response = deliver(running.url, event())
            assert response.status_code in (200, 202), response.text
            # Trickling bytes does not extend the header deadline: every slow client is cut.
            assert slow.closed_by_server(within=30) == 50
            assert requests.get(running.base_url + "/healthz", timeout=10).status_code == 200
        finally:
            slow.close()


def test_a_body_that_never_completes_gets_408(env: Env) -> None:
    env.settings.body_timeout_seconds = 1.0
    with ReceiverThread(env.receiver()) as running:
        with socket.create_connection(("127.0.0.1", running.port)) as sock:
            sock.sendall(
                b"POST /webhooks/gusto HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b'Content-Type: application/json\r\nContent-Length: 300\r\n\r\n{"uuid":'
            )
            sock.settimeout(30)
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408")
        assert env.invocations() == []
