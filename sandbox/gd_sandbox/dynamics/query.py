"""OData query options over rows: ``$filter`` (parsed to a predicate), ``$orderby``,
``$select``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from .entities import NAMESPACE, EntityDef
from .odata import Literal, ODataError, canonical_datetime, parse_literal

Predicate = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<str>'(?:[^']|'')*')"
    r"|(?P<enum>[A-Za-z_][\w.]*'(?:[^']|'')*')"
    r"|(?P<date>\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2}))"
    r"|(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdD]?)"
    r"|(?P<word>[A-Za-z_$][\w/]*))"
)

_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ODataError(
                400, f"Syntax error at position {pos} in '{text}'. Check the $filter expression."
            )
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


class _FilterParser:
    def __init__(self, entity: EntityDef, text: str) -> None:
        self.entity = entity
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise ODataError(400, f"Unexpected end of $filter expression '{self.text}'.")
        self.pos += 1
        return tok

    def parse(self) -> Predicate:
        pred = self.parse_or()
        if self.peek() is not None:
            raise ODataError(
                400,
                f"Syntax error: unexpected '{self.peek()[1]}' in '{self.text}'.",  # type: ignore[index]
            )
        return pred

    def parse_or(self) -> Predicate:
        return self._chain("or", self.parse_and, _either)

    def parse_and(self) -> Predicate:
        return self._chain("and", self.parse_not, _both)

    def _chain(
        self,
        word: str,
        operand: Callable[[], Predicate],
        combine: Callable[[Predicate, Predicate], Predicate],
    ) -> Predicate:
        """``operand (word operand)*``, combined left to right."""
        left = operand()
        while self.peek() == ("word", word):
            self.take()
            left = combine(left, operand())
        return left

    def parse_not(self) -> Predicate:
        if self.peek() == ("word", "not"):
            self.take()
            inner = self.parse_not()
            return lambda r: not inner(r)
        return self.parse_primary()

    def parse_primary(self) -> Predicate:
        tok = self.peek()
        if tok is not None and tok[0] == "lp":
            self.take()
            inner = self.parse_or()
            if self.take()[0] != "rp":
                raise ODataError(400, f"Missing ')' in '{self.text}'.")
            return inner
        kind, name = self.take()
        if kind != "word" or name in ("and", "or", "not"):
            raise ODataError(400, f"Expected a property name, found '{name}' in '{self.text}'.")
        if name not in self.entity.fields:
            raise ODataError(
                400,
                f"Could not find a property named '{name}' on type "
                f"'{NAMESPACE}.{self.entity.type_name}'.",
            )
        op_kind, op = self.take()
        if op_kind != "word" or op not in _COMPARISONS:
            if op in ("has", "in"):
                raise ODataError(400, f"The '{op}' operator is not supported by F&O OData.")
            raise ODataError(400, f"Expected a comparison operator after '{name}', found '{op}'.")
        lit_kind, lit_text = self.take()
        if lit_kind not in ("str", "enum", "date", "num", "word"):
            raise ODataError(400, f"Expected a literal after '{name} {op}' in '{self.text}'.")
        literal = parse_literal(lit_text)
        field_kind = self.entity.fields[name]
        if field_kind.startswith("enum:") and op not in ("eq", "ne"):
            raise ODataError(400, f"Only 'eq' and 'ne' can be used on enum property '{name}'.")
        return _comparison(self.entity, name, field_kind, op, literal)


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda r: a(r) or b(r)


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda r: a(r) and b(r)


def _comparison(
    entity: EntityDef, name: str, field_kind: str, op: str, literal: Literal
) -> Predicate:
    target: Any = literal.value
    if literal.kind == "null":
        if op == "eq":
            return lambda r: r.get(name) is None
        if op == "ne":
            return lambda r: r.get(name) is not None
        raise ODataError(400, f"Cannot order-compare '{name}' with null.")
    if field_kind in ("dec", "int"):
        if literal.kind != "num":
            raise ODataError(
                400, f"A binary operator with incompatible types was detected for '{name}'."
            )

        def num_cmp(r: dict[str, Any]) -> bool:
            value = r.get(name)
            return value is not None and _apply(op, Decimal(value), target)

        return num_cmp
    if field_kind == "date":
        if literal.kind == "str":
            target = canonical_datetime(str(literal.value))
        if literal.kind not in ("date", "str") or target is None:
            raise ODataError(
                400, f"A binary operator with incompatible types was detected for '{name}'."
            )

        def date_cmp(r: dict[str, Any]) -> bool:
            value = r.get(name)
            return value is not None and _apply(op, value, target)

        return date_cmp
    if literal.kind not in ("str", "enum"):
        raise ODataError(
            400, f"A binary operator with incompatible types was detected for '{name}'."
        )
    text = str(target).casefold()
    if "*" in text and op in ("eq", "ne"):
        # F&O's "contains" is a wildcard in an eq literal.
        pattern = re.compile(
            "^" + ".*".join(re.escape(p) for p in text.split("*")) + "$", re.DOTALL
        )

        def wildcard(r: dict[str, Any]) -> bool:
            hit = bool(pattern.match(str(r.get(name) or "").casefold()))
            return hit if op == "eq" else not hit

        return wildcard

    def str_cmp(r: dict[str, Any]) -> bool:
        value = r.get(name)
        return _apply(op, str(value if value is not None else "").casefold(), text)

    return str_cmp


def _apply(op: str, a: Any, b: Any) -> bool:
    if op == "eq":
        return bool(a == b)
    if op == "ne":
        return bool(a != b)
    if op == "gt":
        return bool(a > b)
    if op == "ge":
        return bool(a >= b)
    if op == "lt":
        return bool(a < b)
    return bool(a <= b)


def compile_filter(entity: EntityDef, text: str) -> Predicate:
    return _FilterParser(entity, text).parse()


def order_rows(entity: EntityDef, rows: list[dict[str, Any]], orderby: str) -> list[dict[str, Any]]:
    specs: list[tuple[str, bool]] = []
    for part in orderby.split(","):
        bits = part.split()
        if not bits or len(bits) > 2 or (len(bits) == 2 and bits[1] not in ("asc", "desc")):
            raise ODataError(400, f"Invalid $orderby clause '{orderby}'.")
        if bits[0] not in entity.fields:
            raise ODataError(
                400,
                f"Could not find a property named '{bits[0]}' on type "
                f"'{NAMESPACE}.{entity.type_name}'.",
            )
        specs.append((bits[0], len(bits) == 2 and bits[1] == "desc"))
    out = list(rows)
    for name, desc in reversed(specs):
        out.sort(key=lambda r, n=name: _sort_key(r.get(n)), reverse=desc)  # type: ignore[misc]
    return out


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.casefold())
    return (2, value)


def select_fields(entity: EntityDef, select: str | None) -> list[str] | None:
    if not select:
        return None
    names = [s.strip() for s in select.split(",") if s.strip()]
    for n in names:
        if n not in entity.fields:
            raise ODataError(
                400,
                f"Could not find a property named '{n}' on type '{NAMESPACE}.{entity.type_name}'.",
            )
    return names


def project(row: dict[str, Any], names: Iterable[str] | None) -> dict[str, Any]:
    if names is None:
        return dict(row)
    return {n: row.get(n) for n in names}
