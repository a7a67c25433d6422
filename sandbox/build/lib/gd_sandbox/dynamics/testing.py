"""Helpers for tests that talk to a running :class:`DynamicsSandbox` over HTTPS.

Kept out of ``gd_sandbox.dynamics`` itself so the simulator does not need ``requests``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests

from .server import DynamicsSandbox


class PinnedSession(requests.Session):
    """A session that keeps its CA bundle even when $REQUESTS_CA_BUNDLE is set.

    requests lets that environment variable override ``Session.verify``; MSAL only sets
    ``Session.verify``, so without this the sandbox CA would be ignored on machines that export it.
    """

    def __init__(self, ca_bundle: str) -> None:
        super().__init__()
        self.verify = ca_bundle

    def request(  # type: ignore[override]
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("verify", self.verify)
        kwargs.setdefault("timeout", 30)
        return super().request(method, url, *args, **kwargs)


def fetch_token(dyn: DynamicsSandbox, *, scope: str | None = None) -> str:
    resp = PinnedSession(dyn.ca_bundle).post(
        f"{dyn.url}/{dyn.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": dyn.client_id,
            "client_secret": dyn.client_secret,
            "scope": scope or f"{dyn.url}/.default",
        },
    )
    resp.raise_for_status()
    return str(resp.json()["access_token"])


def data_session(dyn: DynamicsSandbox) -> PinnedSession:
    session = PinnedSession(dyn.ca_bundle)
    session.headers["Authorization"] = f"Bearer {fetch_token(dyn)}"
    return session


@dataclass
class Op:
    method: str
    url: str
    body: dict[str, Any] | None = None
    content_id: str | None = None


def batch_request(
    parts: Sequence[Op | Sequence[Op]], *, boundary: str = "batch_boundary", crlf: bool = True
) -> tuple[bytes, str]:
    """Build a ``$batch`` body in the layout F&O clients send; a sequence of ops = a changeset."""
    nl = "\r\n" if crlf else "\n"
    out: list[str] = []

    def operation(op: Op, index: int) -> None:
        out.append(f"Content-Type: application/http{nl}Content-Transfer-Encoding: binary{nl}")
        out.append(f"Content-ID: {op.content_id or index}{nl}{nl}")
        out.append(
            f"{op.method} {op.url} HTTP/1.1{nl}OData-Version: 4.0{nl}OData-MaxVersion: 4.0{nl}"
        )
        if op.body is not None:
            out.append(f"Content-Type: application/json;odata.metadata=minimal{nl}")
        out.append(f"Accept: application/json;odata.metadata=minimal{nl}{nl}")
        if op.body is not None:
            out.append(json.dumps(op.body) + nl)

    for n, part in enumerate(parts, start=1):
        out.append(f"--{boundary}{nl}")
        if isinstance(part, Op):
            operation(part, n)
            continue
        cs = f"changeset_{n}"
        out.append(f"Content-Type: multipart/mixed; boundary={cs}{nl}{nl}")
        for i, op in enumerate(part, start=1):
            out.append(f"--{cs}{nl}")
            operation(op, i)
        out.append(f"--{cs}--{nl}")
    out.append(f"--{boundary}--{nl}")
    return "".join(out).encode(), f"multipart/mixed; boundary={boundary}"


@dataclass
class InnerResponse:
    status: int
    headers: dict[str, str]
    body: str
    content_id: str | None
    in_changeset: bool

    def json(self) -> Any:
        return json.loads(self.body)


def parse_batch_response(resp: requests.Response) -> list[InnerResponse]:
    """Flatten a ``multipart/mixed`` batch response into its inner HTTP responses."""
    ctype = resp.headers["Content-Type"]
    return _parse(resp.text.replace("\r\n", "\n"), ctype, in_changeset=False)


def _parse(text: str, ctype: str, *, in_changeset: bool) -> list[InnerResponse]:
    boundary = ctype.split("boundary=")[1].strip()
    out: list[InnerResponse] = []
    for chunk in text.split(f"--{boundary}")[1:]:
        if chunk.startswith("--"):
            break
        head, _, rest = chunk.lstrip("\n").partition("\n\n")
        headers = dict(
            (k.strip().lower(), v.strip())
            for k, _, v in (line.partition(":") for line in head.split("\n") if line)
        )
        if headers.get("content-type", "").startswith("multipart/mixed"):
            out += _parse(rest, headers["content-type"], in_changeset=True)
            continue
        status_line, _, remainder = rest.partition("\n")
        inner_head, _, body = remainder.partition("\n\n")
        inner_headers = dict(
            (k.strip().lower(), v.strip())
            for k, _, v in (line.partition(":") for line in inner_head.split("\n") if line)
        )
        out.append(
            InnerResponse(
                status=int(status_line.split(" ")[1]),
                headers=inner_headers,
                body=body.strip(),
                content_id=headers.get("content-id"),
                in_changeset=in_changeset,
            )
        )
    return out
