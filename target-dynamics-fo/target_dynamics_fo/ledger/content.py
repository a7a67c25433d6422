"""Identity of a payroll journal: its batch number (from ids) and its content hash (from data).

The hash bytes are a contract (docs/CONTRACTS.md): hashes stamped on posted journals must keep
matching the same payroll read again, so the canonical form (`canonical.py`, and the same texts
written directly by `canonical_text.py`) never changes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from collections.abc import Mapping as AbcMapping
from typing import Any

from target_dynamics_fo.ledger.canonical import (
    _DIGEST_ENCODE,
    _DIGEST_ENCODER,
    _HASHED_TOP,
    _MONEY_KEYS,
    _SORT_KEY,
    CanonicalRow,
    _canonical,
    _employee_entry,
    _money_keys,
)
from target_dynamics_fo.ledger.canonical_text import _canonical_row, _entry_text, _plan
from target_dynamics_fo.ledger.model import BATCH_NUMBER_LIMIT


def content_digest(content: Any) -> str:
    """sha256 hex of canonical JSON: the content hash both builders stamp on their journals."""
    return hashlib.sha256(_DIGEST_ENCODER.encode(content).encode("utf-8")).hexdigest()


def journal_batch_number(prefix: str, company_uuid: str, payroll_uuid: str) -> str:
    """Deterministic JournalBatchNumber: PREFIX-<base32 of sha256(company:payroll)>, 20 chars max.

    Derived from the ids only (not the content), so a changed payroll maps to the same
    number and is caught as already posted instead of being posted twice.
    """
    prefix = prefix.upper()
    if not prefix or not prefix.isalnum() or not prefix.isascii() or len(prefix) > 8:
        raise ValueError(f"journal number prefix {prefix!r} must be 1-8 letters or digits")
    digest = hashlib.sha256(f"{company_uuid}:{payroll_uuid}".encode()).digest()
    code = base64.b32encode(digest).decode("ascii").rstrip("=")
    return f"{prefix}-{code[: BATCH_NUMBER_LIMIT - len(prefix) - 1]}"


def payroll_content_hash(payroll: AbcMapping[str, Any]) -> str:
    """sha256 hex of what the journal is built from, insensitive to number formatting and order.

    Names, versions, page order and Gusto's status metadata are left out so only a change in
    the accounting content gives a new hash.
    """
    money_keys = _money_keys(payroll)
    plan = _plan(money_keys)
    texts: list[str] = []
    others: list[Any] = []
    for comp in payroll.get("employee_compensations") or []:
        row = _entry_text(comp, plan) if type(comp) is dict else None
        if row is None:
            others.append(_employee_entry(comp, money_keys))
        else:
            texts.append(row[0])
    for entry in others:
        # Its sort key only for the error the first version raised, after making every entry,
        # on what it cannot encode: compact texts sort as sort keys do (see _entry_text).
        _SORT_KEY(entry)
        texts.append(_DIGEST_ENCODE(entry))
    texts.sort()
    return content_hash_of_rows(payroll, texts)


# -- the split record shape: the same digest from rows kept one by one ------------------------


class _Asked(frozenset[str]):
    """Money keys that note every other key they were asked about.

    The canonical form of a compensation depends on the payroll's totals keys (they are money
    keys too), which arrive after the compensations. A row canonicalised with the fixed keys is
    still exact unless one of the keys asked about for it turns out to be a totals key.
    """

    asked: set[str]

    def __contains__(self, key: object) -> bool:
        if frozenset.__contains__(self, key):
            return True
        self.asked.add(str(key))
        return False


def canonical_compensation(comp: AbcMapping[str, Any]) -> CanonicalRow:
    """The row's share of the content hash, computed as it arrives (before its payroll)."""
    made = _entry_text(comp, _plan(_MONEY_KEYS)) if type(comp) is dict else None
    if made is not None:
        return _canonical_row(made, None)
    keys = _Asked(_MONEY_KEYS)
    keys.asked = set()
    entry = _employee_entry(comp, keys)
    # The sort key is not kept, but made for the error the whole shape's sort raises on what
    # it cannot encode.
    _SORT_KEY(entry)
    return CanonicalRow(_DIGEST_ENCODE(entry), _DIGEST_ENCODE(sorted(keys.asked)))


def rows_need_recanonical(payroll: AbcMapping[str, Any], hash_keys: str) -> bool:
    """Whether rows canonicalised with ``hash_keys`` asked about one of the payroll's totals
    keys (then they are canonicalised again from their records with the payroll's keys)."""
    extra = _money_keys(payroll) - _MONEY_KEYS
    return bool(extra) and not extra.isdisjoint(json.loads(hash_keys or "[]"))


def recanonical_compensation(
    payroll: AbcMapping[str, Any], comp: AbcMapping[str, Any]
) -> CanonicalRow:
    """`canonical_compensation` with every money key of the payroll known."""
    money_keys = _money_keys(payroll)
    made = _entry_text(comp, _plan(money_keys)) if type(comp) is dict else None
    if made is not None:
        return _canonical_row(made, "[]")
    entry = _employee_entry(comp, money_keys)
    _SORT_KEY(entry)
    return CanonicalRow(_DIGEST_ENCODE(entry), "[]")


def content_hash_of_rows(header: AbcMapping[str, Any], canonical_rows: Iterable[str]) -> str:
    """`payroll_content_hash` of ``header`` with its compensations given as their canonical
    texts in sort-key order: the same bytes, hashed as they stream, never all in memory."""
    money_keys = _money_keys(header)
    top = {k: header.get(k) for k in _HASHED_TOP if k in header}
    digest = hashlib.sha256(b"{")
    for n, key in enumerate(sorted([*top, "employee_compensations"])):
        digest.update(b"," if n else b"")
        digest.update(_DIGEST_ENCODE(key).encode() + b":")
        if key != "employee_compensations":
            digest.update(_DIGEST_ENCODE(_canonical(top[key], money_keys, key)).encode("utf-8"))
            continue
        digest.update(b"[")
        for i, text in enumerate(canonical_rows):
            digest.update(b"," + text.encode("utf-8") if i else text.encode("utf-8"))
        digest.update(b"]")
    digest.update(b"}")
    return digest.hexdigest()
