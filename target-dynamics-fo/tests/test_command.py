"""The command runs the target with the collector on, after importing it without."""

from __future__ import annotations

import gc

import pytest
import target_dynamics_fo.target as target_module
from target_dynamics_fo import command


def test_the_command_runs_the_target_with_the_collector_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(target_module, "main", lambda: seen.append(gc.isenabled()))
    command.main()
    assert seen == [True]
