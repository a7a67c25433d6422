"""The record of faults survived and bad inputs tried, read by `scripts/fault_table.py`.

Each test case calls `record(...)` once with what it injected, what it expected and what it
observed. Entries are keyed by (kind, name) and merged into `output/resilience.json`, so running
one test file updates its rows without dropping the others'.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOG_ENV = "GUSTO_DYNAMICS_RESILIENCE_LOG"
DEFAULT_LOG = ROOT / "output" / "resilience.json"


def log_path() -> Path:
    return Path(os.environ.get(LOG_ENV) or DEFAULT_LOG)


def record(
    kind: str, name: str, injected: str, expected: str, observed: str, *, passed: bool
) -> None:
    """Merge one case into the log (atomic replace, so a killed test never leaves half a file)."""
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {"cases": []}
    cases = [c for c in data.get("cases", []) if (c.get("kind"), c.get("name")) != (kind, name)]
    cases.append(
        {
            "kind": kind,
            "name": name,
            "injected": injected,
            "expected": expected,
            "observed": observed,
            "passed": passed,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
    )
    data["cases"] = cases
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
