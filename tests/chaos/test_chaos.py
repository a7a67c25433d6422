"""Kill the pipeline at named points and at random moments, under faults; reruns must converge.

Every episode starts from an empty Dynamics sandbox and an empty audit store, arms one round of
every fault on both sides (Gusto 429/503/dropped connection, Dynamics 429 with Retry-After, 503,
a response lost after the commit, a dropped connection, all access tokens expired mid-run), runs
`tap-gusto | target-dynamics-fo` with a kill, then reruns with the last STATE the target printed
until a run ends cleanly, and checks Dynamics, the audit store and the Gusto grant.

The bounded test is part of `make test`; the large one (`-m chaos`, `make chaos`) takes
CHAOS_SEED / CHAOS_KILLS / CHAOS_EXTERNAL_KILLS from the environment and prints its table.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import gd_faultpoints as faultpoints
import pytest
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from resilience_log import record

from chaos.harness import (
    ChaosPipeline,
    Expected,
    Stop,
    arm_faults,
    check_exactly_once,
    check_tokens,
    choose_kills,
    expected_work,
    seed_from_env,
    short_token_lifetimes,
)

RIDGELINE = "0c991fcc-d01e-50c4-90c6-d27026b49396"
SUMMIT = "ee2ce936-5d04-5cda-8909-6ace20a55be1"
GUSTO_TOKEN_SECONDS = 4
DYNAMICS_TOKEN_SECONDS = 900
# Entra token request, OpenID discovery and a first data call.
EXPIRE_AFTER_REQUESTS = 4
BOUNDED_SEED = 20261128
BOUNDED = "chaos (bounded)"
LARGE = "chaos (large)"


@dataclass
class World:
    gusto: GustoSandbox
    dyn: DynamicsSandbox
    store: Path
    mapping: Path
    root: Path
    companies: list[str]
    start: dt.date
    invalid_grants_before: int
    episodes: int = 0

    def expected(self) -> Expected:
        return expected_work(self.gusto, self.companies, self.start)

    def pipeline(self) -> ChaosPipeline:
        self.episodes += 1
        self.dyn.reset()
        return ChaosPipeline.create(
            self.root / f"episode-{self.episodes:03d}",
            self.gusto,
            self.store,
            self.mapping,
            company_ids=self.companies,
            start_date=self.start,
        )

    def arm(self) -> tuple[float, Callable[[], object]]:
        arm_faults(self.gusto, self.dyn)
        return (0.0, self.expire_dynamics_tokens_once_in_use)

    def expire_dynamics_tokens_once_in_use(self) -> None:
        """As soon as the target holds a token and has used it, expire every token."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.dyn.stats["total"] >= EXPIRE_AFTER_REQUESTS:
                self.dyn.set_faults({"expire_tokens": True})
                return
            time.sleep(0.05)


def _world(
    gusto: GustoSandbox,
    dyn: DynamicsSandbox,
    store: Path,
    mapping: Path,
    root: Path,
    companies: list[str],
    days: int,
) -> Iterator[World]:
    with short_token_lifetimes(gusto, dyn, GUSTO_TOKEN_SECONDS, DYNAMICS_TOKEN_SECONDS):
        yield World(
            gusto,
            dyn,
            store,
            mapping,
            root,
            companies,
            gusto.today - dt.timedelta(days=days),
            gusto.stats.snapshot()["invalid_grants"],
        )
    dyn.reset()


@dataclass
class Episode:
    kill: str
    fired: list[str]
    runs: int
    problems: list[str]


FAULT_EVIDENCE = {
    # Dynamics sandbox counter -> the fault it proves was met (and survived).
    "throttled": "Dynamics 429",
    "unavailable": "Dynamics 503",
    "lost_responses": "Dynamics response lost after commit",
    "dropped_connections": "Dynamics dropped connection",
    "unauthorized": "Dynamics token expired mid-run",
}


def run_episode(
    world: World,
    *,
    kills: tuple[str, ...] = (),
    external: tuple[str, float] | None = None,
    stop: Stop | None = None,
    faults: bool = True,
) -> Episode:
    """Fresh Dynamics and audit store; kill runs in a row (each rerun from the saved state),
    then rerun until clean and check."""
    pipeline = world.pipeline()
    gusto_before = world.gusto.stats.snapshot()
    during = world.arm() if faults else None
    fired: list[str] = []
    for index, spec in enumerate(kills or (None,)):
        result = pipeline.run(
            kill_at=spec,
            external_kill=external if index == 0 else None,
            stop=stop if index == 0 else None,
            during=during if index == 0 else None,
        )
        if result.killed:
            fired.append(result.kill)
    if not pipeline.runs[-1].clean:
        pipeline.run_until_clean()
    problems = check_exactly_once(world.gusto, world.dyn, pipeline.audit_db, world.expected())
    if faults:
        stats = world.dyn.stats
        problems += [
            f"fault never met: {what}" for key, what in FAULT_EVIDENCE.items() if not stats[key]
        ]
        gusto = world.gusto.stats.snapshot()
        if gusto["faults_fired"] - gusto_before["faults_fired"] < 3:
            problems.append("the Gusto faults (429, 503, dropped connection) did not all fire")
        if gusto["refreshes"] - gusto_before["refreshes"] < 2:
            problems.append("Gusto tokens were not refreshed during the run")
    label = " -> ".join(kills) or (
        f"SIGKILL {external[0]} after {external[1]:.2f}s"
        if external
        else (stop.label if stop else "none")
    )
    return Episode(label, fired, len(pipeline.runs), problems)


