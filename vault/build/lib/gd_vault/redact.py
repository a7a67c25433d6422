"""Keep stored secrets out of reprs, logs and printed output."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from gd_vault.keys import KEY_ENV

# Field names in the store layout (docs/CONTRACTS.md section 1) whose values are secrets.
SECRET_FIELDS = frozenset(
    {
        "access_token",
        "refresh_token",
        "pending_refresh_token",
        "client_secret",
        "certificate_pem",
        "private_key",
        "verification_token",
        "password",
        "secret",
    }
)
MASK = "***"


def redact(value: Any) -> Any:
    """Return a copy of ``value`` with every secret field's value replaced by ``***``."""
    if isinstance(value, dict):
        return {
            key: (MASK if key in SECRET_FIELDS and item is not None else redact(item))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


class VaultData(dict[str, Any]):
    """A plain dict (JSON-serialisable, == to dicts) whose repr/str hide secret fields.

    ``Vault.read()`` hands these out, nested all the way down, so an accidental
    ``log.info("%s", data)`` cannot print a token.
    """

    def __repr__(self) -> str:
        return repr(redact(dict(self)))

    __str__ = __repr__


def wrap(value: Any) -> Any:
    """Convert nested dicts into ``VaultData`` so their reprs are safe too.

    Every secret field's value met on the way is registered with :func:`register_secret`, so
    a process that has read the store scrubs those values from anything it logs or raises.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            if key in SECRET_FIELDS and isinstance(item, str):
                register_secret(item)
        return VaultData({key: wrap(item) for key, item in value.items()})
    if isinstance(value, list):
        return [wrap(item) for item in value]
    return value


# -- text from servers and exceptions -------------------------------------------------------
#
# One rule for every log line and error message of the tap, the target and the connector:
# a remote service may echo whatever we sent it (an Authorization header, the refresh request's
# body), so any text that did not come from our own code is scrubbed before it is logged or
# raised. Three layers, because each catches what the others cannot:
#   1. values this process knows to be secret (registered when loaded, or passed in);
#   2. the shapes secrets travel in (``Bearer x``, ``refresh_token=x``, ``"client_secret": "x"``),
#      for secrets this process never held (another company's token echoed back);
#   3. the shape of a credential-store key (urlsafe base64 of 32 bytes).

# Shorter values would shred ordinary text (a secret is never this short in practice).
MIN_SECRET_LENGTH = 6
_registered: set[str] = set()

_FIELD_NAMES = "|".join(
    sorted(
        SECRET_FIELDS
        | {"authorization", "id_token", "client_assertion", "code_verifier"}
        | {"gusto_dynamics_vault_key", "x-gusto-signature"},
        key=len,
        reverse=True,
    )
)
_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Authorization schemes (header values, curl dumps, exception reprs).
    re.compile(r"(?i)\b(bearer|basic)(\s+|%20)[A-Za-z0-9\-._~+/]{6,}=*"),
    # A secret-named field in JSON, a form body, a query string, a header or a Python repr.
    re.compile(
        rf"(?i)([\"']?\b(?:{_FIELD_NAMES})\b[\"']?\s*(?:[:=]|%3A|%3D)\s*[\"']?(?:(?:bearer|basic)\s+)?)"
        r"(?!\*\*\*)([^\"'\s&,;}}\]<>]+)"
    ),
    # A credential-store key: urlsafe base64 of 32 bytes (docs/CONTRACTS.md section 1).
    re.compile(r"(?<![A-Za-z0-9_\-])[A-Za-z0-9_\-]{43}=(?![A-Za-z0-9_\-=])"),
)


def register_secret(*values: str | bytes | None) -> None:
    """Remember values this process holds as secrets: :func:`scrub` removes them everywhere."""
    for value in values:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if text and len(text) >= MIN_SECRET_LENGTH:
            _registered.add(text)


def request_secrets(headers: Mapping[str, str] | None, body: str | bytes | None) -> list[str]:
    """The secret values a request carried: what a server that echoes it would give back.

    The Authorization header's credential, and every secret-named field of a JSON or form body.
    """
    found: list[str] = []
    for name, value in (headers or {}).items():
        if name.lower() == "authorization" and value:
            found.extend([value, value.split(" ", 1)[-1]])
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body or ""
    fields: dict[str, Any] = {}
    try:
        parsed = json.loads(text) if text.lstrip().startswith("{") else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        fields = parsed
    elif text:
        fields = dict(parse_qsl(text, keep_blank_values=False))
    found.extend(str(v) for k, v in fields.items() if k in SECRET_FIELDS and v)
    return found


def _known_secrets(extra: Iterable[str | None]) -> list[str]:
    values = set(_registered)
    # A value the caller names is removed whatever its length: the caller knows it is secret.
    values.update(v for v in extra if v)
    key = os.environ.get(KEY_ENV)
    if key and len(key) >= MIN_SECRET_LENGTH:
        values.add(key)
    # Longest first, so a secret that contains another is removed whole.
    return sorted(values, key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every secret (given, registered or secret-shaped) replaced by ``***``."""
    if not text:
        return text
    for value in _known_secrets(secrets):
        text = text.replace(value, MASK)
    # Fields first: "Authorization: Bearer x" keeps its scheme word and loses only the token.
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return _PATTERNS[2].sub(MASK, text)


class _ScrubbingRecordFactory:
    """Wraps the log record factory: every record's text is scrubbed when it is created.

    A record factory (not a handler filter) because it applies to every logger and every
    handler, including handlers a library adds after start-up (singer-sdk adds its own).
    """

    def __init__(self, inner: Callable[..., logging.LogRecord]) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must still be logged, scrubbed
            message = f"{record.msg!r} {record.args!r}"
        record.msg = scrub(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return record


def install_log_redaction() -> None:
    """Scrub every log record of this process (idempotent)."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _ScrubbingRecordFactory):
        logging.setLogRecordFactory(_ScrubbingRecordFactory(current))


def run_cli(program: str, cli: Callable[[], Any], argv: Sequence[str] | None = None) -> None:
    """Run a plugin's command line; an error ends it with one scrubbed line, not a traceback.

    Users (and Meltano's log) get ``program: ErrorType: message`` with the fix the message
    names; ``--log-level debug`` keeps Python's traceback for whoever debugs the plugin.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = any(
        arg.lower() == "--log-level=debug"
        or (arg == "--log-level" and index + 1 < len(args) and args[index + 1].lower() == "debug")
        for index, arg in enumerate(args)
    )
    try:
        cli()
    except Exception as exc:
        if debug:
            raise
        # The error last: schedulers and Meltano show a failed run's final line.
        sys.stderr.write(f"{program}: run with --log-level debug for a traceback\n")
        sys.stderr.write(f"{program}: {type(exc).__name__}: {scrub(str(exc))}\n")
        sys.exit(1)
