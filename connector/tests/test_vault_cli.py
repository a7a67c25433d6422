from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from gd_vault import KEY_ENV, KEY_FILE_ENV, PATH_ENV, Vault, VaultError, generate_key
from gusto_dynamics.cli import main


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    key_file = tmp_path / "old.key"
    key_file.write_bytes(generate_key())
    key_file.chmod(0o600)
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv(KEY_FILE_ENV, str(key_file))
    path = tmp_path / "vault.enc"
    monkeypatch.setenv(PATH_ENV, str(path))
    return path


def test_key_generate_to_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "keys" / "new.key"
    assert main(["key", "generate", "--file", str(target)]) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    key_text = target.read_text().strip()
    out = capsys.readouterr().out
    assert f"export {KEY_FILE_ENV}={target}" in out
    assert key_text not in out  # the file path is printed, not the key
    Vault.open(tmp_path / "v.enc", key=key_text).update(lambda d: {"ok": 1})
    assert main(["key", "generate", "--file", str(target)]) == 1  # never overwrites a key
    assert "refusing to overwrite" in capsys.readouterr().err


def test_key_generate_prints_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["key", "generate"]) == 0
    captured = capsys.readouterr()
    key_line = captured.out.strip()
    Vault.open("/nonexistent/never-written", key=key_line)  # a valid key
    assert f"export {KEY_ENV}" in captured.err


def test_rotate_key(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Vault.open().update(lambda d: {"gusto": {"app": {"client_id": "c", "client_secret": "s"}}})
    new_file = tmp_path / "new.key"
    assert main(["key", "generate", "--file", str(new_file)]) == 0
    assert main(["rotate-key", "--new-key-file", str(new_file)]) == 0
    with pytest.raises(VaultError, match="key is wrong"):
        Vault.open().read()
    monkeypatch.setenv(KEY_FILE_ENV, str(new_file))
    assert Vault.open().read()["gusto"]["app"]["client_secret"] == "s"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600


def test_rotate_to_same_key_refused(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Vault.open().update(lambda d: {"x": 1})
    assert main(["rotate-key", "--new-key-file", os.environ[KEY_FILE_ENV]]) == 1
    assert "already uses" in capsys.readouterr().err


def test_rotate_with_bad_new_key_changes_nothing(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Vault.open().update(lambda d: {"x": 1})
    before = store.read_bytes()
    bad = tmp_path / "bad.key"
    bad.write_text("not-a-key\n")
    assert main(["rotate-key", "--new-key-file", str(bad)]) == 1
    assert "not a valid key" in capsys.readouterr().err
    assert store.read_bytes() == before


def test_rotate_follows_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    saved: dict[str, str] = {"vault-key": generate_key().decode()}

    class FakeKeyring:
        @staticmethod
        def get_password(service: str, username: str) -> str | None:
            return saved.get(username)

        @staticmethod
        def set_password(service: str, username: str, value: str) -> None:
            saved[username] = value

    monkeypatch.setitem(sys.modules, "keyring", FakeKeyring)
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.setenv(PATH_ENV, str(tmp_path / "vault.enc"))
    Vault.open().update(lambda d: {"x": 1})
    old = saved["vault-key"]
    new_file = tmp_path / "new.key"
    assert main(["key", "generate", "--file", str(new_file)]) == 0
    assert main(["rotate-key", "--new-key-file", str(new_file)]) == 0
    assert saved["vault-key"] != old
    assert saved["vault-key"] == new_file.read_text().strip()
    assert Vault.open().read() == {"x": 1}
    assert "keyring" in capsys.readouterr().out


def test_missing_key_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.setitem(sys.modules, "keyring", None)
    assert main(["--vault", str(tmp_path / "v.enc"), "status"]) == 1
    assert "key generate" in capsys.readouterr().err


def test_key_generate_into_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    saved: dict[str, str] = {}

    class FakeKeyring:
        @staticmethod
        def get_password(service: str, username: str) -> str | None:
            return saved.get(f"{service}/{username}")

        @staticmethod
        def set_password(service: str, username: str, value: str) -> None:
            saved[f"{service}/{username}"] = value

    monkeypatch.setitem(sys.modules, "keyring", FakeKeyring)
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    assert main(["key", "generate", "--keyring"]) == 0
    (key,) = saved.values()
    assert key not in capsys.readouterr().out
    Vault.open(tmp_path / "v.enc").update(lambda d: {"x": 1})
    assert Vault.open(tmp_path / "v.enc", key=key).read() == {"x": 1}


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gusto_dynamics", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    for command in ("connect", "disconnect", "status", "rotate-key", "key"):
        assert command in result.stdout