def traced_counts(world: World) -> tuple[dict[str, int], Episode]:
    """A run under faults with no kill, counting how often each kill point is reached."""
    trace = world.root / "trace"
    os.environ[faultpoints.TRACE_ENV] = str(trace)
    try:
        episode = run_episode(world)
    finally:
        del os.environ[faultpoints.TRACE_ENV]
    counts: Counter[str] = Counter()
    for path in trace.glob("*.json"):
        counts.update(json.loads(path.read_text()))
    return dict(counts), episode


def _record(episode: Episode, name: str, source: str) -> None:
    record(
        "kill" if episode.kill != "none" else "fault",
        name,
        episode.kill
        if episode.kill != "none"
        else "Gusto 429+503+dropped connection, Dynamics 429 (Retry-After)+503+lost response+"
        "dropped connection, tokens expiring mid-run on both sides",
        "reruns converge: every payroll exactly one balanced journal, every contractor payment "
        "one AP invoice, audit complete, no invalid_grant",
        f"{len(episode.fired)} kill(s) fired; clean after {episode.runs} run(s); "
        + ("; ".join(episode.problems) if episode.problems else "all checks hold"),
        passed=not episode.problems,
        source=source,
    )


def _tokens_ok(world: World, source: str) -> None:
    problems = check_tokens(world.gusto, world.store, world.companies, world.invalid_grants_before)
    record(
        "fault",
        f"refresh tokens after all kills, {source}",
        f"Gusto tokens living {GUSTO_TOKEN_SECONDS}s, kills inside refresh and store writes",
        "no invalid_grant; the stored grant still refreshes",
        "; ".join(problems) or "no invalid_grant; stored grant refreshed",
        passed=not problems,
        source=source,
    )
    assert not problems, problems


# ------------------------------------------------------------------ bounded (make test)


@pytest.fixture
def bounded_world(
    gusto_sandbox: GustoSandbox,
    dynamics_sandbox: DynamicsSandbox,
    credential_store: Path,
    mapping_file: Path,
    tmp_path: Path,
) -> Iterator[World]:
    # The small company and five weeks (two or three payrolls) keep this inside `make test`;
    # the large run covers Ridgeline's 120 employees and its contractor payments.
    yield from _world(
        gusto_sandbox,
        dynamics_sandbox,
        credential_store,
        mapping_file,
        tmp_path,
        [SUMMIT],
        days=35,
    )


BOUNDED_PHASES = (
    ("tap.refresh.after_response", "tap.store.before_write", "tap.payroll.before_emit"),
    ("target.batch.after", "target.lookup.after", "target.audit.before_outcome"),
)


def test_bounded_chaos_kills_converge_to_exactly_once(bounded_world: World) -> None:
    world = bounded_world
    seed = seed_from_env(BOUNDED_SEED)
    rng = random.Random(seed)
    counts, clean = traced_counts(world)
    _record(clean, "faults on both sides, no kill", BOUNDED)
    assert not clean.problems, clean.problems
    kills = []
    for phase in BOUNDED_PHASES:
        reachable = [p for p in phase if counts.get(p)]
        point = rng.choice(reachable)
        kills.append(f"{point}:{rng.randint(1, counts[point])}")
    for spec in kills:
        episode = run_episode(world, kills=(spec,), faults=False)
        _record(episode, f"kill at {spec}", BOUNDED)
        assert episode.fired, f"kill point {spec} was not reached (seed {seed})"
        assert not episode.problems, (spec, seed, episode.problems)
    for victim in ("tap", "target"):
        # On a condition, not after a delay: a delay lets a fast tap finish first, and the
        # row would say "held" about a kill that never happened.
        external = run_episode(world, stop=_sigkill_midway(world, victim, rng), faults=False)
        _record(external, f"external SIGKILL of the {victim}", BOUNDED)
        assert external.fired, f"the SIGKILL of the {victim} was never sent (seed {seed})"
        assert not external.problems, (external.kill, seed, external.problems)
    _tokens_ok(world, BOUNDED)


