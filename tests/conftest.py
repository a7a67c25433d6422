"""Session fixtures for end-to-end tests: both sandboxes over real HTTP, a credential store,
tap and target config files, the sandbox mapping, and one real `tap-gusto | target-dynamics-fo`
pipeline run whose tap output later tests replay into fresh targets.

Test modules may define their own fixtures with other scopes; these use distinct names.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from gd_vault import KEY_ENV, Vault, generate_key

# Test modules import the helpers by name under --import-mode=importlib.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import (
    SANDBOX_MAPPING,
    SANDBOX_TODAY,
    PipelineRun,
    TargetRun,
    fill_store,
    run_target,
    target_config,
    tool,
    write_config,
    write_requests,
)


@pytest.fixture(scope="session")
def vault_key_env() -> Iterator[str]:
    """A fresh store key in $GUSTO_DYNAMICS_VAULT_KEY for the session (subprocesses inherit)."""
    key = generate_key()
    text = key.decode() if isinstance(key, bytes) else str(key)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(KEY_ENV, text)
        yield text


@pytest.fixture(scope="session")
def gusto_sandbox() -> Iterator[GustoSandbox]:
    # A generous rate limit keeps the session fast; rate limiting has its own tests.
    with GustoSandbox(
        port=0, seed="demo", rate_limit_per_minute=6000, today=SANDBOX_TODAY
    ) as gusto:
        yield gusto


@pytest.fixture(scope="session")
def dynamics_sandbox() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox(port=0) as dyn:
        yield dyn


@pytest.fixture
def fresh_dynamics(dynamics_sandbox: DynamicsSandbox) -> DynamicsSandbox:
    """The session Dynamics sandbox back at its seed (no journals, no faults, zero counters)."""
    dynamics_sandbox.reset()
    return dynamics_sandbox


@pytest.fixture(scope="session")
def credential_store(
    tmp_path_factory: pytest.TempPathFactory,
    vault_key_env: str,
    gusto_sandbox: GustoSandbox,
    dynamics_sandbox: DynamicsSandbox,
) -> Path:
    """An encrypted store holding both Gusto grants and the Dynamics environment 'sandbox'."""
    path = tmp_path_factory.mktemp("store") / "vault.enc"
    Vault.open(path).update(lambda data: fill_store(data, gusto_sandbox, dynamics_sandbox))
    return path


@pytest.fixture(scope="session")
def mapping_file() -> Path:
    return SANDBOX_MAPPING


@pytest.fixture(scope="session")
def tap_config_file(
    tmp_path_factory: pytest.TempPathFactory, gusto_sandbox: GustoSandbox, credential_store: Path
) -> Path:
    path = tmp_path_factory.mktemp("tap") / "tap-config.json"
    path.write_text(
        json.dumps(
            {
                "api_url": gusto_sandbox.url,
                "credentials_store": str(credential_store),
                "max_requests_per_minute": 6000,
            }
        )
    )
    return path


@pytest.fixture
def target_config_file(tmp_path: Path, credential_store: Path, mapping_file: Path) -> Path:
    return write_config(tmp_path, target_config(tmp_path, credential_store, mapping_file))


@pytest.fixture(scope="session")
def pipeline_run(
    tmp_path_factory: pytest.TempPathFactory,
    tap_config_file: Path,
    credential_store: Path,
    mapping_file: Path,
    dynamics_sandbox: DynamicsSandbox,
) -> PipelineRun:
    """`tap-gusto | tee | target-dynamics-fo` once, as real processes, on a fresh Dynamics,
    then the same tap output into the target again (the rerun that must post nothing)."""
    dynamics_sandbox.reset()
    work = tmp_path_factory.mktemp("pipeline")
    config_file = write_config(work, target_config(work, credential_store, mapping_file))
    tap_out = work / "tap.out"
    tap = subprocess.Popen(
        [tool("tap-gusto"), "--config", str(tap_config_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=work,
    )
    tee = subprocess.Popen(
        ["tee", str(tap_out)], stdin=tap.stdout, stdout=subprocess.PIPE, cwd=work
    )
    assert tap.stdout is not None and tee.stdout is not None
    target = subprocess.Popen(
        [tool("target-dynamics-fo"), "--config", str(config_file)],
        stdin=tee.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=work,
    )
    # Only the children hold the pipe ends now, so a process that dies closes its pipe and
    # the others see EOF/EPIPE instead of blocking forever.
    tap.stdout.close()
    tee.stdout.close()
    target_out, target_err = target.communicate(timeout=600)
    tee.wait(timeout=60)
    tap.wait(timeout=60)
    first = dynamics_sandbox.entities
    writes_before = write_requests(dynamics_sandbox.stats)
    rerun = run_target(config_file, tap_out.read_text())
    return PipelineRun(
        tap_returncode=tap.returncode,
        target=TargetRun(target.returncode, target_out, target_err),
        tap_output=tap_out.read_text(),
        audit_db=work / "audit.sqlite",
        config_file=config_file,
        entities_after_first=first,
        rerun=rerun,
        entities_after_rerun=dynamics_sandbox.entities,
        writes_during_rerun=write_requests(dynamics_sandbox.stats) - writes_before,
    )


@pytest.fixture(scope="session")
def tap_output(pipeline_run: PipelineRun) -> str:
    """The Singer messages tap-gusto produced for the seed (replayed into fresh targets)."""
    assert pipeline_run.tap_returncode == 0
    return pipeline_run.tap_output
