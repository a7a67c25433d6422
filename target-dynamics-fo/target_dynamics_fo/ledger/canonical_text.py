"""The canonical texts of a compensation, written directly (the hash's fast path)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from target_dynamics_fo.ledger.canonical import (
    _AMOUNT_PLACES,
    _DIGEST_ENCODE,
    _HASHED_EMPLOYEE_SORTED,
    _HASHED_ITEM_ORDER,
    _PLAIN_LENGTH,
    _WHOLE_DIGITS,
    CanonicalRow,
    _money,
    _plain_amount_text,
)

# -- the texts of a compensation, made directly ----------------------------------------------
#
# Making the canonical form above, then its JSON twice (compact for the digest, spaced as the
# sort key), was most of the hash's cost. For the shape Gusto payrolls have (plain dicts; text,
# boolean and null values, and amounts as Decimal, as tap-gusto sends them) the compact text
# is written here directly, each item's once per distinct item (a payroll repeats "Overtime
# 0.00 / 0.000" thousands of times). Anything else takes the generic path; tests compare both
# with a frozen copy of the first version.
#
# Compact JSON texts sort in the order of their spaced texts (the sort keys): two texts agree
# up to their first difference, so they are in the same lexical state there, and spacing (a
# blank after each separator outside strings) inserts the same blanks into that common prefix
# and none before the differing characters. Equal texts are equal values. So lists and
# employees are sorted by compact text, and the spaced sort key is only made where it is
# stored (the split shape).


class _Absent(str):
    """A key an item lacks (unlike null, which is a value and is hashed).

    A text only so that the item memo's key, made of the values' texts, gets one in C.
    """


_ABSENT = _Absent("")
_ABSENTS = (_ABSENT,) * len(_HASHED_ITEM_ORDER)
# The value types the texts are made for here: what a parsed Singer record holds (tap-gusto
# writes amounts as JSON numbers, read as Decimal). The item memo is keyed by the values'
# types and their texts (str()), not by the values: hashing a Decimal is costly and is done
# afresh for every amount read, while the text of a value of these types names it exactly.
# Equal keys then hold the same values of the same types, which have the same canonical text
# (True == Decimal(1) and Decimal("1.5") == Decimal("1.50") get keys of their own).
_FAST_TYPES = frozenset({str, bool, type(None), _Absent, Decimal})
# The C encoder's own string encoding (ensure_ascii): the texts are those json.dumps gives.
_encode_text: Callable[[str], str] = json.encoder.encode_basestring_ascii
# A bit per key whose money-ness the text depends on (the split shape records them).
_ASK_BIT = {key: 1 << n for n, key in enumerate(_HASHED_EMPLOYEE_SORTED + _HASHED_ITEM_ORDER)}
_COMPACT_ENTRY = "{" + ",".join(f"{_encode_text(k)}:%s" for k in _HASHED_EMPLOYEE_SORTED) + "}"
_SCALAR_TEXT: dict[Any, str] = {None: "null", True: "true", False: "false"}
# Bounds of the memos: a payroll of any size keeps at most this many texts (a few MB).
_ITEM_MEMO_LIMIT = 4096
_MONEY_TEXT_LIMIT = 16384
_PLAN_LIMIT = 16
# Amount texts that are their own canonical text: no sign on zero, no leading or trailing zero,
# at most _AMOUNT_PLACES places and _WHOLE_DIGITS digits before the point. Most amounts are.
_CANONICAL_AMOUNT = re.compile(
    rf"(?:-?[1-9][0-9]{{0,{_WHOLE_DIGITS - 1}}}|0|-0(?=\.))"
    rf"(?:\.[0-9]{{0,{_AMOUNT_PLACES - 1}}}[1-9])?"
)

# (compact text, bits) of an item or a compensation.
_Row = tuple[str, int]
# An item's memo key: the types of its values, and their texts (one per hashed item key).
_ItemKey = tuple[tuple[type, ...], tuple[str, ...]]


class _TextPlan:
    """The money-ness of each hashed key under one payroll's money keys, and the item memo."""

    __slots__ = ("employee", "items", "older", "slots")

    def __init__(self, money_keys: frozenset[str]) -> None:
        # frozenset's own test: asking an _Asked would note the key.
        def money(key: str) -> bool:
            return frozenset.__contains__(money_keys, key)

        self.employee = tuple((k, money(k), _ASK_BIT[k]) for k in _HASHED_EMPLOYEE_SORTED)
        self.slots = tuple(
            (f"{_encode_text(k)}:", money(k), _ASK_BIT[k], k) for k in _HASHED_ITEM_ORDER
        )
        self.items: dict[_ItemKey, _Row] = {}
        self.older: dict[_ItemKey, _Row] = {}


_plans: dict[frozenset[str], _TextPlan] = {}


def _plan(money_keys: frozenset[str]) -> _TextPlan:
    plan = _plans.get(money_keys)
    if plan is None:
        if len(_plans) >= _PLAN_LIMIT:
            _plans.clear()
        plan = _plans[money_keys] = _TextPlan(money_keys)
    return plan


# JSON text of the canonical amount of a text value that is not already canonical, by value.
_money_texts: dict[str, str] = {}


