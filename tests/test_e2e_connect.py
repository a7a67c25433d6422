"""`gusto-dynamics connect/status/disconnect` over HTTP against both sandboxes."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from e2e_support import SANDBOX_TODAY
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from gd_vault import KEY_ENV, KEY_FILE_ENV, PATH_ENV, Vault, generate_key
from gusto_dynamics.cli import main
from tap_gusto.tokens import AppCredentials, TokenManager

CLI = shutil.which("gusto-dynamics") or str(Path(sys.executable).with_name("gusto-dynamics"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def gusto() -> Iterator[GustoSandbox]:
    with GustoSandbox(port=0, seed="demo", today=SANDBOX_TODAY) as sandbox:
        yield sandbox


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(KEY_ENV, generate_key().decode())
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    path = tmp_path / "store" / "vault.enc"
    monkeypatch.setenv(PATH_ENV, str(path))
    return path


def _connect_args(gusto: GustoSandbox, company: str, *extra: str) -> list[str]:
    return [
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
        "--timeout",
        "30",
        *extra,
    ]


def _run_in_process(args: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code: int = main(args)
    return code


def _connect(gusto: GustoSandbox, company: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code = _run_in_process(_connect_args(gusto, company), gusto.client_secret + "\n", monkeypatch)
    assert code == 0


def _refresh(gusto: GustoSandbox, refresh_token: str) -> requests.Response:
    return requests.post(
        f"{gusto.url}/oauth/token",
        json={
            "client_id": gusto.client_id,
            "client_secret": gusto.client_secret,
            "refresh_token": refresh_token,
            "grant_type": "refresh_token",
        },
        timeout=10,
    )


def test_connect_two_companies_and_dynamics(
    gusto: GustoSandbox,
    dynamics: DynamicsSandbox,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = gusto.company_uuids[:2]
    _connect(gusto, first, monkeypatch)
    # The second company through the installed console script, secret piped on stdin.
    result = subprocess.run(
        [CLI, *_connect_args(gusto, second)],
        input=gusto.client_secret + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert gusto.company(second).name in result.stdout
    assert "2 Gusto companies connected" in result.stdout

    data = Vault.open().read()
    companies = data["gusto"]["companies"]
    assert set(companies) == {first, second}
    assert data["gusto"]["app"]["client_id"] == gusto.client_id
    assert data["gusto"]["app"]["client_secret"] == gusto.client_secret
    for uuid in (first, second):
        record = companies[uuid]
        assert record["company_name"] == gusto.company(uuid).name
        assert record["api_url"] == gusto.url
        # The stored token really is that company's token.
        response = requests.get(
            f"{gusto.url}/v1/companies/{uuid}",
            headers={"Authorization": f"Bearer {record['access_token']}"},
            timeout=10,
        )
        assert response.status_code == 200

    dynamics_args = [*_dynamics_args(dynamics), "--client-secret-stdin"]
    assert _run_in_process(dynamics_args, dynamics.client_secret + "\n", monkeypatch) == 0
    assert set(Vault.open().read()["gusto"]["companies"]) == {first, second}  # untouched

    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out)
    (environment,) = report["dynamics_environments"]
    assert environment["environment_url"] == dynamics.url
    assert environment["last_check_ok"] is True
    assert {c["company_uuid"] for c in report["gusto_companies"]} == {first, second}
    assert {c["company_name"] for c in report["gusto_companies"]} == {
        gusto.company(first).name,
        gusto.company(second).name,
    }
    assert main(["status"]) == 0
    out += capsys.readouterr().out + result.stdout + result.stderr
    for record in companies.values():
        assert record["access_token"] not in out
        assert record["refresh_token"] not in out
    assert gusto.client_secret not in out
    assert dynamics.client_secret not in out
    assert gusto.company(second).name in out and dynamics.url in out


def test_stored_token_set_is_usable_by_the_tap(
    gusto: GustoSandbox, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    company = gusto.company_uuids[1]
    _connect(gusto, company, monkeypatch)
    vault = Vault.open()
    before = vault.read()["gusto"]["companies"][company]
    manager = TokenManager(
        vault, company, AppCredentials(gusto.client_id, gusto.client_secret), gusto.url
    )
    assert manager.access_token() == before["access_token"]  # still fresh: no refresh
    new_access = manager.refresh_after_unauthorized(before["access_token"])
    after = vault.read()["gusto"]["companies"][company]
    assert new_access == after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]
    assert after["last_refresh_at"]


def test_state_mismatch_is_refused_and_nothing_stored(gusto: GustoSandbox, store: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            CLI,
            "connect",
            "gusto",
            "--api-url",
            gusto.url,
            "--client-id",
            gusto.client_id,
            "--client-secret-stdin",
            "--redirect-uri",
            f"http://127.0.0.1:{port}/callback",
            "--browser",
            "none",
            "--timeout",
            "60",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(gusto.client_secret + "\n")
    proc.stdin.close()
    authorize_url = ""
    for line in proc.stdout:
        if "/oauth/authorize?" in line:
            authorize_url = line.strip()
        if line.startswith("Waiting"):
            break
    assert authorize_url
    # A genuine authorization, but carrying another attempt's state (e.g. a stale tab or CSRF).
    parts = urlsplit(authorize_url)
    query = dict(parse_qsl(parts.query))
    query["state"] = "someone-elses-state"
    forged = f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}"
    response = requests.get(forged, timeout=10)
    assert response.status_code == 400  # the callback page refuses it
    assert proc.wait(timeout=30) == 1
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    assert "state does not match" in stderr
    assert not store.exists()


def test_wrong_client_secret_is_refused(
    gusto: GustoSandbox,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = _run_in_process(
        _connect_args(gusto, gusto.company_uuids[0]), "not-the-secret\n", monkeypatch
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "client id or client secret is wrong" in err
    assert "not-the-secret" not in err
    assert not store.exists()


def test_no_redirect_times_out(
    gusto: GustoSandbox,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = _connect_args(gusto, gusto.company_uuids[0])
    args[args.index("http")] = "none"
    args[args.index("30")] = "0.2"
    assert _run_in_process(args, gusto.client_secret + "\n", monkeypatch) == 1
    assert "No redirect arrived" in capsys.readouterr().err
    assert not store.exists()


def test_reconnect_replaces_and_revokes_the_old_grant(
    gusto: GustoSandbox, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    company = gusto.company_uuids[0]
    _connect(gusto, company, monkeypatch)
    old = Vault.open().read()["gusto"]["companies"][company]
    # Second run: the stored app credentials are reused, no secret needed.
    args = [a for a in _connect_args(gusto, company) if a != "--client-secret-stdin"]
    assert _run_in_process(args, "", monkeypatch) == 0
    new = Vault.open().read()["gusto"]["companies"][company]
    assert new["refresh_token"] != old["refresh_token"]
    assert _refresh(gusto, old["refresh_token"]).json()["error"] == "invalid_grant"
    assert _refresh(gusto, new["refresh_token"]).status_code == 200


def test_disconnect_revokes_and_removes(
    gusto: GustoSandbox,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = gusto.company_uuids[:2]
    _connect(gusto, first, monkeypatch)
    _connect(gusto, second, monkeypatch)
    record = Vault.open().read()["gusto"]["companies"][first]
    assert main(["disconnect", "gusto", first]) == 0
    data = Vault.open().read()
    assert set(data["gusto"]["companies"]) == {second}
    refreshed = _refresh(gusto, record["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    api = requests.get(
        f"{gusto.url}/v1/companies/{first}",
        headers={"Authorization": f"Bearer {record['access_token']}"},
        timeout=10,
    )
    assert api.status_code == 401
    capsys.readouterr()
    assert main(["disconnect", "gusto", first]) == 1
    assert "not connected" in capsys.readouterr().err


def test_disconnect_when_gusto_unreachable_keeps_the_company(
    gusto: GustoSandbox,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    company = gusto.company_uuids[1]
    _connect(gusto, company, monkeypatch)
    dead = f"http://127.0.0.1:{_free_port()}"
    Vault.open().update(lambda d: d["gusto"]["companies"][company].update(api_url=dead))
    assert main(["disconnect", "gusto", company]) == 1
    assert "Nothing was removed" in capsys.readouterr().err
    assert company in Vault.open().read()["gusto"]["companies"]
    assert main(["disconnect", "gusto", company, "--force"]) == 0
    assert company not in Vault.open().read()["gusto"]["companies"]


# -- Dynamics -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dynamics() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox(port=0) as sandbox:
        yield sandbox


def _dynamics_args(dyn: DynamicsSandbox, name: str = "sandbox", **overrides: str) -> list[str]:
    values = {
        "--environment-url": dyn.url,
        "--tenant-id": dyn.tenant_id,
        "--client-id": dyn.client_id,
        "--authority-host": dyn.url,
        "--ca-bundle": dyn.ca_bundle,
        **overrides,
    }
    args = ["connect", "dynamics", "--name", name]
    for flag, value in values.items():
        args += [flag, value]
    return args


def test_connect_dynamics_with_secret(
    dynamics: DynamicsSandbox,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [*_dynamics_args(dynamics), "--client-secret-stdin"]
    assert _run_in_process(args, dynamics.client_secret + "\n", monkeypatch) == 0
    out = capsys.readouterr().out
    assert "Connection check passed" in out
    env = Vault.open().read()["dynamics"]["environments"]["sandbox"]
    assert env["client_secret"] == dynamics.client_secret
    assert env["environment_url"] == dynamics.url
    assert env["certificate_pem"] is None
    assert main(["status"]) == 0
    text = capsys.readouterr().out
    assert "client secret (stored)" in text and "last check: OK" in text
    assert dynamics.client_secret not in text + out


def test_connect_dynamics_wrong_secret_says_so(
    dynamics: DynamicsSandbox,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [*_dynamics_args(dynamics), "--client-secret-stdin"]
    assert _run_in_process(args, "wrong-secret-value\n", monkeypatch) == 1
    err = capsys.readouterr().err
    assert "client secret is wrong" in err
    assert "wrong-secret-value" not in err
    assert main(["status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (env,) = report["dynamics_environments"]
    assert env["last_check_ok"] is False
    assert "client secret is wrong" in env["last_check_message"]


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("tenant", "tenant"),
        ("environment", "environment_url"),
    ],
)
def test_connect_dynamics_wrong_setting_named(
    dynamics: DynamicsSandbox,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    override: str,
    expected: str,
) -> None:
    changes = (
        {"--tenant-id": "00000000-0000-0000-0000-000000000000"}
        if override == "tenant"
        else {"--environment-url": "https://other.operations.dynamics.com"}
    )
    args = [*_dynamics_args(dynamics, **changes), "--client-secret-stdin"]
    assert _run_in_process(args, dynamics.client_secret + "\n", monkeypatch) == 1
    assert expected in capsys.readouterr().err


def test_connect_dynamics_with_certificate(
    dynamics: DynamicsSandbox,
    store: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    certificate = dynamics.certificate
    assert certificate is not None
    pem = tmp_path / "app.pem"
    pem.write_text(certificate.private_key_pem + certificate.certificate_pem)
    args = [
        *_dynamics_args(dynamics, name="cert"),
        "--certificate",
        str(pem),
        "--thumbprint",
        certificate.sha1_thumbprint,
    ]
    assert _run_in_process(args, "", monkeypatch) == 0, capsys.readouterr().err
    env = Vault.open().read()["dynamics"]["environments"]["cert"]
    assert env["client_secret"] is None
    assert env["certificate_thumbprint"] == certificate.sha1_thumbprint
    capsys.readouterr()
    assert main(["status"]) == 0
    text = capsys.readouterr().out
    assert f"certificate (thumbprint {certificate.sha1_thumbprint})" in text
    assert "PRIVATE KEY" not in text


def test_disconnect_dynamics(
    dynamics: DynamicsSandbox,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [*_dynamics_args(dynamics, name="uat"), "--client-secret-stdin"]
    assert _run_in_process(args, dynamics.client_secret + "\n", monkeypatch) == 0
    assert main(["disconnect", "dynamics", "uat"]) == 0
    data = Vault.open().read()
    assert "uat" not in data["dynamics"]["environments"]
    assert "dynamics:uat" not in data.get("status", {})
    capsys.readouterr()
    assert main(["disconnect", "dynamics", "uat"]) == 1
    assert "No Dynamics environment named 'uat'" in capsys.readouterr().err


def test_failed_reconnect_keeps_working_dynamics_settings(
    dynamics: DynamicsSandbox,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [*_dynamics_args(dynamics, name="prod"), "--client-secret-stdin"]
    assert _run_in_process(args, dynamics.client_secret + "\n", monkeypatch) == 0
    assert _run_in_process(args, "a-typo\n", monkeypatch) == 1
    assert "were kept unchanged" in capsys.readouterr().err
    data = Vault.open().read()
    assert data["dynamics"]["environments"]["prod"]["client_secret"] == dynamics.client_secret
    assert data["status"]["dynamics:prod"]["last_check_ok"] is True
