"""Named kill points for crash testing, shared by tap-gusto and target-dynamics-fo.

``GUSTO_DYNAMICS_KILL_AT=<point>:<n>`` makes the process ``os._exit(137)`` (the exit status of
SIGKILL) at the n-th hit of that point: no ``finally`` blocks, no atexit handlers, no buffered
output flushed, exactly like a power cut or the OOM killer. The chaos tests (``tests/chaos``) use
it to stop the pipeline between any two durable steps and prove that a rerun converges.

``GUSTO_DYNAMICS_KILL_TRACE=<directory>`` instead counts the hits of every point and writes them
to ``<directory>/<pid>.json`` when the process exits normally, so a test can learn how often a
point is reached before choosing where to kill.

Both variables are read once, at import. When neither is set, ``hit`` is a function that returns
at once, so the hooks cost one call per point and change nothing.

This is its own tiny package, not part of the credential store: neither plugin requires it.
Each plugin imports it through a shim (``tap_gusto.faults``, ``target_dynamics_fo.faults``)
that falls back to a no-op when it is not installed, so production installs carry no crash
hooks and a standalone plugin never needs the monorepo.
"""

from __future__ import annotations

import atexit
import json
import os
from collections import Counter
from pathlib import Path

KILL_ENV = "GUSTO_DYNAMICS_KILL_AT"
TRACE_ENV = "GUSTO_DYNAMICS_KILL_TRACE"
KILL_EXIT_CODE = 137

# Every point the plugins call, in pipeline order. Chaos tests pick from this list, and a test
# checks that the code calls each of them (a renamed point must not silently stop being tested).
TAP_POINTS: tuple[str, ...] = (
    "tap.request.before",  # a Gusto API request is about to be sent
    "tap.request.after",  # its response arrived, not yet used
    "tap.refresh.before_request",  # token refresh: the grant is about to be exchanged
    "tap.refresh.after_response",  # Gusto rotated the refresh token; the new one is only in memory
    "tap.store.before_write",  # the rotated tokens are about to be written to the store
    "tap.store.after_write",  # the rotated tokens are durable; the new access token is unused
    "tap.payroll.before_emit",  # a complete payroll record is about to be written to stdout
    "tap.payroll.after_emit",  # the SDK wrote it, the bookmark has not moved yet
    "tap.state.before",  # a tap STATE message is about to be written
    "tap.state.after",  # it was written
)
TARGET_POINTS: tuple[str, ...] = (
    "target.record.received",  # a record was read from stdin, nothing done with it yet
    "target.payroll.stored",  # the payroll is in the audit store, not yet posted
    "target.reference.before",  # about to read Dynamics reference data (accounts, dimensions)
    "target.lookup.before",  # about to look the journal header up in Dynamics
    "target.lookup.after",  # the lookup answered, nothing decided yet
    "target.batch.before",  # the $batch with header and lines is about to be sent
    "target.batch.after",  # Dynamics committed the $batch; nothing recorded locally
    "target.audit.before_outcome",  # about to write a payroll's outcome to the audit store
    "target.audit.after_outcome",  # the outcome is in the audit store
    "target.invoice.batch.before",  # a contractor payment's AP invoice $batch is about to go
    "target.invoice.batch.after",  # Dynamics committed it; nothing recorded locally
    "target.state.before",  # the target is about to print a STATE message
    "target.state.after",  # the STATE message is on stdout
)
POINTS: tuple[str, ...] = TAP_POINTS + TARGET_POINTS


def _parse(spec: str | None) -> tuple[str, int] | None:
    if not spec:
        return None
    point, _, count = spec.rpartition(":")
    if not point or not count.isdigit() or int(count) < 1:
        # A typo here would make a crash test pass without crashing anything.
        raise ValueError(
            f"{KILL_ENV}={spec!r} is not '<point>:<n>' with n >= 1; points: {', '.join(POINTS)}"
        )
    if point not in POINTS:
        raise ValueError(f"{KILL_ENV} names an unknown point {point!r}; known: {', '.join(POINTS)}")
    return point, int(count)


class _Trace:
    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self.counts: Counter[str] = Counter()
        atexit.register(self.write)

    def write(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{os.getpid()}.json"
        path.write_text(json.dumps(dict(self.counts), sort_keys=True), encoding="utf-8")


_KILL = _parse(os.environ.get(KILL_ENV))
_TRACE = _Trace(os.environ[TRACE_ENV]) if os.environ.get(TRACE_ENV) else None
_hits = 0


def _noop(point: str) -> None:
    return


def _armed(point: str) -> None:
    global _hits  # noqa: PLW0603 - one counter per process, by design
    if _TRACE is not None:
        _TRACE.counts[point] += 1
    if _KILL is not None and point == _KILL[0]:
        _hits += 1
        if _hits >= _KILL[1]:
            os._exit(KILL_EXIT_CODE)


#: Call at a named point; exits the process when ``GUSTO_DYNAMICS_KILL_AT`` says so.
hit = _armed if (_KILL is not None or _TRACE is not None) else _noop
