"""The run summaries of payrolls and of master data share warnings and the exit status."""

from __future__ import annotations

import logging

import pytest
from target_dynamics_fo import audit as outcomes
from target_dynamics_fo.masterdata import SyncSummary
from target_dynamics_fo.payrolls import RunSummary
from target_dynamics_fo.posting import PostResult
from target_dynamics_fo.summary import Summary

LOGGER = logging.getLogger("test_summary")


@pytest.mark.parametrize("summary", [RunSummary(), SyncSummary("vendors")])
def test_a_warning_is_kept_and_logged_once(
    summary: Summary, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="test_summary"):
        summary.warn("no department", LOGGER)
        summary.warn("no department", LOGGER)
    assert summary.warnings == ["no department"]
    assert [r.getMessage() for r in caplog.records] == ["no department"]


def test_failures_of_either_kind_need_attention() -> None:
    payrolls = RunSummary()
    payrolls.results.append(PostResult("p1", outcomes.POSTED))
    payrolls.results.append(PostResult("p2", outcomes.REFUSED, reason="why", fix="fix"))
    vendors = SyncSummary("vendors")
    assert (payrolls.needing_attention, vendors.needing_attention) == (1, 0)
    vendors.fail("contractor c1", "why", "fix")
    assert vendors.needing_attention == 1
    assert vendors.lines() == [
        "vendors: nothing; 1 failed",
        "  FAILED contractor c1: why",
        "    fix: fix",
    ]
