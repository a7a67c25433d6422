"""Crash-test kill points, when the optional ``gusto-dynamics-faultpoints`` package is installed.

The hooks (``hit("<point>")``) mark the steps between durable writes where tests/chaos kills the
process (``GUSTO_DYNAMICS_KILL_AT``). Production installs do not carry that package, and then
``hit`` does nothing: the plugin never depends on test machinery.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable


def _no_kill_point(point: str) -> None:
    """Outside this repository's development venv there are no kill points."""


hit: Callable[[str], None] = _no_kill_point
if importlib.util.find_spec("gd_faultpoints") is not None:
    from gd_faultpoints import hit

__all__ = ["hit"]
