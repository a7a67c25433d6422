"""Launch pipeline runs for one company at a time, coalescing bursts of triggers.

Gusto delivers webhooks at least once, retries up to 16 times and fires several events for one
payroll (processed, paid, ...). Each run re-reads everything it needs over the API, so a run that
has not started yet covers every trigger that arrives before it starts. Per company there is
therefore at most one run executing and one run queued; further triggers merge into the queued one.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

logger = logging.getLogger(__name__)

KIND_PAYROLL = "payroll"
KIND_PEOPLE = "people"
KINDS = (KIND_PAYROLL, KIND_PEOPLE)

DEFAULT_COMMAND = "meltano run tap-gusto target-dynamics-fo"
COMPANY_PLACEHOLDER = "{company_uuid}"

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


def is_uuid(value: object) -> bool:
    """True for a canonical 8-4-4-4-12 hex UUID string (what Gusto uses for every id)."""
    return isinstance(value, str) and bool(_UUID_RE.match(value))


def shell_line(template: str, company_uuid: str | None) -> str:
    """The command as one shell line (cron, docs): the company goes in the environment."""
    if company_uuid is None:
        if COMPANY_PLACEHOLDER in template:
            raise ValueError(f"the command uses {COMPANY_PLACEHOLDER} but no company was given")
        return template
    if not is_uuid(company_uuid):
        raise ValueError(f"refusing to run for company id {company_uuid!r}: not a UUID")
    command = template.replace(COMPANY_PLACEHOLDER, shlex.quote(company_uuid))
    ids = shlex.quote(json.dumps([company_uuid]))
    return f"export TAP_GUSTO_COMPANY_IDS={ids} && {command}"


@dataclass(frozen=True)
class RunOutcome:
    company_uuid: str
    log_path: Path | None
    kinds: tuple[str, ...]
    returncode: int
    attempt: int
    event_uuids: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass
class _Batch:
    company_uuid: str
    kinds: set[str] = field(default_factory=set)
    event_uuids: list[str] = field(default_factory=list)
    attempt: int = 1


Launcher = Callable[[str, tuple[str, ...], int], tuple[int, Path | None]]
"""(company_uuid, kinds, attempt) -> (returncode, log path)."""


class CommandLauncher:
    """Runs the configured shell command for each kind, one after the other.

    The company is passed as ``TAP_GUSTO_COMPANY_IDS='["<uuid>"]'`` in the environment (what the
    tap reads) and may also appear as ``{company_uuid}`` in the command; it is validated as a UUID
    and shell-quoted before substitution because commands are run through ``/bin/sh -c`` so that
    templates like ``tap-gusto --config a | target-dynamics-fo --config b`` work.
    """

    def __init__(
        self,
        commands: Mapping[str, str],
        log_dir: Path,
        *,
        timeout_seconds: float = 3600.0,
        base_env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        keep_logs: int = 500,
        rereads: Callable[[str], list[str]] | None = None,
    ) -> None:
        for kind in commands:
            if kind not in KINDS:
                raise ValueError(f"unknown run kind {kind!r}; expected one of {', '.join(KINDS)}")
        self.commands = dict(commands)
        self.log_dir = log_dir
        self.timeout_seconds = timeout_seconds
        self.base_env = dict(base_env) if base_env is not None else None
        self.cwd = cwd
        self.keep_logs = keep_logs
        # company uuid -> payrolls a webhook said changed or went away (read at each run start).
        self.rereads = rereads

    def render(self, kind: str, company_uuid: str) -> tuple[str, dict[str, str]]:
        if not is_uuid(company_uuid):
            raise ValueError(f"refusing to run for company id {company_uuid!r}: not a UUID")
        template = self.commands.get(kind, DEFAULT_COMMAND)
        command = template.replace(COMPANY_PLACEHOLDER, shlex.quote(company_uuid))
        env = dict(os.environ if self.base_env is None else self.base_env)
        env["TAP_GUSTO_COMPANY_IDS"] = json.dumps([company_uuid])
        env["GUSTO_DYNAMICS_RUN_KIND"] = kind
        if kind == KIND_PAYROLL and self.rereads is not None:
            payrolls = [u for u in self.rereads(company_uuid) if is_uuid(u)]
            if payrolls:
                # Meltano maps it to tap-gusto's reread_payroll_uuids (`--config ENV` too).
                env["TAP_GUSTO_REREAD_PAYROLL_UUIDS"] = json.dumps(payrolls)
        if kind == KIND_PEOPLE:
            # An employee event is the news the tap's daily employee read would miss until
            # tomorrow: this run reads them whatever the day (docs/extraction.md).
            env["TAP_GUSTO_EMPLOYEES_REFRESH"] = "always"
        return command, env

    def __call__(
        self, company_uuid: str, kinds: tuple[str, ...], attempt: int
    ) -> tuple[int, Path | None]:
        self.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        log_path = self.log_dir / f"{stamp}-{company_uuid}-{'+'.join(kinds)}-{attempt}.log"
        # Plugin logs can carry payroll PII: keep them owner-only.
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as log_file:
                for kind in kinds:
                    command, env = self.render(kind, company_uuid)
                    log_file.write(f"$ [{kind}] {command}\n".encode())
                    log_file.flush()
                    returncode = self._run_one(command, env, log_file)
                    if returncode != 0:
                        return returncode, log_path
            return 0, log_path
        finally:
            self._prune_logs()

    def _prune_logs(self) -> None:
        # Names start with a UTC timestamp, so name order is age order.
        logs = sorted(self.log_dir.glob("*.log"))
        for old in logs[: max(0, len(logs) - self.keep_logs)]:
            old.unlink(missing_ok=True)

    def _run_one(self, command: str, env: dict[str, str], log_file: BinaryIO) -> int:
        # A new session lets a timeout stop the whole pipeline (tap | target), not just the shell.
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.cwd,
            start_new_session=True,
        )
        try:
            return proc.wait(timeout=self.timeout_seconds)
        except subprocess.TimeoutExpired:
            logger.error(
                "run exceeded %.0f s; stopping it (SIGTERM, then SIGKILL)", self.timeout_seconds
            )
            _stop_group(proc)
            return 124


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        proc.wait()


class RunCoordinator:
    """At most one running and one queued batch per company; ``max_parallel`` batches overall.

    ``max_parallel`` defaults to 1 because ``meltano run`` refuses a second concurrent run with the
    same state ID, and every company shares the ``tap-gusto-to-target-dynamics-fo`` state.
    Failed batches are retried after ``retry_delays`` (one delay per retry); the last failure is
    reported through ``on_outcome`` and left to the scheduled catch-up run.
    """

    def __init__(
        self,
        launcher: Launcher,
        *,
        max_parallel: int = 1,
        retry_delays: Iterable[float] = (60.0, 300.0),
        on_outcome: Callable[[RunOutcome], None] | None = None,
    ) -> None:
        if max_parallel < 1:
            raise ValueError("max_parallel must be at least 1")
        self._launcher = launcher
        self._max_parallel = max_parallel
        self._retry_delays = tuple(retry_delays)
        self._on_outcome = on_outcome
        self._cv = threading.Condition()
        self._queued: dict[str, _Batch] = {}
        self._running: set[str] = set()
        self._timers: set[threading.Timer] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self.started_runs = 0

    def set_outcome_handler(self, handler: Callable[[RunOutcome], None]) -> None:
        self._on_outcome = handler

    def start(self) -> None:
        with self._cv:
            if self._threads:
                return
            self._stopping = False
            for index in range(self._max_parallel):
                thread = threading.Thread(target=self._work, name=f"gd-run-{index}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def submit(self, company_uuid: str, kind: str, event_uuid: str | None = None) -> str:
        """Queue a run; returns ``"queued"`` or ``"coalesced"`` (merged into a queued run)."""
        if kind not in KINDS:
            raise ValueError(f"unknown run kind {kind!r}")
        if not is_uuid(company_uuid):
            raise ValueError(f"company id {company_uuid!r} is not a UUID")
        with self._cv:
            batch = self._queued.get(company_uuid)
            result = "coalesced"
            if batch is None:
                batch = self._queued[company_uuid] = _Batch(company_uuid)
                result = "queued"
            batch.kinds.add(kind)
            if event_uuid is not None:
                batch.event_uuids.append(event_uuid)
            self._cv.notify_all()
            return result

    def pending_companies(self) -> list[str]:
        with self._cv:
            return sorted(set(self._queued) | self._running)

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued, running or waiting for a retry (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._queued or self._running or self._timers:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cv.wait(remaining)
            return True

    def stop(self, grace_seconds: float = 30.0) -> None:
        """Stop starting new runs; wait up to ``grace_seconds`` for running ones to finish."""
        with self._cv:
            self._stopping = True
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
            self._cv.notify_all()
        deadline = time.monotonic() + grace_seconds
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    def _next_batch(self) -> _Batch | None:
        with self._cv:
            while True:
                if self._stopping:
                    return None
                for company, batch in self._queued.items():
                    if company not in self._running:
                        del self._queued[company]
                        self._running.add(company)
                        self.started_runs += 1
                        return batch
                self._cv.wait()

    def _work(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            kinds = tuple(k for k in KINDS if k in batch.kinds)
            logger.info(
                "run started: company=%s kinds=%s attempt=%d events=%d",
                batch.company_uuid,
                ",".join(kinds),
                batch.attempt,
                len(batch.event_uuids),
            )
            try:
                returncode, log_path = self._launcher(batch.company_uuid, kinds, batch.attempt)
            except Exception as exc:
                logger.error(
                    "run could not start: company=%s kinds=%s: %s: %s",
                    batch.company_uuid,
                    ",".join(kinds),
                    type(exc).__name__,
                    exc,
                )
                returncode, log_path = 127, None
            outcome = RunOutcome(
                company_uuid=batch.company_uuid,
                log_path=log_path,
                kinds=kinds,
                returncode=returncode,
                attempt=batch.attempt,
                event_uuids=tuple(batch.event_uuids),
            )
            will_retry = not outcome.ok and batch.attempt <= len(self._retry_delays)
            if outcome.ok:
                logger.info(
                    "run succeeded: company=%s kinds=%s log=%s",
                    batch.company_uuid,
                    ",".join(kinds),
                    log_path,
                )
            else:
                logger.error(
                    "run failed: company=%s kinds=%s exit=%d attempt=%d log=%s%s",
                    batch.company_uuid,
                    ",".join(kinds),
                    returncode,
                    batch.attempt,
                    log_path,
                    "; will retry" if will_retry else "; the scheduled run will catch up",
                )
            # Record before leaving the running set so wait_idle() implies "recorded".
            if self._on_outcome is not None and not will_retry:
                try:
                    self._on_outcome(outcome)
                except Exception:
                    logger.exception("recording the run outcome failed")
            with self._cv:
                self._running.discard(batch.company_uuid)
                if will_retry and not self._stopping:
                    self._schedule_retry(batch, self._retry_delays[batch.attempt - 1])
                self._cv.notify_all()

    def _schedule_retry(self, batch: _Batch, delay: float) -> None:
        retry = _Batch(
            batch.company_uuid, set(batch.kinds), list(batch.event_uuids), batch.attempt + 1
        )

        def fire() -> None:
            with self._cv:
                self._timers.discard(timer)
                if self._stopping:
                    self._cv.notify_all()
                    return
                queued = self._queued.get(retry.company_uuid)
                if queued is None:
                    self._queued[retry.company_uuid] = retry
                else:
                    # A fresh trigger arrived meanwhile: one run covers both.
                    queued.kinds |= retry.kinds
                    queued.event_uuids.extend(retry.event_uuids)
                    queued.attempt = max(queued.attempt, retry.attempt)
                self._cv.notify_all()

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        self._timers.add(timer)
        timer.start()
