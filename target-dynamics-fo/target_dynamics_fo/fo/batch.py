"""``$batch`` bodies: one atomic changeset out, every inner response back in order."""

from __future__ import annotations

import re
import uuid
from typing import Any

from target_dynamics_fo.fo.errors import WriteOutcomeUnknownError, describe_error
from target_dynamics_fo.fo.odata import Operation, Result, key_path
from target_dynamics_fo.ledger import dumps, loads


def build_batch_body(data_url: str, changeset: list[Operation], batch_boundary: str) -> str:
    changeset_boundary = f"changeset_{uuid.uuid4()}"
    crlf = "\r\n"
    parts = [
        f"--{batch_boundary}",
        f"Content-Type: multipart/mixed; boundary={changeset_boundary}",
        "",
    ]
    for content_id, op in enumerate(changeset, start=1):
        target = f"{data_url}/{op.entity}"
        if op.key:
            target += key_path(op.key)
        payload: dict[str, Any] = {}
        if op.odata_type:
            payload["@odata.type"] = f"#Microsoft.Dynamics.DataEntities.{op.odata_type}"
        payload.update(op.body or {})
        parts += [
            f"--{changeset_boundary}",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            f"Content-ID: {content_id}",
            "",
            f"{op.method} {target} HTTP/1.1",
            "OData-Version: 4.0",
            "OData-MaxVersion: 4.0",
            "Content-Type: application/json;odata.metadata=minimal",
            "Accept: application/json;odata.metadata=minimal",
            "Accept-Charset: UTF-8",
            "",
            dumps(payload),
            "",
        ]
    parts += [f"--{changeset_boundary}--", f"--{batch_boundary}--", ""]
    return crlf.join(parts)


def _boundary(content_type: str) -> str | None:
    match = re.search(r'boundary="?([^";]+)"?', content_type, re.IGNORECASE)
    return match.group(1).strip() if match else None


def _split_headers(block: str) -> tuple[dict[str, str], str]:
    head, _, rest = block.partition("\n\n")
    headers: dict[str, str] = {}
    for line in head.split("\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers, rest


def parse_batch_response(text: str, content_type: str) -> list[Result]:
    """Every inner response of a ``$batch`` answer, in order, changesets flattened."""
    boundary = _boundary(content_type)
    if boundary is None:
        first = text.lstrip().split("\n", 1)[0].strip()
        if not first.startswith("--"):
            raise WriteOutcomeUnknownError(
                "Dynamics answered the $batch without a multipart body; the outcome is unknown.",
                entity="$batch",
            )
        boundary = first[2:]
    return _parse_parts(text.replace("\r\n", "\n"), boundary)


def _parse_parts(text: str, boundary: str) -> list[Result]:
    results: list[Result] = []
    delimiter = f"--{boundary}"
    chunks = text.split(delimiter)
    for chunk in chunks[1:]:
        if chunk.startswith("--"):
            break
        headers, content = _split_headers(chunk.lstrip("\n"))
        part_type = headers.get("content-type", "")
        if part_type.lower().startswith("multipart/"):
            inner = _boundary(part_type)
            if inner:
                results.extend(_parse_parts(content, inner))
            continue
        content_id = headers.get("content-id")
        results.append(
            _parse_http(content, int(content_id) if content_id and content_id.isdigit() else None)
        )
    return results


def _parse_http(content: str, content_id: int | None) -> Result:
    status_line, _, rest = content.lstrip("\n").partition("\n")
    match = re.match(r"HTTP/\d(?:\.\d)?\s+(\d{3})", status_line.strip())
    if not match:
        raise WriteOutcomeUnknownError(
            "Dynamics returned a $batch part without an HTTP status line; the outcome is unknown.",
            entity="$batch",
        )
    headers, body_text = _split_headers(rest)
    if "content-id" in headers and content_id is None and headers["content-id"].isdigit():
        content_id = int(headers["content-id"])
    body_text = body_text.strip()
    body: dict[str, Any] | None = None
    if body_text:
        try:
            parsed = loads(body_text)
            body = parsed if isinstance(parsed, dict) else None
        except ValueError:
            message, error_type = describe_error(body_text, int(match.group(1)))
            body = {
                "error": {
                    "message": message,
                    "innererror": {"message": message, "type": error_type},
                }
            }
    return Result(content_id=content_id, status=int(match.group(1)), body=body, headers=headers)