def _money_text(value: str, key: str) -> str:
    """`_money` of a text value that is not its own canonical text, as JSON."""
    found = _money_texts.get(value)
    if found is None:
        found = _encode_text(_money(value, key))
        if len(_money_texts) >= _MONEY_TEXT_LIMIT:
            _money_texts.clear()
        _money_texts[value] = found
    return found


def _decimal_money_text(value: Decimal, key: str) -> str | None:
    """The JSON text `_money` gives a Decimal under a money key; None when it is not a valid
    amount (then the generic path makes the row: its text names the value's own digits).

    A Decimal's own text is a plain decimal unless it has an exponent, and a plain decimal
    text has the canonical text of its value, made by string work as for a text amount.
    """
    text = str(value)
    if len(text) <= _PLAIN_LENGTH and _CANONICAL_AMOUNT.fullmatch(text) is not None:
        return f'"{text}"'
    plain = _plain_amount_text(text)
    if plain is None:
        if not value.is_finite():
            return None
        plain = _money(value, key)
        if plain.startswith("!"):
            return None
    # A canonical amount is digits, a sign and a point: its JSON text needs no escaping.
    return f'"{plain}"'


def _text_and_bits(value: str, money: bool, bit: int, key: str, bits: int) -> tuple[str, int]:
    """The JSON text of a text value under ``key``, and ``bits`` with what it depends on."""
    if money:
        if len(value) <= _PLAIN_LENGTH and _CANONICAL_AMOUNT.fullmatch(value) is not None:
            return f'"{value}"', bits
        text = _money_text(value, key)
    else:
        text = _encode_text(value)
        bits |= bit
    return text, bits


def _item_row(item_key: _ItemKey, values: tuple[Any, ...], plan: _TextPlan) -> _Row | None:
    """The row of an item cut to its hashed keys (``values``: one per key, in key order;
    ``item_key``: their memo key); None when the generic path must make it."""
    found = plan.older.get(item_key)
    if found is not None:
        plan.items[item_key] = found
        return found
    members: list[str] = []
    bits = 0
    types = item_key[0]
    # Inlined for the common kinds (a name, an amount): most of a large payroll's items are
    # distinct, and this runs once for each.
    for (name, money, bit, key), kind, value in zip(plan.slots, types, values, strict=True):
        if kind is _Absent:
            continue
        if kind is Decimal:
            if not money:
                return None
            amount = str(value)
            if len(amount) <= _PLAIN_LENGTH and _CANONICAL_AMOUNT.fullmatch(amount) is not None:
                members.append(f'{name}"{amount}"')
                continue
            made = _decimal_money_text(value, key)
            if made is None:
                return None
            members.append(name + made)
        elif kind is str and not money:
            members.append(name + _encode_text(value))
            bits |= bit
        elif kind is str:
            text, bits = _text_and_bits(value, money, bit, key, bits)
            members.append(name + text)
        else:
            members.append(name + _SCALAR_TEXT[value])
    row = ("{" + ",".join(members) + "}", bits)
    if len(plan.items) >= _ITEM_MEMO_LIMIT:
        # Two generations: the items seen in the last one stay known, however many new ones.
        plan.older = plan.items
        plan.items = {}
    plan.items[item_key] = row
    return row


def _entry_text(comp: dict[Any, Any], plan: _TextPlan) -> _Row | None:
    """The compact text `_employee_entry` encodes to and its bits, or None when ``comp`` is
    not of the plain shape (then the generic path makes it)."""
    parts: list[str] = []
    bits = 0
    for key, money, bit in plan.employee:
        value: Any = comp.get(key)
        kind = type(value)
        if kind is list:
            if not value:
                parts.append("[]")
                continue
            texts: list[str] = []
            for item in value:
                if type(item) is not dict:
                    return None
                values = tuple(map(item.get, _HASHED_ITEM_ORDER, _ABSENTS))
                types = tuple(map(type, values))
                if not _FAST_TYPES.issuperset(types):
                    return None
                item_key = (types, tuple(map(str, values)))
                row = plan.items.get(item_key) or _item_row(item_key, values, plan)
                if row is None:
                    return None
                texts.append(row[0])
                bits |= row[1]
            texts.sort()
            parts.append("[" + ",".join(texts) + "]")
        elif kind is str:
            text, bits = _text_and_bits(value, money, bit, key, bits)
            parts.append(text)
        elif kind is Decimal:
            made = _decimal_money_text(value, key) if money else None
            if made is None:
                return None
            parts.append(made)
        elif value is None or kind is bool:
            parts.append(_SCALAR_TEXT[value])
        else:
            return None
    return (_COMPACT_ENTRY % tuple(parts), bits)


def _canonical_row(row: _Row, hash_keys: str | None) -> CanonicalRow:
    """The split shape's row from a made one (``hash_keys`` None: the keys its bits name)."""
    text, bits = row
    return CanonicalRow(text, _asked_text(bits) if hash_keys is None else hash_keys)


_asked_texts: dict[int, str] = {}


def _asked_text(bits: int) -> str:
    """`hash_keys` of a row: the JSON list of the keys its bits name, sorted."""
    text = _asked_texts.get(bits)
    if text is None:
        text = _DIGEST_ENCODE(sorted(k for k, bit in _ASK_BIT.items() if bits & bit))
        if len(_asked_texts) >= _PLAN_LIMIT:
            _asked_texts.clear()
        _asked_texts[bits] = text
    return text
