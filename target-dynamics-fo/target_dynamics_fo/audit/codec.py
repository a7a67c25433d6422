"""How values become audit-trail text: exact Decimals, ISO dates, sorted keys.

The trail's JSON and hashes are compared across releases (a payroll read again after an upgrade
must hash the same, or it would look "changed after posting"), so this encoding is a contract.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from target_dynamics_fo.ledger import dumps, loads


def now() -> str:
    """The timestamp every row carries: UTC, whole seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def to_json(value: Any) -> str:
    """Serialise with Decimals as exact JSON numbers, dates as ISO strings, keys sorted."""
    return dumps(value, compact=False, sort_keys=True, default=_default)


def from_json(text: str) -> Any:
    """Parse JSON keeping every non-integer number as an exact Decimal."""
    return loads(text)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to the audit store")


def record_sha256(record: Mapping[str, Any]) -> str:
    """Hash of a record's canonical JSON: identical content gives the identical hash."""
    return hashlib.sha256(to_json(record).encode()).hexdigest()


def opt_str(value: Any) -> str | None:
    """A date (or anything) as the text stored for it; None stays NULL."""
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
