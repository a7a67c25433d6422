"""Microsoft Entra ID client-credentials flow (v1 + v2 endpoints), as MSAL for Python uses it."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from .tls import ClientCertificate

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(eq=False)  # an exception keeps identity equality and stays hashable
class EntraError(Exception):
    """An AADSTS error: HTTP status, OAuth error code, AADSTS number and its description."""

    status: int
    error: str
    code: int
    description: str

    def __post_init__(self) -> None:
        super().__init__(self.description)

    def body(self) -> dict[str, Any]:
        trace_id = str(uuid.uuid4())
        correlation_id = str(uuid.uuid4())
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return {
            "error": self.error,
            "error_description": (
                f"AADSTS{self.code}: {self.description}\r\nTrace ID: {trace_id}\r\n"
                f"Correlation ID: {correlation_id}\r\nTimestamp: {stamp}"
            ),
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": "https://login.microsoftonline.com/error?code=" + str(self.code),
        }


@dataclass
class _Issued:
    expires_at: float
    audience: str


@dataclass
class Entra:
    """One tenant with one app registration (secret + optional certificate credential)."""

    base_url: str
    tenant_id: str
    client_id: str
    client_secret: str
    environment_url: str
    token_lifetime: int = 3599
    certificate: ClientCertificate | None = None
    tenant_domain: str = "ridgeline.onmicrosoft.com"
    app_object_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    tokens_issued: int = 0
    token_errors: int = 0
    _signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _issued: dict[str, _Issued] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _seen_assertions: set[str] = field(default_factory=set)

    # ---------------------------------------------------------------- discovery

    def knows_tenant(self, tenant: str) -> bool:
        return tenant.lower() in (self.tenant_id.lower(), self.tenant_domain.lower())

    def tenant_not_found(self, tenant: str) -> EntraError:
        return EntraError(
            400,
            "invalid_tenant",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud. Check with your subscription "
            "administrator, this may happen if there are no active subscriptions for the tenant.",
        )

    def openid_configuration(self, tenant: str) -> dict[str, Any]:
        if not self.knows_tenant(tenant):
            raise self.tenant_not_found(tenant)
        base = self.base_url
        tid = self.tenant_id
        return {
            "token_endpoint": f"{base}/{tid}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/{tid}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{tid}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{tid}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid"],
            "kerberos_endpoint": f"{base}/{tid}/kerberos",
            "tenant_region_scope": "NA",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }

    # ---------------------------------------------------------------- token endpoint

    def token(
        self, tenant: str, form: dict[str, str], v1: bool, auth_header: str | None
    ) -> dict[str, Any]:
        try:
            return self._token(tenant, form, v1, auth_header)
        except EntraError:
            with self._lock:
                self.token_errors += 1
            raise

    def _token(
        self, tenant: str, form: dict[str, str], v1: bool, auth_header: str | None
    ) -> dict[str, Any]:
        if not self.knows_tenant(tenant):
            raise self.tenant_not_found(tenant)
        grant = form.get("grant_type", "")
        if grant != "client_credentials":
            raise EntraError(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant}'. This sandbox "
                "supports client_credentials only.",
            )
        client_id = form.get("client_id", "")
        secret = form.get("client_secret")
        if auth_header and auth_header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth_header[6:]).decode()
            except (ValueError, UnicodeDecodeError) as exc:
                raise EntraError(
                    401, "invalid_client", 7000216, "Malformed Authorization header."
                ) from exc
            basic_id, _, basic_secret = decoded.partition(":")
            client_id = client_id or basic_id
            secret = basic_secret
        if not client_id:
            raise EntraError(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            )
        if client_id.lower() != self.client_id.lower():
            raise EntraError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.tenant_id}'. This can happen if the application has not been installed "
                "by the administrator of the tenant or consented to by any user in the tenant. "
                "You may have sent your authentication request to the wrong tenant.",
            )
        assertion = form.get("client_assertion")
        if assertion is not None:
            self._check_assertion(assertion, form.get("client_assertion_type", ""), tenant)
        elif secret is None:
            raise EntraError(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.",
            )
        elif not hmac.compare_digest(secret.encode(), self.client_secret.encode()):
            raise EntraError(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{self.client_id}'.",
            )
        if v1:
            resource = form.get("resource", "")
            if not resource:
                raise EntraError(
                    400,
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'resource'.",
                )
        else:
            scope = form.get("scope", "")
            scopes = [s for s in scope.split() if s not in ("openid", "profile", "offline_access")]
            if len(scopes) != 1 or not scopes[0].endswith("/.default"):
                raise EntraError(
                    400,
                    "invalid_scope",
                    1002012,
                    f"The provided value for scope {scope} is not valid. Client credential "
                    "flows must have a scope value with /.default suffixed to the resource "
                    "identifier (application ID URI).",
                )
            resource = scopes[0][: -len("/.default")]
        if resource.rstrip("/").lower() != self.environment_url.lower():
            raise EntraError(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant named "
                f"{self.tenant_id}. This can happen if the application has not been installed by "
                "the administrator of the tenant or consented to by any user in the tenant. You "
                "might have sent your authentication request to the wrong tenant.",
            )
        return self._issue(resource, v1)

    def _check_assertion(self, assertion: str, assertion_type: str, tenant: str) -> None:
        def bad(why: str) -> EntraError:
            return EntraError(
                401,
                "invalid_client",
                700027,
                f"The certificate with identifier used to sign the client assertion is not "
                f"registered on application, or the assertion is invalid: {why}.",
            )

        if assertion_type != CLIENT_ASSERTION_TYPE:
            raise EntraError(
                400,
                "invalid_request",
                700024,
                f"client_assertion_type must be '{CLIENT_ASSERTION_TYPE}'.",
            )
        if self.certificate is None:
            raise bad("no certificate credential is registered for this app")
        try:
            head_b64, body_b64, sig_b64 = assertion.split(".")
            header = json.loads(_b64url_decode(head_b64))
            claims = json.loads(_b64url_decode(body_b64))
            signature = _b64url_decode(sig_b64)
        except (ValueError, json.JSONDecodeError) as exc:
            raise bad("the assertion is not a JWT") from exc
        cert = self.certificate
        alg = header.get("alg")
        signed = f"{head_b64}.{body_b64}".encode()
        if header.get("x5t#S256"):
            thumb = _b64url_decode(header["x5t#S256"]).hex().upper()
            if thumb != cert.sha256_thumbprint:
                raise bad("unknown certificate thumbprint (x5t#S256)")
        elif header.get("x5t"):
            thumb = _b64url_decode(header["x5t"]).hex().upper()
            if thumb != cert.sha1_thumbprint:
                raise bad("unknown certificate thumbprint (x5t)")
        else:
            raise bad("the JWT header names no certificate thumbprint")
        try:
            if alg == "RS256":
                cert.public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
            elif alg == "PS256":
                cert.public_key.verify(
                    signature,
                    signed,
                    padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                    hashes.SHA256(),
                )
            else:
                raise bad(f"unsupported signing algorithm {alg!r}")
        except InvalidSignature as exc:
            raise bad("the signature does not verify") from exc
        now = time.time()
        if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id:
            raise bad("iss and sub must be the client id")
        aud = str(claims.get("aud", ""))
        if not aud.lower().startswith(f"{self.base_url}/".lower()) or "/oauth2/" not in aud:
            raise bad(f"aud {aud!r} is not this tenant's token endpoint")
        if not isinstance(claims.get("exp"), int | float) or claims["exp"] < now - 300:
            raise EntraError(
                401,
                "invalid_client",
                700024,
                "Client assertion is not within its valid time range.",
            )
        jti = str(claims.get("jti", ""))
        with self._lock:
            if jti and jti in self._seen_assertions:
                raise EntraError(
                    401, "invalid_client", 700025, "The client assertion (jti) was already used."
                )
            self._seen_assertions.add(jti)

    def _issue(self, resource: str, v1: bool) -> dict[str, Any]:
        now = time.time()
        uti = secrets.token_urlsafe(16)
        aud = resource[: -len("/.default")] if resource.endswith("/.default") else resource
        claims = {
            "aud": aud,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now + self.token_lifetime),
            "appid": self.client_id,
            "appidacr": "1",
            "idp": f"https://sts.windows.net/{self.tenant_id}/",
            "oid": self.app_object_id,
            "sub": self.app_object_id,
            "tid": self.tenant_id,
            "uti": uti,
            "ver": "1.0",
        }
        header = {"typ": "JWT", "alg": "HS256", "kid": "sandbox"}
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        sig = hmac.new(self._signing_key, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{_b64url(sig)}"
        with self._lock:
            self._issued[uti] = _Issued(expires_at=now + self.token_lifetime, audience=aud)
            self.tokens_issued += 1
        if v1:
            return {
                "token_type": "Bearer",
                "expires_in": str(self.token_lifetime),
                "ext_expires_in": str(self.token_lifetime),
                "expires_on": str(int(now + self.token_lifetime)),
                "not_before": str(int(now)),
                "resource": resource,
                "access_token": token,
            }
        return {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": token,
        }

    # ---------------------------------------------------------------- resource side

    def check_bearer(self, authorization: str | None) -> str | None:
        """Returns None when the token is good, else why F&O answers 401 (for the log only)."""
        if not authorization or not authorization.startswith("Bearer "):
            return "no bearer token"
        token = authorization[7:].strip()
        try:
            head_b64, body_b64, sig_b64 = token.split(".")
            expected = hmac.new(
                self._signing_key, f"{head_b64}.{body_b64}".encode(), hashlib.sha256
            ).digest()
            if not hmac.compare_digest(expected, _b64url_decode(sig_b64)):
                return "bad signature"
            claims = json.loads(_b64url_decode(body_b64))
        except (ValueError, json.JSONDecodeError):
            return "malformed token"
        with self._lock:
            issued = self._issued.get(str(claims.get("uti")))
        if issued is None:
            return "token revoked or unknown"
        if time.time() >= issued.expires_at:
            return "token expired"
        if claims.get("aud") != self.environment_url.lower() or claims.get("aud") != claims[
            "aud"
        ].rstrip("/"):
            return "audience is not the environment URL (lowercase, no trailing slash)"
        if claims.get("tid") != self.tenant_id:
            return "wrong tenant"
        return None

    def expire_all(self) -> int:
        with self._lock:
            n = len(self._issued)
            self._issued.clear()
            return n
