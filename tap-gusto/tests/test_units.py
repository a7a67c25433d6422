"""Small pure pieces: date windows, token CLI, error texts."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from pathlib import Path
from typing import Any

import pytest
from gd_vault import Vault
from tap_gusto import tokens_cli
from tap_gusto.dates import add_months, horizon, windows


def test_windows_are_contiguous_and_at_most_a_year() -> None:
    start, end = dt.date(2024, 1, 1), dt.date(2026, 3, 31)
    spans = list(windows(start, end))
    assert spans[0][0] == start and spans[-1][1] == end
    for (_, a_end), (b_start, _) in itertools.pairwise(spans):
        assert b_start == a_end + dt.timedelta(days=1)
    for a, b in spans:
        assert b <= add_months(a, 12) and a <= b


def test_horizon_is_three_calendar_months() -> None:
    assert horizon(dt.date(2026, 11, 30)) == dt.date(2027, 2, 28)
    assert horizon(dt.date(2026, 1, 31)) == dt.date(2026, 4, 30)
    # One day less: Gusto's US calendar day may still be the day before the UTC one.
    assert horizon(dt.date(2026, 12, 3)) == dt.date(2027, 3, 2)


def test_tokens_cli_import_and_list_never_print_tokens(
    tmp_path: Path, vault_key: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    store = tmp_path / "v.enc"
    monkeypatch.setattr("sys.stdin", io.StringIO("very-secret-refresh\n"))
    args = ["--store", str(store), "import", "--company", "co-1", "--refresh-token-stdin"]
    assert tokens_cli.main([*args, "--company-name", "Acme"]) == 0
    record = Vault.open(store).read()["gusto"]["companies"]["co-1"]
    assert record["refresh_token"] == "very-secret-refresh"
    assert record["expires_at"] == 0
    assert tokens_cli.main(["--store", str(store), "list"]) == 0
    out = capsys.readouterr().out
    assert "co-1" in out and "Acme" in out
    assert "very-secret-refresh" not in out


def test_tokens_cli_refuses_empty_stdin(
    tmp_path: Path, vault_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    argv = ["--store", str(tmp_path / "v.enc"), "import", "--company", "c", "--refresh-token-stdin"]
    assert tokens_cli.main(argv) == 2
