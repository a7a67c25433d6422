"""How Dynamics errors become exceptions: F&O's Infolog text, scrubbed, never a stack trace."""

from __future__ import annotations

import json
import re

from gd_vault.redact import scrub


class ODataError(Exception):
    """Dynamics answered with an error (the message is F&O's Infolog, never a stack trace)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        entity: str | None = None,
        error_type: str | None = None,
    ) -> None:
        # Every F&O error text reaches logs, the audit trail and `failures`: scrub it once here.
        message = scrub(message)
        super().__init__(message)
        self.message = message
        self.status = status
        self.entity = entity
        self.error_type = error_type

    @property
    def record_exists(self) -> bool:
        return "record already exists" in self.message.lower()


class ODataBatchError(ODataError):
    """An operation inside an atomic changeset failed, so none of the changeset was saved."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        content_id: int | None,
        entity: str | None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message, status=status, entity=entity, error_type=error_type)
        self.content_id = content_id


class WriteOutcomeUnknownError(ODataError):
    """A write was sent but no definite answer came back; it may or may not have committed."""


class DynamicsThrottledError(ODataError):
    """Dynamics kept answering 429 beyond the request deadline or retry budget."""


_INNER_MESSAGE = re.compile(r'"innererror"\s*:\s*\{\s*"message"\s*:\s*"((?:[^"\\]|\\.)*)"')
_OUTER_MESSAGE = re.compile(r'"message"\s*:\s*"((?:[^"\\]|\\.)*)"')


def describe_error(text: str, status: int) -> tuple[str, str | None]:
    """F&O's useful error text (the Infolog in ``innererror.message``) and its type.

    Some real F&O error bodies are not valid JSON (a cut stack trace), so fall back to pulling
    the message out with a pattern. Stack traces are never returned.
    """
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        error = payload["error"]
        inner = error.get("innererror") if isinstance(error.get("innererror"), dict) else {}
        message = inner.get("message") or error.get("message") or ""
        return _tidy(str(message)) or f"HTTP {status}", inner.get("type") or error.get("code")
    for pattern in (_INNER_MESSAGE, _OUTER_MESSAGE):
        match = pattern.search(text)
        if match:
            try:
                return _tidy(json.loads(f'"{match.group(1)}"')), None
            except ValueError:
                return _tidy(match.group(1)), None
    if "stacktrace" in text.lower() or "   at " in text:
        return f"HTTP {status} (the response carried only a stack trace)", None
    return _tidy(text[:500]) or f"HTTP {status}", None


def _tidy(message: str) -> str:
    return " ".join(message.replace("\r", " ").split())
