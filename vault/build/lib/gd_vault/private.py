"""Files that hold payroll data or secrets: readable by their owner only, whatever the umask.

The audit trail holds every employee's pay line by line and the dry-run CSVs hold the journals;
under the usual 022 umask they would be world-readable. A folder is made private only when this
creates it, never an existing one (it may be the user's project or home).
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def private_directory(path: Path) -> Path:
    """Create ``path`` (and missing parents) as owner-only folders; leave existing ones alone."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for created in missing:
        # mkdir's mode is filtered by the umask; be explicit.
        created.chmod(DIRECTORY_MODE)
    return path


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists with mode 0600 (created so, or tightened) before it is written."""
    private_directory(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path
