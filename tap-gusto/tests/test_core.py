"""The SDK's standard tap tests, run against the Gusto sandbox over HTTP."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault, generate_key
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_gusto.tap import TapGusto
from tapgusto_support import SANDBOX_TODAY, connect_companies


# The config must exist when the class is built; the store it names is filled (and the sandbox
# started) by the class-scoped fixture below, before the SDK's runner syncs.
def standard_config(prefix: str, **extra: object) -> dict[str, object]:
    store = Path(tempfile.mkdtemp(prefix=prefix)) / "vault.enc"
    return {
        "credentials_store": str(store),
        "start_date": (SANDBOX_TODAY - dt.timedelta(days=400)).isoformat(),
        **extra,
    }


def connected_sandbox(config: dict[str, object], only: str | None) -> Iterator[GustoSandbox]:
    """The Gusto sandbox with every company connected in ``config``'s store; with ``only``,
    the tap extracts that company alone."""
    mp = pytest.MonkeyPatch()
    key = generate_key()
    mp.setenv("GUSTO_DYNAMICS_VAULT_KEY", key.decode() if isinstance(key, bytes) else key)
    with GustoSandbox(port=0, seed="demo", today=SANDBOX_TODAY) as gusto:
        connect_companies(Vault.open(Path(str(config["credentials_store"]))), gusto)
        if only is not None:
            config["company_ids"] = [gusto.company(only).uuid]
        yield gusto
    mp.undo()


CONFIG = standard_config("tap-gusto-core-")

_StandardTests = get_tap_test_class(
    tap_class=TapGusto,
    config=CONFIG,
    # The small company has no contractors; test_sandbox_sync.py checks both contractor
    # streams against the large one. payroll_compensations has records only with
    # payroll_record_shape split (TestTapGustoSplit below), not with the default whole.
    suite_config=SuiteConfig(
        ignore_no_records_for_streams=[
            "contractors",
            "contractor_payments",
            "payroll_compensations",
        ]
    ),
)


class TestTapGusto(_StandardTests):  # type: ignore[misc, valid-type]
    @pytest.fixture(scope="class", autouse=True)
    def gusto_sandbox(self) -> Iterator[GustoSandbox]:
        # Only the small company: keeps the suite fast; multi-company runs are covered by
        # test_sandbox_sync.py and by TestTapGustoSplit.
        yield from connected_sandbox(CONFIG, "Summit Bakery Co")


# The same standard tests with payroll_record_shape split, where payroll_compensations has
# records (the project's meltano.yml runs the tap so), over every company: each stream, the
# contractor ones too, has records and is checked.
SPLIT_CONFIG = standard_config("tap-gusto-core-split-", payroll_record_shape="split")

_SplitStandardTests = get_tap_test_class(
    tap_class=TapGusto,
    config=SPLIT_CONFIG,
    suite_config=SuiteConfig(ignore_no_records_for_streams=[]),
)


class TestTapGustoSplit(_SplitStandardTests):  # type: ignore[misc, valid-type]
    @pytest.fixture(scope="class", autouse=True)
    def gusto_sandbox(self) -> Iterator[GustoSandbox]:
        yield from connected_sandbox(SPLIT_CONFIG, None)
