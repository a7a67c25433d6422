"""The commands' start-up: imports without the cyclic GC, the collector back before they run."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest
from gd_vault.startup import run_imported_without_gc

MODULE = "gd_vault_startup_probe"
# A command's module: notes whether the collector ran while it was imported, and when called.
PROBE = """
import gc
seen = [("import", gc.isenabled())]
def main():
    seen.append(("main", gc.isenabled()))
"""


@pytest.fixture
def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / f"{MODULE}.py").write_text(PROBE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    return tmp_path


def seen() -> list[tuple[str, bool]]:
    return list(sys.modules[MODULE].seen)


def test_imports_without_the_collector_and_runs_with_it(probe: Path) -> None:
    assert gc.isenabled()
    run_imported_without_gc(MODULE)
    assert seen() == [("import", False), ("main", True)]
    assert gc.isenabled()


def test_a_program_that_paused_the_collector_keeps_it_paused(probe: Path) -> None:
    gc.disable()
    try:
        run_imported_without_gc(MODULE)
        assert seen() == [("import", False), ("main", False)]
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_comes_back_when_the_import_fails() -> None:
    with pytest.raises(ModuleNotFoundError):
        run_imported_without_gc("gd_vault_no_such_module")
    assert gc.isenabled()
