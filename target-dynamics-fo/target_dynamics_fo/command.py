"""The ``target-dynamics-fo`` command: its start-up imports run without the cyclic GC
(``gd_vault.startup``); the objects they made are then frozen out of later collections
(``gcpause.keep_start_up_out_of_gc``, called before any input is read)."""

from __future__ import annotations

from gd_vault.startup import run_imported_without_gc


def main() -> None:
    run_imported_without_gc("target_dynamics_fo.target")
