"""The run summary and the audit outcomes of master data (workers, employments, vendors)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

# Outcomes of one decision in the audit store (table people_decisions).
DONE = "done"
FAILED = "failed"
UNCHANGED = "unchanged"
DRY_RUN = "dry_run"


@dataclass
class SyncSummary:
    """Counts and failures of one run, for the log and the target's exit code."""

    label: str
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (what, why, fix)
    warnings: list[str] = field(default_factory=list)
    _warned: set[str] = field(default_factory=set, repr=False)

    def bump(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def fail(self, what: str, why: str, fix: str) -> None:
        self.failures.append((what, why, fix))

    def warn(self, text: str, logger: logging.Logger) -> None:
        """Keep and log a warning once a run, however many records repeat it."""
        if text not in self._warned:
            self._warned.add(text)
            self.warnings.append(text)
            logger.warning("%s", text)

    def gaps(self, what: str, gaps: Sequence[str], logger: logging.Logger) -> None:
        """Dynamics lacks reference data the mapping needs: nothing of ``what`` is written."""
        self.fail(
            what,
            "Dynamics reference data does not cover the mapping: " + "; ".join(gaps),
            "fix Dynamics or the mapping as listed, then rerun (nothing was written)",
        )
        logger.error("%s: nothing written; reference data gaps:\n  - %s", what, "\n  - ".join(gaps))

    def log(self, logger: logging.Logger) -> list[str]:
        lines = self.lines()
        for line in lines:
            logger.info("%s", line)
        return lines

    def lines(self) -> list[str]:
        counted = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items())) or "nothing"
        out = [f"{self.label}: {counted}; {len(self.failures)} failed"]
        for what, why, fix in self.failures:
            out.append(f"  FAILED {what}: {why}")
            out.append(f"    fix: {fix}")
        out.extend(f"  warning: {w}" for w in self.warnings)
        return out
