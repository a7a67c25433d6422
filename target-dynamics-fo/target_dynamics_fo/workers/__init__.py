"""Gusto employees -> Dynamics workers and employments (one direction: nothing goes to Gusto).

Decide, then do: :mod:`.plan` is pure (what Gusto says, what Dynamics should hold, the writes
between them); :mod:`.sync` reads Dynamics, writes through the master-data engine and keeps the
audit trail. The outcome names and the run summary are master data's, shared with vendors.
"""

from target_dynamics_fo.masterdata import DONE, DRY_RUN, FAILED, UNCHANGED, SyncSummary
from target_dynamics_fo.workers.plan import (
    OPEN_END,
    DesiredWorker,
    Employment,
    PeopleError,
    desired_worker,
    employee_location,
    plan_worker,
)
from target_dynamics_fo.workers.sync import PeopleSync

__all__ = [
    "DONE",
    "DRY_RUN",
    "FAILED",
    "OPEN_END",
    "UNCHANGED",
    "DesiredWorker",
    "Employment",
    "PeopleError",
    "PeopleSync",
    "SyncSummary",
    "desired_worker",
    "employee_location",
    "plan_worker",
]
