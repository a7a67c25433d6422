"""Work on one large record without the cyclic garbage collector (see :func:`paused_gc`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the block without the cyclic garbage collector.

    Hashing a large payroll and building its journal allocate millions of small objects, and
    each allocation burst triggers collections that traverse every live object again (the
    record alone is millions of them). Nothing built here forms reference cycles that must be
    freed early, so the collector runs after the block instead.
    """
    if not gc.isenabled():
        # Paused already (an outer block, or the program embedding the target): leave it so.
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
