"""What a run did with its payrolls: one line of counts, then every failure with its fix."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from target_dynamics_fo import audit as outcomes
from target_dynamics_fo.posting import PostResult
from target_dynamics_fo.summary import Summary

LOGGER = logging.getLogger("target_dynamics_fo")


@dataclass
class RunSummary(Summary):
    results: list[PostResult] = field(default_factory=list)
    # Payrolls an earlier run stored without a final outcome, settled at this run's start.
    resumed: list[PostResult] = field(default_factory=list)

    def unsettled(self, payroll_uuid: str, why: str) -> PostResult:
        """A payroll an earlier run left without an outcome that cannot be settled now."""
        result = PostResult(
            payroll_uuid,
            outcomes.AWAITING,
            reason=f"payroll {payroll_uuid} was stored by an earlier run without a final "
            f"outcome and could not be settled now: {why}",
            fix=outcomes.AWAITING_FIX.format(command="replay", uuid=payroll_uuid),
        )
        LOGGER.error("NO OUTCOME: %s Fix: %s", result.reason, result.fix)
        self.results.append(result)
        return result

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def failures(self) -> list[PostResult]:
        return [r for r in self.results if r.failed]

    @property
    def needing_attention(self) -> int:
        return len(self.failures)

    def lines(self) -> list[str]:
        out = [
            f"payrolls: {self.count(outcomes.POSTED)} posted, "
            f"{self.count(outcomes.ALREADY_POSTED)} already posted, "
            f"{self.count(outcomes.CORRECTED)} corrected, "
            f"{self.count(outcomes.CORRECTION_STAGED)} correction(s) staged for approval, "
            f"{self.count(outcomes.DRY_RUN)} validated (dry run), "
            f"{self.count(outcomes.SKIPPED)} skipped (not processed), "
            f"{self.count(outcomes.REFUSED)} refused, "
            f"{self.count(outcomes.CHANGED_AFTER_POSTING)} changed after posting, "
            f"{self.count(outcomes.AWAITING)} left without an outcome"
        ]
        if self.resumed:
            settled = Counter(r.outcome for r in self.resumed)
            out.append(
                f"  {len(self.resumed)} of them stored by an earlier run without an outcome, "
                "settled at start: " + ", ".join(f"{n} {o}" for o, n in sorted(settled.items()))
            )
        for result in self.results:
            if result.outcome == outcomes.CORRECTION_STAGED:
                out.append(f"  CORRECTION STAGED payroll {result.document_uuid}: {result.reason}")
                out.append(f"    fix: {result.fix}")
        for result in self.failures:
            out.append(
                f"  {result.outcome.upper()} payroll {result.document_uuid} "
                f"(journal {result.journal_batch_number or '-'}): {result.reason}"
            )
            if result.fix:
                out.append(f"    fix: {result.fix}")
        return out
