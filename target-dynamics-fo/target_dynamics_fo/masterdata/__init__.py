"""Master data (workers, employments, vendors): one reconcile-write engine and the run state
the syncs of each domain share. The domains plan; this package writes and looks again."""

from target_dynamics_fo.masterdata.engine import (
    GaveUp,
    MasterRecord,
    Patience,
    Reconciled,
    reconcile,
    unclear,
)
from target_dynamics_fo.masterdata.summary import DONE, DRY_RUN, FAILED, UNCHANGED, SyncSummary
from target_dynamics_fo.masterdata.sync import MasterDataSync

__all__ = [
    "DONE",
    "DRY_RUN",
    "FAILED",
    "UNCHANGED",
    "GaveUp",
    "MasterDataSync",
    "MasterRecord",
    "Patience",
    "Reconciled",
    "SyncSummary",
    "reconcile",
    "unclear",
]
