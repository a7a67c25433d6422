"""Crash-test kill points, when the optional ``gusto-dynamics-faultpoints`` package is installed.

The hooks (``hit("<point>")``) mark the steps between durable writes where tests/chaos kills the
process (``GUSTO_DYNAMICS_KILL_AT``). Production installs do not carry that package, and then
``hit`` is a function that does nothing: the plugin never depends on test machinery.
"""

from __future__ import annotations

from collections.abc import Callable

hit: Callable[[str], None]

try:
    from gd_faultpoints import hit
except ImportError:  # the usual case outside this repository's development venv

    def hit(point: str) -> None:
        return


__all__ = ["hit"]
