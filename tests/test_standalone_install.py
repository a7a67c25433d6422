"""Each plugin installs on its own: wheels into a fresh venv outside the checkout, no monorepo.

The wheels of every package are built once; a venv in a temporary folder then gets only
``tap-gusto`` (or only ``target-dynamics-fo``) and its real dependencies: the credential
store's package ``gusto-dynamics-vault`` (its wheel, as pip would fetch it from an index) and
what PyPI serves. Neither the sandbox, the connector nor the crash-test package is installed.
Both plugins then run from plain settings (no credential store) against the sandboxes, which
run here in the development venv with a pinned ``today``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).parent / "uv"
PACKAGES = ("vault", "faultpoints", "sandbox", "tap-gusto", "target-dynamics-fo", "connector")
SANDBOX_TODAY = dt.date(2026, 12, 3)
INSTALL_TIMEOUT = 600


def uv(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(UV), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=INSTALL_TIMEOUT,
        check=False,
        # Nothing of the development venv leaks into the fresh one.
        env={k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheels")
    for package in PACKAGES:
        # sdist first, wheel from the sdist (uv's default): what an index would serve, and
        # setuptools leaves no build/ folder in the checkout.
        uv("build", "--quiet", "--out-dir", str(out), str(ROOT / package))
    built = sorted(path.name for path in out.glob("*.whl"))
    assert len(built) == len(PACKAGES), built
    return out


def wheel(wheels: Path, distribution: str) -> str:
    (path,) = wheels.glob(f"{distribution.replace('-', '_')}-*.whl")
    return str(path)


def fresh_venv(tmp_path: Path, *requirements: str) -> Path:
    venv = tmp_path / "venv"
    assert not venv.resolve().is_relative_to(ROOT)
    uv("venv", "--quiet", "--python", sys.executable, str(venv), cwd=tmp_path)
    uv("pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), *requirements)
    return venv / "bin"


def installed(bin_dir: Path) -> set[str]:
    listed = uv("pip", "list", "--format", "json", "--python", str(bin_dir / "python"))
    return {item["name"] for item in json.loads(listed.stdout)}


@pytest.fixture(scope="module")
def gusto() -> Iterator[GustoSandbox]:
    with GustoSandbox(port=0, seed="demo", today=SANDBOX_TODAY) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def tap_run(
    wheels: Path, gusto: GustoSandbox, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("tap-alone")
    bin_dir = fresh_venv(work, wheel(wheels, "tap-gusto"), wheel(wheels, "gusto-dynamics-vault"))
    names = installed(bin_dir)
    assert "tap-gusto" in names
    assert not names & {"gusto-dynamics-sandbox", "gusto-dynamics", "target-dynamics-fo"}
    assert "gusto-dynamics-faultpoints" not in names  # crash hooks stay out of installs

    about = subprocess.run(
        [str(bin_dir / "tap-gusto"), "--about", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=work,
        check=True,
    )
    company = gusto.company("Summit Bakery Co").uuid
    seed_token = gusto.mint_refresh_token(company)
    token_file = work / "secrets" / "gusto-tokens.json"
    config = {
        "api_url": gusto.url,
        "client_id": gusto.client_id,
        "client_secret": gusto.client_secret,
        "company_ids": [company],
        "refresh_token": seed_token,
        "refresh_token_path": str(token_file),
        "status_file": str(work / "run-status.json"),
        "start_date": (SANDBOX_TODAY - dt.timedelta(days=45)).isoformat(),
    }
    config_file = work / "tap-config.json"
    config_file.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUSTO_DYNAMICS_")}
    sync = subprocess.run(
        [str(bin_dir / "tap-gusto"), "--config", str(config_file)],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    return {
        "about": json.loads(about.stdout),
        "sync": sync,
        "token_file": token_file,
        "seed_token": seed_token,
        "company": company,
        "work": work,
    }


def test_tap_alone_about_and_sync_from_plain_settings(tap_run: dict[str, Any]) -> None:
    about = tap_run["about"]
    assert about["name"] == "tap-gusto" and about["description"]
    settings = about["settings"]["properties"]
    assert {"refresh_token", "refresh_token_path", "client_id", "client_secret"} <= set(settings)
    assert settings["refresh_token"].get("secret") is True

    sync = tap_run["sync"]
    assert sync.returncode == 0, sync.stderr[-3000:]
    messages = [json.loads(line) for line in sync.stdout.splitlines() if line.startswith("{")]
    payrolls = [m for m in messages if m["type"] == "RECORD" and m["stream"] == "payrolls"]
    assert payrolls and all(m["record"]["company_uuid"] == tap_run["company"] for m in payrolls)
    assert any(m["type"] == "STATE" for m in messages)

    # The rotated refresh token was kept, owner-only, and is not the spent seed.
    token_file: Path = tap_run["token_file"]
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    kept = json.loads(token_file.read_text())
    assert kept["refresh_token"] and kept["refresh_token"] != tap_run["seed_token"]
    assert tap_run["seed_token"] not in sync.stderr and kept["refresh_token"] not in sync.stderr
    status = json.loads((tap_run["work"] / "run-status.json").read_text())
    assert status[f"gusto:{tap_run['company']}"]["last_run_ok"] is True


def test_target_alone_posts_a_hand_written_stream(
    wheels: Path, tap_run: dict[str, Any], tmp_path: Path
) -> None:
    bin_dir = fresh_venv(
        tmp_path, wheel(wheels, "target-dynamics-fo"), wheel(wheels, "gusto-dynamics-vault")
    )
    names = installed(bin_dir)
    assert "target-dynamics-fo" in names
    assert not names & {"gusto-dynamics-sandbox", "gusto-dynamics", "tap-gusto"}

    about = json.loads(
        subprocess.run(
            [str(bin_dir / "target-dynamics-fo"), "--about", "--format", "json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert about["description"]
    settings = set(about["settings"]["properties"])
    assert {"stream_names", "mapping_file", "audit_db"} <= settings
    assert not settings & {"load_method", "add_record_metadata", "batch_size_rows"}

    # One payroll and its company's employees as the tap sent them, in a stream written by hand
    # around them (the target refuses a payroll whose employees it has not seen).
    sync = tap_run["sync"]
    tapped = [json.loads(line) for line in sync.stdout.splitlines() if line.startswith("{")]
    payroll = next(
        m["record"]
        for m in tapped
        if m["type"] == "RECORD" and m["stream"] == "payrolls" and m["record"].get("processed")
    )
    employees = [m for m in tapped if m["type"] == "RECORD" and m["stream"] == "employees"]
    lines = [
        {
            "type": "SCHEMA",
            "stream": "employees",
            "schema": {"type": "object", "properties": {"uuid": {"type": "string"}}},
            "key_properties": ["uuid"],
        },
        *employees,
        {
            "type": "SCHEMA",
            "stream": "payrolls",
            "schema": {"type": "object", "properties": {"payroll_uuid": {"type": "string"}}},
            "key_properties": ["payroll_uuid"],
        },
        {"type": "RECORD", "stream": "payrolls", "record": payroll},
        {"type": "STATE", "value": {"bookmarks": {"payrolls": {"hand": "written"}}}},
    ]
    with DynamicsSandbox(port=0) as dyn:
        config = {
            **dyn.client_settings(),
            "mapping_file": str(tmp_path / "mapping.yml"),
            "audit_db": str(tmp_path / "audit.sqlite"),
        }
        shutil.copy(ROOT / "config" / "mapping.yml", tmp_path / "mapping.yml")
        (tmp_path / "target-config.json").write_text(json.dumps(config))
        run = subprocess.run(
            [str(bin_dir / "target-dynamics-fo"), "--config", str(tmp_path / "target-config.json")],
            input="".join(json.dumps(line) + "\n" for line in lines),
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        headers = dyn.entities["LedgerJournalHeaders"]
    assert len(headers) == 1
    states = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert states[-1] == {"bookmarks": {"payrolls": {"hand": "written"}}}
    assert dyn.client_secret not in run.stderr


def test_tap_installs_from_git_subdirectories_as_meltano_pip_url_does(tmp_path: Path) -> None:
    """The Hub definition's pip_url form, against this clone's committed HEAD."""
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    source = f"git+file://{ROOT}@{head}"
    bin_dir = fresh_venv(
        tmp_path, f"{source}#subdirectory=vault", f"{source}#subdirectory=tap-gusto"
    )
    about = subprocess.run(
        [str(bin_dir / "tap-gusto"), "--about", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert json.loads(about.stdout)["name"] == "tap-gusto"
    # setuptools-scm read the version from the repository around the subdirectory.
    assert json.loads(about.stdout)["version"] not in {"", "0.0.0"}
