"""Fixtures for every test directory of the repository."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from tap_gusto.run_status import STATUS_FILE_ENV


@pytest.fixture(scope="session", autouse=True)
def run_status_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Taps started by tests note their runs in a temporary file, never in the checkout.

    Session-scoped (module and class fixtures run taps too) and set in os.environ, so the
    plugins and `gusto-dynamics status` started as subprocesses, or by Meltano, see it too.
    """
    previous = os.environ.get(STATUS_FILE_ENV)
    os.environ[STATUS_FILE_ENV] = str(tmp_path_factory.mktemp("run-status") / "run-status.json")
    yield
    if previous is None:
        os.environ.pop(STATUS_FILE_ENV, None)
    else:
        os.environ[STATUS_FILE_ENV] = previous
