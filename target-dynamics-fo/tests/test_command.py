"""The command's start-up: imports without the cyclic GC, the collector back before any input."""

from __future__ import annotations

import gc

import pytest
import target_dynamics_fo.target as target_module
from target_dynamics_fo import command


def test_the_collector_is_back_on_before_the_target_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(target_module, "main", lambda: seen.append(gc.isenabled()))
    assert gc.isenabled()
    command.main()
    assert seen == [True]
    assert gc.isenabled()


def test_a_program_that_paused_the_collector_keeps_it_paused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(target_module, "main", lambda: seen.append(gc.isenabled()))
    gc.disable()
    try:
        command.main()
        assert seen == [False]
        assert not gc.isenabled()
    finally:
        gc.enable()
