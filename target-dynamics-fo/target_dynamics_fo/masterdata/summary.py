"""The run summary and the audit outcomes of master data (workers, employments, vendors)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from target_dynamics_fo.summary import Summary

# Outcomes of one decision in the audit store (table people_decisions).
DONE = "done"
FAILED = "failed"
UNCHANGED = "unchanged"
DRY_RUN = "dry_run"


@dataclass
class SyncSummary(Summary):
    """Counts and failures of one run, for the log and the target's exit code."""

    label: str
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (what, why, fix)

    def bump(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def fail(self, what: str, why: str, fix: str) -> None:
        self.failures.append((what, why, fix))

    @property
    def needing_attention(self) -> int:
        return len(self.failures)

    def gaps(self, what: str, gaps: Sequence[str], logger: logging.Logger) -> None:
        """Dynamics lacks reference data the mapping needs: nothing of ``what`` is written."""
        self.fail(
            what,
            "Dynamics reference data does not cover the mapping: " + "; ".join(gaps),
            "fix Dynamics or the mapping as listed, then rerun (nothing was written)",
        )
        logger.error("%s: nothing written; reference data gaps:\n  - %s", what, "\n  - ".join(gaps))

    def lines(self) -> list[str]:
        counted = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items())) or "nothing"
        out = [f"{self.label}: {counted}; {len(self.failures)} failed"]
        for what, why, fix in self.failures:
            out.append(f"  FAILED {what}: {why}")
            out.append(f"    fix: {fix}")
        out.extend(f"  warning: {w}" for w in self.warnings)
        return out
