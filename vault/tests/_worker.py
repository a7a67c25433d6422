"""Child-process helper for the vault tests (run as a script, not collected by pytest)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from gd_vault import Vault
from gd_vault import vault as vault_module


def _bump(data: Any, who: str) -> None:
    data["counter"] = data.get("counter", 0) + 1
    data.setdefault("by", {}).setdefault(who, 0)
    data["by"][who] += 1


def main() -> None:
    command, path = sys.argv[1], sys.argv[2]
    vault = Vault.open(path)
    if command == "incr":
        who, times = sys.argv[3], int(sys.argv[4])
        for _ in range(times):
            vault.update(lambda data: _bump(data, who))
    elif command == "hold":
        name, ready, release = sys.argv[3], Path(sys.argv[4]), Path(sys.argv[5])
        with vault.lock(name):
            ready.write_text("held")
            while not release.exists():
                time.sleep(0.01)
    elif command == "crash-before-replace":
        os.replace = lambda *_a, **_k: os._exit(9)  # type: ignore[assignment]
        vault.update(lambda data: data.update(version="new"))
    elif command == "crash-after-replace":
        vault_module._fsync_dir = lambda _d: os._exit(9)  # type: ignore[assignment]
        vault.update(lambda data: data.update(version="new"))
    elif command == "loop":
        ready = Path(sys.argv[3])
        n = 0
        while True:
            vault.update(lambda data: _bump(data, "loop"))
            n += 1
            if n == 5:
                ready.write_text("running")
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
