"""`python -m gd_sandbox up|info` as a real process: endpoints file, serving, clean SIGTERM exit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests


def test_up_writes_endpoints_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gd_sandbox",
            "up",
            "--state-dir",
            str(state),
            "--token-lifetime",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    endpoints_file = state / "endpoints.json"
    try:
        # Polling for readiness (not asserting on time): fail only if the process dies.
        while not endpoints_file.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        endpoints = json.loads(endpoints_file.read_text())
        assert os.stat(endpoints_file).st_mode & 0o077 == 0
        gusto = endpoints["gusto"]
        assert gusto["url"].startswith("http://127.0.0.1:")
        assert [c["name"] for c in gusto["companies"]] == [
            "Ridgeline Specialty Contractors",
            "Summit Bakery Co",
        ]
        info = requests.get(f"{gusto['url']}/_sandbox/info", timeout=10).json()
        assert info["client_id"] == gusto["client_id"]
        assert info["company_uuids"] == gusto["company_uuids"]
        assert info["token_lifetime"] == 60
        if "dynamics" in endpoints:
            dyn = endpoints["dynamics"]
            assert dyn["url"].startswith("https://127.0.0.1:")
            assert Path(dyn["ca_bundle"]).exists()
            assert dyn["tenant_id"] and dyn["client_id"] and dyn["client_secret"]
        shown = subprocess.run(
            [sys.executable, "-m", "gd_sandbox", "info", "--state-dir", str(state)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(shown.stdout) == endpoints
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "gd_sandbox up: gusto http://127.0.0.1:" in out
    assert not endpoints_file.exists()


def test_info_without_a_running_sandbox(tmp_path: Path) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "gd_sandbox", "info", "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 1
    assert "gd_sandbox up" in shown.stderr
