"""Spreading an amount over dimension sets: exact cents, deterministic order."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping as AbcMapping
from decimal import ROUND_FLOOR, Decimal

from target_dynamics_fo.ledger.money import CENT, ZERO, rounding_arithmetic
from target_dynamics_fo.mapping import DimensionShare

# A dimension set as sorted (name, value) pairs, and a split of an amount over such sets.
DimKey = tuple[tuple[str, str], ...]
Target = tuple[tuple[Decimal, DimKey], ...]


def dim_key(dimensions: AbcMapping[str, str]) -> DimKey:
    return tuple(sorted(dimensions.items()))


def to_target(shares: Iterable[DimensionShare]) -> Target:
    return tuple((s.percent, dim_key(s.dimensions)) for s in shares)


def split_amount(amount: Decimal, percents: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
    """Split `amount` by percentages (adding to 100) into cents that add up to it exactly.

    Largest remainder: every part gets its floor in cents, then the cents left over go one
    each to the parts with the largest fractional remainders (ties: the earlier part).
    The sign is applied after splitting the absolute value, so +x and -x split symmetrically.
    """
    sign = -1 if amount < 0 else 1
    with rounding_arithmetic():
        scaled = abs(amount).scaleb(2)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"amount {amount} has fractions of a cent; only cents can be split")
        cents = int(scaled)
        total = sum(percents, ZERO)
        raw = [Decimal(cents) * p / total for p in percents]
        floors = [int(r.to_integral_value(rounding=ROUND_FLOOR)) for r in raw]
    left = cents - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return tuple(Decimal(sign * f) * CENT for f in floors)


def allocate_by_wages(wages: AbcMapping[DimKey, Decimal]) -> Target:
    """Weights for spreading a payroll-level amount over the dimension sets that earned wages.

    Only sets with positive gross pay take part (a correction run can leave a set negative);
    sorted so the same payroll always gives the same split. Empty when no set earned anything.
    """
    return tuple((weight, dims) for dims, weight in sorted(wages.items()) if weight > 0)
