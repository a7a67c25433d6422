"""SIGTERM / SIGINT: stop without losing a document, doubling one, or saving a bookmark past one.

singer-sdk 0.54.9's own handler drains every sink, prints the latest STATE and exits 0, even
when the drain did not finish: Meltano or a scheduler then saves a bookmark past payrolls that
never reached Dynamics. This target replaces it (see ``TargetDynamicsFO.__init__``):

- a **document** is one payroll, contractor payment, vendor or worker taken from start to final
  outcome (or the STATE line being written). A signal that arrives inside one lets it finish;
  a second signal abandons it (its stored record has no outcome, so the next start settles it
  by looking it up in Dynamics first: exactly once either way);
- a signal outside a document stops at once: no more input is read;
- the STATE written on the way out is the latest one the tap sent whose every earlier payroll
  and payment has a final outcome (:class:`Progress`), never a later one;
- the exit status is 128 + the signal number (143 for SIGTERM, 130 for SIGINT), so Meltano and
  schedulers see a failed run.
"""

from __future__ import annotations

import copy
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# The SDK installs its handler for exactly these two.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def exit_status(signum: int) -> int:
    """The shell convention for death by a signal: 128 + its number."""
    return 128 + int(signum)


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class StopGate:
    """Where a stop may happen: between documents at once, inside one only when it ends.

    ``stop`` is called with the signal number when the process must stop now (it does not
    return); the gate decides *when* to call it.
    """

    def __init__(self, stop: Callable[[int], None]) -> None:
        self._stop = stop
        self._depth = 0
        self.signum: int | None = None

    @property
    def in_document(self) -> bool:
        return self._depth > 0

    def request(self, signum: int) -> None:
        """A stop signal arrived (called from the signal handler)."""
        repeated = self.signum is not None
        if not repeated:
            self.signum = signum
        if repeated or self._depth == 0:
            # Nothing in flight, or asked twice: the document in flight is abandoned, and its
            # stored record is settled at the next start.
            self._stop(self.signum or signum)

    @contextmanager
    def document(self) -> Iterator[None]:
        """One unit of work that is finished, once started, before a stop takes effect."""
        if self.signum is not None and self._depth == 0:
            self._stop(self.signum)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
        if self.signum is not None and self._depth == 0:
            self._stop(self.signum)


class Progress:
    """Which STATE the target may write: the latest one with no unsettled document before it.

    Payrolls and contractor payments are buffered by the SDK's batch sinks and posted at the
    drain; a STATE read after a buffered record covers that record. Each document gets a
    sequence number when it is received and is removed when it reaches a final outcome; each
    STATE remembers the sequence number of the last document received before it.
    """

    def __init__(self) -> None:
        self._seq = 0
        self._open: dict[str, list[int]] = {}
        self._states: list[tuple[int, dict[str, Any]]] = []

    def received(self, key: str) -> None:
        self._seq += 1
        self._open.setdefault(key, []).append(self._seq)

    def settled(self, key: str) -> None:
        waiting = self._open.get(key)
        if waiting:
            waiting.pop(0)
            if not waiting:
                del self._open[key]

    @property
    def unsettled(self) -> int:
        return sum(len(v) for v in self._open.values())

    def state(self, value: dict[str, Any]) -> None:
        self._states.append((self._seq, copy.deepcopy(value)))
        safe = self._safe_index()
        if safe is not None and safe > 0:
            # Older covered states can never be the answer again.
            del self._states[:safe]

    def _safe_index(self) -> int | None:
        oldest_open = min((seqs[0] for seqs in self._open.values()), default=None)
        found = None
        for index, (seq, _) in enumerate(self._states):
            if oldest_open is None or seq < oldest_open:
                found = index
        return found

    def safe_state(self) -> dict[str, Any] | None:
        """The latest STATE received that covers only documents with a final outcome."""
        index = self._safe_index()
        return None if index is None else copy.deepcopy(self._states[index][1])
