"""Keep stored secrets out of reprs, logs and printed output."""

from __future__ import annotations

from typing import Any

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
    """Convert nested dicts into ``VaultData`` so their reprs are safe too."""
    if isinstance(value, dict):
        return VaultData({key: wrap(item) for key, item in value.items()})
    if isinstance(value, list):
        return [wrap(item) for item in value]
    return value
