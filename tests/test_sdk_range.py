"""The plugins' SDK standard suites on the lowest and the highest singer-sdk they accept.

Both plugins declare ``singer-sdk>=0.54.2,<0.55`` and use only the SDK's public surface, so
they must pass the SDK's own standard tests at both ends of that range. The highest end is
the development venv's pin (requirements-dev.txt); the lowest gets a venv of its own in a
temporary folder, built with uv (its cache makes the second run take seconds). Only the
standard suites run there: the rest of the tests run once, on the highest version.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).parent / "uv"
RANGE = "singer-sdk>=0.54.2,<0.55"
LOWEST = "0.54.2"
# The newest singer-sdk release below 0.55 on PyPI at the time of writing. The lowest is the first
# release with the public singer_sdk.helpers.conform that the tap uses (0.53.x lacks it).
HIGHEST = "0.54.9"
SUITES = ("tap-gusto/tests/test_core.py", "target-dynamics-fo/tests/test_sdk_standard.py")
# The development packages the suites import (sandbox and store for the tap's fixtures).
EDITABLE = ("vault", "faultpoints", "sandbox", "tap-gusto", "target-dynamics-fo")
TIMEOUT = 900


def test_both_plugins_declare_the_range_tested_here() -> None:
    for plugin in ("tap-gusto", "target-dynamics-fo"):
        text = (ROOT / plugin / "pyproject.toml").read_text()
        assert f'"{RANGE}"' in text, plugin
    pinned = re.search(
        r"singer-sdk\[testing\]==([\d.]+)", (ROOT / "requirements-dev.txt").read_text()
    )
    assert pinned and pinned.group(1) == HIGHEST


def run_suites(python: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUITES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )


def sdk_version(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('singer-sdk'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.mark.parametrize("version", [LOWEST, HIGHEST])
def test_standard_suites_pass_on_the_ends_of_the_range(version: str, tmp_path: Path) -> None:
    if version == HIGHEST:
        python = Path(sys.executable)  # the development venv pins the highest version
    else:
        venv = tmp_path / f"sdk-{version}"
        env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
        subprocess.run(
            [str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)],
            check=True,
            env=env,
            timeout=TIMEOUT,
        )
        python = venv / "bin" / "python"
        editables = [arg for package in EDITABLE for arg in ("-e", str(ROOT / package))]
        install = subprocess.run(
            [
                str(UV),
                "pip",
                "install",
                "--quiet",
                "--python",
                str(python),
                f"singer-sdk[testing]=={version}",
                "pytest-timeout>=2.3",
                *editables,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=TIMEOUT,
            check=False,
        )
        assert install.returncode == 0, install.stderr[-3000:]
    assert sdk_version(python) == version
    result = run_suites(python, tmp_path)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    passed = re.search(r"(\d+) passed", result.stdout.splitlines()[-1])
    # Both standard suites ran (about 140 tests), not an empty collection.
    assert passed and int(passed.group(1)) >= 100, result.stdout[-2000:]
