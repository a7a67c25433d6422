"""The mapping file's shape as a pydantic model: every key, its type, its default and its rules.

The model mirrors the YAML (companies -> accounts, dimensions, contractors, workers) and is the
source of the JSON schema editors use (schema.py). Rules that only this target knows raise a
`problem` whose text is what a finance user reads; loader.py words pydantic's own errors
(missing key, unknown key, wrong type) the same way and puts the key path in front. Validation
never stops at the first problem, so one run lists everything to fix.
"""

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    StrictBool,
    Tag,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

# The money module, not the ledger package: the ledger imports this package for its types.
from target_dynamics_fo.ledger.money import AmountError, parse_amount
from target_dynamics_fo.mapping.checks import (
    MISSING_TABLE,
    allocation_problems,
    dimension_owner_problems,
    problem,
    validate_also,
)
from target_dynamics_fo.mapping.company import (
    HUNDRED,
    PLACEHOLDER_RE,
    CompanyTaxAllocation,
    CorrectionMode,
    SummaryLevel,
)

_PREFIX_RE = re.compile(r"[A-Z0-9]{1,8}")
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_WORKER_PLACEHOLDERS = frozenset({"employee_code", "uuid", "uuid8"})
_VENDOR_PLACEHOLDERS = frozenset({"uuid", "uuid8"})


class PlainKeys:
    """Marks a table whose keys are F&O dimension names: paths show them unquoted."""


PLAIN_KEYS = PlainKeys()


# ---- scalars --------------------------------------------------------------------------------


def _text(value: object) -> str:
    # Account numbers like 600100 are often written unquoted; YAML then gives an int, which is
    # fine (the loader keeps 010 as written). A float has lost digits, so it must be quoted.
    if value is None:
        raise problem("is missing; add it")
    if isinstance(value, bool | float):
        raise problem(f"must be a string, got {value!r}; quote it in YAML")
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise problem(f"must be a non-empty string, got {value!r}")
    return value


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


_TEXT_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "string", "minLength": 1}, {"type": "integer", "minimum": 0}]
}
Text = Annotated[str, BeforeValidator(_text), WithJsonSchema(_TEXT_SCHEMA)]
OptionalText = Annotated[
    str | None,
    BeforeValidator(_optional_text),
    WithJsonSchema({"anyOf": [*_TEXT_SCHEMA["anyOf"], {"type": "null"}]}),
]


def _matching(pattern: re.Pattern[str], text: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if pattern.fullmatch(value) is None:
            raise problem(f"{value!r} {text}")
        return value

    return check


Prefix = Annotated[
    str,
    AfterValidator(
        _matching(
            _PREFIX_RE,
            "must be 1-8 upper-case letters or digits (it starts every journal number)",
        )
    ),
    BeforeValidator(_text),
    WithJsonSchema({"type": "string", "pattern": "^[A-Z0-9]{1,8}$"}),
]
Currency = Annotated[
    str,
    AfterValidator(_matching(_CURRENCY_RE, "must be a 3-letter code like USD")),
    BeforeValidator(_text),
    WithJsonSchema({"type": "string", "pattern": "^[A-Z]{3}$"}),
]


def _scheme(allowed: frozenset[str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        unknown = [name for name in PLACEHOLDER_RE.findall(value) if name not in allowed]
        if unknown:
            names = ", ".join(f"{{{n}}}" for n in unknown)
            raise problem(
                f"unknown placeholder {names}; use one of "
                + ", ".join(f"{{{a}}}" for a in sorted(allowed))
            )
        return value

    return check


VendorScheme = Annotated[str, AfterValidator(_scheme(_VENDOR_PLACEHOLDERS)), BeforeValidator(_text)]
WorkerScheme = Annotated[str, AfterValidator(_scheme(_WORKER_PLACEHOLDERS)), BeforeValidator(_text)]


def _percent(value: object) -> Decimal:
    # YAML gives 50 or 33.3333 as int/float; read floats back through their literal text so
    # the percentage stays exact for what a human typed (a YAML literal has few digits).
    try:
        percent = parse_amount(
            repr(value) if isinstance(value, float) else value, where="percent", max_places=4
        )
    except AmountError as exc:
        raise problem(
            f'must be a decimal percentage like "50" or "33.3333" ({exc.value!r})'
        ) from None
    if percent <= 0:
        raise problem("must be greater than 0")
    return percent


Percent = Annotated[
    Decimal,
    BeforeValidator(_percent),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
                {"type": "string", "pattern": r"^\d+(\.\d{1,4})?$"},
            ]
        }
    ),
]


