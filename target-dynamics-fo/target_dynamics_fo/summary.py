"""What one part of a run did, for the log and the target's exit status.

Payrolls (:class:`~target_dynamics_fo.payrolls.RunSummary`) and master data with contractor
payments (:class:`~target_dynamics_fo.masterdata.SyncSummary`) count different things, so each
writes its own lines; warnings said once a run, the log, and what makes the run exit non-zero
are the same for both and kept here.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field


@dataclass
class Summary(ABC):
    """Warnings (each kept once) and failures of one part of a run."""

    warnings: list[str] = field(default_factory=list, kw_only=True)
    _warned: set[str] = field(default_factory=set, repr=False, kw_only=True)

    def warn(self, text: str, logger: logging.Logger) -> None:
        """Keep and log a warning once a run, however many records repeat it."""
        if text not in self._warned:
            self._warned.add(text)
            self.warnings.append(text)
            logger.warning("%s", text)

    @property
    @abstractmethod
    def needing_attention(self) -> int:
        """How many things failed or were left without an outcome (the run then exits 1)."""

    @abstractmethod
    def lines(self) -> list[str]:
        """The summary for the log: one line of counts, then every failure with its fix."""

    def log(self, logger: logging.Logger) -> list[str]:
        lines = self.lines()
        for line in lines:
            logger.info("%s", line)
        return lines
