"""The commands' start-up: imports without the cyclic GC, the collector back before they run."""

from __future__ import annotations

import gc
import sys
import types

import pytest
from gd_vault.startup import run_imported_without_gc

MODULE = "gd_vault_startup_probe"


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """A module whose import and main record whether the collector was on."""
    seen: list[tuple[str, bool]] = []

    class Finder:
        def find_spec(self, name: str, path: object, target: object = None) -> object:
            if name != MODULE:
                return None
            import importlib.machinery  # noqa: PLC0415

            return importlib.machinery.ModuleSpec(name, Loader())

    class Loader:
        def create_module(self, spec: object) -> None:
            return None

        def exec_module(self, module: types.ModuleType) -> None:
            seen.append(("import", gc.isenabled()))
            module.main = lambda: seen.append(("main", gc.isenabled()))  # type: ignore[attr-defined]

    monkeypatch.setattr(sys, "meta_path", [Finder(), *sys.meta_path])
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    return seen


def test_imports_without_the_collector_and_runs_with_it(probe: list[tuple[str, bool]]) -> None:
    assert gc.isenabled()
    run_imported_without_gc(MODULE)
    assert probe == [("import", False), ("main", True)]
    assert gc.isenabled()


def test_a_program_that_paused_the_collector_keeps_it_paused(
    probe: list[tuple[str, bool]],
) -> None:
    gc.disable()
    try:
        run_imported_without_gc(MODULE)
        assert probe == [("import", False), ("main", False)]
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_comes_back_when_the_import_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModuleNotFoundError):
        run_imported_without_gc("gd_vault_no_such_module")
    assert gc.isenabled()
