"""The ``/data`` OData routes: service document, ``$metadata``, entity sets and entities,
``$count`` and ``$batch`` with all-or-nothing changesets."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from .batch import BatchOperation, BatchResponse, BatchResult, parse_batch, render_batch
from .entities import ENTITY_DEFS
from .metadata import csdl_document
from .odata import ODataError, loads, parse_key_predicate
from .service import FnoService
from .wire import Response, Stats, json_response, odata_error


class _ChangesetFailed(Exception):  # noqa: N818
    def __init__(self, response: BatchResponse) -> None:
        super().__init__(response.status)
        self.response = response


class ODataRoutes:
    def __init__(self, service: FnoService, stats: Stats, base_url: Callable[[], str]) -> None:
        self.service = service
        self._stats = stats
        self._base_url = base_url

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
        base = f"{self._base_url()}/data"
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
        payload: dict[str, Any] = {
            "@odata.context": f"{self._base_url()}/data/$metadata#{set_name}"
        }
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
            payload["@odata.nextLink"] = f"{self._base_url()}/data/{set_name}?" + urlencode(
                kept, safe="$,'()*:"
            )
        return json_response(200, payload)

    def _entity_response(self, status: int, set_name: str, row: dict[str, Any]) -> Response:
        etag = self.service.etag(set_name, row)
        location = f"{self._base_url()}/data/{self.service.location(set_name, row)}"
        payload = {
            "@odata.context": f"{self._base_url()}/data/$metadata#{set_name}/$entity",
            "@odata.etag": etag,
            **row,
        }
        resp = json_response(status, payload)
        resp.headers[:0] = [("ETag", etag), ("Location", location)]
        return resp

    # ---------------------------------------------------------------- $batch

    def batch(self, headers: dict[str, str], body: bytes) -> Response:
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
            with self.service.store.transaction():
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
        self._stats.count(entity_label(path), method, resp.status)
        return resp

    @staticmethod
    def _as_batch_response(resp: Response, content_id: str | None) -> BatchResponse:
        return BatchResponse(resp.status, resp.reason, resp.headers, resp.body, content_id)


def _ieee754(headers: dict[str, str]) -> bool:
    """OData's opt-in for decimals as JSON strings (``IEEE754Compatible=true``)."""
    return "ieee754compatible=true" in headers.get("content-type", "").replace(" ", "").lower()


def entity_label(path: str) -> str:
    rest = unquote(path[len("/data") :]).lstrip("/")
    if rest in ("", "$metadata", "$batch"):
        return rest or "service"
    return re.split(r"[(/]", rest, maxsplit=1)[0]
