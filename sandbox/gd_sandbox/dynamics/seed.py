"""Seed data of the Dynamics sandbox (docs/CONTRACTS.md section 3), as partial rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

COMPANIES = {"rsc": "Ridgeline Specialty Contractors", "sbc": "Summit Bakery Co"}
DEFAULT_COMPANY = "rsc"
CHART = "Shared"
LEDGER_FORMAT = ["MainAccount", "BusinessUnit", "Department", "CostCenter"]
DEFAULT_FORMAT = ["BusinessUnit", "Department", "CostCenter"]
DIMENSIONS = ("BusinessUnit", "Department", "CostCenter")
# The account structure every seeded ledger uses (Ledgers.AccountStructureName1).
ACCOUNT_STRUCTURE = "Payroll structure"
# Bank accounts are not an exposed entity set here; journal lines may still name them.
BANK_ACCOUNTS = {"OPER", "PAYROLL"}
# Summary accounts used when posting vendor and bank lines to the ledger.
VENDOR_SUMMARY_ACCOUNT = "200100"
BANK_LEDGER_ACCOUNT = "110100"

MAIN_ACCOUNTS: list[tuple[str, str, str]] = [
    ("600100", "Wages regular", "Expense"),
    ("600110", "Wages overtime", "Expense"),
    ("600120", "Bonus and commission", "Expense"),
    ("600130", "Salaries", "Expense"),
    ("600140", "Other earnings/PTO", "Expense"),
    ("600200", "Employer payroll taxes", "Expense"),
    ("600300", "Employer benefits expense", "Expense"),
    ("600400", "Employee reimbursements", "Expense"),
    ("600500", "Imputed income offset", "Expense"),
    ("600700", "Contractor services", "Expense"),
    ("600710", "Contractor reimbursements", "Expense"),
    ("210100", "Federal income tax withheld", "Liability"),
    ("210110", "State income tax withheld", "Liability"),
    ("210120", "FICA payable", "Liability"),
    ("210130", "Unemployment tax payable", "Liability"),
    ("210200", "Benefits payable", "Liability"),
    ("210300", "Garnishments and other deductions payable", "Liability"),
    ("210400", "Net pay clearing", "Liability"),
    ("999999", "Payroll suspense", "BalanceSheet"),
    ("200100", "Accounts payable", "Liability"),
    ("110100", "Operating cash", "Asset"),
]
# Extra accounts that exist only to exercise validation: suspended / closed for manual entry.
SUSPENDED_ACCOUNTS: list[tuple[str, str]] = [("600900", "Retired wage account")]
NO_MANUAL_ACCOUNTS: list[tuple[str, str]] = [("210900", "Payroll system control")]

DIMENSION_VALUES: dict[str, list[tuple[str, str]]] = {
    "BusinessUnit": [("100", "Commercial"), ("200", "Residential"), ("900", "Corporate")],
    "Department": [
        ("110", "Commercial Field Ops"),
        ("120", "Commercial Project Mgmt"),
        ("210", "Residential Field Ops"),
        ("220", "Residential Service"),
        ("910", "Administration"),
        ("500", "Bakery"),
    ],
    "CostCenter": [("DEN", "Denver"), ("PHX", "Phoenix"), ("BAK", "Bakery")],
}
SUSPENDED_DIMENSION_VALUES: dict[str, list[tuple[str, str]]] = {
    "Department": [("990", "Closed department")],
}
_OU_TYPE = {
    "BusinessUnit": "OMBusinessUnit",
    "Department": "OMDepartment",
    "CostCenter": "OMCostCenter",
}
_DIM_SOURCE = {
    "BusinessUnit": "Business units",
    "Department": "Departments",
    "CostCenter": "Cost centers",
}

WORKERS: list[tuple[str, str, str, str, str]] = [
    # personnel number, first, last, email, employment start
    ("000101", "Maria", "Alvarez", "maria.alvarez@ridgeline.example", "2019-03-04T12:00:00Z"),
    ("000102", "Daniel", "Okafor", "daniel.okafor@ridgeline.example", "2020-07-13T12:00:00Z"),
    ("000103", "Priya", "Raman", "priya.raman@ridgeline.example", "2022-01-10T12:00:00Z"),
]


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, 12, 31) if month == 12 else dt.date(year, month + 1, 1) - dt.timedelta(1)


def seed_rows() -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    rows["LegalEntities"] = [
        {"LegalEntityId": le, "Name": name, "AddressCountryRegionId": "USA", "LanguageId": "en-us"}
        for le, name in COMPANIES.items()
    ]
    rows["Ledgers"] = [
        {
            "LegalEntityId": le,
            "Name": name,
            "ChartOfAccounts": CHART,
            "AccountingCurrency": "USD",
            "ReportingCurrency": "USD",
            "FiscalCalendar": "Fiscal",
            "AccountStructureName1": ACCOUNT_STRUCTURE,
        }
        for le, name in COMPANIES.items()
    ]
    # Monthly operating periods of the "Fiscal" calendar, all open, 2020-2030 (wide enough for
    # every check date the sandboxes produce; a date outside every period is refused).
    rows["LedgerFiscalPeriods"] = [
        {
            "dataAreaId": le,
            "FiscalCalendar": "Fiscal",
            "FiscalYear": str(year),
            "PeriodName": f"Period {month}",
            "StartDate": f"{year:04d}-{month:02d}-01T12:00:00Z",
            "EndDate": f"{_month_end(year, month).isoformat()}T12:00:00Z",
            "PeriodType": "Operating",
            "PeriodStatus": "Open",
        }
        for le in COMPANIES
        for year in range(2020, 2031)
        for month in range(1, 13)
    ]
    rows["Currencies"] = [
        {"CurrencyCode": c, "Name": n, "Symbol": s, "GeneralRoundingRule": "0.01"}
        for c, n, s in (
            ("USD", "US Dollar", "$"),
            ("CAD", "Canadian Dollar", "$"),
            ("EUR", "Euro", "€"),
            ("GBP", "Pound Sterling", "£"),
        )
    ]
    journal_names: list[dict[str, Any]] = []
    for le in COMPANIES:
        journal_names += [
            {
                "dataAreaId": le,
                "Name": "Payroll",
                "Description": "Payroll journal",
                "Type": "Daily",
                "VoucherSeriesCode": "PAY",
                "PostingLayer": "Current",
                "NewVoucher": "InConnectionWithBalance",
            },
            {
                "dataAreaId": le,
                "Name": "GenJrn",
                "Description": "General journal",
                "Type": "Daily",
                "VoucherSeriesCode": "GNJL",
                "PostingLayer": "Current",
                "NewVoucher": "InConnectionWithBalance",
            },
            {
                "dataAreaId": le,
                "Name": "APInvoice",
                "Description": "AP Invoice",
                "Type": "VendInvoiceRegister",
                "VoucherSeriesCode": "APIN",
                "PostingLayer": "Current",
                "NewVoucher": "InConnectionWithBalance",
            },
        ]
    rows["JournalNames"] = journal_names
    accounts = [
        {
            "ChartOfAccounts": CHART,
            "MainAccountId": acct,
            "Name": name,
            "MainAccountType": kind,
            "IsSuspended": "No",
            "DoNotAllowManualEntry": "No",
            "DefaultCurrency": "USD",
        }
        for acct, name, kind in MAIN_ACCOUNTS
    ]
    accounts += [
        {
            "ChartOfAccounts": CHART,
            "MainAccountId": a,
            "Name": n,
            "MainAccountType": "Expense",
            "IsSuspended": "Yes",
        }
        for a, n in SUSPENDED_ACCOUNTS
    ]
    accounts += [
        {
            "ChartOfAccounts": CHART,
            "MainAccountId": a,
            "Name": n,
            "MainAccountType": "Liability",
            "DoNotAllowManualEntry": "Yes",
        }
        for a, n in NO_MANUAL_ACCOUNTS
    ]
    rows["MainAccounts"] = accounts
    rows["DimensionAttributes"] = [
        {"DimensionName": dim, "UseValuesFrom": _DIM_SOURCE[dim], "ReportColumnName": dim}
        for dim in DIMENSION_VALUES
    ]
    values: list[dict[str, Any]] = []
    units: list[dict[str, Any]] = []
    for dim, items in DIMENSION_VALUES.items():
        suspended = SUSPENDED_DIMENSION_VALUES.get(dim, [])
        for value, desc in items + suspended:
            values.append(
                {
                    "FinancialDimension": dim,
                    "LegalEntityId": "",
                    "DimensionValue": value,
                    "Description": desc,
                    "IsSuspended": "Yes" if (value, desc) in suspended else "No",
                }
            )
            units.append(
                {
                    "OperatingUnitNumber": value,
                    "OperatingUnitType": _OU_TYPE[dim],
                    "Name": desc,
                    "NameAlias": desc,
                    "LanguageId": "en-us",
                }
            )
    rows["FinancialDimensionValues"] = values
    rows["OperatingUnits"] = units
    rows["DimensionIntegrationFormats"] = [
        {
            "DimensionFormatName": "Ledger dimension format",
            "DimensionFormatType": "DataEntityLedgerDimensionFormat",
            "FinancialDimensionFormat": "-".join(LEDGER_FORMAT),
            "IsActive": "Yes",
        },
        {
            "DimensionFormatName": "Default dimension format",
            "DimensionFormatType": "DataEntityDefaultDimensionFormat",
            "FinancialDimensionFormat": "-".join(DEFAULT_FORMAT),
            "IsActive": "Yes",
        },
    ]
    rows["DimensionParameters"] = [{"Key": 0, "DimensionSegmentDelimiter": "Hyphen"}]
    rows["VendorGroups"] = [
        {"dataAreaId": le, "VendorGroupId": "CONTRACT", "Description": "Contractors"}
        for le in COMPANIES
    ]
    rows["VendorsV2"] = [
        {
            "dataAreaId": "rsc",
            "VendorAccountNumber": "V00001",
            "VendorOrganizationName": "Front Range Drafting LLC",
            "VendorPartyType": "Organization",
            "VendorGroupId": "CONTRACT",
            "CurrencyCode": "USD",
        }
    ]
    rows["Workers"] = [
        {
            "PersonnelNumber": pn,
            "FirstName": first,
            "LastName": last,
            "Name": f"{first} {last}",
            "PrimaryContactEmail": email,
            "WorkerType": "Employee",
            "WorkerStatus": "Employed",
            "WorkerStartDate": start,
        }
        for pn, first, last, email, start in WORKERS
    ]
    rows["Employments"] = [
        {
            "PersonnelNumber": pn,
            "LegalEntityId": "rsc",
            "EmploymentStartDate": start,
            "WorkerType": "Employee",
        }
        for pn, _first, _last, _email, start in WORKERS
    ]
    return rows
