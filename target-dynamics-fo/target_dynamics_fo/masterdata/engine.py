"""Plan, write, and after an unclear outcome look the record up again: master data, once.

A master record (a worker with its employments, a vendor) has no number of our own that a
look-up could confirm the way a journal's batch number does, so it is written as a difference:
read what F&O holds, plan the writes that make it agree (a pure function), send them. When the
answer is unclear (lost, or "record already exists") the write may have committed, so the
engine never resends blindly: it reads the record again and plans again. An empty plan then
means the write did commit; a smaller one writes only what is still missing.

The looks are bounded: the first failure of any kind earns one look (another writer may have
changed the record), an unclear one earns more up to the client's retry limit, and a lost
answer waits the client's backoff first. The loop is written here rather than with `backoff`
because each round re-plans from a fresh read instead of repeating the same call, and the
wait goes through the run's injected sleep (the sandbox's clock), which `backoff` cannot use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from target_dynamics_fo.fo import ODataClient, ODataError, WriteOutcomeUnknownError

LOGGER = logging.getLogger("target_dynamics_fo.masterdata")

Current = TypeVar("Current")
Plan = TypeVar("Plan")


@dataclass(frozen=True)
class MasterRecord(Generic[Current, Plan]):
    """One record to reconcile and the functions the engine needs for it.

    ``key`` names the record in messages ("worker GUS-1", "vendor V-1 in usmf"). ``current``
    returns what the run knows stands in F&O (it may be the run's cached copy); ``look_up``
    asks F&O again. ``plan`` is the pure planner (desired vs current); ``has_writes`` says
    whether a plan has anything to send; ``write`` sends one plan (one request or one
    changeset) and raises :class:`ODataError` when F&O does not confirm it.
    """

    key: str
    current: Callable[[], Current]
    look_up: Callable[[], Current]
    plan: Callable[[Current], Plan]
    has_writes: Callable[[Plan], bool]
    write: Callable[[Plan], None]


@dataclass(frozen=True)
class Patience:
    """How many writes of one record may go unconfirmed, and how long to wait between looks."""

    attempts: int
    delay: Callable[[int], float]  # seconds before the look after attempt n lost its answer
    sleep: Callable[[float], None]

    @classmethod
    def of(cls, client: ODataClient, sleep: Callable[[float], None] | None = None) -> Patience:
        """The client's own retry limit and backoff, so the whole run waits the same way."""
        return cls(client.max_retries, client.backoff, sleep or client.sleep)

    def look_again(self, error: ODataError, attempt: int) -> bool:
        """After write number ``attempt`` failed: look the record up and plan again?"""
        if not (attempt <= 1 or (unclear(error) and attempt < self.attempts)):
            return False
        if isinstance(error, WriteOutcomeUnknownError):
            self.sleep(self.delay(attempt))
        return True


def unclear(error: ODataError) -> bool:
    """The write may have committed: its answer was lost, or F&O already holds the record."""
    return isinstance(error, WriteOutcomeUnknownError) or error.record_exists


@dataclass(frozen=True)
class GaveUp:
    """The engine stopped writing a record; ``why`` and ``fix`` name the record and what to do."""

    key: str
    error: ODataError
    attempts: int

    @property
    def why(self) -> str:
        message = self.error.message
        if isinstance(self.error, WriteOutcomeUnknownError):
            return (
                f"Dynamics did not confirm the write of {self.key} after {self.attempts} "
                f"attempt(s), so it may or may not be saved: {message}"
            )
        if self.error.record_exists:
            return (
                f"Dynamics says {self.key} already exists, yet looking it up does not find it "
                f"as planned ({self.attempts} attempt(s)): {message}"
            )
        return f"Dynamics refused the write of {self.key}; nothing was saved: {message}"

    @property
    def fix(self) -> str:
        if isinstance(self.error, WriteOutcomeUnknownError):
            return (
                f"rerun once Dynamics answers: the next run looks {self.key} up first and "
                "writes only what is still missing"
            )
        if self.error.record_exists:
            return (
                f"find {self.key} in Dynamics (another legal entity, or the key spelt "
                "differently) and correct it or the mapping, then rerun"
            )
        return "read the Dynamics message, correct the cause in Dynamics or the mapping, then rerun"

    @property
    def unclear(self) -> bool:
        """The last write may have committed (see :func:`unclear`)."""
        return unclear(self.error)


@dataclass(frozen=True)
class Reconciled(Generic[Plan]):
    """What :func:`reconcile` came to.

    ``first`` is the plan made from what the run knew, ``plan`` the last one made (the same
    unless a failed write was looked up again). ``written``: F&O confirmed the writes of
    ``plan``. ``attempts``: writes sent. ``failure``: the engine gave up on ``plan``'s writes.
    Neither written nor failed: nothing was (left) to write, or a dry run.
    """

    first: Plan
    plan: Plan
    written: bool = False
    attempts: int = 0
    failure: GaveUp | None = None

    @property
    def settled_by_look_up(self) -> bool:
        """A write went unconfirmed and the look-up found nothing left to write."""
        return self.attempts > 0 and not self.written and self.failure is None


def reconcile(
    record: MasterRecord[Current, Plan], patience: Patience, *, dry_run: bool = False
) -> Reconciled[Plan]:
    """Bring one record in line: plan, write, and after a failed write look again and re-plan.

    A dry run plans once and writes nothing. Errors of ``current`` and ``look_up`` (F&O could
    not be read) propagate: nothing is known about the record then.
    """
    first = plan = record.plan(record.current())
    attempt = 0
    while record.has_writes(plan) and not dry_run:
        attempt += 1
        try:
            record.write(plan)
        except ODataError as exc:
            if not patience.look_again(exc, attempt):
                failure = GaveUp(record.key, exc, attempt)
                return Reconciled(first, plan, attempts=attempt, failure=failure)
            LOGGER.warning(
                "%s: write %d failed (%s); looking it up again", record.key, attempt, exc.message
            )
            plan = record.plan(record.look_up())
            continue
        return Reconciled(first, plan, written=True, attempts=attempt)
    return Reconciled(first, plan, attempts=attempt)
