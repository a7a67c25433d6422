"""OData ``$batch`` wire format (multipart/mixed with changesets), as F&O reads and writes it."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from .odata import ODataError

MAX_OPERATIONS = 5000


@dataclass
class BatchOperation:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    content_id: str | None


@dataclass
class BatchPart:
    """Either a single operation or a changeset (``operations`` with more than one entry)."""

    operations: list[BatchOperation]
    is_changeset: bool


@dataclass
class BatchResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    content_id: str | None = None


@dataclass
class BatchResult:
    parts: list[tuple[bool, list[BatchResponse]]] = field(default_factory=list)


def boundary_of(content_type: str) -> str | None:
    m = re.search(r'boundary="?([^";]+)"?', content_type, re.IGNORECASE)
    return m.group(1).strip() if m else None


def _split_multipart(payload: str, boundary: str, *, strict: bool = True) -> list[str]:
    delimiter = "--" + boundary
    chunks = payload.split(delimiter)
    if len(chunks) < 2:
        raise ODataError(400, f"The batch body contains no part delimited by '{delimiter}'.")
    parts: list[str] = []
    for chunk in chunks[1:]:
        if chunk.startswith("--"):
            break
        parts.append(chunk.removeprefix("\n"))
    else:
        # F&O accepts a changeset whose closing delimiter is missing when the batch ends.
        if strict:
            raise ODataError(400, f"The batch body is not terminated by '{delimiter}--'.")
    return parts


def _headers_and_rest(text: str) -> tuple[dict[str, str], str]:
    head, sep, rest = text.partition("\n\n")
    if not sep:
        head, rest = text, ""
    headers: dict[str, str] = {}
    for line in head.split("\n"):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise ODataError(400, f"Malformed header line in batch part: {line!r}.")
        headers[name.strip().lower()] = value.strip()
    return headers, rest


def _operation(text: str, content_id_hint: str | None) -> BatchOperation:
    mime_headers, http = _headers_and_rest(text)
    ctype = mime_headers.get("content-type", "")
    if not ctype.lower().startswith("application/http"):
        raise ODataError(
            400, f"A batch operation must have Content-Type application/http, not {ctype!r}."
        )
    request_line, _, remainder = http.partition("\n")
    bits = request_line.strip().split(" ")
    if len(bits) != 3 or not bits[2].startswith("HTTP/"):
        raise ODataError(400, f"Malformed request line in batch operation: {request_line!r}.")
    headers, body = _headers_and_rest(remainder)
    return BatchOperation(
        method=bits[0].upper(),
        url=bits[1],
        headers=headers,
        body=body.strip().encode(),
        content_id=mime_headers.get("content-id", content_id_hint),
    )


def parse_batch(body: bytes, content_type: str) -> list[BatchPart]:
    boundary = boundary_of(content_type)
    if not content_type.lower().startswith("multipart/mixed") or not boundary:
        raise ODataError(
            400, "A $batch request needs Content-Type: multipart/mixed; boundary=batch_..."
        )
    payload = body.decode("utf-8").replace("\r\n", "\n")
    parts: list[BatchPart] = []
    count = 0
    for raw in _split_multipart(payload, boundary):
        headers, rest = _headers_and_rest(raw)
        ctype = headers.get("content-type", "")
        if ctype.lower().startswith("multipart/mixed"):
            inner = boundary_of(ctype)
            if not inner:
                raise ODataError(400, "A changeset part needs a boundary parameter.")
            ops = [_operation(p, None) for p in _split_multipart(rest, inner, strict=False)]
            for op in ops:
                if op.method == "GET":
                    raise ODataError(400, "GET requests are not allowed inside a changeset.")
            parts.append(BatchPart(ops, is_changeset=True))
            count += len(ops)
        else:
            parts.append(BatchPart([_operation(raw, None)], is_changeset=False))
            count += 1
    if count > MAX_OPERATIONS:
        raise ODataError(
            400,
            f"The batch contains {count} operations; the maximum is {MAX_OPERATIONS}. "
            "Split it into smaller batches.",
        )
    return parts


def _render_response(resp: BatchResponse, out: list[str]) -> None:
    out.append("Content-Type: application/http\r\n")
    out.append("Content-Transfer-Encoding: binary\r\n")
    if resp.content_id is not None:
        out.append(f"Content-ID: {resp.content_id}\r\n")
    out.append("\r\n")
    out.append(f"HTTP/1.1 {resp.status} {resp.reason}\r\n")
    for name, value in resp.headers:
        out.append(f"{name}: {value}\r\n")
    out.append("\r\n")
    if resp.body:
        out.append(resp.body.decode("utf-8"))
        out.append("\r\n")


def render_batch(result: BatchResult) -> tuple[str, bytes]:
    batch_boundary = f"batchresponse_{uuid.uuid4()}"
    out: list[str] = []
    for is_changeset, responses in result.parts:
        out.append(f"--{batch_boundary}\r\n")
        if is_changeset:
            cs = f"changesetresponse_{uuid.uuid4()}"
            out.append(f"Content-Type: multipart/mixed; boundary={cs}\r\n\r\n")
            for resp in responses:
                out.append(f"--{cs}\r\n")
                _render_response(resp, out)
            out.append(f"--{cs}--\r\n")
        else:
            _render_response(responses[0], out)
    out.append(f"--{batch_boundary}--\r\n")
    return f"multipart/mixed; boundary={batch_boundary}", "".join(out).encode("utf-8")
