"""HTTPS server: Entra token endpoints, the F&O ``/data`` OData service and ``/_sandbox`` admin."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import re
import shutil
import socket
import ssl
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from . import seed
from .batch import BatchOperation, BatchResponse, BatchResult, parse_batch, render_batch
from .entities import ENTITY_DEFS
from .entra import Entra, EntraError
from .metadata import csdl_document
from .odata import ODataError, dumps, loads, parse_key_predicate
from .service import FnoService
from .store import Store
from .tls import ClientCertificate, make_client_certificate, make_tls_files

log = logging.getLogger("gd_sandbox.dynamics")

JSON_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8"
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


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def reason(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Unknown"


def json_response(status: int, payload: Any, *extra: tuple[str, str]) -> Response:
    return Response(
        status,
        dumps(payload).encode(),
        [("Content-Type", JSON_TYPE), ("OData-Version", "4.0"), *extra],
    )


def odata_error(err: ODataError) -> Response:
    return json_response(err.status, err.body())


class _Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self.total = 0
        self.requests: dict[str, dict[str, dict[str, int]]] = {}
        self.batches = 0
        self.batch_operations = 0
        self.changesets_committed = 0
        self.changesets_rolled_back = 0
        self.throttled = 0
        self.unavailable = 0
        self.lost_responses = 0
        self.dropped_connections = 0
        self.unauthorized = 0

    def count(self, entity: str, method: str, status: int) -> None:
        with self.lock:
            self.total += 1
            per = self.requests.setdefault(entity, {}).setdefault(method, {})
            per[str(status)] = per.get(str(status), 0) + 1

    def bump(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict[str, Any]:
        with self.lock:
            return {
                "total": self.total,
                "requests": {
                    e: {m: dict(s) for m, s in ms.items()} for e, ms in self.requests.items()
                },
                "batches": self.batches,
                "batch_operations": self.batch_operations,
                "changesets_committed": self.changesets_committed,
                "changesets_rolled_back": self.changesets_rolled_back,
                "throttled": self.throttled,
                "unavailable": self.unavailable,
                "lost_responses": self.lost_responses,
                "dropped_connections": self.dropped_connections,
                "unauthorized": self.unauthorized,
            }


class _CloseConnection(Exception):  # noqa: N818
    """Raised to end a request by closing the socket without any response."""


class _ChangesetFailed(Exception):  # noqa: N818
    def __init__(self, response: BatchResponse) -> None:
        super().__init__(response.status)
        self.response = response


class DynamicsSandbox:
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
        self._stats = _Stats()
        self.store = Store()
        self.service = FnoService(self.store, page_size=page_size)
        self.certificate: ClientCertificate | None = None
        self.entra: Entra | None = None
        self._workdir: Path | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
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
        server = _Server((self._host, self._requested_port), _Handler)
        server.sandbox = self
        server.socket = context.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
        self._server = server
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
        self._thread = threading.Thread(
            target=server.serve_forever, name="dynamics-sandbox", daemon=True
        )
        self._thread.start()
        log.info("Dynamics sandbox listening on %s", self.url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> DynamicsSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

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
            payload = call()
        except EntraError as err:
            resp = Response(
                err.status,
                dumps(err.body()).encode(),
                [
                    ("Content-Type", "application/json; charset=utf-8"),
                    ("Cache-Control", "no-store, no-cache"),
                ],
            )
        else:
            resp = Response(
                200,
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
        entity = _entity_label(path)
        if self._take_fault("drop_connection_next"):
            self._stats.bump("dropped_connections")
            raise _CloseConnection
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
            resp = self._batch(headers, body)
        else:
            resp = self.dispatch(method, path, query, headers, body)
        self._stats.count(entity, method, resp.status)
        if lose:
            self._stats.bump("lost_responses")
            raise _CloseConnection
        return resp

    # ---------------------------------------------------------------- OData dispatch

    def dispatch(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Response:
        try:
            return self._dispatch(method, path, query, headers, body)
        except ODataError as err:
            return odata_error(err)

    def _dispatch(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Response:
        params = dict(parse_qsl(query, keep_blank_values=True))
        rest = unquote(path[len("/data") :]).lstrip("/")
        base = f"{self.url}/data"
        if rest == "":
            if method != "GET":
                raise ODataError(405, "The service document is read-only.")
            return json_response(
                200,
                {
                    "@odata.context": f"{base}/$metadata",
                    "value": [{"name": n, "kind": "EntitySet", "url": n} for n in ENTITY_DEFS],
                },
            )
        if rest == "$metadata":
            return Response(
                200,
                csdl_document().encode(),
                [("Content-Type", "application/xml"), ("OData-Version", "4.0")],
            )
        m = re.fullmatch(r"([A-Za-z0-9_]+)(?:\((.*)\))?(/\$count)?", rest, re.DOTALL)
        if not m or m.group(1) not in ENTITY_DEFS:
            raise ODataError(404, f"Resource not found for the segment '{rest.split('(')[0]}'.")
        set_name, predicate, count = m.group(1), m.group(2), m.group(3)
        entity = ENTITY_DEFS[set_name]
        if predicate is None:
            if count:
                if method != "GET":
                    raise ODataError(405, "$count supports GET only.")
                return Response(
                    200,
                    str(self.service.count(set_name, params)).encode(),
                    [("Content-Type", "text/plain"), ("OData-Version", "4.0")],
                )
            if method == "GET":
                return self._collection(set_name, params, query)
            if method == "POST":
                row = self.service.create(
                    set_name, self._json(body), quoted_decimals=_ieee754(headers)
                )
                return self._entity_response(201, set_name, row)
            raise ODataError(405, f"{method} is not allowed on the collection '{set_name}'.")
        if count:
            raise ODataError(400, "$count is not valid on a single entity.")
        keys = parse_key_predicate(entity, predicate)
        if method == "GET":
            row = self.service.get(set_name, keys, params)
            return json_response(
                200,
                {"@odata.context": f"{base}/$metadata#{set_name}/$entity", **row},
                ("ETag", row["@odata.etag"]),
            )
        if method in ("PATCH", "MERGE", "PUT"):
            row = self.service.update(
                set_name,
                keys,
                self._json(body),
                headers.get("if-match"),
                quoted_decimals=_ieee754(headers),
            )
            return Response(
                204, b"", [("ETag", self.service.etag(set_name, row)), ("OData-Version", "4.0")]
            )
        if method == "DELETE":
            self.service.delete(set_name, keys)
            return Response(204, b"", [("OData-Version", "4.0")])
        raise ODataError(405, f"{method} is not allowed on an entity of '{set_name}'.")

    @staticmethod
    def _json(body: bytes) -> Any:
        try:
            return loads(body or b"{}")
        except ValueError as exc:
            raise ODataError(400, f"The request body is not valid JSON: {exc}.") from exc

    def _collection(self, set_name: str, params: dict[str, str], query: str) -> Response:
        result = self.service.query(set_name, params)
        payload: dict[str, Any] = {"@odata.context": f"{self.url}/data/$metadata#{set_name}"}
        if result.count is not None:
            payload["@odata.count"] = result.count
        payload["value"] = result.rows
        if result.next_skip is not None:
            kept = [
                (k, v)
                for k, v in parse_qsl(query, keep_blank_values=True)
                if k not in ("$skip", "$top")
            ]
            kept.append(("$skip", str(result.next_skip)))
            if result.next_top is not None:
                kept.append(("$top", str(result.next_top)))
            payload["@odata.nextLink"] = f"{self.url}/data/{set_name}?" + urlencode(
                kept, safe="$,'()*:"
            )
        return json_response(200, payload)

    def _entity_response(self, status: int, set_name: str, row: dict[str, Any]) -> Response:
        etag = self.service.etag(set_name, row)
        location = f"{self.url}/data/{self.service.location(set_name, row)}"
        payload = {
            "@odata.context": f"{self.url}/data/$metadata#{set_name}/$entity",
            "@odata.etag": etag,
            **row,
        }
        resp = json_response(status, payload)
        resp.headers[:0] = [("ETag", etag), ("Location", location)]
        return resp

    # ---------------------------------------------------------------- $batch

    def _batch(self, headers: dict[str, str], body: bytes) -> Response:
        try:
            parts = parse_batch(body, headers.get("content-type", ""))
        except ODataError as err:
            return odata_error(err)
        self._stats.bump("batches")
        result = BatchResult()
        for part in parts:
            self._stats.bump("batch_operations", len(part.operations))
            if part.is_changeset:
                result.parts.append((True, self._changeset(part.operations)))
            else:
                op = part.operations[0]
                resp = self._batch_op(op.method, op.url, op.headers, op.body, {})
                result.parts.append((False, [self._as_batch_response(resp, op.content_id)]))
        content_type, payload = render_batch(result)
        return Response(200, payload, [("Content-Type", content_type), ("OData-Version", "4.0")])

    def _changeset(self, operations: list[BatchOperation]) -> list[BatchResponse]:
        """All or nothing: the first failing operation rolls back the changeset and is the
        only part answered, as F&O does."""
        responses: list[BatchResponse] = []
        locations: dict[str, str] = {}
        try:
            with self.store.transaction():
                for op in operations:
                    resp = self._batch_op(op.method, op.url, op.headers, op.body, locations)
                    answer = self._as_batch_response(resp, op.content_id)
                    if resp.status >= 400:
                        raise _ChangesetFailed(answer)
                    if op.content_id is not None:
                        loc = dict(resp.headers).get("Location")
                        if loc:
                            locations[op.content_id] = loc
                    responses.append(answer)
        except _ChangesetFailed as failed:
            self._stats.bump("changesets_rolled_back")
            return [failed.response]
        self._stats.bump("changesets_committed")
        return responses

    def _batch_op(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
        locations: dict[str, str],
    ) -> Response:
        if url.startswith("$"):
            ref, _, tail = url[1:].partition("/")
            if ref not in locations:
                return odata_error(
                    ODataError(400, f"Content-ID reference '${ref}' is not defined.")
                )
            url = locations[ref] + ("/" + tail if tail else "")
        parts = urlsplit(url)
        path = parts.path
        if parts.scheme:
            if not path.startswith("/data"):
                return odata_error(
                    ODataError(400, f"The batch operation URL {url!r} is outside /data.")
                )
        elif not path.startswith("/"):
            path = "/data/" + path
        if path == "/data/$batch":
            return odata_error(ODataError(400, "A $batch cannot contain another $batch."))
        resp = self.dispatch(method, path, parts.query, headers, body)
        self._stats.count(_entity_label(path), method, resp.status)
        return resp

    @staticmethod
    def _as_batch_response(resp: Response, content_id: str | None) -> BatchResponse:
        return BatchResponse(resp.status, resp.reason, resp.headers, resp.body, content_id)

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


def _ieee754(headers: dict[str, str]) -> bool:
    """OData's opt-in for decimals as JSON strings (``IEEE754Compatible=true``)."""
    return "ieee754compatible=true" in headers.get("content-type", "").replace(" ", "").lower()


