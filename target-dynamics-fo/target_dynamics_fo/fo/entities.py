"""Every F&O OData entity set the target reads or writes, by its collection name, in one place.

Names follow the reference notes on F&O (standard entities, 10.0.4x). Two are the sandbox's
own, because the notes name no standard entity for what they serve; a real environment must
expose them under these names or the feature that reads them is refused with a clear message:
``ACCOUNT_STRUCTURES`` (the required dimensions per main-account range) and ``FISCAL_PERIODS``
(period status, for ``correction_date: first_open_day``).
"""

from __future__ import annotations

# General journals (the payroll journal and its corrections).
LEDGER_JOURNAL_HEADERS = "LedgerJournalHeaders"
LEDGER_JOURNAL_LINES = "LedgerJournalLines"
# Vendor invoice journals (contractor payments).
VENDOR_INVOICE_HEADERS = "VendInvoiceJournalHeaders"
VENDOR_INVOICE_LINES = "VendInvoiceJournalLines"
# Master data the target keeps in agreement with Gusto.
WORKERS = "Workers"
EMPLOYMENTS = "Employments"
VENDORS = "VendorsV2"
VENDOR_GROUPS = "VendorGroups"
# Reference data read before posting.
LEGAL_ENTITIES = "LegalEntities"
LEDGERS = "Ledgers"
JOURNAL_NAMES = "JournalNames"
MAIN_ACCOUNTS = "MainAccounts"
DIMENSION_PARAMETERS = "DimensionParameters"
DIMENSION_INTEGRATION_FORMATS = "DimensionIntegrationFormats"
FINANCIAL_DIMENSION_VALUES = "FinancialDimensionValues"
OPERATING_UNITS = "OperatingUnits"
# The sandbox's names (see the module docstring).
ACCOUNT_STRUCTURES = "AccountStructureRequirements"
FISCAL_PERIODS = "LedgerFiscalPeriods"
