"""Helpers shared by the end-to-end tests (imported by tests/conftest.py and test modules)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SANDBOX_MAPPING = ROOT / "config" / "mapping.yml"
DYNAMICS_ENVIRONMENT = "sandbox"
# The Gusto sandbox's pinned "today" in every end-to-end test: no test depends on the real date.
# 2026-12-03 is the day back-to-back list windows lost a payroll (issue 10).
SANDBOX_TODAY = dt.date(2026, 12, 3)


def processed_payrolls(gusto: Any, start: dt.date | None = None) -> dict[str, str]:
    """Gusto's own list: payroll uuid -> company uuid of every processed payroll paid on or
    after ``start`` (default: the tap's default start, one year before the sandbox's today)."""
    since = (start or gusto.today - dt.timedelta(days=365)).isoformat()
    return {
        payroll["uuid"]: company["uuid"]
        for company in gusto.info()["companies"]
        for payroll in company["payrolls"]
        if payroll["processed"] and payroll["check_date"] >= since
    }


def fill_store(data: dict[str, Any], gusto: Any, dyn: Any) -> None:
    """Credential-store content: every company of a Gusto sandbox and the Dynamics sandbox as
    environment 'sandbox' (pass to ``Vault.update``)."""
    section = data.setdefault("gusto", {})
    section["app"] = {
        "client_id": gusto.client_id,
        "client_secret": gusto.client_secret,
        "api_url": gusto.url,
    }
    companies = section.setdefault("companies", {})
    for company_uuid in gusto.company_uuids:
        companies[company_uuid] = {
            "company_uuid": company_uuid,
            "access_token": None,
            "refresh_token": gusto.mint_refresh_token(company_uuid),
            "expires_at": 0,
            "api_url": gusto.url,
            "pending_refresh_token": None,
        }
    data.setdefault("dynamics", {}).setdefault("environments", {})[DYNAMICS_ENVIRONMENT] = {
        **dyn.client_settings(),
        "certificate_pem": None,
        "certificate_thumbprint": None,
    }


def tool(name: str) -> str:
    """Path of a console script installed in the running virtualenv."""
    path = BIN / name
    return str(path) if path.exists() else name


def target_config(
    directory: Path, credential_store: Path, mapping: Path, **extra: Any
) -> dict[str, Any]:
    """Target settings reading Dynamics credentials from the store; audit DB in `directory`."""
    return {
        "credentials_store": str(credential_store),
        "dynamics_environment": DYNAMICS_ENVIRONMENT,
        "mapping_file": str(mapping),
        "audit_db": str(directory / "audit.sqlite"),
        "request_deadline_seconds": 120,
        **extra,
    }


def write_config(directory: Path, config: dict[str, Any], name: str = "target-config.json") -> Path:
    path = directory / name
    path.write_text(json.dumps(config))
    return path


@dataclass
class TargetRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def states(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]


def run_target(config_file: Path, messages: str, env: dict[str, str] | None = None) -> TargetRun:
    result = subprocess.run(
        [tool("target-dynamics-fo"), "--config", str(config_file)],
        input=messages,
        capture_output=True,
        text=True,
        cwd=config_file.parent,
        env=env or dict(os.environ),
        check=False,
    )
    return TargetRun(result.returncode, result.stdout, result.stderr)


@dataclass
class PipelineRun:
    tap_returncode: int
    target: TargetRun
    tap_output: str
    audit_db: Path
    config_file: Path
    entities_after_first: dict[str, list[dict[str, Any]]]
    rerun: TargetRun
    entities_after_rerun: dict[str, list[dict[str, Any]]]
    writes_during_rerun: int


def write_requests(stats: dict[str, Any]) -> int:
    """Requests that could change Dynamics (POST/PATCH/PUT/DELETE, $batch included)."""
    return sum(
        count
        for methods in stats["requests"].values()
        for method, statuses in methods.items()
        if method != "GET"
        for count in statuses.values()
    )