def _entity_label(path: str) -> str:
    rest = unquote(path[len("/data") :]).lstrip("/")
    if rest in ("", "$metadata", "$batch"):
        return rest or "service"
    return re.split(r"[(/]", rest, maxsplit=1)[0]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: DynamicsSandbox


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    timeout = 30
    server: _Server

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError, ssl.SSLError):
            assert isinstance(self.request, ssl.SSLSocket)
            self.request.do_handshake()

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline().strip().split(b";")[0]
                size = int(size_line or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        sandbox = self.server.sandbox
        headers = {k.lower(): v for k, v in self.headers.items()}
        body_cache: list[bytes] = []

        def read_body() -> bytes:
            if not body_cache:
                body_cache.append(self._read_body())
            return body_cache[0]

        try:
            resp = sandbox.handle(self.command, self.path, headers, read_body)
        except _CloseConnection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except Exception:
            log.exception("sandbox error on %s %s", self.command, self.path.split("?")[0])
            resp = json_response(500, {"error": {"code": "", "message": "Sandbox internal error."}})
        if not body_cache:
            read_body()  # keep the connection in sync for the next request
        self.send_response(resp.status, resp.reason)
        for name, value in resp.headers:
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(resp.body)))
        self.send_header("request-id", str(uuid.uuid4()))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    do_GET = _handle  # noqa: N815
    do_POST = _handle  # noqa: N815
    do_PATCH = _handle  # noqa: N815
    do_PUT = _handle  # noqa: N815
    do_DELETE = _handle  # noqa: N815
    do_MERGE = _handle  # noqa: N815
