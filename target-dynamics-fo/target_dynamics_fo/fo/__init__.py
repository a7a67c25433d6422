"""The F&O I/O layer: Entra tokens, the OData client with ``$batch``, entity sets, reference reads.

Outside code imports from this package, not from its modules.
"""

from __future__ import annotations

from target_dynamics_fo.fo.auth import DynamicsAuthError, EntraTokenProvider, PinnedSession
from target_dynamics_fo.fo.batch import build_batch_body, parse_batch_response
from target_dynamics_fo.fo.client import (
    DEFAULT_DEADLINE_SECONDS,
    DEFAULT_MAX_RETRIES,
    MAX_BATCH_OPERATIONS,
    ODataClient,
)
from target_dynamics_fo.fo.entities import (
    ACCOUNT_STRUCTURES,
    DIMENSION_INTEGRATION_FORMATS,
    DIMENSION_PARAMETERS,
    EMPLOYMENTS,
    FINANCIAL_DIMENSION_VALUES,
    FISCAL_PERIODS,
    JOURNAL_NAMES,
    LEDGER_JOURNAL_HEADERS,
    LEDGER_JOURNAL_LINES,
    LEDGERS,
    LEGAL_ENTITIES,
    MAIN_ACCOUNTS,
    OPERATING_UNITS,
    VENDOR_GROUPS,
    VENDOR_INVOICE_HEADERS,
    VENDOR_INVOICE_LINES,
    VENDORS,
    WORKERS,
)
from target_dynamics_fo.fo.errors import (
    DynamicsThrottledError,
    ODataBatchError,
    ODataError,
    WriteOutcomeUnknownError,
    describe_error,
)
from target_dynamics_fo.fo.odata import Operation, Result, fo_date, format_key, odata_literal
from target_dynamics_fo.fo.reference import (
    MAIN_ACCOUNT_SEGMENT,
    ReferenceData,
    ReferenceDataError,
    check_company,
    company_gaps,
    department_gap,
    dimension_gaps,
    load_reference,
    location_gap,
    main_account_gaps,
    structure_gaps,
)
from target_dynamics_fo.ledger import dumps

__all__ = [
    "ACCOUNT_STRUCTURES",
    "DEFAULT_DEADLINE_SECONDS",
    "DEFAULT_MAX_RETRIES",
    "DIMENSION_INTEGRATION_FORMATS",
    "DIMENSION_PARAMETERS",
    "EMPLOYMENTS",
    "FINANCIAL_DIMENSION_VALUES",
    "FISCAL_PERIODS",
    "JOURNAL_NAMES",
    "LEDGERS",
    "LEDGER_JOURNAL_HEADERS",
    "LEDGER_JOURNAL_LINES",
    "LEGAL_ENTITIES",
    "MAIN_ACCOUNTS",
    "MAIN_ACCOUNT_SEGMENT",
    "MAX_BATCH_OPERATIONS",
    "OPERATING_UNITS",
    "VENDORS",
    "VENDOR_GROUPS",
    "VENDOR_INVOICE_HEADERS",
    "VENDOR_INVOICE_LINES",
    "WORKERS",
    "DynamicsAuthError",
    "DynamicsThrottledError",
    "EntraTokenProvider",
    "ODataBatchError",
    "ODataClient",
    "ODataError",
    "Operation",
    "PinnedSession",
    "ReferenceData",
    "ReferenceDataError",
    "Result",
    "WriteOutcomeUnknownError",
    "build_batch_body",
    "check_company",
    "company_gaps",
    "department_gap",
    "describe_error",
    "dimension_gaps",
    "dumps",
    "fo_date",
    "format_key",
    "load_reference",
    "location_gap",
    "main_account_gaps",
    "odata_literal",
    "parse_batch_response",
    "structure_gaps",
]
