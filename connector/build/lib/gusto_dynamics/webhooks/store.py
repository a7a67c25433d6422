"""Webhook secrets in the encrypted store (``gd_vault``) and where the receiver keeps its own files.

Layout (CONTRACTS section 1):
``gusto.webhooks.<subscription_uuid> = {verification_token, url, ...}``.
While ``webhooks subscribe`` is creating a subscription it also keeps
``gusto.webhooks_pending.<nonce> = {url, expires_at, candidates: [{verification_token}]}``
(each token under the key gd_vault's redaction masks): Gusto POSTs the verification
token to the receiver unsigned, so the receiver only records it while an operator is actually
creating a subscription, and the token becomes a signing key only after Gusto accepted it on
``PUT /v1/webhook_subscriptions/{uuid}/verify``.
"""

from __future__ import annotations

import os
import secrets
import string
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from gd_vault import Vault, default_path

PENDING_TTL_SECONDS = 900.0
MAX_PENDING_TOKENS = 5
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "-_.~+/=")


class SecretStore(Protocol):
    """The part of ``gd_vault.Vault`` used here."""

    def read(self) -> dict[str, Any]: ...

    def update(self, fn: Callable[[dict[str, Any]], Any]) -> Any: ...


def vault_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The store's file: the argument, else ``gd_vault``'s default (``$GUSTO_DYNAMICS_VAULT``)."""
    return Path(explicit).expanduser() if explicit else default_path()


def open_store(path: str | os.PathLike[str] | None = None) -> SecretStore:
    store: SecretStore = Vault.open(vault_path(path))
    return store


def default_state_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Directory next to the store for the event ledger and run logs."""
    return vault_path(path).parent


def _gusto(data: dict[str, Any]) -> dict[str, Any]:
    gusto = data.setdefault("gusto", {})
    if not isinstance(gusto, dict):
        raise ValueError("the store's 'gusto' entry is not an object; restore it from backup")
    return gusto


def verification_tokens(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(subscription uuid, verification token) for every verified subscription in the store."""
    webhooks = data.get("gusto", {}).get("webhooks", {})
    if not isinstance(webhooks, dict):
        return []
    pairs = []
    for subscription_uuid, entry in webhooks.items():
        if isinstance(entry, dict) and isinstance(entry.get("verification_token"), str):
            pairs.append((str(subscription_uuid), entry["verification_token"]))
    return pairs


def looks_like_verification_token(value: object) -> bool:
    return (
        isinstance(value, str)
        and 8 <= len(value) <= 200
        and all(ch in _TOKEN_CHARS for ch in value)
    )


def begin_pending(store: SecretStore, url: str, ttl_seconds: float = PENDING_TTL_SECONDS) -> str:
    nonce = secrets.token_hex(8)

    def change(data: dict[str, Any]) -> dict[str, Any]:
        pending = _gusto(data).setdefault("webhooks_pending", {})
        now = time.time()
        for key in [k for k, v in pending.items() if v.get("expires_at", 0) < now]:
            del pending[key]
        pending[nonce] = {
            "url": url,
            "started_at": datetime.now(UTC).isoformat(),
            "expires_at": now + ttl_seconds,
            "candidates": [],
        }
        return data

    store.update(change)
    return nonce


def record_handshake(store: SecretStore, token: str) -> bool:
    """Attach an unsigned verification token to every live pending subscription.

    Returns False (and stores nothing) when no subscription is being created.
    """
    accepted = False

    def change(data: dict[str, Any]) -> dict[str, Any]:
        nonlocal accepted
        pending = data.get("gusto", {}).get("webhooks_pending", {})
        now = time.time()
        for entry in pending.values():
            if entry.get("expires_at", 0) < now:
                continue
            candidates = entry.setdefault("candidates", [])
            known = [c.get("verification_token") for c in candidates if isinstance(c, dict)]
            if token not in known and len(candidates) < MAX_PENDING_TOKENS:
                candidates.append({"verification_token": token})
            accepted = True
        return data

    store.update(change)
    return accepted


def has_live_pending(data: dict[str, Any]) -> bool:
    pending = data.get("gusto", {}).get("webhooks_pending", {})
    now = time.time()
    return isinstance(pending, dict) and any(
        isinstance(v, dict) and v.get("expires_at", 0) >= now for v in pending.values()
    )


def pending_tokens(store: SecretStore, nonce: str) -> list[str]:
    entry = store.read().get("gusto", {}).get("webhooks_pending", {}).get(nonce)
    if not isinstance(entry, dict):
        return []
    tokens = [c.get("verification_token") for c in entry.get("candidates", [])]
    return [t for t in tokens if isinstance(t, str)]


def finish_subscription(
    store: SecretStore,
    nonce: str | None,
    subscription: dict[str, Any],
    verification_token: str,
) -> None:
    def change(data: dict[str, Any]) -> dict[str, Any]:
        gusto = _gusto(data)
        gusto.setdefault("webhooks", {})[subscription["uuid"]] = {
            "verification_token": verification_token,
            "url": subscription.get("url"),
            "subscription_types": subscription.get("subscription_types", []),
            "status": subscription.get("status", "verified"),
            "verified_at": datetime.now(UTC).isoformat(),
        }
        if nonce is not None:
            gusto.get("webhooks_pending", {}).pop(nonce, None)
        return data

    store.update(change)


def abandon_pending(store: SecretStore, nonce: str) -> None:
    def change(data: dict[str, Any]) -> dict[str, Any]:
        data.get("gusto", {}).get("webhooks_pending", {}).pop(nonce, None)
        return data

    store.update(change)


def forget_subscription(store: SecretStore, subscription_uuid: str) -> None:
    def change(data: dict[str, Any]) -> dict[str, Any]:
        data.get("gusto", {}).get("webhooks", {}).pop(subscription_uuid, None)
        return data

    store.update(change)
