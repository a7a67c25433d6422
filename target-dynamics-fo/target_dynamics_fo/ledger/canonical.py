"""The canonical form of a payroll's content: what the content hash digests (generic path).

Scale-free amounts, sorted keys, lists sorted by their items' JSON text, only the keys that
carry accounting content. The bytes are a contract (docs/CONTRACTS.md): never change them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from target_dynamics_fo.ledger.model import HOURS_PLACES
from target_dynamics_fo.ledger.money import (
    FO_AMOUNT_LIMIT,
    AmountError,
    canonical_amount,
    parse_amount,
    reused_encode,
)

# The digest's encoder, built once: json.dumps with arguments builds a new encoder per call.
# content_digest takes any caller's value, so it keeps the circular-reference check.
_DIGEST_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)
_DIGEST_ENCODE = reused_encode(_DIGEST_ENCODER)


# Sort key of list items: the text json.dumps(item, sort_keys=True) gives, which fixed the
# order of every hash stamped so far. One encoder is reused: json.dumps with arguments builds a
# new JSONEncoder per call, and the hash sorts tens of thousands of lists.
_SORT_KEY = reused_encode(json.JSONEncoder(sort_keys=True))
# Types _canonical returns unchanged when they are not under a money key.
_PLAIN = (str, int, float, type(None))
_MONEY_CACHE_LIMIT = 65536
# Canonical text of money values already seen, by exact type then value. Payroll amounts repeat
# ("0.00", the same salary), and parsing each again was a third of the hash's time.
_money_cache: dict[type, dict[Any, str]] = {str: {}, int: {}, Decimal: {}}


# What parse_amount accepts as text (its own pattern): ASCII digits, an optional sign and point.
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_AMOUNT_PLACES = HOURS_PLACES + 3
# At most 28 characters: fewer significant digits than the default context's precision, so
# Decimal.normalize (which rounds to the context) would keep every digit.
_PLAIN_LENGTH = 28
# Digits before the point of the largest amount parse_amount accepts (below FO_AMOUNT_LIMIT).
_WHOLE_DIGITS = len(str(FO_AMOUNT_LIMIT)) - 1


def _plain_amount_text(value: str) -> str | None:
    """`canonical_amount(parse_amount(value))` of a short plain decimal text, by string work.

    Parsing and normalising a Decimal was most of the cost of the ~35,000 distinct amounts of
    a 5,000-employee payroll. None when the text is not short and plain (or not an amount):
    then the Decimal path gives the text or the error mark.
    """
    if len(value) > _PLAIN_LENGTH or _PLAIN_DECIMAL.fullmatch(value) is None:
        return None
    negative = value[0] == "-"
    whole, _, fraction = (value[1:] if negative else value).partition(".")
    fraction = fraction.rstrip("0")
    if len(fraction) > _AMOUNT_PLACES:
        return None
    whole = whole.lstrip("0")
    if len(whole) > _WHOLE_DIGITS:
        return None
    if not whole and not fraction:
        return "0"
    text = f"{whole or '0'}.{fraction}" if fraction else whole
    return f"-{text}" if negative else text


def _money(value: Any, key: str) -> str:
    """Canonical text of an amount (or ``!repr`` when it is not one), as `_canonical` gives it."""
    kind = type(value)
    cache = _money_cache.get(kind)
    # A NaN Decimal is unhashable (signalling) or unequal to itself: never cached.
    cacheable = cache is not None and (kind is not Decimal or value.is_finite())
    if cacheable:
        assert cache is not None
        found = cache.get(value)
        if found is not None:
            return found
    plain = _plain_amount_text(value) if kind is str else None
    if plain is not None:
        text = plain
    else:
        try:
            text = canonical_amount(parse_amount(value, where=key, max_places=HOURS_PLACES + 3))
        except AmountError:
            text = f"!{value!r}"
            # Equal Decimals need not have equal digits ("1E+30", "1.0E+30"): a text naming
            # them would carry the first one's digits to the next.
            cacheable = cacheable and kind is not Decimal
    if cacheable:
        assert cache is not None
        if len(cache) >= _MONEY_CACHE_LIMIT:
            cache.clear()
        cache[value] = text
    return text


def _canonical(value: Any, money_keys: frozenset[str], key: str = "") -> Any:
    """Scale-free amounts, sorted keys and lists sorted by their items' JSON text.

    The result is what the first (recursive, one call per value) version gave for every input,
    so hashes stamped on journals before keep matching; tests compare it with a frozen copy.
    Scalars inside mappings and lists are handled inline because they are most of the calls.
    """
    if isinstance(value, AbcMapping):
        return _canonical_mapping(value, money_keys, None)
    if isinstance(value, list | tuple):
        return _canonical_list(value, money_keys, key, None)
    # The key is asked last: the split shape records which keys were asked (_Asked).
    if value is not None and not isinstance(value, bool) and key in money_keys:
        return _money(value, key)
    if isinstance(value, Decimal):
        return canonical_amount(value)
    return value


def _canonical_mapping(
    value: AbcMapping[Any, Any], money_keys: frozenset[str], only: frozenset[str] | None
) -> dict[str, Any]:
    """`_canonical` of a mapping; with `only`, of its entries whose key is in `only`."""
    if only is _HASHED_ITEM and type(value) is dict:
        return _canonical_item(value, money_keys)
    result: dict[str, Any] = {}
    # sorted(items), not sorted(keys): the same order, and the same error on mixed key types.
    for k, v in sorted(value.items() if only is None else _only(value, only)):
        skey = str(k)
        result[skey] = _canonical_entry(skey, v, money_keys)
    return result


def _canonical_entry(skey: str, v: Any, money_keys: frozenset[str]) -> Any:
    """`_canonical` of the value under key ``skey`` of a mapping."""
    kind = type(v)
    if kind is bool or v is None:
        return v
    if kind is dict or kind is list:
        # What a container becomes does not depend on its own key being a money key.
        return _canonical(v, money_keys, skey)
    if skey in money_keys:
        if kind is str or kind is int or kind is Decimal:
            return _money(v, skey)
        return _canonical(v, money_keys, skey)
    if kind is str or kind is int or kind is float:
        return v
    return _canonical(v, money_keys, skey)


def _canonical_item(value: dict[Any, Any], money_keys: frozenset[str]) -> dict[str, Any]:
    """`_canonical_mapping` of a plain dict cut to the item keys: tens of thousands of them.

    Its kept keys are those strings, so walking them in sorted order gives the order sorting
    its items would; a text amount seen before is taken straight from the cache.
    """
    result: dict[str, Any] = {}
    texts = _money_cache[str]
    for k in _HASHED_ITEM_ORDER:
        if k not in value:
            continue
        v = value[k]
        if type(v) is str:
            if k in money_keys:
                found = texts.get(v)
                result[k] = _money(v, k) if found is None else found
            else:
                result[k] = v
        else:
            result[k] = _canonical_entry(k, v, money_keys)
    return result


def _only(value: AbcMapping[Any, Any], only: frozenset[str]) -> list[tuple[Any, Any]]:
    return [(k, v) for k, v in value.items() if k in only]


def _canonical_list(
    value: list[Any] | tuple[Any, ...],
    money_keys: frozenset[str],
    key: str,
    only: frozenset[str] | None,
) -> list[Any]:
    """`_canonical` of a list; with `only`, its mappings keep just the keys in `only`."""
    items = [
        _canonical_mapping(v, money_keys, only)
        if isinstance(v, AbcMapping)
        else _canonical(v, money_keys, key)
        for v in value
    ]
    return sorted(items, key=_SORT_KEY)


_HASHED_TOP = (
    "payroll_uuid",
    "company_uuid",
    "check_date",
    "processed",
    "off_cycle",
    "payroll_type",
    "pay_period",
    "totals",
    "company_taxes",
)
_HASHED_EMPLOYEE = (
    "employee_uuid",
    "excluded",
    "gross_pay",
    "net_pay",
    "check_amount",
    "fixed_compensations",
    "hourly_compensations",
    "paid_time_off",
    "reimbursements",
    "benefits",
    "deductions",
    "taxes",
)
_HASHED_EMPLOYEE_SORTED = tuple(sorted(_HASHED_EMPLOYEE))
_HASHED_ITEM = frozenset(
    {"name", "amount", "hours", "employer", "imputed", "employee_deduction", "company_contribution"}
)
_HASHED_ITEM_ORDER = tuple(sorted(_HASHED_ITEM))
_MONEY_KEYS = frozenset(
    {
        "amount",
        "hours",
        "gross_pay",
        "net_pay",
        "check_amount",
        "employee_deduction",
        "company_contribution",
    }
)


def _money_keys(payroll: AbcMapping[str, Any]) -> frozenset[str]:
    totals = payroll.get("totals")
    return _MONEY_KEYS | (
        frozenset(str(k) for k in totals) if isinstance(totals, AbcMapping) else frozenset()
    )


def _employee_entry(comp: Any, money_keys: frozenset[str]) -> Any:
    """The canonical form of one employee compensation inside the hashed payroll."""
    if not isinstance(comp, AbcMapping):
        return _canonical(repr(comp), money_keys, "employee_compensations")
    entry: dict[str, Any] = {}
    for key in _HASHED_EMPLOYEE_SORTED:
        value = comp.get(key)
        entry[key] = (
            _canonical_list(value, money_keys, key, _HASHED_ITEM)
            if isinstance(value, list)
            else _canonical(value, money_keys, key)
        )
    return entry


@dataclass(frozen=True)
class CanonicalRow:
    """One compensation's canonical compact JSON and the keys it depends on.

    Rows are ordered by the canonical text itself: compact texts sort as their sort keys
    (``json.dumps(entry, sort_keys=True)``) do (canonical_text.py).
    """

    canonical: str
    hash_keys: str
