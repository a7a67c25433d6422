"""Per-company request authentication and the shared per-company connection objects."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from tap_gusto.api import GustoClient, RefreshingAuth
from tap_gusto.limiter import RateLimiter
from tap_gusto.tokens import DEFAULT_API_URL, TokenManager, company_record


class GustoCompanyAuth(RefreshingAuth):
    """Bearer auth for one company (deliberately not a singleton: one grant per company)."""

    def __init__(self, tokens: TokenManager) -> None:
        self.tokens = tokens
        self.last_token: str | None = None

    def token(self) -> str:
        return self.tokens.access_token()

    def refresh_after_unauthorized(self, rejected: str) -> object:
        # The single-use refresh, under the vault lock (TokenManager keeps the rotation rules).
        return self.tokens.refresh_after_unauthorized(rejected)

    def __repr__(self) -> str:
        return f"GustoCompanyAuth(company_uuid={self.tokens.company_uuid!r})"


@dataclass
class CompanyConnection:
    """Everything one process shares for one company: base URL, tokens, limiter, Gusto's date."""

    company_uuid: str
    api_url: str
    tokens: TokenManager
    limiter: RateLimiter
    auth: GustoCompanyAuth = field(init=False)
    #: The one Gusto client, sending for this company with its token and limiter.
    client: GustoClient = field(init=False)
    #: Gusto's calendar date, from the ``Date`` header of its latest response (None before one).
    server_today: dt.date | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.auth = GustoCompanyAuth(self.tokens)
        self.client = GustoClient(
            api_url=self.api_url,
            auth=self.auth,
            limiter=self.limiter,
            session=self.tokens.session,
            user_agent=self.tokens.user_agent,
        )

    def note_server_date(self, response: requests.Response) -> None:
        """Keep Gusto's date: its list limits count from its today, not this machine's."""
        value = response.headers.get("Date")
        if not value:
            return
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        self.server_today = moment.astimezone(dt.UTC).date()


class ConnectionRegistry:
    """Lazily builds one ``CompanyConnection`` per company for the whole tap process."""

    def __init__(self, factory: Callable[[str], CompanyConnection]) -> None:
        self._factory = factory
        self._connections: dict[str, CompanyConnection] = {}
        self._lock = threading.Lock()

    def get(self, company_uuid: str) -> CompanyConnection:
        with self._lock:
            if company_uuid not in self._connections:
                self._connections[company_uuid] = self._factory(company_uuid)
            return self._connections[company_uuid]

    def all(self) -> list[CompanyConnection]:
        with self._lock:
            return list(self._connections.values())


def resolve_api_url(configured: str | None, data: dict[str, Any] | Any, company_uuid: str) -> str:
    """Config ``api_url`` wins; else the URL stored with the company, else the app's, else prod."""
    if configured:
        return configured.rstrip("/")
    record = company_record(data, company_uuid) or {}
    app = data.get("gusto", {}).get("app", {}) or {}
    return str(record.get("api_url") or app.get("api_url") or DEFAULT_API_URL).rstrip("/")
