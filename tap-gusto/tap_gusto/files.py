"""The tap's own small JSON files (rotated tokens, run status): replaced whole, owner-only, one
writer at a time across processes."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FILE_MODE = 0o600


def replace_json(path: Path, data: Any, *, indent: int | None = None) -> None:
    """``data`` as the new content of ``path``, by rename after fsync: a reader or a crash finds
    the old file or the new one, never a part. The temporary file is 0600 from its creation
    (``mkstemp``), before any byte is written; the folder is fsynced so the rename survives a
    power cut. The folder must exist."""
    text = json.dumps(data, indent=indent, sort_keys=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    renamed = False
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
        renamed = True
    finally:
        if not renamed:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``<path>.lock`` (created 0600); closing it releases it."""
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
