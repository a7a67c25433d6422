"""Exclusive file locks (``flock``) between gusto-dynamics processes and threads.

One mechanism for every lock file: the credential store's (its writes, its named locks) and
the audit store's (setting a new store up). Each ``open()`` is its own lock, so two threads of
one process exclude each other too.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

_POLL_SECONDS = 0.02


@contextlib.contextmanager
def file_lock(
    lock_path: Path, *, timeout: float | None, timed_out: Callable[[], Exception]
) -> Iterator[None]:
    """Hold the exclusive lock on ``lock_path`` (created 0600 if missing) for the block.

    ``timeout`` (seconds) makes it raise ``timed_out()`` instead of waiting forever.
    """
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _acquire(fd, timeout, timed_out)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, timeout: float | None, timed_out: Callable[[], Exception]) -> None:
    if timeout is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
        if time.monotonic() >= deadline:
            raise timed_out()
        time.sleep(_POLL_SECONDS)
