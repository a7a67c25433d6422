"""The ``target-dynamics-fo`` command: its start-up imports run without the cyclic GC.

Start-up allocates hundreds of thousands of objects that live as long as the process (modules,
classes, the SDK's and pydantic's tables); collections during the imports free nothing and took
about 0.05 s of every start. The collector resumes before any input is read, with those objects
frozen out of it (``gcpause.keep_start_up_out_of_gc``). Only the command does this, never code
that imports the target as a library.
"""

from __future__ import annotations

import gc


def main() -> None:
    enabled = gc.isenabled()
    gc.disable()
    try:
        from target_dynamics_fo.target import main as target_main  # noqa: PLC0415
    finally:
        if enabled:
            gc.enable()
    target_main()