# ---- tables ---------------------------------------------------------------------------------


def _table_or_empty(value: object) -> object:
    # An optional table may be left empty in YAML (`earnings:`), which reads as null.
    return {} if value is None else value


class NullAllowed:
    """Lets the JSON schema accept null where a validator reads it as empty (`earnings:`)."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [handler(schema), {"type": "null"}]}


NULL_ALLOWED = NullAllowed()


def _dimension_table(value: object) -> object:
    if value is None:
        raise problem(MISSING_TABLE)
    if not isinstance(value, dict):
        raise problem(f"must be a mapping of keys to values, got {type(value).__name__}")
    if not value:
        raise problem("names no dimension values; add at least one, e.g. Department")
    return value


def _fixed_or_empty(value: object) -> object:
    return value or {}


def _not_split(value: object) -> object:
    if isinstance(value, dict) and "split" in value:
        raise problem("locations cannot be split; split the department")
    return value


Names = Annotated[dict[str, Text], BeforeValidator(_table_or_empty), NULL_ALLOWED]
DimensionValues = Annotated[
    dict[str, Text], PLAIN_KEYS, Field(min_length=1), BeforeValidator(_dimension_table)
]
FixedValues = Annotated[dict[str, Text], PLAIN_KEYS, BeforeValidator(_fixed_or_empty), NULL_ALLOWED]
LocationRule = Annotated[DimensionValues, BeforeValidator(_not_split)]


class _File(BaseModel):
    # Unknown keys are refused: a misspelt key would otherwise be ignored and its default used.
    model_config = ConfigDict(extra="forbid", frozen=True)


class TaxAccountsFile(_File):
    """An employer-side item posts twice: expense (debit) and payable (credit)."""

    expense: Text
    payable: Text


TaxAccountsTable = Annotated[
    dict[str, TaxAccountsFile], BeforeValidator(_table_or_empty), NULL_ALLOWED
]


def _two_parts(value: object) -> object:
    if not isinstance(value, list) or len(value) < 2:
        raise problem("must be a list of at least two parts")
    return value


class SplitPart(_File):
    """`percent` of the department's amounts go to `dimensions`."""

    percent: Percent
    dimensions: DimensionValues


class SplitRule(_File):
    """A department whose amounts are shared between dimension sets; percentages add to 100."""

    split: Annotated[list[SplitPart], Field(min_length=2), BeforeValidator(_two_parts)]

    @field_validator("split")
    @classmethod
    def _adds_up(cls, parts: list[SplitPart]) -> list[SplitPart]:
        total = sum((part.percent for part in parts), Decimal(0))
        if total != HUNDRED:
            raise problem(f"percentages add up to {total}, not 100; fix them")
        return parts


def _rule_kind(value: object) -> str:
    return "split" if isinstance(value, dict) and "split" in value else "values"


DepartmentRule = Annotated[
    Annotated[SplitRule, Tag("split")] | Annotated[DimensionValues, Tag("values")],
    Discriminator(_rule_kind),
]


class AccountsFile(_File):
    """Main accounts per Gusto pay component; a `*_default` catches components not listed."""

    earnings: Names = Field(default_factory=dict)
    earnings_default: OptionalText = None
    other_earnings: Text
    imputed_income: Text
    imputed_offset: Text
    reimbursement_expense: Text
    reimbursement_payable: OptionalText = Field(
        default=None, description="Credit for reimbursements; net_pay when not set."
    )
    net_pay: Text
    employee_taxes: Names = Field(default_factory=dict)
    employee_tax_default: OptionalText = None
    employer_taxes: TaxAccountsTable = Field(default_factory=dict)
    employer_tax_default: TaxAccountsFile | None = None
    benefits: TaxAccountsTable = Field(default_factory=dict)
    benefit_default: TaxAccountsFile | None = None
    deductions: Names = Field(default_factory=dict)
    deduction_default: OptionalText = None


