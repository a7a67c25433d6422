from __future__ import annotations

import logging
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from gd_vault import (
    KEY_ENV,
    KEY_FILE_ENV,
    Vault,
    VaultError,
    generate_key,
    redact,
    resolve_key,
    write_key_file,
)
from gd_vault.redact import install_log_redaction, register_secret, scrub
from gd_vault.vault import HEADER, NONCE_BYTES

WORKER = Path(__file__).with_name("_worker.py")
SECRET = "ya29.super-secret-access-token"


def _run_worker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(WORKER), *args],
        capture_output=True,
        text=True,
        check=check,
        env=os.environ.copy(),
        timeout=60,
    )


def _sample() -> dict[str, Any]:
    return {
        "gusto": {
            "app": {"client_id": "cid", "client_secret": "app-secret"},
            "companies": {"c1": {"access_token": SECRET, "refresh_token": "rt-1", "expires_at": 5}},
        }
    }


def test_round_trip(key: bytes, store_path: Path) -> None:
    vault = Vault.open(store_path)
    assert vault.read() == {}
    written = vault.update(lambda data: data.update(_sample()))
    assert written == _sample()
    assert Vault.open(store_path).read() == _sample()
    raw = store_path.read_bytes()
    assert raw.startswith(HEADER)
    assert SECRET.encode() not in raw
    assert b"app-secret" not in raw


def test_update_may_return_a_new_document(key: bytes, store_path: Path) -> None:
    vault = Vault.open(store_path)
    vault.update(lambda data: {"a": 1})
    assert vault.update(lambda data: {**data, "b": 2}) == {"a": 1, "b": 2}


def test_each_write_uses_a_fresh_nonce(key: bytes, store_path: Path) -> None:
    vault = Vault.open(store_path)
    vault.update(lambda data: {"same": True})
    first = store_path.read_bytes()
    vault.update(lambda data: {"same": True})
    second = store_path.read_bytes()
    nonce = slice(len(HEADER), len(HEADER) + NONCE_BYTES)
    assert first[nonce] != second[nonce]


def test_env_var_path_default(key: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUSTO_DYNAMICS_VAULT", str(tmp_path / "env" / "v.enc"))
    Vault.open().update(lambda data: {"x": 1})
    assert (tmp_path / "env" / "v.enc").exists()


def test_wrong_key_refuses_and_overwrites_nothing(
    key: bytes, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Vault.open(store_path).update(lambda data: data.update(_sample()))
    before = store_path.read_bytes()
    other = generate_key()
    monkeypatch.setenv(KEY_ENV, other.decode())
    vault = Vault.open(store_path)
    with pytest.raises(VaultError, match="key is wrong") as info:
        vault.read()
    with pytest.raises(VaultError):
        vault.update(lambda data: {"clobbered": True})
    assert store_path.read_bytes() == before
    message = str(info.value)
    assert other.decode() not in message and key.decode() not in message


@pytest.mark.parametrize("offset", [0, 7, len(HEADER) + 1, -1, -20])
def test_tampered_file_is_refused(key: bytes, store_path: Path, offset: int) -> None:
    vault = Vault.open(store_path)
    vault.update(lambda data: data.update(_sample()))
    blob = bytearray(store_path.read_bytes())
    blob[offset] ^= 0x01
    store_path.write_bytes(bytes(blob))
    with pytest.raises(VaultError, match="left untouched"):
        vault.read()
    with pytest.raises(VaultError):
        vault.update(lambda data: {})
    assert store_path.read_bytes() == bytes(blob)


@pytest.mark.parametrize("length", [0, 3, len(HEADER), len(HEADER) + NONCE_BYTES + 5, -1])
def test_truncated_file_is_refused(key: bytes, store_path: Path, length: int) -> None:
    vault = Vault.open(store_path)
    vault.update(lambda data: data.update(_sample()))
    blob = store_path.read_bytes()
    store_path.write_bytes(blob[:length])
    with pytest.raises(VaultError, match=r"truncated|cannot be decrypted"):
        vault.read()


def test_foreign_file_is_refused(key: bytes, store_path: Path) -> None:
    store_path.parent.mkdir(parents=True)
    store_path.write_text('{"not": "a vault"}')
    with pytest.raises(VaultError, match="not a gusto-dynamics vault"):
        Vault.open(store_path).read()


def test_missing_key(monkeypatch: pytest.MonkeyPatch, store_path: Path) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.setitem(sys.modules, "keyring", None)  # keyring unavailable
    with pytest.raises(VaultError, match="key generate"):
        Vault.open(store_path)


def test_invalid_key_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "short-and-wrong-key-material")
    with pytest.raises(VaultError) as info:
        resolve_key()
    assert "short-and-wrong" not in str(info.value)
    assert KEY_ENV in str(info.value)


def test_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_path: Path) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    key_file = write_key_file(tmp_path / "keys" / "vault.key", generate_key())
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    monkeypatch.setenv(KEY_FILE_ENV, str(key_file))
    Vault.open(store_path).update(lambda data: {"ok": True})
    assert Vault.open(store_path).read() == {"ok": True}
    with pytest.raises(VaultError, match="refusing to overwrite"):
        write_key_file(key_file, generate_key())
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "nope.key"))
    with pytest.raises(VaultError, match="does not exist"):
        resolve_key()


