"""The ``tap-gusto`` command: its start-up imports run without the cyclic GC
(``gd_vault.startup``)."""

from __future__ import annotations

from gd_vault.startup import run_imported_without_gc


def main() -> None:
    run_imported_without_gc("tap_gusto.tap")
