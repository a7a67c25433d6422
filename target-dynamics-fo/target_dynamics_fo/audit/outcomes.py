"""Outcome and staging status names written to the audit trail.

They are stored as text in rows a finance team reads years later, so a name, once released, never
changes meaning; a new outcome is a new name.
"""

from __future__ import annotations

# Outcomes of one payroll. "refused" and "changed_after_posting" need a person; the others do not.
POSTED = "posted"
ALREADY_POSTED = "already_posted"
REFUSED = "refused"
CHANGED_AFTER_POSTING = "changed_after_posting"
SKIPPED = "skipped"
DRY_RUN = "dry_run"
# A payroll posted before and changed or cancelled since: its correction documents are posted.
CORRECTED = "corrected"
# A correction planned and kept in the audit store for a person to approve (corrections_approval:
# manual); nothing was posted. Final for a run: only an approval moves it on.
CORRECTION_STAGED = "correction_staged"
# A person approved a staged correction; the next run (or the approve command with --config)
# posts it. Not final: the payroll is marked as awaiting an outcome until it is posted.
CORRECTION_APPROVED = "correction_approved"
# What `failures` and the run summary call a stored document no run has settled yet (never
# written as an outcome: it is the absence of one).
AWAITING = "no_outcome"
FAILURE_OUTCOMES = (REFUSED, CHANGED_AFTER_POSTING, AWAITING)
# Outcomes after which a stored payroll or payment needs no more work from a run: a dry run's
# check is not one (a later real run still has to post it).
FINAL_OUTCOMES = (
    POSTED,
    ALREADY_POSTED,
    REFUSED,
    CHANGED_AFTER_POSTING,
    SKIPPED,
    CORRECTED,
    CORRECTION_STAGED,
)
# Status of a staged correction.
STAGE_PENDING = "pending"
STAGE_APPROVED = "approved"
STAGE_POSTED = "posted"
STAGE_REPLACED = "replaced"
# The fix for a payroll or payment left without an outcome.
AWAITING_FIX = (
    "run the pipeline again once Dynamics answers: the target settles it first (looks it up "
    "in Dynamics, posts it at most once); or settle it now with "
    "`target-dynamics-fo-audit {command} {uuid} --config <target config>`."
)
# The kind of document an outcome row is about (column ``kind`` of ``document_outcomes``). A
# payroll's outcomes are "journal" (its journal, or why none was posted) and "correction" (a
# correction of that journal, filed under the journal's number); a contractor payment's are
# "ap_invoice". Like the outcome names, a kind once released never changes meaning.
KIND_JOURNAL = "journal"
KIND_CORRECTION = "correction"
KIND_AP_INVOICE = "ap_invoice"
PAYROLL_KINDS = (KIND_JOURNAL, KIND_CORRECTION)
