"""Decimal helpers shared by the seed, the payroll calculator and the renderers.

Every amount in the sandbox is a `Decimal`; these helpers only decide how it is rounded and how it
looks on the wire (Gusto mixes "20.0", "740.00", "-0.92" and JSON numbers).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
MILLI = Decimal("0.001")
ZERO = Decimal("0.00")


def cents(value: Decimal) -> Decimal:
    """Round to cents the way payroll engines do (half up, not banker's rounding)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def fmt2(value: Decimal) -> str:
    """Two-decimal string, Gusto's usual money form ("740.00", "-0.92")."""
    return str(cents(value))


def fmt1(value: Decimal) -> str:
    """Shortest form with at least one decimal ("20.0", "18.5", "740.17").

    Gusto emits this for some fields (contractor payments, reimbursements); exact, never rounded.
    """
    text = format(cents(value).normalize(), "f")
    if "." not in text:
        return text + ".0"
    return text


def fmt_hours(value: Decimal) -> str:
    """Hours carry three decimals on the wire ("40.000")."""
    return str(value.quantize(MILLI, rounding=ROUND_HALF_UP))


def as_json_number(text: str) -> Decimal:
    """The JSON-number form of a money string, shaped like a Ruby float (786.0, 2791.25)."""
    return Decimal(fmt1(Decimal(text)))


def dec(value: str | int | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(value)
