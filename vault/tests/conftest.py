from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gd_vault import KEY_ENV, KEY_FILE_ENV, PATH_ENV, generate_key


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> Iterator[bytes]:
    material = generate_key()
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.delenv(PATH_ENV, raising=False)
    monkeypatch.setenv(KEY_ENV, material.decode())
    yield material


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "vault.enc"