def test_keyring_is_used_when_available(monkeypatch: pytest.MonkeyPatch, store_path: Path) -> None:
    material = generate_key()

    class FakeKeyring:
        @staticmethod
        def get_password(service: str, username: str) -> str | None:
            return material.decode() if service == "gusto-dynamics" else None

    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.setitem(sys.modules, "keyring", FakeKeyring)
    Vault.open(store_path).update(lambda data: {"via": "keyring"})
    assert Vault.open(store_path, key=material).read() == {"via": "keyring"}


def test_file_and_dir_modes(key: bytes, store_path: Path) -> None:
    vault = Vault.open(store_path)
    vault.update(lambda data: {"x": 1})
    assert stat.S_IMODE(store_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store_path.parent.stat().st_mode) == 0o700
    for lock_file in store_path.parent.glob("*.lock"):
        assert stat.S_IMODE(lock_file.stat().st_mode) == 0o600


def test_rotate_key(key: bytes, store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = Vault.open(store_path)
    vault.update(lambda data: data.update(_sample()))
    new_key = generate_key()
    vault.rotate_key(new_key)
    assert vault.read() == _sample()  # this handle switched to the new key
    with pytest.raises(VaultError, match="key is wrong"):
        Vault.open(store_path, key=key).read()
    monkeypatch.setenv(KEY_ENV, new_key.decode())
    assert Vault.open(store_path).read() == _sample()
    assert stat.S_IMODE(store_path.stat().st_mode) == 0o600


def test_rotate_with_wrong_current_key_changes_nothing(key: bytes, store_path: Path) -> None:
    Vault.open(store_path).update(lambda data: {"x": 1})
    before = store_path.read_bytes()
    with pytest.raises(VaultError):
        Vault.open(store_path, key=generate_key()).rotate_key(generate_key())
    assert store_path.read_bytes() == before


def test_reprs_hide_secrets(key: bytes, store_path: Path) -> None:
    vault = Vault.open(store_path)
    data = vault.update(lambda d: d.update(_sample()))
    for text in (repr(vault), repr(data), str(data), repr(data["gusto"]["companies"]["c1"])):
        assert SECRET not in text and "app-secret" not in text and "rt-1" not in text
        assert key.decode() not in text
    assert "cid" in repr(data)  # non-secret fields stay visible for debugging
    assert redact(_sample())["gusto"]["app"]["client_secret"] == "***"


def test_non_json_data_is_refused(key: bytes, store_path: Path) -> None:
    vault = Vault.open(store_path)
    with pytest.raises(VaultError, match="JSON types"):
        vault.update(lambda data: {"when": object()})
    assert not store_path.exists()


def test_concurrent_processes_lose_no_update(key: bytes, store_path: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), "incr", str(store_path), f"p{i}", "20"],
            env=os.environ.copy(),
        )
        for i in range(4)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    data = Vault.open(store_path).read()
    assert data["counter"] == 80
    assert data["by"] == {f"p{i}": 20 for i in range(4)}


def test_concurrent_threads_lose_no_update(key: bytes, store_path: Path) -> None:
    vault = Vault.open(store_path)

    def work() -> None:
        for _ in range(15):
            vault.update(lambda data: data.update(counter=data.get("counter", 0) + 1))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert vault.read()["counter"] == 60


def test_first_writers_racing_to_create_the_store_directory_all_succeed(
    key: bytes, tmp_path: Path
) -> None:
    vault = Vault.open(tmp_path / "new" / "dir" / "vault.enc")
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def work() -> None:
        start.wait()
        try:
            vault.update(lambda data: data.update(counter=data.get("counter", 0) + 1))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert vault.read()["counter"] == 8


