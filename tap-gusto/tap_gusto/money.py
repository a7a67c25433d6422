"""Exact parsing of Gusto money, hours and rate values into ``Decimal``.

Gusto sends amounts as strings ("20.0", "-0.92", "1234.50") or as JSON numbers, depending on the
field and the API version. Responses are parsed with ``parse_float=Decimal`` so JSON numbers
never pass through ``float``; strings are converted here. Anything that is not a plain decimal
is refused rather than guessed at: a wrong cent in a journal is worse than a stopped run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import lru_cache
from typing import Any

from tap_gusto.errors import MalformedAmountError

_PLAIN_DECIMAL = re.compile(r"-?\d+(\.\d+)?")


class Kind(Enum):
    """How many decimal places a field may carry (``None`` = no limit)."""

    MONEY = 2
    HOURS = 3
    RATE = None


@dataclass(frozen=True)
class Where:
    """Identifies the record a value belongs to, for error messages."""

    company_uuid: str
    stream: str
    record_id: str

    def describe(self, path: str) -> str:
        return f"company {self.company_uuid}, {self.stream} record {self.record_id}, field {path}"


def parse_decimal(value: Any, kind: Kind, where: Where, path: str) -> Decimal | None:
    """Return ``value`` as an exact ``Decimal`` (``None`` stays ``None``) or raise a clear error."""
    if value is None:
        return None
    if isinstance(value, bool):
        _refuse(value, kind, where, path)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        # JSON numbers arrive here from parse_float=Decimal; exponent forms ("1e3") and
        # non-finite values are not amounts Gusto sends, so they are refused like strings.
        if not value.is_finite() or value.as_tuple().exponent > 0:  # type: ignore[operator]
            _refuse(value, kind, where, path)
        result = value
    elif isinstance(value, str):
        if not _PLAIN_DECIMAL.fullmatch(value):
            _refuse(value, kind, where, path)
        try:
            result = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
            _refuse(value, kind, where, path)
    else:
        # float included: a float here means a parser bypassed parse_float=Decimal.
        _refuse(value, kind, where, path)
    if kind.value is not None and -result.as_tuple().exponent > kind.value:  # type: ignore[operator]
        _refuse(value, kind, where, path)
    return result


def _refuse(value: Any, kind: Kind, where: Where, path: str) -> None:
    places = (
        f"with at most {kind.value} decimal places"
        if kind.value is not None
        else "without exponent"
    )
    raise MalformedAmountError(
        f"Gusto sent a malformed {kind.name.lower()} value {value!r} ({type(value).__name__}) "
        f'for {where.describe(path)}; expected a plain decimal like "1234.50" {places}. '
        "The tap stops instead of guessing an amount. Check the record in Gusto and the "
        "api_version setting (X-Gusto-API-Version); report the value to Gusto if it persists."
    )


# A field spec is a dotted path; "[]" after a segment means "every element of that list" and
# "*" means "every key". Example: "employee_compensations[].taxes[].amount".
FieldSpec = tuple[str, Kind]


def of_kind(kind: Kind, *paths: str) -> tuple[FieldSpec, ...]:
    """The same ``kind`` for every path (a stream's money fields, say)."""
    return tuple((path, kind) for path in paths)


# Specs compiled into one tree so a record is walked once, not once per spec.
_Tree = dict[str, "_Tree | Kind"]


@lru_cache(maxsize=64)
def _compile(specs: tuple[FieldSpec, ...]) -> _Tree:
    tree: _Tree = {}
    for spec, kind in specs:
        node = tree
        parts = spec.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            assert isinstance(child, dict), f"conflicting field specs at {spec}"
            node = child
        node[parts[-1]] = kind
    return tree


def convert_fields(record: dict[str, Any], specs: Iterable[FieldSpec], where: Where) -> None:
    """Convert every field named by ``specs`` in place.

    The record is walked first without building field paths (they are only needed to name a
    malformed value); if a value does not convert, it is walked again with paths, which raises
    the error naming the field. Values converted by then convert again to themselves.
    """
    specs = tuple(specs)
    try:
        _fast_walk(record, _plan(specs))
    except _MalformedError:
        pass
    else:
        return
    _walk(record, _compile(specs), where, "")
    raise AssertionError("a value refused without field paths was accepted with them")


class _MalformedError(Exception):
    """A value did not convert; the slow walk names it."""


# (key, every element of a list?, sub-plan or the Kind of a leaf), in spec order.
_Plan = tuple[tuple[str, bool, "_Plan | Kind"], ...]
_NOWHERE = Where("", "", "")
_CONVERTED: dict[tuple[str, Kind], Decimal] = {}
_CONVERTED_LIMIT = 65536


@lru_cache(maxsize=64)
def _plan(specs: tuple[FieldSpec, ...]) -> _Plan:
    return _plan_of(_compile(specs))


def _plan_of(tree: _Tree) -> _Plan:
    return tuple(
        (
            head[:-2] if head.endswith("[]") else head,
            head.endswith("[]"),
            sub if isinstance(sub, Kind) else _plan_of(sub),
        )
        for head, sub in tree.items()
    )


def _fast_walk(node: Any, plan: _Plan) -> None:
    if not isinstance(node, dict):
        return
    for key, is_list, sub in plan:
        names = list(node) if key == "*" else ((key,) if key in node else ())
        for name in names:
            value = node[name]
            if is_list:
                if isinstance(value, list):
                    for item in value:
                        if isinstance(sub, Kind):
                            raise TypeError(f"field spec ends in a list without a field: {name}")
                        _fast_walk(item, sub)
            elif isinstance(sub, Kind):
                node[name] = _convert(value, sub)
            else:
                _fast_walk(value, sub)


def _convert(value: Any, kind: Kind) -> Decimal | None:
    """parse_decimal without a field path; raises _MalformedError where it would raise."""
    if value is None:
        return None
    text = type(value) is str
    if text:
        # Amounts repeat ("0.00", a pay rate); Decimal is immutable, so one object serves all.
        known = _CONVERTED.get((value, kind))
        if known is not None:
            return known
    try:
        result = parse_decimal(value, kind, _NOWHERE, "")
    except MalformedAmountError:
        raise _MalformedError from None
    if text and result is not None:
        if len(_CONVERTED) >= _CONVERTED_LIMIT:
            _CONVERTED.clear()
        _CONVERTED[value, kind] = result
    return result


def _walk(node: Any, tree: _Tree, where: Where, prefix: str) -> None:
    if not isinstance(node, dict):
        return
    for head, sub in tree.items():
        is_list = head.endswith("[]")
        key = head[:-2] if is_list else head
        keys = list(node) if key == "*" else ([key] if key in node else [])
        for name in keys:
            path = f"{prefix}.{name}" if prefix else name
            value = node[name]
            if is_list:
                if isinstance(value, list):
                    for index, item in enumerate(value):
                        _apply(item, sub, where, f"{path}[{index}]")
                continue
            if isinstance(sub, Kind):
                node[name] = parse_decimal(value, sub, where, path)
            else:
                _walk(value, sub, where, path)


def _apply(item: Any, sub: _Tree | Kind, where: Where, path: str) -> None:
    if isinstance(sub, Kind):
        raise TypeError(f"field spec ends in a list without a field: {path}")
    _walk(item, sub, where, path)
