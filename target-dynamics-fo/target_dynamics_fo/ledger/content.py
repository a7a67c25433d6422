"""Identity of a payroll journal: its batch number (from ids) and its content hash (from data).

The hash bytes are a contract (docs/CONTRACTS.md): hashes stamped on posted journals must keep
matching the same payroll read again, so the canonical form below never changes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from target_dynamics_fo.ledger.model import BATCH_NUMBER_LIMIT, HOURS_PLACES
from target_dynamics_fo.ledger.money import (
    FO_AMOUNT_LIMIT,
    AmountError,
    canonical_amount,
    parse_amount,
)


def _reused(encoder: json.JSONEncoder) -> Callable[[Any], str]:
    """``encoder.encode`` without making its C encoder again on every call.

    The hash encodes about fifteen values per employee, and ``encode`` builds the C encoder
    anew each time (a third of the cost). The text is the same: the same C encoder with the
    same settings; only the circular-reference check is left out, because the values encoded
    here are fresh canonical copies (a cycle in a record fails while copying it).
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None or encoder.indent is not None or not encoder.ensure_ascii:
        return encoder.encode
    run = make(
        None,
        encoder.default,
        json.encoder.encode_basestring_ascii,
        None,
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )

    def encode(value: Any) -> str:
        return "".join(run(value, 0))

    return encode


# The digest's encoder, built once: json.dumps with arguments builds a new encoder per call.
# content_digest takes any caller's value, so it keeps the circular-reference check.
_DIGEST_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)
_DIGEST_ENCODE = _reused(_DIGEST_ENCODER)


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


# Sort key of list items: the text json.dumps(item, sort_keys=True) gives, which fixed the
# order of every hash stamped so far. One encoder is reused: json.dumps with arguments builds a
# new JSONEncoder per call, and the hash sorts tens of thousands of lists.
_SORT_KEY = _reused(json.JSONEncoder(sort_keys=True))
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


# -- the texts of a compensation, made directly ----------------------------------------------
#
# Making the canonical form above, then its JSON twice (compact for the digest, spaced as the
# sort key), was most of the hash's cost. For the shape Gusto payrolls have (plain dicts; text,
# boolean and null values) the compact text is written here directly, each item's once per
# distinct item (a payroll repeats "Overtime 0.00 / 0.000" thousands of times). Anything else
# takes the generic path above; tests compare both with a frozen copy of the first version.
#
# Compact JSON texts sort in the order of their spaced texts (the sort keys): two texts agree
# up to their first difference, so they are in the same lexical state there, and spacing (a
# blank after each separator outside strings) inserts the same blanks into that common prefix
# and none before the differing characters. Equal texts are equal values. So lists and
# employees are sorted by compact text, and the spaced sort key is only made where it is
# stored (the split shape).


class _Absent:
    """A key an item lacks (unlike null, which is a value and is hashed)."""


_ABSENT = _Absent()
_ABSENTS = (_ABSENT,) * len(_HASHED_ITEM_ORDER)
# Values of these types equal only values of the same type (True == 1 == Decimal(1), but
# "1" != 1), so a memo keyed by them never gives one value the text of another.
_EXACT_TYPES = frozenset({str, bool, type(None), _Absent})
# The C encoder's own string encoding (ensure_ascii): the texts are those json.dumps gives.
_encode_text: Callable[[str], str] = json.encoder.encode_basestring_ascii
# A bit per key whose money-ness the text depends on (the split shape records them), and one
# for "a string holds a separator", when spacing the compact text by replacing is not exact.
_ASK_BIT = {key: 1 << n for n, key in enumerate(_HASHED_EMPLOYEE_SORTED + _HASHED_ITEM_ORDER)}
_SEPARATOR_IN_TEXT = 1 << len(_ASK_BIT)
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
        self.items: dict[tuple[Any, ...], _Row] = {}
        self.older: dict[tuple[Any, ...], _Row] = {}


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


def _text_and_bits(value: str, money: bool, bit: int, key: str, bits: int) -> tuple[str, int]:
    """The JSON text of a text value under ``key``, and ``bits`` with what it depends on."""
    if money:
        if len(value) <= _PLAIN_LENGTH and _CANONICAL_AMOUNT.fullmatch(value) is not None:
            return f'"{value}"', bits
        text = _money_text(value, key)
    else:
        text = _encode_text(value)
        bits |= bit
    if "," in text or ":" in text:
        bits |= _SEPARATOR_IN_TEXT
    return text, bits


def _item_row(values: tuple[Any, ...], plan: _TextPlan) -> _Row:
    """The row of an item cut to its hashed keys (``values``: one per key, in key order)."""
    found = plan.older.get(values)
    if found is not None:
        plan.items[values] = found
        return found
    members: list[str] = []
    bits = 0
    for (name, money, bit, key), value in zip(plan.slots, values, strict=True):
        if value is _ABSENT:
            continue
        if type(value) is not str:
            members.append(name + _SCALAR_TEXT[value])
            continue
        text, bits = _text_and_bits(value, money, bit, key, bits)
        members.append(name + text)
    row = ("{" + ",".join(members) + "}", bits)
    if len(plan.items) >= _ITEM_MEMO_LIMIT:
        # Two generations: the items seen in the last one stay known, however many new ones.
        plan.older = plan.items
        plan.items = {}
    plan.items[values] = row
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
                if not _EXACT_TYPES.issuperset(map(type, values)):
                    return None
                row = plan.items.get(values) or _item_row(values, plan)
                texts.append(row[0])
                bits |= row[1]
            texts.sort()
            parts.append("[" + ",".join(texts) + "]")
        elif kind is str:
            text, bits = _text_and_bits(value, money, bit, key, bits)
            parts.append(text)
        elif value is None or kind is bool:
            parts.append(_SCALAR_TEXT[value])
        else:
            return None
    return (_COMPACT_ENTRY % tuple(parts), bits)


def _canonical_row(row: _Row, hash_keys: str | None) -> CanonicalRow | None:
    """The split shape's row from a made one: its sort key spaced by replacing, when exact."""
    text, bits = row
    if bits & _SEPARATOR_IN_TEXT:
        return None
    spaced = text.replace(",", ", ").replace(":", ": ")
    return CanonicalRow(text, spaced, _asked_text(bits) if hash_keys is None else hash_keys)


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


@dataclass(frozen=True)
class CanonicalRow:
    """One compensation's canonical compact JSON, its sort key, and the keys it depends on."""

    canonical: str
    sort_key: str
    hash_keys: str


def canonical_compensation(comp: AbcMapping[str, Any]) -> CanonicalRow:
    """The row's share of the content hash, computed as it arrives (before its payroll)."""
    made = _entry_text(comp, _plan(_MONEY_KEYS)) if type(comp) is dict else None
    row = _canonical_row(made, None) if made is not None else None
    if row is not None:
        return row
    keys = _Asked(_MONEY_KEYS)
    keys.asked = set()
    entry = _employee_entry(comp, keys)
    return CanonicalRow(_DIGEST_ENCODE(entry), _SORT_KEY(entry), _DIGEST_ENCODE(sorted(keys.asked)))


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
    row = _canonical_row(made, "[]") if made is not None else None
    if row is not None:
        return row
    entry = _employee_entry(comp, money_keys)
    return CanonicalRow(_DIGEST_ENCODE(entry), _SORT_KEY(entry), "[]")


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
