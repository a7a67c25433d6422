"""Exact money, the target's only way in and out of text.

Every amount that reaches a journal goes through `parse_amount`; every Decimal written as JSON
goes through `dumps` (OData bodies, Singer state) or `audit.codec` (the audit trail), and every
JSON text is read back through `loads`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal, Inexact, InvalidOperation, Rounded, localcontext
from typing import Any

import msgspec
import simplejson

ZERO = Decimal("0")
CENT = Decimal("0.01")
_PRECISION = 60  # digits; far beyond any payroll, so exact sums never need rounding
# F&O stores amounts as numeric(32,6): at most 26 digits before the decimal point.
FO_AMOUNT_LIMIT = Decimal(10) ** 26
_INT_LIMIT = 10**26


@contextmanager
def exact_arithmetic() -> Iterator[None]:
    """Decimal context in which any rounding raises instead of silently changing a sum.

    Guards against a caller (or a library) having lowered the thread's Decimal precision.
    """
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        ctx.traps[Inexact] = True
        ctx.traps[Rounded] = True
        yield


@contextmanager
def rounding_arithmetic() -> Iterator[None]:
    """Decimal context for the few places that round on purpose (splits, rate x hours)."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        ctx.traps[Inexact] = False
        ctx.traps[Rounded] = False
        yield


# Only plain decimals: no exponent, no thousands separator, no leading "+" or ".", no spaces.
# Gusto sends "20.0", "740.00", "-0.92" and "40.000"; anything else is a data problem.
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class AmountError(ValueError):
    """An amount in a source record is not a plain, finite decimal with the allowed precision."""

    def __init__(self, where: str, value: object, fix: str = "fix the source record") -> None:
        self.where = where
        self.value = value
        self.fix = fix
        super().__init__(f"{where} = {value!r} {self.reason}; {fix}")

    @property
    def reason(self) -> str:
        return "is not a plain decimal amount"


class _MagnitudeError(AmountError):
    @property
    def reason(self) -> str:
        return (
            "is larger than F&O's amount columns hold (numeric(32,6): 26 digits before the point)"
        )


class _PrecisionError(AmountError):
    def __init__(self, where: str, value: object, max_places: int) -> None:
        self.max_places = max_places
        super().__init__(where, value)

    @property
    def reason(self) -> str:
        return f"has more than {self.max_places} decimal places"


# Amounts already parsed from text, by (text, max_places). A payroll repeats the same few
# thousand strings ("0.00", the same salary) over a hundred thousand fields; the Decimal made
# from a string does not depend on the context, and Decimals are immutable, so one is shared.
# Kept small: 65,536 entries cost 15 MB of peak memory for no less CPU.
_PARSED_LIMIT = 4096
# The quantum of an amount with exactly 0 to 6 places (money 2, hours 3).
_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(7)}
_parsed: dict[tuple[str, int], Decimal] = {}


def known_amount(value: object, max_places: int = 2) -> Decimal | None:
    """What `parse_amount` returns for ``value`` when that takes no checks beyond a glance.

    A text seen before (its cached Decimal), a plain decimal text or a finite Decimal within
    F&O's magnitude and ``max_places``; None for anything else, which `parse_amount` then
    checks in full (and names when it refuses it).
    """
    if type(value) is str:
        key = (value, max_places)
        known = _parsed.get(key)
        if known is not None:
            return known
        if _plain_within(max_places).fullmatch(value) is None:
            return None
        known = Decimal(value)
        if len(_parsed) >= _PARSED_LIMIT:
            _parsed.clear()
        _parsed[key] = known
        return known
    if type(value) is Decimal:
        # adjusted() < 26 is |value| < 10**26 for any non-zero value (zero is checked in full).
        # Most amounts have exactly the places allowed: same_quantum tells that without the
        # digit tuple as_tuple builds.
        quantum = _QUANTA.get(max_places)
        if quantum is not None and value.same_quantum(quantum):
            return value if value.adjusted() < 26 else None
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= -max_places and value.adjusted() < 26:
            return value
        return None
    if type(value) is int and -_INT_LIMIT < value < _INT_LIMIT:
        return Decimal(value)
    return None


# Plain decimals that need no other check: at most 26 digits before the point, at most the
# allowed places after it (the regex per number of places, built once).
_PLAIN_WITHIN: dict[int, re.Pattern[str]] = {}


