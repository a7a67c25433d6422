"""The kill-point hook: exact n-th hit, exit status 137, validation, tracing, and coverage."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import gd_faultpoints as faultpoints
import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    ROOT / "tap-gusto" / "tap_gusto",
    ROOT / "target-dynamics-fo" / "target_dynamics_fo",
]

SCRIPT = """
import sys
from gd_faultpoints import hit
for i in range(5):
    hit("target.batch.before")
    print(i, flush=True)
"""


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_process_exits_137_at_the_nth_hit_and_not_before() -> None:
    result = _run({faultpoints.KILL_ENV: "target.batch.before:3"})
    assert result.returncode == faultpoints.KILL_EXIT_CODE
    assert result.stdout.split() == ["0", "1"]


def test_unset_or_other_point_changes_nothing() -> None:
    assert _run({}).stdout.split() == ["0", "1", "2", "3", "4"]
    other = _run({faultpoints.KILL_ENV: "tap.state.before:1"})
    assert other.returncode == 0 and other.stdout.split() == ["0", "1", "2", "3", "4"]


@pytest.mark.parametrize("spec", ["target.batch.before", "nope:1", "target.batch.before:0"])
def test_a_bad_spec_fails_loudly_instead_of_never_killing(spec: str) -> None:
    result = _run({faultpoints.KILL_ENV: spec})
    assert result.returncode == 1
    assert faultpoints.KILL_ENV in result.stderr


def test_trace_counts_hits_per_point(tmp_path: Path) -> None:
    result = _run({faultpoints.TRACE_ENV: str(tmp_path)})
    assert result.returncode == 0
    (trace,) = tmp_path.glob("*.json")
    assert json.loads(trace.read_text()) == {"target.batch.before": 5}


def test_every_declared_point_is_called_by_a_plugin_and_no_undeclared_one() -> None:
    code = "\n".join(
        path.read_text() for source in SOURCES for path in sorted(source.rglob("*.py"))
    )
    # Points are passed as literals, to hit() or to a helper that calls it (posting.send_once).
    named = set(re.findall(r'"((?:tap|target)\.[a-z_]+(?:\.[a-z_]+)+)"', code))
    assert named == set(faultpoints.POINTS)
    assert "hit(" in code


def test_kill_choice_is_seeded_distinct_and_within_the_traced_hits() -> None:
    from chaos.harness import choose_kills  # noqa: PLC0415 - the harness imports the sandboxes

    trace = {"tap.request.before": 3, "target.batch.after": 1, "tap.state.before": 0}
    chosen = choose_kills(7, 10, trace, faultpoints.POINTS)
    assert chosen == choose_kills(7, 10, trace, faultpoints.POINTS)
    assert len(chosen) == len(set(chosen)) == 4
    assert {c.rsplit(":", 1)[0] for c in chosen[:2]} == {"tap.request.before", "target.batch.after"}
    for spec in chosen:
        point, n = spec.rsplit(":", 1)
        assert 1 <= int(n) <= trace[point]
