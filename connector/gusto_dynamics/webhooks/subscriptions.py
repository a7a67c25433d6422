"""Gusto webhook subscriptions: created and verified with an application (system access) token.

Nothing here logs or raises a token or the client secret.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from singer_sdk.exceptions import RetriableAPIError
from tap_gusto.api import DEFAULT_API_VERSION, GustoClient, SystemTokenAuth, SystemTokenRefusedError
from tap_gusto.client import gusto_error_messages
from tap_gusto.tokens import DEFAULT_API_URL, AppCredentials, resolve_app_credentials

from gusto_dynamics.webhooks.store import (
    SecretStore,
    abandon_pending,
    begin_pending,
    finish_subscription,
    looks_like_verification_token,
    pending_tokens,
)

logger = logging.getLogger(__name__)

# Gusto's webhook subscription types, in its API reference's order; words, as the reference
# lists them, are easier to compare with it than a column of quoted strings.
SUBSCRIPTION_TYPES = tuple(
    """
    BankAccount Company CompanyBenefit Contractor ContractorPayment Employee EmployeeBenefit
    EmployeeJobCompensation ExternalPayroll Form Location Notification Payroll PayrollSync
    PaySchedule PeopleBatch Signatory
    """.split()  # noqa: SIM905
)
DEFAULT_TYPES = ("Payroll", "Employee", "Contractor", "ContractorPayment")
REQUEST_TIMEOUT_SECONDS = 30.0
#: Tries of an idempotent call failing with 5xx or a dropped connection (an interactive command:
#: a few seconds, then the error); a POST is never resent after those, only after a 429.
REQUEST_TRIES = 3
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class WebhookSetupError(Exception):
    """Creating, verifying or listing subscriptions failed; the message says what to do."""


def parse_types(text: str | None) -> list[str]:
    if not text:
        return list(DEFAULT_TYPES)
    wanted = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in SUBSCRIPTION_TYPES]
    if unknown or not wanted:
        raise WebhookSetupError(
            f"unknown subscription type(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(SUBSCRIPTION_TYPES)}"
        )
    return wanted


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS:
        return url  # the local sandbox; Gusto itself only delivers to https URLs
    raise WebhookSetupError(
        f"webhook URL {url!r} must be https:// (put `gusto-dynamics webhooks serve` behind a "
        "TLS reverse proxy, see deploy/)"
    )


class GustoAppClient:
    """Calls Gusto as the application (system access token: no company, no refresh token).

    Sending, the system token (minted again once after a 401) and the 429 waits are the tap's
    ``GustoClient``'s; this class names the webhook endpoints and words the errors.
    """

    def __init__(
        self,
        api_url: str,
        app: AppCredentials,
        *,
        api_version: str = DEFAULT_API_VERSION,
        session: requests.Session | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.app = app
        self.api_version = api_version
        self.client = GustoClient(
            api_url=api_url, api_version=api_version, timeout=REQUEST_TIMEOUT_SECONDS
        )
        self.client.max_tries = REQUEST_TRIES
        if session is not None:
            self.client.session = session
        self.client.auth = SystemTokenAuth(self.client, app.client_id, app.client_secret)

    @classmethod
    def from_store(cls, store: SecretStore, api_url: str | None = None) -> GustoAppClient:
        data = store.read()
        try:
            app = resolve_app_credentials(data, None, None)
        except Exception as exc:
            raise WebhookSetupError(str(exc)) from None
        stored_url = (data.get("gusto", {}).get("app", {}) or {}).get("api_url")
        return cls(api_url or stored_url or DEFAULT_API_URL, app)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self.client.request(method, path, json=body)
        except SystemTokenRefusedError as exc:
            raise WebhookSetupError(
                f"Gusto refused a system access token (HTTP {exc.status}"
                f"{': ' + exc.error if exc.error else ''}); check "
                "client_id/client_secret in the store's gusto.app "
                "(`gusto-dynamics connect gusto`) and that the app may use webhook subscriptions"
            ) from None
        except RetriableAPIError as exc:
            if exc.response is None:
                raise WebhookSetupError(f"{method} {path} failed: {exc}") from None
            response = exc.response
        except requests.RequestException as exc:
            if exc.request is not None and str(exc.request.url or "").endswith("/oauth/token"):
                raise WebhookSetupError(
                    f"cannot reach Gusto at {self.api_url} for a system access token "
                    f"({type(exc).__name__}); check the network and the app's api_url"
                ) from None
            raise WebhookSetupError(
                f"{method} {path} failed: cannot reach Gusto ({type(exc).__name__})"
            ) from None
        # A 401 here came after the client minted a fresh system token once: the app's grant
        # itself is refused, and the status says so.
        if response.status_code >= 400:
            detail = gusto_error_messages(response)
            raise GustoCallError(
                response.status_code,
                f"{method} {path} failed with HTTP {response.status_code}"
                f"{': ' + detail if detail else ''}",
            )
        return _json(response, allow_list=True) if response.content else {}

    def create_subscription(self, url: str, types: Sequence[str]) -> dict[str, Any]:
        result = self._call(
            "POST", "/v1/webhook_subscriptions", {"url": url, "subscription_types": list(types)}
        )
        if not isinstance(result, dict) or not result.get("uuid"):
            raise WebhookSetupError("Gusto created a subscription but returned no uuid")
        return result

    def verify(self, subscription_uuid: str, verification_token: str) -> dict[str, Any]:
        result = self._call(
            "PUT",
            f"/v1/webhook_subscriptions/{subscription_uuid}/verify",
            {"verification_token": verification_token},
        )
        return result if isinstance(result, dict) else {}

    def request_verification_token(self, subscription_uuid: str) -> None:
        self._call(
            "GET", f"/v1/webhook_subscriptions/{subscription_uuid}/request_verification_token"
        )

    def get(self, subscription_uuid: str) -> dict[str, Any]:
        result = self._call("GET", f"/v1/webhook_subscriptions/{subscription_uuid}")
        return result if isinstance(result, dict) else {}

    def list(self) -> list[dict[str, Any]]:
        result = self._call("GET", "/v1/webhook_subscriptions")
        return [s for s in result if isinstance(s, dict)] if isinstance(result, list) else []

    def delete(self, subscription_uuid: str) -> None:
        self._call("DELETE", f"/v1/webhook_subscriptions/{subscription_uuid}")


class GustoCallError(WebhookSetupError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _json(response: requests.Response, allow_list: bool = False) -> Any:
    try:
        payload = response.json()
    except ValueError:
        return {}
    if isinstance(payload, dict) or (allow_list and isinstance(payload, list)):
        return payload
    return {}


def verify_with_tokens(
    store: SecretStore,
    client: GustoAppClient,
    subscription: dict[str, Any],
    *,
    nonce: str | None,
    next_tokens: Callable[[], list[str]],
    wait_seconds: float,
    poll_seconds: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Try every token that arrives until Gusto accepts one, then store it encrypted."""
    subscription_uuid = str(subscription["uuid"])
    tried: set[str] = set()
    deadline = time.monotonic() + wait_seconds
    while True:
        for token in next_tokens():
            if token in tried:
                continue
            tried.add(token)
            if not looks_like_verification_token(token):
                logger.warning("ignoring a malformed verification token")
                continue
            try:
                verified = client.verify(subscription_uuid, token)
            except GustoCallError as exc:
                if exc.status in (400, 404, 422):
                    # Not this subscription's token (anyone can POST to the URL): keep waiting.
                    logger.warning("Gusto did not accept a received verification token: %s", exc)
                    continue
                raise
            merged = subscription | verified
            merged.setdefault("status", "verified")
            finish_subscription(store, nonce, merged, token)
            return merged
        if time.monotonic() >= deadline:
            if nonce is not None:
                abandon_pending(store, nonce)
            raise WebhookSetupError(
                f"subscription {subscription_uuid} is still pending: no verification token that "
                f"Gusto accepts arrived within {wait_seconds:.0f} s. Check that "
                "`gusto-dynamics webhooks serve` runs and that Gusto reaches it at "
                f"{subscription.get('url')}, then run `gusto-dynamics webhooks verify "
                f"{subscription_uuid}` (or pass the token with --verification-token-stdin)."
            )
        sleep(poll_seconds)


