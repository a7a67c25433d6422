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


# Sources whose older cases this process has already dropped (see `record`).
_fresh_sources: set[str] = set()


def record(
    kind: str,
    name: str,
    injected: str,
    expected: str,
    observed: str,
    *,
    passed: bool,
    source: str,
) -> None:
    """Merge one case into the log (atomic replace, so a killed test never leaves half a file).

    ``source`` names the test that produced the case: the first case a process records for a
    source replaces every older case of that source, so cases a test no longer runs (e.g. kill
    points of an earlier seed) drop out of the table instead of lingering.
    """
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {"cases": []}
    cases = [c for c in data.get("cases", []) if (c.get("kind"), c.get("name")) != (kind, name)]
    if source not in _fresh_sources:
        _fresh_sources.add(source)
        cases = [c for c in cases if c.get("source") != source]
    cases.append(
        {
            "source": source,
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
