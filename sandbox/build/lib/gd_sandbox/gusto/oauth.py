"""OAuth2 authorization server state, modelled on Doorkeeper's `refresh_token_revoked_on_use`.

A refresh does not revoke anything. The new token records `previous_refresh_token`; the first API
call made with the new access token revokes the record holding that previous refresh token (its
access token too). Until then, retrying the refresh with the old refresh token is allowed.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

SCOPES = (
    "companies:read company_admin:read employees:read employments:read compensations:read "
    "departments:read contractors:read pay_schedules:read payrolls:read company_benefits:read "
    "employee_benefits:read garnishments:read"
)
SYSTEM_SCOPES = "webhook_subscriptions:read webhook_subscriptions:write events:read"


class OAuthError(Exception):
    """An OAuth error response: `{"error": ..., "error_description": ...}` with an HTTP status."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


@dataclass
class AuthorizationCode:
    code: str
    company_uuid: str
    redirect_uri: str
    expires_at: float
    used: bool = False


@dataclass
class TokenRecord:
    access_token: str
    refresh_token: str | None
    company_uuid: str | None  # None for a system (application) token
    grant_id: str
    created_at: int
    expires_in: int
    previous_refresh_token: str | None = None
    revoked: bool = False
    used: bool = False

    def expired(self, now: float) -> bool:
        return now >= self.created_at + self.expires_in


@dataclass
class TokenCheck:
    record: TokenRecord | None
    problem: str | None = None


@dataclass
class OAuthState:
    client_id: str
    client_secret: str
    token_lifetime: int
    code_lifetime: int = 600
    clock: Callable[[], float] = time.time
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    by_access: dict[str, TokenRecord] = field(default_factory=dict)
    by_refresh: dict[str, TokenRecord] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    # ---- client and codes ------------------------------------------------------------------

    def check_client(self, client_id: str | None, client_secret: str | None) -> None:
        if (
            client_id != self.client_id
            or not client_secret
            or not secrets.compare_digest(client_secret.encode(), self.client_secret.encode())
        ):
            raise OAuthError(
                401,
                "invalid_client",
                "Client authentication failed due to unknown client, no client authentication "
                "included, or unsupported authentication method.",
            )

    def issue_code(self, company_uuid: str, redirect_uri: str) -> str:
        code = secrets.token_urlsafe(32)
        with self.lock:
            self.codes[code] = AuthorizationCode(
                code, company_uuid, redirect_uri, self.clock() + self.code_lifetime
            )
        return code

    def exchange_code(self, code: str | None, redirect_uri: str | None) -> TokenRecord:
        invalid = OAuthError(
            400,
            "invalid_grant",
            "The provided authorization grant is invalid, expired, revoked, does not match the "
            "redirection URI used in the authorization request, or was issued to another client.",
        )
        with self.lock:
            entry = self.codes.get(code or "")
            if entry is None or entry.used or self.clock() >= entry.expires_at:
                raise invalid
            if redirect_uri is not None and redirect_uri != entry.redirect_uri:
                raise invalid
            entry.used = True
            return self._new_token(entry.company_uuid, grant_id=secrets.token_hex(8), previous=None)

    # ---- tokens ----------------------------------------------------------------------------

    def _new_token(
        self,
        company_uuid: str | None,
        *,
        grant_id: str,
        previous: str | None,
        with_refresh: bool = True,
    ) -> TokenRecord:
        record = TokenRecord(
            access_token=secrets.token_urlsafe(32),
            refresh_token=secrets.token_urlsafe(32) if with_refresh else None,
            company_uuid=company_uuid,
            grant_id=grant_id,
            created_at=int(self.clock()),
            expires_in=self.token_lifetime,
            previous_refresh_token=previous,
        )
        self.by_access[record.access_token] = record
        if record.refresh_token:
            self.by_refresh[record.refresh_token] = record
        return record

    def mint(self, company_uuid: str) -> TokenRecord:
        with self.lock:
            return self._new_token(company_uuid, grant_id=secrets.token_hex(8), previous=None)

    def system_token(self) -> TokenRecord:
        with self.lock:
            return self._new_token(
                None, grant_id=secrets.token_hex(8), previous=None, with_refresh=False
            )

    def refresh(self, refresh_token: str | None) -> TokenRecord:
        with self.lock:
            old = self.by_refresh.get(refresh_token or "")
            if old is None or old.revoked:
                raise OAuthError(
                    400,
                    "invalid_grant",
                    "The provided authorization grant is invalid, expired, revoked, does not "
                    "match the redirection URI used in the authorization request, or was issued "
                    "to another client.",
                )
            return self._new_token(
                old.company_uuid, grant_id=old.grant_id, previous=old.refresh_token
            )

    def revoke(self, token: str | None) -> None:
        """Revoke the whole grant the token belongs to (RFC 7009: unknown tokens are not errors)."""
        with self.lock:
            record = self.by_access.get(token or "") or self.by_refresh.get(token or "")
            if record is None:
                return
            for other in self.by_access.values():
                if other.grant_id == record.grant_id and other.company_uuid == record.company_uuid:
                    other.revoked = True

    def authenticate(self, access_token: str) -> TokenCheck:
        """Check a bearer token; its first use revokes the token it was refreshed from."""
        with self.lock:
            record = self.by_access.get(access_token)
            if record is None:
                return TokenCheck(None, "The access token is invalid")
            if record.revoked:
                return TokenCheck(None, "The access token was revoked")
            if record.expired(self.clock()):
                return TokenCheck(None, "The access token expired")
            if not record.used:
                record.used = True
                if record.previous_refresh_token:
                    previous = self.by_refresh.get(record.previous_refresh_token)
                    if previous is not None:
                        previous.revoked = True
                    record.previous_refresh_token = None
            return TokenCheck(record)