def test_lock_excludes_across_processes(key: bytes, store_path: Path, tmp_path: Path) -> None:
    ready, release = tmp_path / "ready", tmp_path / "release"
    holder = subprocess.Popen(
        [
            sys.executable,
            str(WORKER),
            "hold",
            str(store_path),
            "gusto-refresh:c1",
            str(ready),
            str(release),
        ],
        env=os.environ.copy(),
    )
    try:
        while not ready.exists():
            assert holder.poll() is None, "lock holder died"
            time.sleep(0.01)
        vault = Vault.open(store_path)
        with (
            pytest.raises(VaultError, match="Timed out"),
            vault.lock("gusto-refresh:c1", timeout=0.2),
        ):
            pass
        with vault.lock("gusto-refresh:other", timeout=5):
            pass  # a different name is independent
    finally:
        release.write_text("go")
        assert holder.wait(timeout=30) == 0
    with Vault.open(store_path).lock("gusto-refresh:c1", timeout=30):
        pass


def test_lock_excludes_threads_and_is_not_reentrant(key: bytes, store_path: Path) -> None:
    vault = Vault.open(store_path)
    outcome: list[str] = []

    def contender() -> None:
        try:
            with vault.lock("job", timeout=0.2):
                outcome.append("acquired")
        except VaultError:
            outcome.append("excluded")

    with vault.lock("job"):
        thread = threading.Thread(target=contender)
        thread.start()
        thread.join()
        with pytest.raises(VaultError, match="not re-entrant"), vault.lock("job"):
            pass
    assert outcome == ["excluded"]
    with vault.lock("job", timeout=1):
        pass


def test_update_inside_update_raises_instead_of_deadlocking(key: bytes, store_path: Path) -> None:
    vault = Vault.open(store_path)
    with pytest.raises(VaultError, match="not re-entrant"):
        vault.update(lambda data: vault.update(lambda inner: {}))


def test_kill_before_replace_leaves_old_file(key: bytes, store_path: Path) -> None:
    Vault.open(store_path).update(lambda data: data.update(version="old"))
    result = _run_worker("crash-before-replace", str(store_path), check=False)
    assert result.returncode == 9
    vault = Vault.open(store_path)
    assert vault.read() == {"version": "old"}
    # the killed writer's temp file is cleaned up by the next writer
    vault.update(lambda data: data.update(version="next"))
    assert [p.name for p in store_path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_kill_after_replace_leaves_new_file(key: bytes, store_path: Path) -> None:
    Vault.open(store_path).update(lambda data: data.update(version="old"))
    result = _run_worker("crash-after-replace", str(store_path), check=False)
    assert result.returncode == 9
    assert Vault.open(store_path).read() == {"version": "new"}


def test_sigkill_during_writes_never_leaves_a_broken_file(
    key: bytes, store_path: Path, tmp_path: Path
) -> None:
    vault = Vault.open(store_path)
    last = 0
    for attempt in range(3):
        ready = tmp_path / f"ready{attempt}"
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), "loop", str(store_path), str(ready)],
            env=os.environ.copy(),
        )
        while not ready.exists():
            assert proc.poll() is None
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        data = vault.read()  # must decrypt: old or new, never broken
        assert data["counter"] >= last + 5
        last = data["counter"]


# -- the one redaction rule for server text and log lines -----------------------------------


def test_scrub_removes_secret_shapes_and_known_values() -> None:
    register_secret("registered-secret-value")
    text = (
        'Authorization: Bearer abc.DEF-123_xyz {"refresh_token": "rt-1234567", '
        '"client_secret":"cs_ABCDEFG"} grant_type=refresh_token&verification_token=vt-9876543 '
        "echo registered-secret-value key " + "A" * 43 + "= payroll 1c2d3e4f token expired"
    )
    clean = scrub(text, ["given"])
    for secret in ("abc.DEF-123_xyz", "rt-1234567", "cs_ABCDEFG", "vt-9876543", "A" * 43):
        assert secret not in clean
    assert "registered-secret-value" not in clean
    assert "Bearer ***" in clean
    assert "payroll 1c2d3e4f token expired" in clean


def test_every_log_record_is_scrubbed_once_installed(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    with caplog.at_level(logging.INFO):
        logging.getLogger("anything").info("server said %s", "Authorization: Bearer s3cr3t-tok")
    assert "s3cr3t-tok" not in caplog.text
    assert "Bearer ***" in caplog.text


def test_reading_the_store_registers_its_secrets(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path / "v.enc", key=generate_key())
    vault.update(lambda d: d.update({"gusto": {"app": {"client_secret": "only-in-store-42"}}}))
    vault.read()
    assert scrub("echoed only-in-store-42") == "echoed ***"
