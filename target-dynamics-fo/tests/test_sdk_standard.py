"""The SDK's standard target tests.

They feed generic streams (``test_stream``, ``ScHeMa`` ...) that this target does not use, so
those records are ignored with one log line per stream and never reach Dynamics; what the suite
checks here is the Singer protocol handling (schemas, states, key properties, bad input). The
posting behaviour is tested against the sandboxes in tests/test_e2e_payroll.py.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from singer_sdk.testing import get_target_test_class
from target_dynamics_fo.target import TargetDynamicsFO

_WORK = Path(tempfile.mkdtemp(prefix="tdfo-sdk-"))
_MAPPING = Path(__file__).resolve().parents[2] / "config" / "mapping.yml"

TestTargetDynamicsFOStandard = get_target_test_class(
    TargetDynamicsFO,
    config={
        "mapping_file": str(_MAPPING),
        "audit_db": str(_WORK / "audit.sqlite"),
        # Never contacted: no stream of the standard suite is one this target posts.
        "environment_url": "https://127.0.0.1:9",
        "tenant_id": "standard-tests",
        "client_id": "standard-tests",
        "client_secret": "not-used",
        # The suite's streams are all ones this target does not use; that is the point here.
        "allow_only_unused_streams": True,
    },
)
