"""Webhook subscriptions, the verification handshake and signed event delivery.

Signature: `X-Gusto-Signature` = lowercase hex HMAC-SHA256 of the raw body, keyed with the
subscription's verification token (gusto-api.md section 6).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

from gd_sandbox.data import load
from gd_sandbox.gusto.controls import Stats

# Gusto's webhook event types, as listed in its API reference.
SUBSCRIPTION_TYPES: tuple[str, ...] = tuple(
    load(__package__, "api_fields.json")["webhook_subscription_types"]
)
DELIVERY_TIMEOUT = 10.0
EVENT_HISTORY = 1000


def sign(body: bytes, verification_token: str) -> str:
    return hmac.new(verification_token.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Subscription:
    uuid: str
    url: str
    subscription_types: list[str]
    verification_token: str
    status: str = "pending"

    def public(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "url": self.url,
            "status": self.status,
            "subscription_types": list(self.subscription_types),
        }


@dataclass
class Delivery:
    status: int | None
    error: str | None = None

    def public(self) -> dict[str, Any]:
        return {"status": self.status, "error": self.error}


@dataclass
class Webhooks:
    stats: Stats
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def create(self, url: str, types: list[str]) -> tuple[Subscription, Delivery]:
        sub = Subscription(str(uuid.uuid4()), url, types, str(uuid.uuid4()))
        with self.lock:
            self.subscriptions[sub.uuid] = sub
        return sub, self.send_verification_token(sub)

    def send_verification_token(self, sub: Subscription) -> Delivery:
        body = json.dumps({"verification_token": sub.verification_token}).encode()
        return self.post(sub.url, body, {})

    def for_url(self, url: str) -> Subscription | None:
        with self.lock:
            matches = [
                s for s in self.subscriptions.values() if s.url == url and s.status != "removed"
            ]
        return matches[-1] if matches else None

    def event(
        self, event_type: str, entity_type: str, entity_uuid: str, company_uuid: str
    ) -> dict[str, Any]:
        event = {
            "uuid": str(uuid.uuid4()),
            "event_type": event_type,
            "resource_type": "Company",
            "resource_uuid": company_uuid,
            "entity_type": entity_type,
            "entity_uuid": entity_uuid,
            "timestamp": int(time.time()),
        }
        with self.lock:
            self.events.append(event)
            del self.events[:-EVENT_HISTORY]
        return event

    def deliver(
        self, sub: Subscription, event: dict[str, Any], *, forge: bool = False, copies: int = 1
    ) -> tuple[str, list[Delivery]]:
        body = json.dumps(event, separators=(",", ":")).encode()
        key = secrets.token_hex(16) if forge else sub.verification_token
        signature = sign(body, key)
        results = [
            self.post(sub.url, body, {"X-Gusto-Signature": signature})
            for _ in range(max(1, copies))
        ]
        return signature, results

    def broadcast(self, subscription_type: str, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Send an event to every verified subscription of that type (what Gusto does)."""
        with self.lock:
            targets = [
                s
                for s in self.subscriptions.values()
                if s.status == "verified" and subscription_type in s.subscription_types
            ]
        report = []
        for sub in targets:
            _, results = self.deliver(sub, event)
            report.append({"subscription_uuid": sub.uuid, "url": sub.url, **results[0].public()})
        return report

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Delivery:
        # URLs are checked to be http(s) when a subscription is created or updated.
        request = urllib.request.Request(  # noqa: S310
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Gusto-Webhooks/sandbox",
                **headers,
            },
        )
        self.stats.bump("webhook_deliveries")
        try:
            with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT) as response:  # noqa: S310  # noqa: S310
                return Delivery(response.status)
        except urllib.error.HTTPError as exc:
            return Delivery(exc.code)
        except (urllib.error.URLError, OSError) as exc:
            return Delivery(None, f"{type(exc).__name__}: {exc}")