def subscribe(
    store: SecretStore,
    client: GustoAppClient,
    url: str,
    types: Sequence[str],
    *,
    wait_seconds: float = 120.0,
    token_reader: Callable[[], str] | None = None,
    poll_seconds: float = 0.25,
) -> dict[str, Any]:
    """Create a subscription and verify it; returns the subscription (without its token)."""
    check_url(url)
    # The pending marker must exist before Gusto can POST the token (it may do so before its
    # 201 reaches us), and the receiver accepts unsigned handshakes only while it exists.
    with _pending(store, url, token_reader is None) as nonce:
        subscription = client.create_subscription(url, types)
    logger.info("created Gusto webhook subscription %s for %s", subscription["uuid"], url)
    arrival = _Arrival(token_reader, wait_seconds, poll_seconds)
    return _verify(store, client, subscription, nonce, arrival)


def reverify(
    store: SecretStore,
    client: GustoAppClient,
    subscription_uuid: str,
    *,
    wait_seconds: float = 120.0,
    token_reader: Callable[[], str] | None = None,
    poll_seconds: float = 0.25,
) -> dict[str, Any]:
    """Ask Gusto to re-send the token of an existing subscription and verify with it."""
    subscription = client.get(subscription_uuid)
    if not subscription.get("uuid"):
        raise WebhookSetupError(f"Gusto has no webhook subscription {subscription_uuid}")
    with _pending(store, str(subscription.get("url", "")), token_reader is None) as nonce:
        if nonce is not None:
            client.request_verification_token(subscription_uuid)
    arrival = _Arrival(token_reader, wait_seconds, poll_seconds)
    return _verify(store, client, subscription, nonce, arrival)


