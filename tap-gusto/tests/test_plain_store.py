"""Tokens from plain settings: the rotated refresh token is kept, owner-only, before first use."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from tap_gusto.errors import GustoAuthError
from tap_gusto.plain_store import PlainTokenStore
from tap_gusto.tap import TapGusto

COMPANY = "c0ffee00-0000-4000-8000-000000000001"


def test_seed_token_is_used_until_a_rotated_one_is_written(tmp_path: Path) -> None:
    path = tmp_path / "private" / "tokens.json"
    store = PlainTokenStore(path, COMPANY, "seed-refresh-token")
    assert store.read()["gusto"]["companies"][COMPANY]["refresh_token"] == "seed-refresh-token"

    def rotate(data: dict[str, Any]) -> None:
        record = data["gusto"]["companies"][COMPANY]
        record.update(refresh_token="rotated-token", access_token="access", expires_at=123)

    with store.lock("gusto-refresh"):
        store.update(rotate)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text())["refresh_token"] == "rotated-token"
    # A later run configured with the spent seed still uses the rotated token from the file.
    again = PlainTokenStore(path, COMPANY, "seed-refresh-token")
    assert again.read()["gusto"]["companies"][COMPANY]["refresh_token"] == "rotated-token"
    assert not list(path.parent.glob(".tokens.json.*"))  # no temp file left behind


def test_a_corrupt_token_file_is_named_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("{not json")
    with pytest.raises(GustoAuthError, match="refresh_token_path"):
        PlainTokenStore(path, COMPANY, "seed").read()


def test_refresh_token_without_a_path_is_refused(tmp_path: Path) -> None:
    tap = TapGusto(
        config={"client_id": "id", "client_secret": "s", "company_ids": [COMPANY],
                "refresh_token": "seed", "status_file": str(tmp_path / "status.json")},
        parse_env_config=False,
    )  # fmt: skip
    with pytest.raises(GustoAuthError, match="refresh_token_path"):
        _ = tap.vault


def test_refresh_token_needs_exactly_one_company(tmp_path: Path) -> None:
    tap = TapGusto(
        config={"client_id": "id", "client_secret": "s", "refresh_token": "seed",
                "refresh_token_path": str(tmp_path / "t.json")},
        parse_env_config=False,
    )  # fmt: skip
    with pytest.raises(GustoAuthError, match="company_ids"):
        _ = tap.vault