def _plain_within(max_places: int) -> re.Pattern[str]:
    pattern = _PLAIN_WITHIN.get(max_places)
    if pattern is None:
        fraction = rf"(\.[0-9]{{1,{max_places}}})?" if max_places > 0 else ""
        pattern = re.compile(rf"-?[0-9]{{1,26}}{fraction}")
        _PLAIN_WITHIN[max_places] = pattern
    return pattern


def parse_amount(value: object, *, where: str, max_places: int = 2) -> Decimal:
    """Return `value` as an exact Decimal or raise AmountError naming `where`.

    Accepts Decimal, int and strict decimal strings. Trailing zeros beyond `max_places`
    are accepted ("100.000" is exactly 100.00); significant digits beyond it are not.
    """
    known = known_amount(value, max_places)
    if known is not None:
        return known
    if isinstance(value, bool) or value is None or isinstance(value, float):
        # bool is an int subclass and float has already lost the exact digits.
        raise AmountError(where, value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise AmountError(where, value)
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        if _PLAIN_DECIMAL.fullmatch(value) is None:
            raise AmountError(where, value)
        try:
            result = Decimal(value)
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid input
            raise AmountError(where, value) from exc
    else:
        raise AmountError(where, value)
    if abs(result) >= FO_AMOUNT_LIMIT:
        raise _MagnitudeError(where, value)
    exponent = result.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -max_places:
        quantum = Decimal(1).scaleb(-max_places)
        with rounding_arithmetic():
            fits = result.quantize(quantum) == result
        if not fits:
            raise _PrecisionError(where, value, max_places)
    if type(value) is str:
        if len(_parsed) >= _PARSED_LIMIT:
            _parsed.clear()
        _parsed[(value, max_places)] = result
    return result


def format_amount(value: Decimal) -> str:
    """Fixed two-place string, for messages and reports (never for arithmetic)."""
    return str(value.quantize(CENT))


def canonical_amount(value: Decimal) -> str:
    """Scale-free text of a Decimal: "100", "100.0" and "100.00" all give "100"."""
    if value.is_zero():
        return "0"
    return format(value.normalize(), "f")


def dumps(
    value: Any,
    *,
    compact: bool = True,
    sort_keys: bool = False,
    default: Callable[[Any], Any] | None = None,
) -> str:
    """JSON with Decimals as exact numbers (F&O amounts are Edm.Decimal, never floats).

    ``compact`` drops the spaces after separators (request bodies); the audit trail and Singer
    state keep simplejson's default separators, because their stored text is compared as is.
    """
    separators = (",", ":") if compact else None
    return str(
        simplejson.dumps(
            value, use_decimal=True, separators=separators, sort_keys=sort_keys, default=default
        )
    )


def reused_encode(encoder: json.JSONEncoder) -> Callable[[Any], str]:
    """``encoder.encode`` without making its C encoder again on every call.

    The hash encodes about fifteen values per employee, and ``encode`` builds the C encoder
    anew each time (a third of the cost). The text is the same: the same C encoder with the
    same settings; only the circular-reference check is left out, so it is for values that
    cannot hold a cycle (fresh canonical copies, records parsed from JSON).
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


def loads(text: str | bytes) -> Any:
    """JSON with every non-integer number as an exact Decimal.

    msgspec parses what it accepts in about two thirds of the standard library's time, with the
    same result: the same Decimals (it hands each number with a point or an exponent to Decimal
    as its text), ints of any size, the last of repeated keys. What it refuses (NaN, a byte order
    mark, a lone surrogate escape, broken JSON) is read by the standard library as before, which
    parses it or raises its own JSONDecodeError naming the place.
    """
    try:
        return _FAST_DECODE(text)
    except (msgspec.DecodeError, ValueError):
        pass
    if type(text) is str and not text.startswith("\ufeff"):
        return _DECODER.decode(text)
    return json.loads(text, parse_float=Decimal)


_FAST_DECODE: Callable[[str | bytes], Any] = msgspec.json.Decoder(float_hook=Decimal).decode
# One decoder for every call: json.loads with an argument builds one per call, which costs as
# much as parsing a small document (a split payroll's rows are read back one by one).
_DECODER = json.JSONDecoder(parse_float=Decimal)