@contextlib.contextmanager
def _pending(store: SecretStore, url: str, wanted: bool) -> Iterator[str | None]:
    """The pending-verification marker (its nonce) while Gusto is asked to send a token.

    Without ``wanted`` (the token is typed in) there is no marker. When the request to Gusto
    fails the marker is removed again, so the receiver stops accepting unsigned handshakes.
    """
    nonce = begin_pending(store, url) if wanted else None
    try:
        yield nonce
    except Exception:
        if nonce is not None:
            abandon_pending(store, nonce)
        raise


@dataclasses.dataclass(frozen=True)
class _Arrival:
    """How the verification token arrives: typed in (``token_reader``), else posted by Gusto to
    the receiver within ``wait_seconds``."""

    token_reader: Callable[[], str] | None
    wait_seconds: float
    poll_seconds: float


def _verify(
    store: SecretStore,
    client: GustoAppClient,
    subscription: dict[str, Any],
    nonce: str | None,
    arrival: _Arrival,
) -> dict[str, Any]:
    next_tokens: Callable[[], list[str]]
    if arrival.token_reader is not None:
        typed = arrival.token_reader().strip()
        nonce, next_tokens, wait_seconds = None, lambda: [typed], 0.0
    else:
        assert nonce is not None
        pending = nonce
        next_tokens, wait_seconds = (lambda: pending_tokens(store, pending)), arrival.wait_seconds
    return verify_with_tokens(
        store,
        client,
        subscription,
        nonce=nonce,
        next_tokens=next_tokens,
        wait_seconds=wait_seconds,
        poll_seconds=arrival.poll_seconds,
    )
