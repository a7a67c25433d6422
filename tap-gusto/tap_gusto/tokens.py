"""Per-company Gusto OAuth tokens kept in the encrypted credential store (``gd_vault``).

Gusto rotates the refresh token on every refresh, and the previous refresh token stays valid
only until the new access token is first used. Hence the rules this module enforces:

* one refresh at a time per company, across processes (``vault.lock("gusto-refresh:<c>")``),
  and the store is re-read after taking the lock, because another process may have refreshed;
* the rotated refresh token is written to the store (atomic replace + fsync, done by
  ``Vault.update``) *before* the new access token is handed out for its first use;
* a refresh whose response was lost (connection error, 5xx) may be retried with the same
  refresh token: nothing has used a new access token yet, so Gusto still accepts it;
* ``invalid_grant`` means the grant is dead: the admin must reconnect the company.

Nothing here logs or raises a token value.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from gd_vault.redact import register_secret, request_secrets, scrub
from singer_sdk.exceptions import RetriableAPIError

from tap_gusto.api import GustoClient, token_lifetime_seconds, token_pair, with_retries
from tap_gusto.errors import GustoAuthError, ReconnectRequiredError
from tap_gusto.faults import hit

logger = logging.getLogger("tap_gusto.tokens")

# Refresh this long before expiry (capped at a quarter of the token lifetime so that very
# short-lived tokens are not refreshed before every single request).
REFRESH_MARGIN_SECONDS = 60.0
TOKEN_TIMEOUT_SECONDS = 60.0
REFRESH_ATTEMPTS = 4
#: 429 waits one refresh may accumulate; the refresh holds the company's vault lock meanwhile.
REFRESH_THROTTLE_DEADLINE_SECONDS = 60.0
RECONNECT_HINT = "gusto-dynamics connect gusto"
DEFAULT_API_URL = "https://api.gusto.com"


@dataclass(frozen=True)
class AppCredentials:
    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"AppCredentials(client_id={self.client_id!r}, client_secret='***')"


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def company_record(data: Mapping[str, Any], company_uuid: str) -> dict[str, Any] | None:
    record = data.get("gusto", {}).get("companies", {}).get(company_uuid)
    return dict(record) if isinstance(record, Mapping) else None


def resolve_app_credentials(
    data: Mapping[str, Any], client_id: str | None, client_secret: str | None
) -> AppCredentials:
    """Config values win; otherwise the store's ``gusto.app``."""
    app = data.get("gusto", {}).get("app", {}) or {}
    cid = client_id or app.get("client_id")
    secret = client_secret or app.get("client_secret")
    if not cid or not secret:
        raise GustoAuthError(
            "No Gusto application credentials: set the tap settings client_id and "
            "client_secret, or store them with `gusto-dynamics connect gusto` "
            "(store key gusto.app)."
        )
    # A config value never passed through the store: register it so no log line can show it.
    register_secret(str(secret))
    return AppCredentials(str(cid), str(secret))


