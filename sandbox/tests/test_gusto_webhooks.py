"""Webhook subscriptions, the verification handshake and signed deliveries, all over real HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from gd_sandbox.gusto import GustoSandbox, sign_webhook


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records what it gets and answers 200."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.received.append(
                        ({k.lower(): v for k, v in self.headers.items()}, body)
                    )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/gusto/webhooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def take(self) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            items, self.received = self.received, []
        return items

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gusto() -> Iterator[GustoSandbox]:
    with GustoSandbox(today=date(2026, 11, 28)) as sandbox:
        yield sandbox


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def system_session(gusto: GustoSandbox) -> requests.Session:
    r = requests.post(
        f"{gusto.url}/oauth/token",
        timeout=5,
        json={
            "client_id": gusto.client_id,
            "client_secret": gusto.client_secret,
            "grant_type": "system_access",
        },
    )
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return session


def subscribe(
    gusto: GustoSandbox, receiver: Receiver, session: requests.Session
) -> tuple[str, str]:
    r = session.post(
        f"{gusto.url}/v1/webhook_subscriptions",
        timeout=5,
        json={"url": receiver.url, "subscription_types": ["Payroll", "Employee"]},
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending"
    sub_uuid = r.json()["uuid"]
    [(headers, body)] = receiver.take()
    assert "x-gusto-signature" not in headers
    token = json.loads(body)["verification_token"]
    wrong = session.put(
        f"{gusto.url}/v1/webhook_subscriptions/{sub_uuid}/verify",
        timeout=5,
        json={"verification_token": "not-it"},
    )
    assert wrong.status_code == 422
    ok = session.put(
        f"{gusto.url}/v1/webhook_subscriptions/{sub_uuid}/verify",
        timeout=5,
        json={"verification_token": token},
    )
    assert ok.status_code == 200
    assert ok.json()["status"] == "verified"
    return sub_uuid, token


def signature_ok(headers: dict[str, str], body: bytes, token: str) -> bool:
    expected = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["x-gusto-signature"], expected)


def test_handshake_and_signed_delivery(gusto: GustoSandbox, receiver: Receiver) -> None:
    session = system_session(gusto)
    sub_uuid, token = subscribe(gusto, receiver, session)
    listed = session.get(f"{gusto.url}/v1/webhook_subscriptions", timeout=5).json()
    assert [s["uuid"] for s in listed] == [sub_uuid]
    payroll = gusto.company(gusto.company_uuids[0]).payrolls[3].uuid
    r = requests.post(
        f"{gusto.url}/_sandbox/webhooks/deliver",
        timeout=10,
        json={
            "url": receiver.url,
            "event_type": "payroll.updated",
            "entity_type": "Payroll",
            "entity_uuid": payroll,
            "company_uuid": gusto.company_uuids[0],
        },
    )
    assert r.status_code == 200
    assert r.json()["deliveries"] == [{"status": 200, "error": None}]
    [(headers, body)] = receiver.take()
    assert signature_ok(headers, body, token)
    assert headers["x-gusto-signature"] == sign_webhook(body, token)
    assert headers["x-gusto-signature"] == headers["x-gusto-signature"].lower()
    event = json.loads(body)
    assert set(event) == {
        "uuid",
        "event_type",
        "resource_type",
        "resource_uuid",
        "entity_type",
        "entity_uuid",
        "timestamp",
    }
    assert event["resource_type"] == "Company"
    assert event["resource_uuid"] == gusto.company_uuids[0]
    assert event["entity_uuid"] == payroll
    assert isinstance(event["timestamp"], int)
    events = session.get(f"{gusto.url}/v1/events", timeout=5).json()
    assert events[-1]["uuid"] == event["uuid"]


def test_forged_and_duplicate_deliveries(gusto: GustoSandbox, receiver: Receiver) -> None:
    _, token = subscribe(gusto, receiver, system_session(gusto))
    forged = gusto.deliver_webhook(
        url=receiver.url,
        event_type="payroll.processed",
        entity_type="Payroll",
        entity_uuid="x",
        forge=True,
    )
    assert len(forged["deliveries"]) == 1
    [(headers, body)] = receiver.take()
    assert not signature_ok(headers, body, token)
    duplicated = gusto.deliver_webhook(
        url=receiver.url,
        event_type="payroll.processed",
        entity_type="Payroll",
        entity_uuid="x",
        duplicate=2,
    )
    assert len(duplicated["deliveries"]) == 3
    copies = receiver.take()
    assert len(copies) == 3
    assert len({json.loads(body)["uuid"] for _, body in copies}) == 1
    assert all(signature_ok(h, b, token) for h, b in copies)


def test_processing_a_payroll_notifies_verified_subscribers(
    gusto: GustoSandbox, receiver: Receiver
) -> None:
    _, token = subscribe(gusto, receiver, system_session(gusto))
    company = gusto.company_uuids[0]
    upcoming = next(p for p in gusto.company(company).payrolls if not p.processed)
    r = requests.post(f"{gusto.url}/_sandbox/payrolls/{upcoming.uuid}/process", timeout=10)
    assert r.status_code == 200
    got = receiver.take()
    assert [json.loads(b)["event_type"] for _, b in got] == ["payroll.processed", "payroll.paid"]
    assert all(signature_ok(h, b, token) for h, b in got)
    assert all(json.loads(b)["entity_uuid"] == upcoming.uuid for _, b in got)
    api = requests.get(
        f"{gusto.url}/v1/companies/{company}/payrolls/{upcoming.uuid}",
        headers={"Authorization": f"Bearer {gusto.mint_access_token(company)}"},
        timeout=10,
    ).json()
    assert api["processed"] is True
    assert api["totals"]["gross_pay"]
    again = requests.post(f"{gusto.url}/_sandbox/payrolls/{upcoming.uuid}/process", timeout=10)
    assert again.status_code == 422


def test_unverified_subscription_gets_no_events(gusto: GustoSandbox, receiver: Receiver) -> None:
    session = system_session(gusto)
    session.post(
        f"{gusto.url}/v1/webhook_subscriptions",
        timeout=5,
        json={"url": receiver.url, "subscription_types": ["Payroll"]},
    )
    receiver.take()
    upcoming = next(p for p in gusto.company(gusto.company_uuids[1]).payrolls if not p.processed)
    gusto.process_payroll(upcoming.uuid)
    assert receiver.take() == []


def test_hire_and_terminate(gusto: GustoSandbox, receiver: Receiver) -> None:
    _, token = subscribe(gusto, receiver, system_session(gusto))
    company = gusto.company_uuids[1]
    headers = {"Authorization": f"Bearer {gusto.mint_access_token(company)}"}
    hired = requests.post(
        f"{gusto.url}/_sandbox/employees",
        timeout=10,
        json={
            "company_uuid": company,
            "first_name": "Nia",
            "last_name": "Okoro",
            "hire_date": "2026-11-20",
            "rate": "24.17",
        },
    )
    assert hired.status_code == 201
    new_uuid = hired.json()["uuid"]
    employee = requests.get(
        f"{gusto.url}/v1/employees/{new_uuid}", headers=headers, timeout=5
    ).json()
    assert employee["jobs"][0]["rate"] == "24.17"
    assert employee["department"] == "Bakery"
    r = requests.post(
        f"{gusto.url}/_sandbox/employees/{new_uuid}/terminate",
        timeout=10,
        json={"effective_date": "2026-11-27"},
    )
    assert r.status_code == 200
    employee = requests.get(
        f"{gusto.url}/v1/employees/{new_uuid}", headers=headers, timeout=5
    ).json()
    assert employee["terminated"] is True
    assert employee["terminations"][0]["effective_date"] == "2026-11-27"
    got = receiver.take()
    assert [json.loads(b)["event_type"] for _, b in got] == [
        "employee.created",
        "employee.terminated",
    ]
    assert all(signature_ok(h, b, token) for h, b in got)
    missing = requests.post(
        f"{gusto.url}/_sandbox/employees/{new_uuid}/terminate", timeout=5, json={}
    )
    assert missing.status_code == 422


def test_subscription_api_needs_a_system_token(gusto: GustoSandbox) -> None:
    company_token = gusto.mint_access_token(gusto.company_uuids[0])
    r = requests.get(
        f"{gusto.url}/v1/webhook_subscriptions",
        timeout=5,
        headers={"Authorization": f"Bearer {company_token}"},
    )
    assert r.status_code == 403
    bad = system_session(gusto).post(
        f"{gusto.url}/v1/webhook_subscriptions",
        timeout=5,
        json={"url": "file:///etc/passwd", "subscription_types": ["Payroll"]},
    )
    assert bad.status_code == 422


def test_delivery_without_subscription_is_refused(gusto: GustoSandbox) -> None:
    r = requests.post(
        f"{gusto.url}/_sandbox/webhooks/deliver",
        timeout=5,
        json={
            "url": "http://127.0.0.1:9/none",
            "event_type": "payroll.paid",
            "entity_type": "Payroll",
            "entity_uuid": "x",
        },
    )
    assert r.status_code == 422
    assert "No webhook subscription" in r.json()["errors"][0]["message"]
