"""OData v4 pieces F&O uses: JSON with exact decimals, key predicates, $filter, $orderby."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from .entities import NAMESPACE, EntityDef, enum_members


class ODataError(Exception):
    """An error answered with F&O's error envelope.

    ``infolog`` errors are business-logic failures (F&O: HTTP 500 + AxODataWriteException);
    others are protocol errors (HTTP 400 + ODataException-style message).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        aot: str | None = None,
        error_type: str = "Microsoft.OData.ODataException",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.aot = aot
        self.error_type = error_type

    def body(self) -> dict[str, Any]:
        if self.aot is not None:
            inner = f"Write failed for table row of type '{self.aot}'. Infolog: {self.message}"
            return {
                "error": {
                    "code": "",
                    "message": "An error has occurred.",
                    "innererror": {
                        "message": inner,
                        "type": self.error_type,
                        "stacktrace": "",
                    },
                }
            }
        return {
            "error": {
                "code": "",
                "message": "An error has occurred.",
                "innererror": {"message": self.message, "type": self.error_type, "stacktrace": ""},
            }
        }


def write_error(aot: str, *infolog: str) -> ODataError:
    """F&O validation failure: HTTP 500 with the Infolog lines joined like F&O does."""
    return ODataError(
        500,
        "; ".join(infolog),
        aot=aot,
        error_type="Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException",
    )


# ---------------------------------------------------------------- JSON with exact decimals


