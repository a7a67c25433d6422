"""HTTPS server: Entra token endpoints, the F&O ``/data`` OData service and ``/_sandbox`` admin."""

from __future__ import annotations

import hashlib
import math
import re
import shutil
import ssl
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from gd_sandbox.httpd import ServedSandbox

from . import seed
from .entra import Entra, EntraError
from .odata import ODataError, dumps, loads
from .routes import ODataRoutes, entity_label
from .service import FnoService
from .store import Store
from .tls import ClientCertificate, make_client_certificate, make_tls_files
from .wire import CloseConnection, Handler, Response, Server, Stats, json_response, log

WRITE_METHODS = {"POST", "PATCH", "PUT", "MERGE", "DELETE"}
THROTTLE_MESSAGE = (
    "This request could not be processed at this time due to system experiencing high "
    "resource utilization."
)
FAULT_DEFAULTS: dict[str, Any] = {
    "throttle_next": 0,
    "retry_after": 1,
    "unavailable_next": 0,
    "lose_response_next_write": 0,
    "drop_connection_next": 0,
    "token_unavailable_next": 0,
    "expire_tokens": False,
    "rate_limit_requests": 0,
    "rate_limit_window_seconds": 300,
}
_NAMESPACE_UUID = uuid.UUID("6c1b7a5e-3f0d-4d55-9a59-0b7f1c7e2d10")