class TokenManager:
    """Access tokens for ONE company, refreshed single-flight across threads and processes."""

    def __init__(
        self,
        vault: Any,
        company_uuid: str,
        app: AppCredentials,
        api_url: str,
        *,
        session: requests.Session | None = None,
        user_agent: str | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.vault = vault
        self.company_uuid = company_uuid
        self.app = app
        self.token_url = api_url.rstrip("/") + "/oauth/token"
        self.session = session or requests.Session()
        self.user_agent = user_agent
        #: The Gusto client for the token endpoint (same session: one connection pool).
        self.client = GustoClient(
            api_url=api_url,
            session=self.session,
            user_agent=user_agent,
            timeout=TOKEN_TIMEOUT_SECONDS,
        )
        self._clock = clock
        self._sleep = sleep or time.sleep
        self._lock = threading.Lock()
        self._access_token: str | None = None
        self._expires_at = 0.0
        self._lifetime: float | None = None
        self.refresh_count = 0

    def __repr__(self) -> str:
        return f"TokenManager(company_uuid={self.company_uuid!r})"

    @property
    def lock_name(self) -> str:
        return f"gusto-refresh:{self.company_uuid}"

    # -- public API ------------------------------------------------------------------

    def access_token(self) -> str:
        """A token valid for at least the refresh margin; refreshes proactively if needed."""
        with self._lock:
            if self._access_token and self._fresh(self._expires_at, self._lifetime):
                return self._access_token
            # Another process may already have refreshed: adopting its token costs no refresh.
            if self._adopt_from_store(rejected=None):
                assert self._access_token is not None
                return self._access_token
            return self._refresh_locked(rejected=None)

    def refresh_after_unauthorized(self, rejected: str) -> str:
        """Gusto answered 401 to ``rejected``: get a different token (refreshing at most once)."""
        with self._lock:
            if self._access_token and self._access_token != rejected:
                return self._access_token
            return self._refresh_locked(rejected=rejected)

    # -- internals -------------------------------------------------------------------

    def _margin(self, lifetime: float | None) -> float:
        if lifetime is None:
            return REFRESH_MARGIN_SECONDS
        return min(REFRESH_MARGIN_SECONDS, max(lifetime, 0.0) / 4)

    def _fresh(self, expires_at: float, lifetime: float | None) -> bool:
        return expires_at - self._margin(lifetime) > self._clock()

    def _record(self) -> dict[str, Any]:
        record = company_record(self.vault.read(), self.company_uuid)
        if record is None:
            raise ReconnectRequiredError(
                f"Gusto company {self.company_uuid} is not connected in the credential store "
                f"{self.vault.path}. Connect it with `{RECONNECT_HINT}` (or import a refresh "
                "token with `tap-gusto-tokens import`), or remove it from company_ids."
            )
        return record

    def _adopt_from_store(self, rejected: str | None) -> bool:
        record = self._record()
        token = record.get("access_token")
        expires_at = float(record.get("expires_at") or 0)
        lifetime = _lifetime(record)
        if token and token != rejected and self._fresh(expires_at, lifetime):
            self._access_token = str(token)
            self._expires_at = expires_at
            self._lifetime = lifetime
            return True
        return False

    def _refresh_locked(self, rejected: str | None) -> str:
        with self.vault.lock(self.lock_name):
            # Re-read under the lock: the refresh may have happened while we waited.
            if self._adopt_from_store(rejected=rejected or self._access_token):
                assert self._access_token is not None
                return self._access_token
            record = self._record()
            refresh_token = record.get("refresh_token")
            if not refresh_token:
                raise ReconnectRequiredError(
                    f"Gusto company {self._company_label(record)} has no refresh token in the "
                    f"credential store. Reconnect it with `{RECONNECT_HINT}`."
                )
            payload = self._request_refresh(str(refresh_token), record)
            self._store(payload)
            self.refresh_count += 1
            assert self._access_token is not None
            return self._access_token

    def _company_label(self, record: Mapping[str, Any]) -> str:
        name = record.get("company_name")
        return f"{self.company_uuid} ({name})" if name else self.company_uuid

    def _request_refresh(self, refresh_token: str, record: Mapping[str, Any]) -> dict[str, Any]:
        body = {
            "client_id": self.app.client_id,
            "client_secret": self.app.client_secret,
            "refresh_token": refresh_token,
            "grant_type": "refresh_token",
        }
        tries = 0

        def attempt() -> requests.Response:
            nonlocal tries
            tries += 1
            hit("tap.refresh.before_request")
            try:
                response = self.client.post_token(body)
            except (requests.ConnectionError, requests.Timeout) as exc:
                # The refresh token is still valid: no new access token has been used.
                logger.warning(
                    "Token refresh for Gusto company %s failed with a connection problem (%s); "
                    "retrying.",
                    self.company_uuid,
                    type(exc).__name__,
                )
                raise
            hit("tap.refresh.after_response")
            if response.status_code >= 500 or response.status_code == 429:
                # Gusto did not rotate: the same refresh token may be sent again.
                raise RetriableAPIError(f"HTTP {response.status_code}", response)
            return response

        try:
            # The retry loop, its Retry-After and its budgets are the Gusto client's; this
            # method holds the vault lock throughout, so no other process refreshes meanwhile.
            response = with_retries(
                attempt,
                max_tries=REFRESH_ATTEMPTS,
                throttle_deadline=REFRESH_THROTTLE_DEADLINE_SECONDS,
                sleep=self._sleep,
            )
        except RetriableAPIError as exc:
            last_problem = str(exc)
        except (requests.ConnectionError, requests.Timeout) as exc:
            last_problem = f"connection problem ({type(exc).__name__})"
        else:
            return self._check_refresh_response(response, record)
        raise GustoAuthError(
            f"Token refresh for Gusto company {self.company_uuid} failed {tries} "
            f"times ({last_problem}). The stored refresh token is still valid; rerun later."
        )

    def _check_refresh_response(
        self, response: requests.Response, record: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The new token pair of a 200; for a refusal, the error that says what to do."""
        if response.status_code == 200:
            return self._parse_token_response(response)
        error, description = oauth_error(response)
        if error == "invalid_grant":
            raise ReconnectRequiredError(
                f"Gusto rejected the stored refresh token for company "
                f"{self._company_label(record)} (invalid_grant: the grant was revoked or "
                "the token was already used). An admin must reconnect this company: run "
                f"`{RECONNECT_HINT}` and authorize it again, then rerun the sync."
            )
        if error in {"invalid_client", "unauthorized_client"} or response.status_code == 401:
            raise GustoAuthError(
                f"Gusto rejected the application credentials while refreshing company "
                f"{self.company_uuid} ({error or response.status_code}). Check client_id / "
                "client_secret in the tap settings or the store's gusto.app, and that "
                f"api_url ({self.token_url.rsplit('/oauth', 1)[0]}) is the environment the "
                "app belongs to."
            )
        raise GustoAuthError(
            f"Token refresh for Gusto company {self.company_uuid} failed with HTTP "
            f"{response.status_code} ({error or 'no OAuth error code'}"
            f"{': ' + description if description else ''})."
        )

    def _parse_token_response(self, response: requests.Response) -> dict[str, Any]:
        payload = token_pair(response)
        if payload is None:
            # Without a new refresh token we cannot know whether the old one survives; do not
            # use the access token (that would revoke the old refresh token) and stop.
            raise GustoAuthError(
                f"Gusto's token response for company {self.company_uuid} lacks an access or "
                "refresh token; nothing was used or stored. Rerun later; reconnect with "
                f"`{RECONNECT_HINT}` if it persists."
            )
        # Known as secrets before anything can log them (the store registers them only on write).
        register_secret(str(payload["access_token"]), str(payload["refresh_token"]))
        return payload

    def _store(self, payload: Mapping[str, Any]) -> None:
        access = str(payload["access_token"])
        refresh = str(payload["refresh_token"])
        expires_in = token_lifetime_seconds(payload)
        issued = self._clock()
        expires_at = int(issued + expires_in)
        refreshed_at = dt.datetime.fromtimestamp(issued, dt.UTC).isoformat(timespec="seconds")

        still_connected = True

        def write(data: dict[str, Any]) -> None:
            nonlocal still_connected
            record = data.get("gusto", {}).get("companies", {}).get(self.company_uuid)
            if record is None:
                # Disconnected meanwhile: do not resurrect the company with fresh tokens.
                still_connected = False
                return
            record["access_token"] = access
            record["refresh_token"] = refresh
            record["expires_at"] = expires_at
            record["last_refresh_at"] = refreshed_at
            record["pending_refresh_token"] = None

        # Durable before first use: Vault.update replaces the file atomically after fsync.
        hit("tap.store.before_write")
        self.vault.update(write)
        hit("tap.store.after_write")
        if not still_connected:
            raise ReconnectRequiredError(
                f"Gusto company {self.company_uuid} was disconnected from the credential store "
                f"during this run. Reconnect it with `{RECONNECT_HINT}` or remove it from "
                "company_ids."
            )
        self._access_token = access
        # In memory the exact expiry; the store keeps whole seconds rounded down.
        self._expires_at = issued + expires_in
        self._lifetime = expires_in
        logger.info(
            "Refreshed the Gusto access token of company %s (valid %ss).",
            self.company_uuid,
            int(expires_in),
        )


def _lifetime(record: Mapping[str, Any]) -> float | None:
    refreshed = record.get("last_refresh_at") or record.get("connected_at")
    expires_at = record.get("expires_at")
    if not refreshed or not expires_at:
        return None
    try:
        issued = dt.datetime.fromisoformat(str(refreshed)).timestamp()
    except ValueError:
        return None
    return float(expires_at) - issued


def oauth_error(response: requests.Response, limit: int = 200) -> tuple[str, str]:
    """(error, description) of an OAuth error body (RFC 6749 or Gusto's ``errors`` list)."""
    try:
        payload = response.json()
    except ValueError:
        return "", ""
    if not isinstance(payload, dict):
        return "", ""
    error = payload.get("error")
    description = payload.get("error_description")
    if not error and isinstance(payload.get("errors"), list) and payload["errors"]:
        first = payload["errors"][0]
        if isinstance(first, dict):
            error = first.get("error_key") or first.get("category")
            description = first.get("message")
    # Gusto may echo what it was sent (the refresh token, the client secret): scrub before the
    # text goes into any message, and before truncating so no partial secret survives.
    secrets = echoed_secrets(response)
    return scrub(str(error or ""), secrets), scrub(str(description or ""), secrets)[:limit]


def echoed_secrets(response: requests.Response) -> list[str]:
    """Secret values of the request this response answers (a server may echo any of them)."""
    request = response.request
    if request is None:
        return []
    body = request.body if isinstance(request.body, str | bytes) else None
    return request_secrets(request.headers, body)
