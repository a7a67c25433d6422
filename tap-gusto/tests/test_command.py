"""The command runs the tap with the collector on, after importing it without."""

from __future__ import annotations

import gc

import pytest
import tap_gusto.tap as tap_module
from tap_gusto import command


def test_the_command_runs_the_tap_with_the_collector_on(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(tap_module, "main", lambda: seen.append(gc.isenabled()))
    command.main()
    assert seen == [True]
