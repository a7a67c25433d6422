"""Sending one atomic changeset exactly once, and when to look a record up again.

Every write whose answer may be lost is followed by a look-up, never by a blind resend: the
write may have committed. A document's header and lines go in ONE ``$batch`` changeset, which
F&O saves atomically, so a document is in Dynamics completely or not at all.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import backoff

from target_dynamics_fo.faults import hit
from target_dynamics_fo.fo import (
    ODataBatchError,
    ODataClient,
    ODataError,
    Operation,
    WriteOutcomeUnknownError,
)

LOGGER = logging.getLogger("target_dynamics_fo.posting")


@dataclass(frozen=True)
class Faults:
    """Fault points (``target_dynamics_fo.faults``) around a kind of document's steps."""

    batch: tuple[str, str]
    lookup: tuple[str, str] | None = None
    audit: tuple[str, str] | None = None


@dataclass(frozen=True)
class Sent:
    """What :func:`send_once` came to.

    ``header`` is set when the header is in Dynamics (``just_sent`` when it was found only after
    this run's write lost its answer, so this run wrote it); ``error`` when nothing was saved, or
    when Dynamics never confirmed (a :class:`WriteOutcomeUnknownError`); neither when it posted.
    """

    header: dict[str, Any] | None = None
    just_sent: bool = False
    error: ODataError | None = None
    attempts: int = 0


class _NotThereError(Exception):
    """A write whose answer was lost, and a look-up that found nothing: worth another try."""

    def __init__(self, error: WriteOutcomeUnknownError) -> None:
        super().__init__(error.message)
        self.error = error


def send_once(  # noqa: PLR0917
    client: ODataClient,
    ops: Sequence[Operation],
    number: str,
    find: Callable[[], dict[str, Any] | None],
    faults: tuple[str, str],
    what: str,
    *,
    looked_up: bool = False,
) -> Sent:
    """One header-and-lines changeset into Dynamics exactly once.

    ``find`` looks the header up by its deterministic number; ``faults`` name the fault points
    around the ``$batch``; ``what`` names the document in the log. ``looked_up`` says the
    caller has just looked and found nothing, so the first lookup is not repeated. A lost
    answer is followed by a look-up and, only when nothing is there, another attempt after the
    client's backoff, within its retry limit and deadline (the ``backoff`` library keeps that
    schedule); "record already exists" means an earlier attempt committed: look up.
    """
    found = None if looked_up else find()
    if found is not None:
        return Sent(found)
    started = time.monotonic()
    attempts = 0

    def waits() -> Generator[float, Any, None]:
        # backoff primes the generator once and discards that value; then wait k follows try k.
        yield 0.0
        yield from (client.backoff(n) for n in itertools.count(1))

    def out_of_time(_exc: Exception) -> bool:
        wait = client.backoff(attempts)
        elapsed = time.monotonic() - started
        return attempts >= client.max_retries or elapsed + wait > client.deadline_seconds

    @backoff.on_exception(waits, _NotThereError, jitter=None, giveup=out_of_time, logger=None)
    def attempt() -> Sent:
        nonlocal attempts
        attempts += 1
        try:
            hit(faults[0])
            client.batch(list(ops), journal_number=number)
            hit(faults[1])
        except WriteOutcomeUnknownError as exc:
            LOGGER.warning("%s %s: %s; looking it up before any retry", what, number, exc)
            found = find()
            if found is not None:
                return Sent(found, just_sent=True, attempts=attempts)
            raise _NotThereError(exc) from exc
        except ODataError as exc:
            if isinstance(exc, ODataBatchError) and exc.record_exists:
                found = find()
                if found is not None:
                    return Sent(found, attempts=attempts)
            return Sent(error=exc, attempts=attempts)
        return Sent(attempts=attempts)

    try:
        return attempt()
    except _NotThereError as gone:
        return Sent(error=gone.error, attempts=attempts)
