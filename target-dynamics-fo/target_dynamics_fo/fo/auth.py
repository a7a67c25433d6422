"""Microsoft Entra ID client-credentials tokens for Dynamics 365 F&O.

Client credentials issue no refresh token: when a token expires (or F&O answers 401) a new one is
requested with the same secret or certificate. MSAL caches tokens and returns the cached one from
``acquire_token_for_client`` even after F&O rejected it, so a forced refresh removes the cached
access tokens first.

Entra's transient failures (5xx, 429, dropped connections) are retried with exponential backoff
until ``token_deadline_seconds``, like the OData calls; its 4xx answers (bad secret, unknown
tenant) fail at once with their message.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

import backoff
import msal
import requests
from gd_vault.redact import register_secret, scrub


class PinnedSession(requests.Session):
    """A session whose CA bundle is not silently replaced by $REQUESTS_CA_BUNDLE.

    requests lets the environment variable win over ``Session.verify`` unless ``verify`` is
    passed on every call, which would make a configured ``ca_bundle`` ineffective.
    """

    def __init__(self, verify: str | bool, timeout: float = 60.0) -> None:
        super().__init__()
        self.verify = verify
        self._timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("verify", self.verify)
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


logger = logging.getLogger(__name__)

DEFAULT_TOKEN_DEADLINE_SECONDS = 120.0
TOKEN_BACKOFF_CAP_SECONDS = 30.0
_HTTP_STATUS = re.compile(r"HTTP Error: (\d{3})")
# OAuth errors Entra returns for an outage rather than for a wrong request.
_TRANSIENT_OAUTH_ERRORS = frozenset({"temporarily_unavailable", "server_error"})


class DynamicsAuthError(Exception):
    """Entra refused to issue a token, or F&O refused a fresh one: a configuration problem."""


class _EntraUnavailableError(Exception):
    """A token request that may succeed if tried again later."""


# AADSTS codes a customer is likely to hit, with the fix in their words.
_AADSTS_HINTS: dict[str, str] = {
    "7000215": "the client secret is wrong. Create a new secret for the app registration in "
    "Microsoft Entra ID and store it again (gusto-dynamics connect dynamics).",
    "7000222": "the client secret has expired. Create a new secret for the app registration in "
    "Microsoft Entra ID and store it again (gusto-dynamics connect dynamics).",
    "90002": "the tenant was not found. Check tenant_id (the directory id or domain of the "
    "Entra tenant that owns the F&O environment).",
    "900023": "the tenant id is not valid. Check tenant_id.",
    "700016": "the application (client) id is not known in this tenant. Check client_id and "
    "that the app registration exists in the same tenant as the F&O environment.",
    "500011": "the resource (environment URL) is not known in this tenant. Check "
    "environment_url: it must be the F&O environment URL without a trailing slash.",
    "70011": "the requested scope is not valid. Check environment_url (the scope is "
    "<environment_url>/.default).",
    "700027": "the client certificate assertion was rejected. Check the certificate and its "
    "thumbprint, and that the certificate is uploaded to the app registration.",
    "53003": "a conditional access policy blocked the token request.",
}


class EntraTokenProvider:
    """Bearer tokens for one F&O environment from one Entra app registration."""

    def __init__(
        self,
        environment_url: str,
        tenant_id: str,
        client_id: str,
        *,
        client_secret: str | None = None,
        certificate_pem: str | None = None,
        certificate_thumbprint: str | None = None,
        authority_host: str = "https://login.microsoftonline.com",
        ca_bundle: str | None = None,
    ) -> None:
        if not environment_url:
            raise DynamicsAuthError(
                "environment_url is not set (e.g. https://contoso.operations.dynamics.com)."
            )
        if not tenant_id or not client_id:
            raise DynamicsAuthError(
                "tenant_id and client_id are required; set them in the config or store them with "
                "`gusto-dynamics connect dynamics`."
            )
        credential: Any
        if client_secret:
            credential = client_secret
            self._secrets = [client_secret]
        elif certificate_pem and certificate_thumbprint:
            credential = {"private_key": certificate_pem, "thumbprint": certificate_thumbprint}
            self._secrets = [certificate_pem]
        else:
            raise DynamicsAuthError(
                "No Dynamics credential: set client_secret, or certificate_path and "
                "certificate_thumbprint (or store them with `gusto-dynamics connect dynamics`)."
            )
        register_secret(*self._secrets)
        # F&O rejects tokens whose audience is not the environment URL exactly: lowercase, no
        # trailing slash.
        self.environment_url = environment_url.rstrip("/").lower()
        self.scope = f"{self.environment_url}/.default"
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self._ca_bundle = ca_bundle
        self._credential = credential
        self._lock = threading.Lock()
        self.token_deadline_seconds = DEFAULT_TOKEN_DEADLINE_SECONDS
        self._app: msal.ConfidentialClientApplication | None = None
        self.tokens_issued = 0

    def _application(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.client_id,
                    client_credential=self._credential,
                    authority=self.authority,
                    instance_discovery=False,
                    verify=self._ca_bundle if self._ca_bundle else True,
                    http_client=PinnedSession(self._ca_bundle) if self._ca_bundle else None,
                )
            except ValueError as exc:
                detail = self._clean(str(exc)).splitlines()[0][:200] if str(exc) else ""
                if "authority configuration" not in detail:
                    raise DynamicsAuthError(
                        f"The Entra credential for client id {self.client_id} is not usable: "
                        f"{detail}. Check the client secret, or the certificate PEM and its "
                        "thumbprint."
                    ) from exc
                # MSAL says this when the tenant's OpenID configuration is not found.
                raise DynamicsAuthError(
                    f"Microsoft Entra does not know tenant {self.tenant_id!r} at "
                    f"{self.authority}: check tenant_id (the directory id or domain of the "
                    "tenant that owns the F&O environment) and authority_host. "
                    f"({detail})"
                ) from exc
            except Exception as exc:
                raise DynamicsAuthError(
                    f"Cannot reach the Entra authority {self.authority} "
                    f"({type(exc).__name__}). Check authority_host, tenant_id and ca_bundle."
                ) from exc
        return self._app

    def token(self, force_refresh: bool = False) -> str:
        """A bearer token for the environment; a new one (not MSAL's cached one) if forced."""
        with self._lock:
            app = self._application()
            if force_refresh:
                cache = app.token_cache
                for item in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                    cache.remove_at(item)
            result = self._acquire(app)
            if not result or "access_token" not in result:
                raise DynamicsAuthError(self._describe_error(result or {}))
            if result.get("token_source") == "identity_provider":
                self.tokens_issued += 1
            register_secret(str(result["access_token"]))
            return str(result["access_token"])

    def _acquire(self, app: msal.ConfidentialClientApplication) -> dict[str, Any]:
        """One token request, tried again while Entra is unavailable, up to the deadline."""

        def attempt() -> dict[str, Any]:
            try:
                result: dict[str, Any] = app.acquire_token_for_client(scopes=[self.scope]) or {}
            except msal.exceptions.MsalServiceError as exc:
                status = _HTTP_STATUS.search(str(exc))
                if status and (int(status.group(1)) >= 500 or status.group(1) == "429"):
                    raise _EntraUnavailableError(f"HTTP {status.group(1)}") from exc
                raise
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise _EntraUnavailableError(type(exc).__name__) from exc
            if result.get("error") in _TRANSIENT_OAUTH_ERRORS:
                raise _EntraUnavailableError(str(result["error"]))
            return result

        def note(details: Any) -> None:
            logger.warning(
                "Entra token request to %s unavailable (%s); trying again in %.1fs.",
                self.authority,
                details["exception"],
                details["wait"],
            )

        retrying = backoff.on_exception(
            backoff.expo,
            _EntraUnavailableError,
            max_time=self.token_deadline_seconds,
            max_value=TOKEN_BACKOFF_CAP_SECONDS,
            on_backoff=note,
        )(attempt)
        try:
            return retrying()
        except _EntraUnavailableError as exc:
            raise DynamicsAuthError(
                f"Microsoft Entra at {self.authority} stayed unavailable for "
                f"{self.token_deadline_seconds:g}s (last: {exc}); nothing was posted. Run "
                "again later; if it persists, check authority_host and Microsoft's service "
                "health."
            ) from exc
        except Exception as exc:
            raise DynamicsAuthError(
                f"Token request to {self.authority} failed ({type(exc).__name__}: "
                f"{self._clean(str(exc))}). Check authority_host and ca_bundle."
            ) from exc

    def unauthorized_error(self) -> DynamicsAuthError:
        """What to tell the user when F&O rejects a token that Entra has just issued."""
        return DynamicsAuthError(
            f"Dynamics 365 F&O at {self.environment_url} rejected a freshly issued token (HTTP 401 "
            "twice). The Entra app is not accepted by the environment: check that environment_url "
            "is exactly the F&O URL (the token audience), that tenant_id is the environment's "
            f"tenant, and that client id {self.client_id} is registered in F&O under System "
            "administration > Setup > Microsoft Entra applications with an enabled user."
        )

    def _describe_error(self, result: dict[str, Any]) -> str:
        description = self._clean(str(result.get("error_description") or ""))
        codes = [str(code) for code in result.get("error_codes") or []]
        found = re.findall(r"AADSTS(\d+)", description)
        codes.extend(code for code in found if code not in codes)
        first_line = description.splitlines()[0] if description else ""
        for code in codes:
            if code in _AADSTS_HINTS:
                hint = _AADSTS_HINTS[code]
                return f"Microsoft Entra refused the token request: {hint} ({first_line})"
        error = result.get("error") or "unknown_error"
        return (
            f"Microsoft Entra refused the token request ({error}): "
            f"{first_line or 'no description'}. "
            "Check tenant_id, client_id and the client secret or certificate."
        )

    def _clean(self, text: str) -> str:
        # The one rule shared with the tap and the connector (gd_vault.redact).
        return scrub(text, self._secrets)
