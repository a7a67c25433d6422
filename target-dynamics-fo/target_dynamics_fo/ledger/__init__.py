"""The pure accounting layer: money, mapping rules applied to pay, journals, display values.

No I/O here; `target_dynamics_fo.fo` talks to Dynamics. Outside code imports from this package,
not from its modules.
"""

from __future__ import annotations

from target_dynamics_fo.ledger.build import CompensationSource, build_journal
from target_dynamics_fo.ledger.canonical import CanonicalRow
from target_dynamics_fo.ledger.content import (
    canonical_compensation,
    content_digest,
    content_hash_of_rows,
    journal_batch_number,
    payroll_content_hash,
    recanonical_compensation,
    rows_need_recanonical,
)
from target_dynamics_fo.ledger.display import (
    default_dimension_display_value,
    ledger_display_value,
    split_display_value,
)
from target_dynamics_fo.ledger.model import (
    BATCH_NUMBER_LIMIT,
    HOURS_PLACES,
    NO_AMOUNT,
    RECONCILED_TOTALS,
    REIMBURSEMENT_EARNING,
    TEXT_LIMIT,
    Balanced,
    DimensionFormat,
    DimensionFormatError,
    EmployeeRef,
    Journal,
    JournalError,
    JournalLine,
    ProblemsError,
    signed_line,
    wrong_company,
)
from target_dynamics_fo.ledger.money import (
    CENT,
    FO_AMOUNT_LIMIT,
    ZERO,
    AmountError,
    canonical_amount,
    dumps,
    exact_arithmetic,
    format_amount,
    loads,
    parse_amount,
    reused_encode,
    rounding_arithmetic,
)
from target_dynamics_fo.ledger.split import allocate_by_wages, split_amount

__all__ = [
    "BATCH_NUMBER_LIMIT",
    "CENT",
    "FO_AMOUNT_LIMIT",
    "HOURS_PLACES",
    "NO_AMOUNT",
    "RECONCILED_TOTALS",
    "REIMBURSEMENT_EARNING",
    "TEXT_LIMIT",
    "ZERO",
    "AmountError",
    "Balanced",
    "CanonicalRow",
    "CompensationSource",
    "DimensionFormat",
    "DimensionFormatError",
    "EmployeeRef",
    "Journal",
    "JournalError",
    "JournalLine",
    "ProblemsError",
    "allocate_by_wages",
    "build_journal",
    "canonical_amount",
    "canonical_compensation",
    "content_digest",
    "content_hash_of_rows",
    "default_dimension_display_value",
    "dumps",
    "exact_arithmetic",
    "format_amount",
    "journal_batch_number",
    "ledger_display_value",
    "loads",
    "parse_amount",
    "payroll_content_hash",
    "recanonical_compensation",
    "reused_encode",
    "rounding_arithmetic",
    "rows_need_recanonical",
    "signed_line",
    "split_amount",
    "split_display_value",
    "wrong_company",
]
