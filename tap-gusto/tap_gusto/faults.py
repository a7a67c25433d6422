"""``hit("<point>")``: a crash-test kill point (``GUSTO_DYNAMICS_KILL_AT``, tests/chaos).

The points come from ``gd_faultpoints``, a development-only package; a production install has
none, and every point is then a call that returns at once, so the tap never needs test code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def _no_kill_points(point: str) -> None:
    del point


def _kill_points() -> Callable[[str], None]:
    try:
        module = importlib.import_module("gd_faultpoints")
    except ImportError:
        return _no_kill_points
    found: Callable[[str], None] = module.hit
    return found


hit = _kill_points()

__all__ = ["hit"]
