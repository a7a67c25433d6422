"""How values become audit-trail text: exact Decimals, ISO dates, sorted keys.

The trail's JSON is read again across releases (a replay, the next run's settling, the audit
CLI), and a payroll read back must hash as it did when posted, or it would look "changed after
posting": so what a text parses back to is a contract, its spacing is not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import msgspec
import simplejson

from target_dynamics_fo.ledger import loads


def now() -> str:
    """The timestamp every row carries: UTC, whole seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def to_json(value: Any) -> str:
    """Serialise with Decimals as exact JSON numbers, dates as ISO strings, keys sorted.

    ``from_json`` gives every Decimal back with its digits and exponent (see `_decimal_text`).
    """
    return str(simplejson.dumps(value, use_decimal=False, sort_keys=True, default=_raw_default))


def record_json(record: Mapping[str, Any]) -> str:
    """The JSON text a record parsed from a Singer message is kept as in the audit trail.

    The text is parsed again (``from_json``), never compared as text: it holds every value
    exactly (Decimals with their digits and exponent, dates as ISO dates, keys sorted), and its
    spacing is not part of it. Records of plain values (`_plain_record`) are written compactly
    by msgspec, about twice as fast; anything else as ``to_json`` writes it.
    """
    value = record if type(record) is dict else dict(record)
    if _plain_record(value):
        try:
            return _FAST_ENCODE(value).decode()
        except (msgspec.EncodeError, TypeError, ValueError, OverflowError):
            pass
    return to_json(value)


# Writes what ``to_json`` would for the values `_plain_record` lets through, but compactly and
# without escaping non-ASCII text: a Decimal as its own text, a date as its ISO date.
_FAST_ENCODE = msgspec.json.Encoder(order="sorted", decimal_format="number").encode
_PLAIN_LEAVES = frozenset({str, int, bool, type(None), date})


def _plain_record(value: Any) -> bool:
    """Whether ``value`` holds only what parsing JSON gives, as msgspec writes it exactly.

    Dicts, lists, text, ints, booleans, null, dates (written as their ISO date, as ``str``
    gives it) and Decimals whose text has a point or an exponent (read back as the same
    Decimal; ``5E0`` would be written ``5`` and read back as an int). A parsed Singer record
    almost always; anything else (a datetime, which msgspec writes with Z for UTC, a float, a
    set, NaN) is written as ``to_json`` writes it.
    """
    stack: list[Any] = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            extend(item.values())
        elif kind is list:
            extend(item)
        elif kind is Decimal:
            text = str(item)
            if "." not in text and "E" not in text:
                return False
        elif kind not in _PLAIN_LEAVES:
            return False
    return True


def from_json(text: str) -> Any:
    """Parse JSON keeping every non-integer number as an exact Decimal."""
    return loads(text)


def _decimal_text(value: Decimal) -> str:
    """A Decimal's JSON number, which ``from_json`` reads back as the same Decimal.

    An integral one without exponent (``Decimal(5)``) gets ``E0``: as plain ``5`` it would read
    back as the int 5. A parsed record never holds one (its ``5`` is an int, its ``5.0`` keeps
    the point), so the text of received records is what it always was.
    """
    text = str(value)
    # A finite Decimal's text ends in a digit ("NaN", "Infinity" do not); an integral one
    # without exponent has neither a point nor an E.
    if not "0" <= text[-1] <= "9":
        raise ValueError(f"Out of range float values are not JSON compliant: {value}")
    if "." in text or "E" in text:
        return text
    return text + "E0"


def _raw_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return simplejson.RawJSON(_decimal_text(value))
    return _default(value)


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
    return hashlib.sha256(record_json(record).encode()).hexdigest()


def opt_str(value: Any) -> str | None:
    """A date (or anything) as the text stored for it; None stays NULL."""
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
