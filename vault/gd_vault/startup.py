"""How the plugins' commands start: their imports run without the cyclic GC.

Start-up allocates a few hundred thousand objects that live as long as the process (modules,
classes, the SDK's and pydantic's tables); collections during the imports free nothing and
took about 0.03 s of every start of the tap and of the target (an eighth of the tap's start,
paid once per company when companies run as processes of their own). Only the commands do
this, never code that imports a plugin as a library.
"""

from __future__ import annotations

import gc
import importlib


def run_imported_without_gc(module: str, function: str = "main") -> None:
    """Import ``module`` with the collector paused, then call its ``function`` with the
    collector as it was (a program that paused it keeps it paused)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        entry = getattr(importlib.import_module(module), function)
    finally:
        if enabled:
            gc.enable()
    entry()
