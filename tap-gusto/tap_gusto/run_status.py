"""The outcome of each run per company, in a small non-secret JSON file.

``gusto-dynamics status`` shows it (last run, ok or not, and the message). It used to live in
the encrypted credential store; it holds no secret, and a tap installed without the store must
still be able to record it. The file is written 0600 anyway (messages name companies and
failures) by replace-after-fsync, so a reader never sees half a file.

Path: the tap setting ``status_file``, else ``$GUSTO_DYNAMICS_STATUS_FILE``, else
``.gusto-dynamics/run-status.json`` in the working directory (Meltano runs plugins from the
project root). Layout: ``{"gusto:<company_uuid>": {"last_run_at", "last_run_ok",
"last_run_message"}}``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tap_gusto.files import locked, replace_json

STATUS_FILE_ENV = "GUSTO_DYNAMICS_STATUS_FILE"
DEFAULT_STATUS_FILE = Path(".gusto-dynamics") / "run-status.json"


def status_path(configured: str | None = None) -> Path:
    value = configured or os.environ.get(STATUS_FILE_ENV)
    return Path(value).expanduser() if value else DEFAULT_STATUS_FILE


def read_status(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record_runs(path: Path, entries: Mapping[str, Mapping[str, Any]]) -> None:
    """Merge ``entries`` (key -> fields) into the file, one writer at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        data = read_status(path)
        for key, fields in entries.items():
            data.setdefault(key, {}).update(fields)
        replace_json(path, data, indent=2)