def _enc(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, Decimal):
        out.append(format_decimal(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        raise TypeError("float reached the JSON encoder; money must stay Decimal")
    elif isinstance(value, str):
        out.append(json.dumps(value))
    elif isinstance(value, dict):
        out.append("{")
        for i, (k, v) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(json.dumps(str(k)))
            out.append(":")
            _enc(v, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(",")
            _enc(v, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(value: Any) -> str:
    out: list[str] = []
    _enc(value, out)
    return "".join(out)


def format_decimal(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


# ---------------------------------------------------------------- dates

_DTO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})$"
)


def parse_datetimeoffset(text: str) -> dt.datetime | None:
    m = _DTO.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s, _frac, tz = m.groups()
    try:
        offset = dt.timedelta(0)
        if tz != "Z":
            sign = 1 if tz[0] == "+" else -1
            offset = sign * dt.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
        value = dt.datetime(
            int(y), int(mo), int(d), int(h), int(mi), int(s or 0), tzinfo=dt.timezone(offset)
        )
    except ValueError:
        return None
    return value.astimezone(dt.UTC)


def canonical_datetime(text: str) -> str | None:
    value = parse_datetimeoffset(text)
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- literals and keys


@dataclass(frozen=True)
class Literal:
    kind: str  # "str", "num", "enum", "date", "null", "bool"
    value: Any


_NUM = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdD]?$")
_ENUM = re.compile(r"^([A-Za-z_][\w.]*)'((?:[^']|'')*)'$")


def parse_literal(text: str) -> Literal:
    text = text.strip()
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        return Literal("str", text[1:-1].replace("''", "'"))
    if text == "null":
        return Literal("null", None)
    if text in ("true", "false"):
        return Literal("bool", text == "true")
    m = _ENUM.match(text)
    if m:
        return Literal("enum", m.group(2).replace("''", "'"))
    if _NUM.match(text):
        return Literal("num", Decimal(text.rstrip("mMdD")))
    canonical = canonical_datetime(text)
    if canonical is not None:
        return Literal("date", canonical)
    raise ODataError(400, f"Unrecognized literal '{text}' in the request URI.")


def _split_top_level(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    buf: list[str] = []
    in_quote = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            if in_quote and i + 1 < len(text) and text[i + 1] == "'":
                buf.append("''")
                i += 2
                continue
            in_quote = not in_quote
        if ch == sep and not in_quote:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    if in_quote:
        raise ODataError(400, f"Unterminated string literal in '{text}'.")
    parts.append("".join(buf))
    return parts


def parse_key_predicate(entity: EntityDef, predicate: str) -> dict[str, Any]:
    """``dataAreaId='rsc',JournalBatchNumber='X'`` (or a bare single value) -> field values."""
    parts = _split_top_level(predicate, ",")
    values: dict[str, Any] = {}
    if len(parts) == 1 and "=" not in _strip_quoted(parts[0]) and len(entity.keys) == 1:
        values[entity.keys[0]] = parse_literal(parts[0]).value
    else:
        for part in parts:
            name, eq, lit = part.partition("=")
            name = name.strip()
            if not eq or name not in entity.keys:
                raise ODataError(
                    400,
                    f"The key in the request URI is not valid for resource "
                    f"'{NAMESPACE}.{entity.type_name}'. Key properties: {', '.join(entity.keys)}.",
                )
            values[name] = parse_literal(lit).value
    missing = [k for k in entity.keys if k not in values]
    if missing:
        raise ODataError(
            400,
            f"The number of keys specified in the URI does not match number of key properties "
            f"for the resource '{NAMESPACE}.{entity.type_name}'. Missing: {', '.join(missing)}.",
        )
    return {k: coerce_value(entity, k, v) for k, v in values.items()}


AMOUNT_COLUMN_LIMIT = Decimal(10) ** 26
SIX_PLACES = Decimal("0.000001")


def _strip_quoted(text: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "", text)


def coerce_value(entity: EntityDef, name: str, value: Any, *, from_json: bool = False) -> Any:
    """Bring a value from a URL or JSON body to the stored representation of the field.

    ``from_json``: F&O answers with IEEE754Compatible=false, so a JSON body must carry decimals
    as numbers; a quoted amount is refused like the OData reader does.
    """
    kind = entity.fields.get(name, "str")
    if value is None:
        return None
    if kind == "dec":
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            raise _type_error(entity, name, value, "Edm.Decimal")
        if from_json and isinstance(value, str):
            raise _type_error(entity, name, value, "Edm.Decimal")
        try:
            number = Decimal(value)
        except InvalidOperation as exc:
            raise _type_error(entity, name, value, "Edm.Decimal") from exc
        if not _fits_amount_column(number):
            raise _type_error(entity, name, value, "Edm.Decimal")
        return number
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise _type_error(entity, name, value, "Edm.Int64")
        if isinstance(value, Decimal) and value != value.to_integral_value():
            raise _type_error(entity, name, value, "Edm.Int64")
        return int(value)
    if kind == "date":
        if not isinstance(value, str) or canonical_datetime(value) is None:
            raise _type_error(entity, name, value, "Edm.DateTimeOffset")
        return canonical_datetime(value)
    if kind.startswith("enum:"):
        if not isinstance(value, str):
            raise _type_error(entity, name, value, f"{NAMESPACE}.{kind[5:]}")
        members = enum_members(kind[5:])
        for member in members:
            if member.lower() == value.lower():
                return member
        raise ODataError(
            400,
            f"The value '{value}' is not a valid member of enum type "
            f"'{NAMESPACE}.{kind[5:]}' (property '{name}'). Valid: {', '.join(members)}.",
        )
    if not isinstance(value, str):
        raise _type_error(entity, name, value, "Edm.String")
    return value


def _fits_amount_column(number: Decimal) -> bool:
    """F&O's amount columns are numeric(32,6): finite, under 10^26, at most 6 decimals."""
    if not number.is_finite() or abs(number) >= AMOUNT_COLUMN_LIMIT:
        return False
    exponent = number.as_tuple().exponent
    if not isinstance(exponent, int) or exponent >= -6:
        return True
    with localcontext() as ctx:
        ctx.prec = 60  # 32 digits fit; the default 28 would raise on large amounts
        return number == number.quantize(SIX_PLACES)


def _type_error(entity: EntityDef, name: str, value: Any, edm: str) -> ODataError:
    shown = format_decimal(value) if isinstance(value, Decimal) else value
    return ODataError(
        400,
        f"Cannot convert the literal '{shown}' to the expected type '{edm}' "
        f"(property '{name}' of '{NAMESPACE}.{entity.type_name}').",
    )


def format_key_literal(kind: str, value: Any) -> str:
    if kind == "dec":
        return format_decimal(value)
    if kind == "int":
        return str(value)
    if kind == "date":
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def key_predicate(entity: EntityDef, row: dict[str, Any]) -> str:
    return ",".join(f"{k}={format_key_literal(entity.fields[k], row[k])}" for k in entity.keys)


def key_tuple(entity: EntityDef, values: dict[str, Any]) -> tuple[Any, ...]:
    """Keys match case-insensitively, as F&O's SQL collation does."""
    out: list[Any] = []
    for k in entity.keys:
        v = values.get(k)
        if isinstance(v, str):
            out.append(v.casefold())
        elif isinstance(v, Decimal):
            out.append(v.normalize())
        else:
            out.append(v)
    return tuple(out)
