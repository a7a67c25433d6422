"""Registry of the entity sets the sandbox serves: keys, field kinds, defaults, company scoping."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .spec_fields import ENUMS, SPEC_ENTITIES, ZERO_MEMBERS

NAMESPACE = "Microsoft.Dynamics.DataEntities"
EMPTY_DATE = "1900-01-01T12:00:00Z"
MAX_DATE = "2154-12-31T23:59:59Z"

EXTRA_ENUMS: dict[str, tuple[str, ...]] = {
    "DimensionIntegrationFormatType": (
        "DataEntityLedgerDimensionFormat",
        "DataEntityDefaultDimensionFormat",
        "DataEntityBudgetDimensionFormat",
        "DataEntityBudgetPlanningDimensionFormat",
    ),
    "HcmWorkerStatus": ("None", "Employed", "Terminated", "Pending"),
    "DirPartyBaseType": ("None", "Organization", "Person"),
    "LedgerPostingType": ("None", "LedgerJournal", "VendBalance", "VendPayment", "Tax"),
    "CustVendorBlocked": ("No", "Invoice", "All", "Payment", "Requisition", "Never"),
    "NewVoucher": ("InConnectionWithBalance", "OneVoucherNumberOnly", "Manual"),
    "FiscalPeriodType": ("Operating", "Opening", "Closing"),
    # A ledger's period status: only "Open" takes postings (General ledger > Ledger calendars
    # in F&O: Open / On hold / Permanently closed).
    "FiscalPeriodStatus": ("Open", "OnHold", "Closed"),
}


def enum_members(enum_type: str) -> tuple[str, ...]:
    if enum_type in ENUMS:
        return ENUMS[enum_type]
    if enum_type in EXTRA_ENUMS:
        return EXTRA_ENUMS[enum_type]
    return (ZERO_MEMBERS.get(enum_type, "None"),)


def enum_default(enum_type: str) -> str:
    return ZERO_MEMBERS.get(enum_type, enum_members(enum_type)[0])


@dataclass(frozen=True, slots=True)
class EntityDef:
    set_name: str
    type_name: str
    aot_name: str
    keys: tuple[str, ...]
    fields: dict[str, str]
    read_only: bool = False
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def company_scoped(self) -> bool:
        return "dataAreaId" in self.fields

    def kind(self, name: str) -> str | None:
        return self.fields.get(name)

    def default_for(self, name: str) -> Any:
        if name in self.defaults:
            return self.defaults[name]
        kind = self.fields[name]
        if kind == "dec":
            return Decimal(0)
        if kind == "int":
            return 0
        if kind == "date":
            return EMPTY_DATE
        if kind == "guid":
            return "00000000-0000-0000-0000-000000000000"
        if kind.startswith("enum:"):
            return enum_default(kind[5:])
        return ""


_AOT = {
    "LedgerJournalHeaders": "LedgerJournalHeaderEntity",
    "LedgerJournalLines": "LedgerJournalLineEntity",
    "MainAccounts": "MainAccountEntity",
    "FinancialDimensionValues": "DimensionFinancialDimensionValueEntity",
    "DimensionAttributes": "DimensionAttributeEntity",
    "DimensionParameters": "DimensionParametersEntity",
    "JournalNames": "LedgerJournalNameEntity",
    "Employments": "HcmEmploymentEntity",
    "VendorsV2": "VendVendorV2Entity",
    "VendorGroups": "VendVendorGroupEntity",
    "Currencies": "CurrencyEntity",
}


def _spec(set_name: str, **kw: Any) -> EntityDef:
    type_name, keys, fields = SPEC_ENTITIES[set_name]
    return EntityDef(set_name, type_name, _AOT[set_name], keys, dict(fields), **kw)


def _hand(
    set_name: str,
    type_name: str,
    aot: str,
    keys: tuple[str, ...],
    fields: str,
    **kw: Any,
) -> EntityDef:
    parsed: dict[str, str] = {}
    for item in fields.split():
        name, _, kind = item.partition(":")
        parsed[name] = kind or "str"
    return EntityDef(set_name, type_name, aot, keys, parsed, **kw)


_VEND_INVOICE_LINE_FIELDS = """
dataAreaId JournalBatchNumber LineNumber:dec Voucher Date:date AccountType:enum:LedgerJournalACType
AccountDisplayValue OffsetAccountType:enum:LedgerJournalACType OffsetAccountDisplayValue
DefaultDimensionDisplayValue OffsetDefaultDimensionDisplayValue Debit:dec Credit:dec Currency
ExchRate:dec ExchRateSecond:dec ReportingCurrencyExchRate:dec Invoice InvoiceDate:date DueDate:date
Description Document TermsOfPayment MethodOfPayment PostingProfile SalesTaxGroup ItemSalesTaxGroup
CashDiscount CashDiscountDate:date CashDiscountAmount:dec TransactionType:enum:LedgerJournalACType
Approved:enum:NoYes ApproverNumber Company OffsetCompany OffsetTransactionText PaymId
PaymentSpecification BankAccountId CustVendBankAccountId TaxExemptNumber DeliveryDate:date
RemittanceAddressCity RemittanceAddressStreet RemittanceAddressZipCode RemittanceAddressState
RemittanceAddressCountry
"""

ENTITY_DEFS: dict[str, EntityDef] = {
    d.set_name: d
    for d in (
        _spec(
            "LedgerJournalHeaders",
            defaults={"IsPosted": "No", "PostingLayer": "Current", "AccountingCurrency": "USD"},
        ),
        _spec(
            "LedgerJournalLines",
            defaults={
                "ExchRate": Decimal(100),
                "ReportingCurrencyExchRate": Decimal(100),
                "AccountType": "Ledger",
                "OffsetAccountType": "Ledger",
            },
        ),
        _spec("MainAccounts", defaults={"ActiveTo": EMPTY_DATE}),
        _spec("FinancialDimensionValues"),
        _spec("DimensionAttributes"),
        _spec("DimensionParameters"),
        _spec("JournalNames"),
        _spec("Employments", defaults={"EmploymentEndDate": MAX_DATE}),
        _spec("VendorsV2", defaults={"VendorPartyType": "Organization"}),
        _spec("VendorGroups"),
        _spec("Currencies"),
        _hand(
            "Workers",
            "Worker",
            "HcmWorkerEntity",
            ("PersonnelNumber",),
            "PersonnelNumber Name FirstName MiddleName LastName KnownAs PartyNumber"
            " PrimaryContactEmail WorkerType:enum:HcmEmploymentType"
            " WorkerStatus:enum:HcmWorkerStatus"
            " WorkerStartDate:date",
            defaults={"WorkerStatus": "None"},
        ),
        _hand(
            "OperatingUnits",
            "OperatingUnit",
            "OMOperatingUnitEntity",
            ("OperatingUnitNumber", "OperatingUnitType"),
            "OperatingUnitNumber OperatingUnitType:enum:OMOperatingUnitType Name NameAlias"
            " PartyNumber LanguageId",
        ),
        _hand(
            "DimensionIntegrationFormats",
            "DimensionIntegrationFormat",
            "DimensionIntegrationFormatEntity",
            ("DimensionFormatName", "DimensionFormatType"),
            "DimensionFormatName DimensionFormatType:enum:DimensionIntegrationFormatType"
            " FinancialDimensionFormat IsActive:enum:NoYes",
        ),
        _hand(
            "LegalEntities",
            "LegalEntity",
            "OMLegalEntity",
            ("LegalEntityId",),
            "LegalEntityId Name CompanyType AddressCountryRegionId LanguageId",
        ),
        _hand(
            "Ledgers",
            "Ledger",
            "LedgerEntity",
            ("LegalEntityId",),
            "LegalEntityId Name ChartOfAccounts AccountingCurrency ReportingCurrency FiscalCalendar"
            " AccountStructureName1",
        ),
        # Synthetic, opt-in (empty unless /_sandbox/config sets `account_structures`): a flat
        # reading of an account structure's allowed-value criteria (F&O's "Account structure
        # allowed values", LedgerAccountStructureConstraintEntity): for main accounts in
        # [MainAccountFrom, MainAccountTo] the listed dimensions may not be blank.
        _hand(
            "AccountStructureRequirements",
            "AccountStructureRequirement",
            "LedgerAccountStructureConstraintEntity",
            ("AccountStructure", "Position"),
            "AccountStructure Position:int MainAccountFrom MainAccountTo RequiredDimensions"
            " IsActive:enum:NoYes",
            read_only=True,
            defaults={"IsActive": "Yes"},
        ),
        # Fiscal periods of each legal entity's ledger with their status. The reference notes
        # (dynamics-fo.md) name no OData entity for period status, only that posting needs an
        # open fiscal period; "LedgerFiscalPeriods" is this sandbox's name for it (the status
        # lives in F&O's LedgerFiscalCalendarPeriod table). Read-only: a period is opened or
        # closed in the ledger calendar, never by the integration. Set with /_sandbox/config
        # `period_status`.
        _hand(
            "LedgerFiscalPeriods",
            "LedgerFiscalPeriod",
            "LedgerFiscalCalendarPeriodEntity",
            ("dataAreaId", "FiscalCalendar", "FiscalYear", "PeriodName"),
            "dataAreaId FiscalCalendar FiscalYear PeriodName StartDate:date EndDate:date"
            " PeriodType:enum:FiscalPeriodType PeriodStatus:enum:FiscalPeriodStatus",
            read_only=True,
        ),
        _hand(
            "GeneralJournalAccountEntries",
            "GeneralJournalAccountEntry",
            "GeneralJournalAccountEntryEntity",
            ("GeneralJournalAccountEntryRecId",),
            "GeneralJournalAccountEntryRecId:int JournalNumber Voucher AccountingDate:date"
            " PostingLayer:enum:CurrentOperationsTax LedgerAccount AccountDisplayValue MainAccount"
            " TransactionCurrencyCode TransactionCurrencyAmount:dec"
            " TransactionCurrencyDebitAmount:dec TransactionCurrencyCreditAmount:dec"
            " AccountingCurrencyAmount:dec ReportingCurrencyAmount:dec Description"
            " PostingType:enum:LedgerPostingType JournalCategory:enum:LedgerJournalType"
            " IsCredit:enum:NoYes IsCorrection:enum:NoYes DocumentDate:date DocumentNumber"
            " LedgerName",
            read_only=True,
        ),
        _hand(
            "VendInvoiceJournalHeaders",
            "VendInvoiceJournalHeader",
            "VendInvoiceJournalHeaderEntity",
            ("dataAreaId", "JournalBatchNumber"),
            "dataAreaId JournalBatchNumber JournalName Description IsPosted:enum:NoYes"
            " SalesTaxIncluded:enum:NoYes",
            defaults={"IsPosted": "No"},
        ),
        _hand(
            "VendInvoiceJournalLines",
            "VendInvoiceJournalLine",
            "VendInvoiceJournalLineEntity",
            ("dataAreaId", "JournalBatchNumber", "LineNumber"),
            _VEND_INVOICE_LINE_FIELDS,
            defaults={
                "ExchRate": Decimal(100),
                "ReportingCurrencyExchRate": Decimal(100),
                "AccountType": "Vend",
                "OffsetAccountType": "Ledger",
                "TransactionType": "Vend",
                "Approved": "No",
            },
        ),
    )
}


def all_enum_types() -> dict[str, tuple[str, ...]]:
    used: dict[str, tuple[str, ...]] = {}
    for d in ENTITY_DEFS.values():
        for kind in d.fields.values():
            if kind.startswith("enum:"):
                used[kind[5:]] = enum_members(kind[5:])
    return used