def _sigkill_midway(world: World, victim: str, rng: random.Random) -> Stop:
    """A SIGKILL from outside while the victim is at work: the tap once it has made a few
    Gusto requests, the target once a journal or two are in Dynamics."""
    if victim == "tap":
        requests = rng.randint(3, 12)
        start = world.gusto.stats.snapshot()["total"]
        return Stop(
            "tap",
            signal.SIGKILL,
            lambda: world.gusto.stats.snapshot()["total"] - start >= requests,
            f"it has made {requests} Gusto requests",
        )
    journals = rng.randint(1, 2)
    return Stop(
        "target",
        signal.SIGKILL,
        lambda: len(world.dyn.entities.get("LedgerJournalHeaders", [])) >= journals,
        f"{journals} journal(s) are in Dynamics",
    )


# ------------------------------------------------------------------ large (make chaos)


@pytest.fixture
def large_world(
    gusto_sandbox: GustoSandbox,
    dynamics_sandbox: DynamicsSandbox,
    credential_store: Path,
    mapping_file: Path,
    tmp_path: Path,
) -> Iterator[World]:
    yield from _world(
        gusto_sandbox,
        dynamics_sandbox,
        credential_store,
        mapping_file,
        tmp_path,
        [RIDGELINE, SUMMIT],
        days=int(os.environ.get("CHAOS_DAYS") or 45),
    )


@pytest.mark.chaos
# Dozens of full pipeline runs: far beyond the suite's per-test timeout, which guards make test.
@pytest.mark.timeout(int(os.environ.get("CHAOS_TIMEOUT") or 5400))
def test_large_chaos_run(large_world: World) -> None:
    world = large_world
    seed = seed_from_env(random.SystemRandom().randrange(1, 2**31))
    kills_wanted = int(os.environ.get("CHAOS_KILLS") or 30)
    externals = int(os.environ.get("CHAOS_EXTERNAL_KILLS") or 6)
    print(f"\nchaos seed {seed} (reproduce: CHAOS_SEED={seed} make chaos)")
    rng = random.Random(seed)
    counts, clean = traced_counts(world)
    _record(clean, "faults on both sides, no kill (large)", LARGE)
    rows: list[tuple[str, Episode]] = [("faults only", clean)]
    specs = choose_kills(seed, kills_wanted * 2, counts, faultpoints.POINTS)
    chain = int(os.environ.get("CHAOS_CHAIN") or 3)
    tried = 0
    fired: set[str] = set()
    while specs and len(fired) < kills_wanted:
        kills, specs = tuple(specs[:chain]), specs[chain:]
        tried += len(kills)
        episode = run_episode(world, kills=kills)
        rows.append((" -> ".join(kills), episode))
        _record(episode, f"kill chain {' -> '.join(kills)}", LARGE)
        fired.update(episode.fired)
    for index in range(externals):
        victim = ("tap", "target")[index % 2]  # both sides, whatever the seed
        episode = run_episode(world, external=(victim, rng.uniform(0.3, 12.0)))
        rows.append(("external", episode))
        _record(episode, f"external SIGKILL #{index + 1} of the {victim}", LARGE)
    # SIGTERM and SIGINT, as schedulers and Ctrl-C send them, to the target alone and to the
    # whole job, once a random number of journals is in Dynamics; reruns use the saved state.
    for index in range(int(os.environ.get("CHAOS_STOPS") or 4)):
        signum = (signal.SIGTERM, signal.SIGINT)[index % 2]
        victim = ("target", "both")[(index // 2) % 2]
        threshold = rng.randint(1, 4)
        stop = Stop(
            victim,
            signum,
            lambda n=threshold: len(world.dyn.entities.get("LedgerJournalHeaders", [])) >= n,
            f"{threshold} journals are in Dynamics",
        )
        episode = run_episode(world, stop=stop)
        rows.append(("stop", episode))
        _record(episode, f"{stop.label} (large)", LARGE)
    print(f"\n{'kill':48} {'fired':6} {'runs':5} result")
    for _, episode in rows:
        print(
            f"{episode.kill[:48]:48} {len(episode.fired):<6} {episode.runs:<5} "
            f"{'ok' if not episode.problems else '; '.join(episode.problems)[:120]}"
        )
    print(f"distinct kill points fired: {len(fired)} of {tried} tried; seed {seed}")
    failed = [(spec, e.problems) for spec, e in rows if e.problems]
    assert not failed, (seed, failed)
    assert len(fired) >= kills_wanted, f"only {len(fired)} kill points fired (seed {seed})"
    _tokens_ok(world, LARGE)