class DimensionsFile(_File):
    """Financial dimension values: fixed for every line, per department, per location."""

    fixed: FixedValues = Field(default_factory=dict)
    departments: Annotated[
        dict[str, DepartmentRule], BeforeValidator(_table_or_empty), NULL_ALLOWED
    ] = Field(default_factory=dict, description="By Gusto department title or uuid.")
    locations: Annotated[
        dict[str, LocationRule], BeforeValidator(_table_or_empty), NULL_ALLOWED
    ] = Field(
        default_factory=dict, description="By Gusto location uuid; locations cannot be split."
    )
    default: DimensionValues | None = Field(
        default=None, description="For an employee without a department."
    )

    @model_validator(mode="wrap")
    @classmethod
    def _one_owner(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        return validate_also(data, handler, dimension_owner_problems)


class ExpenseAccountsFile(_File):
    wage: Text
    bonus: Text
    reimbursement: Text


class ContractorsFile(_File):
    """Contractor payments become vendor invoices."""

    vendor_group: Text
    vendor_account: VendorScheme = Field(description="Vendor account scheme: {uuid}, {uuid8}.")
    invoice_journal_name: Text
    expense_accounts: ExpenseAccountsFile
    links: Names = Field(
        default_factory=dict, description="Gusto contractor uuid -> existing vendor account."
    )
    create_vendors: StrictBool = True
    update_linked_vendors: StrictBool = False


class WorkersFile(_File):
    personnel_number: WorkerScheme = Field(description="Scheme: {employee_code}, {uuid}, {uuid8}.")
    links: Names = Field(
        default_factory=dict, description="Gusto employee uuid -> existing personnel number."
    )


def _name(value: object) -> str | None:
    return None if value is None else str(value)


class CompanyFile(_File):
    """One Gusto company, keyed by its uuid."""

    name: Annotated[str | None, BeforeValidator(_name)] = None
    legal_entity: Text
    journal_name: Text
    currency: Currency = "USD"
    summary_level: SummaryLevel = "department"
    journal_number_prefix: Prefix = "GUS"
    suspense_account: OptionalText = None
    dimensions_on_liabilities: StrictBool = False
    # Gusto's totals.employer_taxes includes company_taxes (docs/accounting.md), so the
    # journal only matches Gusto's payroll cost when they are posted.
    post_company_taxes: StrictBool = True
    company_taxes_allocation: CompanyTaxAllocation = "wages"
    corrections: CorrectionMode = "reverse_and_repost"
    accounts: AccountsFile
    dimensions: Annotated[DimensionsFile, BeforeValidator(_table_or_empty), NULL_ALLOWED] = Field(
        default_factory=DimensionsFile
    )
    contractors: ContractorsFile
    workers: WorkersFile

    @model_validator(mode="wrap")
    @classmethod
    def _allocation_needs_default(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        return validate_also(data, handler, allocation_problems)


def _version(value: object) -> object:
    if value != 1:
        raise problem(f"unsupported version {value!r}; this target reads version 1")
    return 1


class MappingFile(_File):
    """How gusto-dynamics posts Gusto payrolls to Dynamics 365 F&O (docs/accounting.md)."""

    version: Annotated[Literal[1], BeforeValidator(_version)] = 1
    companies: dict[str, CompanyFile] = Field(description="Keyed by Gusto company uuid.")

    @field_validator("companies")
    @classmethod
    def _some_company(cls, companies: dict[str, CompanyFile]) -> dict[str, CompanyFile]:
        if not companies:
            raise problem("maps no company; add one entry per Gusto company uuid")
        return companies
