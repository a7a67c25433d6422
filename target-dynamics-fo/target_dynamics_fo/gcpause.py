"""Work on one large record without the cyclic garbage collector (see :func:`paused_gc`)."""

from __future__ import annotations

import gc
from contextlib import AbstractContextManager


class _PausedGC(AbstractContextManager[None]):
    def __init__(self) -> None:
        self._resume = False

    def __enter__(self) -> None:
        # Paused already (an outer block, or the program embedding the target): leave it so.
        self._resume = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc_info: object) -> None:
        if self._resume:
            gc.enable()


def paused_gc() -> AbstractContextManager[None]:
    """Run the block without the cyclic garbage collector.

    Hashing a large payroll and building its journal allocate millions of small objects, and
    each allocation burst triggers collections that traverse every live object again (the
    record alone is millions of them). Nothing built here forms reference cycles that must be
    freed early, so the collector runs after the block instead.
    """
    return _PausedGC()


def keep_start_up_out_of_gc() -> None:
    """Leave the objects of start-up (modules, the SDK's schemas) out of later collections.

    They live as long as the process, yet every full collection while a large payroll is
    read traverses them again: about a tenth of the target's CPU. Called once, by the
    command, after its imports (never by code that embeds the target).
    """
    gc.freeze()
