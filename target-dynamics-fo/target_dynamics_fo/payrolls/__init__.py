"""Payrolls: a Gusto payroll -> a checked journal -> Dynamics exactly once, and its corrections.

Pure parts: the correction documents (:mod:`.correction`). I/O: the journal through the posting
engine (:mod:`.journals`), the correction chain read back from Dynamics (:mod:`.corrector`),
and the orchestration shared by the sinks and ``replay`` (:mod:`.processor`). Import from here.
"""

from __future__ import annotations

from target_dynamics_fo.payrolls.base import employee_ref
from target_dynamics_fo.payrolls.correction import (
    APPROVAL_MODES,
    DATING_MODES,
    CorrectionPolicy,
    cancelled_state_hash,
    correction_batch_number,
    correction_journal,
    difference_lines,
    first_open_day,
    net_position,
    plan_difference,
    plan_digest,
    reversal_lines,
)
from target_dynamics_fo.payrolls.corrector import (
    Chain,
    Correction,
    CorrectionError,
    Corrector,
    cancellation_template,
)
from target_dynamics_fo.payrolls.journals import (
    MAX_JOURNAL_LINES,
    JournalPoster,
    KnownJournal,
    header_description,
)
from target_dynamics_fo.payrolls.processor import PayrollProcessor
from target_dynamics_fo.payrolls.split import (
    COMPENSATIONS_STREAM,
    CompensationIntake,
    StoredCompensations,
    fetch_id_of,
)
from target_dynamics_fo.payrolls.summary import RunSummary

__all__ = [
    "APPROVAL_MODES",
    "COMPENSATIONS_STREAM",
    "DATING_MODES",
    "MAX_JOURNAL_LINES",
    "Chain",
    "CompensationIntake",
    "Correction",
    "CorrectionError",
    "CorrectionPolicy",
    "Corrector",
    "JournalPoster",
    "KnownJournal",
    "PayrollProcessor",
    "RunSummary",
    "StoredCompensations",
    "cancellation_template",
    "cancelled_state_hash",
    "correction_batch_number",
    "correction_journal",
    "difference_lines",
    "employee_ref",
    "fetch_id_of",
    "first_open_day",
    "header_description",
    "net_position",
    "plan_difference",
    "plan_digest",
    "reversal_lines",
]