class DynamicsSandbox(ServedSandbox):
    """Entra ID + F&O OData on one HTTPS port (docs/CONTRACTS.md section 3)."""

    def __init__(
        self,
        port: int = 0,
        token_lifetime: int = 3599,
        *,
        page_size: int = 10000,
        host: str = "127.0.0.1",
        rate_limit_requests: int = 0,
        rate_limit_window_seconds: float = 300,
        tenant_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> None:
        super().__init__()
        self._requested_port = port
        self._host = host
        self._token_lifetime = token_lifetime
        self._page_size = page_size
        self.tenant_id = tenant_id or str(uuid.uuid5(_NAMESPACE_UUID, "tenant"))
        self.client_id = client_id or str(uuid.uuid5(_NAMESPACE_UUID, "app:gusto-dynamics"))
        # Stable across restarts so a credential stored once keeps working with a new sandbox.
        self.client_secret = client_secret or (
            "sbx~" + hashlib.sha256(f"{self.tenant_id}:{self.client_id}".encode()).hexdigest()[:34]
        )
        self.faults: dict[str, Any] = dict(FAULT_DEFAULTS)
        self.faults["rate_limit_requests"] = rate_limit_requests
        self.faults["rate_limit_window_seconds"] = rate_limit_window_seconds
        self._fault_lock = threading.Lock()
        self._rate_window: deque[float] = deque()
        self._stats = Stats()
        self.store = Store()
        self.service = FnoService(self.store, page_size=page_size)
        self._routes = ODataRoutes(self.service, self._stats, lambda: self.url)
        self.certificate: ClientCertificate | None = None
        self.entra: Entra | None = None
        self._workdir: Path | None = None
        self.url = ""
        self.ca_bundle = ""

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> DynamicsSandbox:
        if self._server is not None:
            return self
        self._workdir = Path(tempfile.mkdtemp(prefix="gd-dynamics-sandbox-"))
        tls = make_tls_files(self._workdir)
        self.ca_bundle = str(tls.ca_bundle)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(tls.cert_chain), str(tls.key))
        server = Server((self._host, self._requested_port), Handler)
        server.sandbox = self
        server.socket = context.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
        self.url = f"https://{self._host}:{server.server_address[1]}"
        self.certificate = make_client_certificate("gusto-dynamics app credential")
        self.entra = Entra(
            base_url=self.url,
            tenant_id=self.tenant_id,
            client_id=self.client_id,
            client_secret=self.client_secret,
            environment_url=self.url,
            token_lifetime=self._token_lifetime,
            certificate=self.certificate,
        )
        self._serve(server, "dynamics-sandbox")
        log.info("Dynamics sandbox listening on %s", self.url)
        return self

    def stop(self) -> None:
        super().stop()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    # ---------------------------------------------------------------- Python API

    @property
    def environment_url(self) -> str:
        return self.url

    @property
    def authority(self) -> str:
        return f"{self.url}/{self.tenant_id}"

    @property
    def entities(self) -> dict[str, list[dict[str, Any]]]:
        """Copy of every table, for assertions (Decimals stay Decimals)."""
        return self.store.snapshot()

    @property
    def stats(self) -> dict[str, Any]:
        data = self._stats.as_dict()
        data["tokens_issued"] = self.entra.tokens_issued if self.entra else 0
        data["token_errors"] = self.entra.token_errors if self.entra else 0
        return data

    @property
    def token_lifetime(self) -> int:
        return self.entra.token_lifetime if self.entra else self._token_lifetime

    @token_lifetime.setter
    def token_lifetime(self, seconds: int) -> None:
        self._token_lifetime = seconds
        if self.entra is not None:
            self.entra.token_lifetime = seconds

    def post_journal(self, data_area_id: str, journal_batch_number: str) -> dict[str, Any]:
        return self.service.post_journal(data_area_id, journal_batch_number)

    def post_journals(
        self, data_area_id: str, journal_name: str | None = None
    ) -> list[dict[str, Any]]:
        return self.service.post_journals(data_area_id, journal_name)

    def delete_journal(self, data_area_id: str, journal_batch_number: str) -> dict[str, Any]:
        return self.service.delete_journal(data_area_id, journal_batch_number)

    def configure(self, **settings: Any) -> dict[str, Any]:
        if "token_lifetime" in settings:
            self.token_lifetime = int(settings.pop("token_lifetime"))
        info = self.service.configure(settings)
        info["token_lifetime"] = self.token_lifetime
        return info

    def reset(self) -> None:
        """Back to the seed: data, faults, counters. Issued tokens stay valid."""
        self.service.reseed()
        self.service.page_size = self._page_size
        self.service.default_company = seed.DEFAULT_COMPANY
        with self._fault_lock:
            keep = {k: self.faults[k] for k in ("rate_limit_requests", "rate_limit_window_seconds")}
            self.faults.clear()
            self.faults.update(FAULT_DEFAULTS)
            self.faults.update(keep)
            self._rate_window.clear()
        self._stats.clear()

    def client_settings(self) -> dict[str, str]:
        """What a client needs to reach this sandbox, named as the target's settings: the
        environment, the app registration, and Entra on the sandbox's own URL over TLS with
        the certificate authority it made at start-up."""
        return {
            "environment_url": self.url,
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "authority_host": self.url,
            "ca_bundle": self.ca_bundle,
        }

    def info(self) -> dict[str, Any]:
        cert = self.certificate
        return {
            "url": self.url,
            "environment_url": self.url,
            "authority": self.authority,
            "tenant_id": self.tenant_id,
            "tenant_domain": self.entra.tenant_domain if self.entra else None,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "ca_bundle": self.ca_bundle,
            "token_lifetime": self.token_lifetime,
            "scope": f"{self.url}/.default",
            "companies": ["rsc", "sbc"],
            "certificate_pem": cert.certificate_pem if cert else None,
            "certificate_thumbprint": cert.sha1_thumbprint if cert else None,
            "certificate_sha256_thumbprint": cert.sha256_thumbprint if cert else None,
            "config": self.service.config_info(),
        }

    # ---------------------------------------------------------------- faults

    def _take_fault(self, name: str) -> bool:
        with self._fault_lock:
            n = int(self.faults.get(name) or 0)
            if n > 0:
                self.faults[name] = n - 1
                return True
            return False

    def _rate_limited(self) -> int | None:
        """Sliding-window limiter like F&O's user-based limits; returns Retry-After seconds."""
        with self._fault_lock:
            limit = int(self.faults.get("rate_limit_requests") or 0)
            if limit <= 0:
                return None
            window = float(self.faults.get("rate_limit_window_seconds") or 300)
            now = time.monotonic()
            while self._rate_window and self._rate_window[0] <= now - window:
                self._rate_window.popleft()
            if len(self._rate_window) >= limit:
                return max(1, math.ceil(self._rate_window[0] + window - now))
            self._rate_window.append(now)
            return None

    def _check_expire_tokens(self) -> None:
        with self._fault_lock:
            expire = bool(self.faults.get("expire_tokens"))
            self.faults["expire_tokens"] = False
        if expire and self.entra is not None:
            self.entra.expire_all()

    def set_faults(self, changes: dict[str, Any]) -> dict[str, Any]:
        unknown = set(changes) - set(FAULT_DEFAULTS)
        if unknown:
            raise ValueError(
                f"unknown fault switch(es): {sorted(unknown)}; known: {sorted(FAULT_DEFAULTS)}"
            )
        with self._fault_lock:
            self.faults.update(changes)
        self._check_expire_tokens()
        with self._fault_lock:
            return dict(self.faults)

    # ---------------------------------------------------------------- request handling

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], read_body: Callable[[], bytes]
    ) -> Response:
        self._check_expire_tokens()
        parts = urlsplit(raw_path)
        path = parts.path
        query = parts.query
        if path.startswith("/_sandbox/"):
            return self._admin(method, path, read_body())
        if path == "/data" or path.startswith("/data/"):
            return self._data_request(method, path, query, headers, read_body)
        m = re.fullmatch(r"/([^/]+)/(?:v2\.0/)?\.well-known/openid-configuration", path)
        if m and method == "GET":
            tenant_in_path = m.group(1)
            return self._entra_call(
                "openid", lambda: self._entra().openid_configuration(tenant_in_path)
            )
        m = re.fullmatch(r"/([^/]+)/oauth2/(v2\.0/)?token", path)
        if m and method == "POST":
            body = read_body()
            if self._take_fault("token_unavailable_next"):
                self._stats.count("token", "POST", 503)
                return Response(
                    503,
                    dumps(
                        EntraError(
                            503,
                            "temporarily_unavailable",
                            90033,
                            "A transient error has occurred. Please try again.",
                        ).body()
                    ).encode(),
                    [("Content-Type", "application/json; charset=utf-8"), ("Retry-After", "1")],
                )
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            tenant, v1 = m.group(1), m.group(2) is None
            return self._entra_call(
                "token",
                lambda: self._entra().token(tenant, form, v1, headers.get("authorization")),
            )
        return json_response(404, {"error": {"code": "", "message": f"No route for {path}."}})

    def _entra(self) -> Entra:
        assert self.entra is not None
        return self.entra

    def _entra_call(self, name: str, call: Callable[[], dict[str, Any]]) -> Response:
        try:
            status, payload = 200, call()
        except EntraError as err:
            status, payload = err.status, err.body()
        resp = Response(
            status,
            dumps(payload).encode(),
            [
                ("Content-Type", "application/json; charset=utf-8"),
                ("Cache-Control", "no-store, no-cache"),
            ],
        )
        self._stats.count(name, "POST" if name == "token" else "GET", resp.status)
        return resp

    def _data_request(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        read_body: Callable[[], bytes],
    ) -> Response:
        entity = entity_label(path)
        if self._take_fault("drop_connection_next"):
            self._stats.bump("dropped_connections")
            raise CloseConnection
        if self._take_fault("unavailable_next"):
            self._stats.bump("unavailable")
            resp = Response(
                503,
                b"<html><body><h1>Service Unavailable</h1></body></html>",
                [
                    ("Content-Type", "text/html"),
                    ("Retry-After", str(self.faults.get("retry_after", 1))),
                ],
            )
            self._stats.count(entity, method, 503)
            return resp
        reason = self._entra().check_bearer(headers.get("authorization"))
        if reason is not None:
            self._stats.bump("unauthorized")
            self._stats.count(entity, method, 401)
            log.info("401 on %s %s: %s", method, path, reason)
            return Response(
                401,
                b"",
                [("WWW-Authenticate", f'Bearer authorization_uri="{self.authority}"')],
            )
        retry_after: int | None = None
        if self._take_fault("throttle_next"):
            retry_after = int(self.faults.get("retry_after", 1))
            message = THROTTLE_MESSAGE
        else:
            retry_after = self._rate_limited()
            window = self.faults.get("rate_limit_window_seconds")
            limit = self.faults.get("rate_limit_requests")
            message = (
                f"Number of requests exceeded the limit of {limit} "
                f"over the time window of {window} seconds."
            )
        if retry_after is not None:
            self._stats.bump("throttled")
            self._stats.count(entity, method, 429)
            return json_response(
                429,
                {"error": {"code": "TooManyRequests", "message": message}},
                ("Retry-After", str(retry_after)),
            )
        body = read_body()
        lose = method in WRITE_METHODS and self._take_fault("lose_response_next_write")
        if path == "/data/$batch" and method == "POST":
            resp = self._routes.batch(headers, body)
        else:
            resp = self._routes.dispatch(method, path, query, headers, body)
        self._stats.count(entity, method, resp.status)
        if lose:
            self._stats.bump("lost_responses")
            raise CloseConnection
        return resp

    # ---------------------------------------------------------------- admin

    def _admin(self, method: str, path: str, body: bytes) -> Response:
        try:
            payload = loads(body) if body.strip() else {}
        except ValueError:
            return json_response(400, {"error": "body must be JSON"})
        try:
            if path == "/_sandbox/info" and method == "GET":
                return json_response(200, self.info())
            if path == "/_sandbox/faults":
                if method == "POST":
                    return json_response(200, self.set_faults(_plain(payload)))
                with self._fault_lock:
                    return json_response(200, dict(self.faults))
            if path == "/_sandbox/stats" and method == "GET":
                return json_response(200, self.stats)
            if path == "/_sandbox/reset" and method == "POST":
                self.reset()
                return json_response(200, {"reset": True})
            if path == "/_sandbox/config":
                if method == "POST":
                    return json_response(200, self.configure(**_plain(payload)))
                return json_response(
                    200, {**self.service.config_info(), "token_lifetime": self.token_lifetime}
                )
            m = re.fullmatch(r"/_sandbox/journals/([^/]+)/([^/]+)/post", path)
            if m and method == "POST":
                return json_response(
                    200, self.post_journal(unquote(m.group(1)), unquote(m.group(2)))
                )
            m = re.fullmatch(r"/_sandbox/journals/([^/]+)/post", path)
            if m and method == "POST":
                name = payload.get("journal_name") if isinstance(payload, dict) else None
                posted = self.post_journals(unquote(m.group(1)), name)
                return json_response(200, {"journals": posted})
            m = re.fullmatch(r"/_sandbox/journals/([^/]+)/([^/]+)", path)
            if m and method == "DELETE":
                return json_response(
                    200, self.delete_journal(unquote(m.group(1)), unquote(m.group(2)))
                )
        except ODataError as err:
            return json_response(err.status, {"error": err.message})
        except (ValueError, TypeError) as err:
            return json_response(400, {"error": str(err)})
        return json_response(404, {"error": f"no admin route {method} {path}"})


def _plain(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ValueError("admin body must be a JSON object")
    return {
        k: (int(v) if isinstance(v, Decimal) and v == v.to_integral_value() else v)
        for k, v in payload.items()
    }
