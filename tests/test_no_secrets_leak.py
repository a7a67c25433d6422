"""After connecting both systems and running tap-gusto | target-dynamics-fo from stored
credentials only, no token, secret or key appears in clear (or base64) in any file written."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import SANDBOX_TODAY
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from gd_vault import KEY_ENV, KEY_FILE_ENV, PATH_ENV, Vault, generate_key, write_key_file
from gusto_dynamics.cli import main

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    return shutil.which(name) or str(BIN / name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def encodings(secret: str) -> set[bytes]:
    """The secret in clear and base64 (standard and urlsafe) at every byte alignment, so it is
    found inside a longer encoded value such as a Basic auth header too."""
    raw = secret.encode()
    found = {raw}
    for pad in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * pad + raw)
            # Drop the leading quantum (mixes in the padding bytes) and the trailing one
            # (depends on what follows the secret in the real encoded value).
            core = encoded[4 if pad else 0 : len(encoded) - 4]
            if len(core) >= 12:
                found.add(core)
    return found


def scan(root: Path, secrets: dict[str, str], skip: set[Path]) -> list[str]:
    needles = {label: encodings(value) for label, value in secrets.items() if value}
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p not in skip):
        content = path.read_bytes()
        for label, variants in needles.items():
            if any(variant in content for variant in variants):
                hits.append(f"{label} in {path.relative_to(root)}")
    return hits


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[tuple[GustoSandbox, DynamicsSandbox]]:
    with (
        GustoSandbox(port=0, seed="demo", today=SANDBOX_TODAY) as gusto,
        DynamicsSandbox(port=0) as dynamics,
    ):
        yield gusto, dynamics


def test_no_secret_in_any_written_file(
    sandboxes: tuple[GustoSandbox, DynamicsSandbox],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gusto, dynamics = sandboxes
    work = tmp_path / "work"
    home = tmp_path / "home"
    work.mkdir()
    home.mkdir()
    key_dir = tmp_path / "keys"  # the key file is the one place the key may be, kept apart
    key_file = write_key_file(key_dir / "vault.key", generate_key())
    store = work / ".gusto-dynamics" / "vault.enc"
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv(KEY_FILE_ENV, str(key_file))
    monkeypatch.setenv(PATH_ENV, str(store))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)

    transcript = io.StringIO()

    def cli(args: list[str], stdin: str = "") -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(args)
        captured = capsys.readouterr()
        transcript.write(captured.out + captured.err)
        assert code == 0, captured.err

    for company in gusto.company_uuids:
        cli(
            [
                "connect",
                "gusto",
                "--api-url",
                gusto.url,
                "--client-id",
                gusto.client_id,
                "--client-secret-stdin",
                "--redirect-uri",
                f"http://127.0.0.1:{_free_port()}/callback",
                "--browser",
                "http",
                "--company",
                company,
            ],
            gusto.client_secret + "\n",
        )
    cli(
        [
            "connect",
            "dynamics",
            "--name",
            "sandbox",
            "--environment-url",
            dynamics.url,
            "--tenant-id",
            dynamics.tenant_id,
            "--client-id",
            dynamics.client_id,
            "--authority-host",
            dynamics.url,
            "--ca-bundle",
            dynamics.ca_bundle,
            "--client-secret-stdin",
        ],
        dynamics.client_secret + "\n",
    )
    vault = Vault.open()
    connected = vault.read()
    # Make the tap refresh one company, so rotated tokens are exercised as well.
    first = gusto.company_uuids[0]
    vault.update(lambda d: d["gusto"]["companies"][first].update(expires_at=0))

    start = (SANDBOX_TODAY - dt.timedelta(days=40)).isoformat()
    tap_config = work / "tap.json"
    tap_config.write_text(json.dumps({"credentials_store": str(store), "start_date": start}))
    target_config = work / "target.json"
    target_config.write_text(
        json.dumps(
            {
                "credentials_store": str(store),
                "dynamics_environment": "sandbox",
                # Not a secret. Needed while the target's schema default for authority_host
                # overrides the value stored by `connect dynamics` (reported to the target).
                "authority_host": dynamics.url,
                "mapping_file": str(ROOT / "config" / "mapping.yml"),
                "audit_db": str(work / ".gusto-dynamics" / "audit.sqlite"),
            }
        )
    )
    env = os.environ.copy()
    singer = work / "singer.jsonl"
    with singer.open("wb") as out, (work / "tap.log").open("wb") as log:
        tap = subprocess.run(
            [_tool("tap-gusto"), "--config", str(tap_config)],
            stdout=out,
            stderr=log,
            env=env,
            cwd=work,
            timeout=300,
            check=False,
        )
    assert tap.returncode == 0, (work / "tap.log").read_text()[-3000:]
    with (
        singer.open("rb") as source,
        (work / "target-state.jsonl").open("wb") as out,
        (work / "target.log").open("wb") as log,
    ):
        target = subprocess.run(
            [_tool("target-dynamics-fo"), "--config", str(target_config)],
            stdin=source,
            stdout=out,
            stderr=log,
            env=env,
            cwd=work,
            timeout=300,
            check=False,
        )
    assert target.returncode == 0, (work / "target.log").read_text()[-3000:]
    assert dynamics.entities.get("LedgerJournalHeaders"), "the run posted no journal"
    cli(["status"])
    cli(["status", "--json"])
    (work / "cli-transcript.txt").write_text(transcript.getvalue())

    after = vault.read()
    secrets: dict[str, str] = {
        "gusto client secret": gusto.client_secret,
        "dynamics client secret": dynamics.client_secret,
        "vault key": key_file.read_text().strip(),
    }
    for label, data in (("connect", connected), ("after run", after)):
        for uuid, record in data["gusto"]["companies"].items():
            secrets[f"{label} access token {uuid}"] = record["access_token"]
            secrets[f"{label} refresh token {uuid}"] = record["refresh_token"]
    assert (
        after["gusto"]["companies"][first]["refresh_token"]
        != (connected["gusto"]["companies"][first]["refresh_token"])
    ), "the tap did not refresh"

    hits = scan(tmp_path, secrets, skip={key_file})
    assert hits == []
    # Entra access tokens are JWTs; none may be written anywhere either.
    jwt = re.compile(rb"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.")
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != key_file]
    assert [str(p) for p in written if jwt.search(p.read_bytes())] == []
    assert len(written) >= 8  # store, configs, singer output, logs, state, audit db, transcript


def test_encodings_find_a_secret_inside_basic_auth() -> None:
    secret = "s3cr3t-value-0123456789"
    header = base64.b64encode(f"client-id:{secret}".encode())
    assert any(variant in header for variant in encodings(secret))
    assert not any(variant in base64.b64encode(b"client-id:other") for variant in encodings(secret))
