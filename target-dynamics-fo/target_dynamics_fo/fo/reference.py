"""Dynamics reference data a journal depends on, checked before anything is posted.

F&O validates each journal line against the active ledger dimension format, the chart of
accounts, the dimension values and the journal name, and a failure there rejects the whole
changeset with one Infolog line. Checking up front lets the target report every gap at once,
with names a finance user recognises, instead of one cryptic failure per run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from target_dynamics_fo.fo.client import ODataClient
from target_dynamics_fo.fo.entities import (
    ACCOUNT_STRUCTURES,
    DIMENSION_INTEGRATION_FORMATS,
    DIMENSION_PARAMETERS,
    FINANCIAL_DIMENSION_VALUES,
    JOURNAL_NAMES,
    LEDGERS,
    MAIN_ACCOUNTS,
    OPERATING_UNITS,
)
from target_dynamics_fo.fo.errors import ODataError
from target_dynamics_fo.fo.odata import odata_literal
from target_dynamics_fo.ledger import ProblemsError
from target_dynamics_fo.mapping import CompanyMapping

LOGGER = logging.getLogger(__name__)

LEDGER_FORMAT_TYPE = "DataEntityLedgerDimensionFormat"
DEFAULT_FORMAT_TYPE = "DataEntityDefaultDimensionFormat"
MAIN_ACCOUNT_SEGMENT = "MainAccount"
# Which dimensions each account structure requires, per main-account range (docs/accounting.md,
# "Account structures"); Ledgers.AccountStructureName1..20 say which structures a company uses.
_STRUCTURE_SLOTS = 20
# Components that land on liability accounts and carry only the fixed dimensions unless
# dimensions_on_liabilities is set (ledger.rules).
_LIABILITY_PREFIXES = (
    "ER tax payable: ",
    "Benefit payable: ",
    "EE tax: ",
    "Deduction: ",
    "Net pay",
    "Reimbursements payable",
)

# DimensionParameters.DimensionSegmentDelimiter enum names -> the characters they stand for:
# five single characters, and each of them doubled ("DoubleHyphen" is "--").
_SINGLE_DELIMITERS = {"Hyphen": "-", "Period": ".", "Underscore": "_", "Bar": "|", "Tilde": "~"}
DELIMITERS: dict[str, str] = {
    **_SINGLE_DELIMITERS,
    **{f"Double{name}": char * 2 for name, char in _SINGLE_DELIMITERS.items()},
}

# Entity-backed dimensions read their values from the operating unit entities.
_OPERATING_UNIT_DIMENSIONS = {
    "OMBusinessUnit": "BusinessUnit",
    "OMDepartment": "Department",
    "OMCostCenter": "CostCenter",
    "OMValueStream": "ValueStream",
}


class StructureRule(NamedTuple):
    """Main accounts from `low` to `high` (inclusive) need a value in each of `dimensions`."""

    structure: str
    low: str
    high: str
    dimensions: tuple[str, ...]


class ReferenceDataError(ProblemsError):
    """Dynamics lacks something the mapping needs; lists every gap with its fix."""

    def __init__(self, legal_entity: str, gaps: list[str]) -> None:
        self.legal_entity = legal_entity
        super().__init__(
            f"Dynamics reference data for legal entity {legal_entity!r} does not cover the mapping",
            gaps,
        )
        self.gaps = self.problems


@dataclass
class ReferenceData:
    """What one F&O environment offers, read once per run."""

    ledger_format_name: str | None = None
    ledger_segments: tuple[str, ...] = ()
    default_segments: tuple[str, ...] = ()
    delimiter: str = "-"
    main_accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (dimension name, legal entity or "" for shared) -> values
    dimension_values: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    suspended_values: set[tuple[str, str]] = field(default_factory=set)
    journal_names: dict[str, set[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # legal entity -> account structures its ledger uses; rules of those structures
    ledger_structures: dict[str, set[str]] = field(default_factory=dict)
    structure_rules: list[StructureRule] = field(default_factory=list)

    def required_dimensions(self, legal_entity: str, main_account: str) -> dict[str, str]:
        """Dimension -> the account structure that requires it on this main account."""
        structures = self.ledger_structures.get(legal_entity.lower(), set())
        required: dict[str, str] = {}
        for rule in self.structure_rules:
            if rule.structure in structures and rule.low <= main_account <= rule.high:
                for dimension in rule.dimensions:
                    required.setdefault(dimension, rule.structure)
        return required

    def values_for(self, dimension: str, legal_entity: str) -> set[str]:
        shared = self.dimension_values.get((dimension, ""), set())
        return shared | self.dimension_values.get((dimension, legal_entity.lower()), set())

    @property
    def dimension_segments(self) -> tuple[str, ...]:
        """Ledger-format segments after the main account, in order."""
        return tuple(s for s in self.ledger_segments if s != MAIN_ACCOUNT_SEGMENT)


def _yes(value: Any) -> bool:
    return str(value).strip().lower() in {"yes", "true", "1"}


def load_reference(client: ODataClient, legal_entities: Iterable[str]) -> ReferenceData:
    """Read formats, delimiter, accounts, dimension values and journal names."""
    ref = ReferenceData()
    _load_delimiter(client, ref)
    _load_formats(client, ref)
    for row in client.get_all(MAIN_ACCOUNTS):
        account = str(row.get("MainAccountId") or "")
        if account:
            ref.main_accounts[account] = row
    _load_dimension_values(client, ref)
    _load_account_structures(client, ref)
    for legal_entity in sorted({le.lower() for le in legal_entities}):
        rows = client.get_all(
            JOURNAL_NAMES,
            cross_company=True,
            filter=f"dataAreaId eq {odata_literal(legal_entity)}",
        )
        ref.journal_names[legal_entity] = {
            str(row.get("Name"))
            for row in rows
            if str(row.get("dataAreaId", legal_entity)).lower() == legal_entity
        }
    return ref


def _load_delimiter(client: ODataClient, ref: ReferenceData) -> None:
    rows = client.get_all(DIMENSION_PARAMETERS)
    if not rows:
        ref.problems.append(
            "DimensionParameters returned no row, so the dimension segment delimiter is unknown; "
            "open General ledger > Chart of accounts > Dimensions > Financial dimension "
            "configuration for integrating applications and save it once."
        )
        return
    raw = str(rows[0].get("DimensionSegmentDelimiter") or "Hyphen")
    delimiter = DELIMITERS.get(raw, raw if raw in DELIMITERS.values() else None)
    if delimiter is None:
        ref.problems.append(
            f"the dimension segment delimiter {raw!r} is not one this target knows "
            f"({', '.join(DELIMITERS)}); choose one of them in Financial dimension "
            "configuration for integrating applications."
        )
        return
    ref.delimiter = delimiter


def _load_formats(client: ODataClient, ref: ReferenceData) -> None:
    rows = client.get_all(DIMENSION_INTEGRATION_FORMATS)
    ledger = [r for r in rows if r.get("DimensionFormatType") == LEDGER_FORMAT_TYPE]
    active = [r for r in ledger if _yes(r.get("IsActive"))]
    fix = (
        "set one format of type 'Ledger dimension format' active under General ledger > Chart of "
        "accounts > Dimensions > Financial dimension configuration for integrating applications"
    )
    if not active:
        names = ", ".join(str(r.get("DimensionFormatName")) for r in ledger) or "none"
        ref.problems.append(f"no active ledger dimension format (formats found: {names}); {fix}.")
    elif len(active) > 1:
        names = ", ".join(str(r.get("DimensionFormatName")) for r in active)
        ref.problems.append(f"more than one active ledger dimension format ({names}); {fix}.")
    else:
        row = active[0]
        ref.ledger_format_name = str(row.get("DimensionFormatName"))
        text = str(row.get("FinancialDimensionFormat") or "")
        segments = tuple(s.strip() for s in text.split(ref.delimiter)) if text else ()
        if not segments or segments[0] != MAIN_ACCOUNT_SEGMENT:
            ref.problems.append(
                f"the active ledger dimension format {ref.ledger_format_name!r} is {text!r}: it "
                f"must start with MainAccount and separate segments with {ref.delimiter!r} (the "
                "delimiter in DimensionParameters)."
            )
        elif len(set(segments)) != len(segments) or any(not s for s in segments):
            ref.problems.append(
                f"the active ledger dimension format {text!r} has an empty or repeated segment; "
                "check the delimiter and the format."
            )
        else:
            ref.ledger_segments = segments
    default = [
        r
        for r in rows
        if r.get("DimensionFormatType") == DEFAULT_FORMAT_TYPE and _yes(r.get("IsActive"))
    ]
    if len(default) == 1:
        text = str(default[0].get("FinancialDimensionFormat") or "")
        ref.default_segments = tuple(s.strip() for s in text.split(ref.delimiter) if s.strip())


def _load_account_structures(client: ODataClient, ref: ReferenceData) -> None:
    try:
        rows = client.get_all(ACCOUNT_STRUCTURES)
    except ODataError as exc:
        if exc.status != 404:
            raise
        # F&O still rejects such a line when the journal is written (atomically, so
        # nothing partial); only the early, friendlier report is lost.
        LOGGER.warning(
            "%s is not exposed by this Dynamics environment, so journals are not checked "
            "against account structures before posting; Dynamics checks them on write",
            ACCOUNT_STRUCTURES,
        )
        return
    for row in rows:
        if not _yes(row.get("IsActive", "Yes")):
            continue
        dimensions = tuple(
            d.strip() for d in str(row.get("RequiredDimensions") or "").split(",") if d.strip()
        )
        ref.structure_rules.append(
            StructureRule(
                str(row.get("AccountStructure") or ""),
                str(row.get("MainAccountFrom") or ""),
                str(row.get("MainAccountTo") or ""),
                dimensions,
            )
        )
    for row in client.get_all(LEDGERS):
        names = {
            str(row.get(f"AccountStructureName{i}") or "") for i in range(1, _STRUCTURE_SLOTS + 1)
        } - {""}
        ref.ledger_structures[str(row.get("LegalEntityId") or "").lower()] = names


def structure_gaps(
    ref: ReferenceData,
    company: CompanyMapping,
    lines: Iterable[tuple[int, str, AbcMapping[str, str], str]],
    what: str,
) -> list[str]:
    """Lines (number, main account, dimensions, component) lacking a required dimension.

    Each gap names the account, the dimension and the mapping key that would supply it, so
    the journal is refused before posting instead of by F&O's "Invalid value in ledger account".
    """
    gaps: dict[str, None] = {}
    for number, account, dimensions, component in lines:
        for dimension, structure in ref.required_dimensions(company.legal_entity, account).items():
            if dimensions.get(dimension):
                continue
            gaps.setdefault(
                f"{what} line {number} ({component}) on main account {account} has no "
                f"{dimension}, which account structure {structure!r} of legal entity "
                f"{company.legal_entity} requires; {_dimension_fix(company, component, dimension)}",
                None,
            )
    return list(gaps)


def _dimension_fix(company: CompanyMapping, component: str, dimension: str) -> str:
    key = f"{company.key_path}.dimensions"
    if component.startswith("Suspense"):
        return f"set {dimension} in {key}.fixed (suspense lines carry only the fixed dimensions)"
    if company.summary_level == "payroll" and not component.startswith("Contractor"):
        return (
            f"set {dimension} in {key}.fixed (at summary_level payroll lines carry only the "
            "fixed dimensions)"
        )
    if component.startswith(_LIABILITY_PREFIXES) and not company.dimensions_on_liabilities:
        return (
            f"set {company.key_path}.dimensions_on_liabilities: true, or {dimension} in {key}.fixed"
        )
    if component.startswith("Contractor"):
        return (
            f"set {dimension} for the contractor's department under {key}.departments, or in "
            f"{key}.default for contractors without a department (or in {key}.fixed)"
        )
    return (
        f"set {dimension} in every entry of {key}.departments and in {key}.default, or in "
        f"{key}.fixed"
    )


def _load_dimension_values(client: ODataClient, ref: ReferenceData) -> None:
    for row in client.get_all(FINANCIAL_DIMENSION_VALUES):
        name = str(row.get("FinancialDimension") or "")
        value = str(row.get("DimensionValue") or "")
        legal_entity = str(row.get("LegalEntityId") or "").lower()
        if not name or not value:
            continue
        if _yes(row.get("IsSuspended")):
            ref.suspended_values.add((name, value))
            continue
        ref.dimension_values.setdefault((name, legal_entity), set()).add(value)
    try:
        units = client.get_all(OPERATING_UNITS)
    except ODataError as exc:
        if exc.status != 404:
            raise
        LOGGER.info("OperatingUnits is not exposed here; using FinancialDimensionValues only")
        return
    for row in units:
        dimension = _OPERATING_UNIT_DIMENSIONS.get(str(row.get("OperatingUnitType") or ""))
        number = str(row.get("OperatingUnitNumber") or "")
        if dimension and number:
            ref.dimension_values.setdefault((dimension, ""), set()).add(number)


def company_gaps(ref: ReferenceData, company: CompanyMapping) -> list[str]:
    """Every reason a journal for this company could be rejected, each with its fix."""
    gaps = list(ref.problems)
    legal_entity = company.legal_entity.lower()
    names = ref.journal_names.get(legal_entity, set())
    if company.journal_name not in names:
        known = ", ".join(sorted(names)) or "none"
        gaps.append(
            f"journal name {company.journal_name!r} does not exist in legal entity "
            f"{company.legal_entity!r} (journal names there: {known}); create it under General "
            f"ledger > Journal setup > Journal names or fix {company.key_path}.journal_name."
        )
    gaps.extend(main_account_gaps(ref, company.required_main_accounts()))
    gaps.extend(dimension_gaps(ref, company))
    return gaps


def main_account_gaps(ref: ReferenceData, accounts: Iterable[str]) -> list[str]:
    """Main accounts that are missing, suspended or unusable in a display value."""
    gaps: list[str] = []
    missing_accounts: list[str] = []
    for account in sorted(set(accounts)):
        row = ref.main_accounts.get(account)
        if row is None:
            missing_accounts.append(account)
        elif _yes(row.get("IsSuspended")):
            gaps.append(f"main account {account} ({row.get('Name')}) is suspended in Dynamics.")
        if ref.delimiter and ref.delimiter in account:
            gaps.append(
                f"main account {account!r} contains the segment delimiter {ref.delimiter!r}; "
                "Dynamics would read it as two segments."
            )
    if missing_accounts:
        gaps.append(
            "main accounts missing from the Dynamics chart of accounts: "
            f"{', '.join(missing_accounts)}; create them or change the mapping's accounts."
        )
    return gaps


def dimension_gaps(ref: ReferenceData, company: CompanyMapping) -> list[str]:
    """Dimension values the mapping uses that Dynamics lacks, suspends or cannot format."""
    gaps: list[str] = []
    legal_entity = company.legal_entity.lower()
    segments = set(ref.dimension_segments)
    for dimension, values in sorted(company.required_dimension_values().items()):
        if ref.ledger_segments and dimension not in segments:
            gaps.append(
                f"dimension {dimension!r} is used by the mapping but is not a segment of the "
                f"active ledger dimension format {ref.ledger_format_name!r} "
                f"({ref.delimiter.join(ref.ledger_segments)}); add it to the format or remove it "
                "from the mapping."
            )
            continue
        existing = ref.values_for(dimension, legal_entity)
        missing = sorted(v for v in values if v not in existing)
        suspended = sorted(v for v in values if (dimension, v) in ref.suspended_values)
        if missing:
            gaps.append(
                f"{dimension} values used by the mapping do not exist in Dynamics: "
                f"{', '.join(missing)}; create them in Dynamics or fix "
                f"{company.key_path}.dimensions."
            )
        if suspended:
            gaps.append(f"{dimension} values are suspended in Dynamics: {', '.join(suspended)}.")
        bad = sorted(v for v in values if ref.delimiter and ref.delimiter in v)
        if bad:
            gaps.append(
                f"{dimension} values {', '.join(bad)} contain the segment delimiter "
                f"{ref.delimiter!r}; rename them or change the delimiter."
            )
    return gaps


def check_company(ref: ReferenceData, company: CompanyMapping) -> None:
    gaps = company_gaps(ref, company)
    if gaps:
        raise ReferenceDataError(company.legal_entity, gaps)


def department_gap(company: CompanyMapping, record: dict[str, Any]) -> str | None:
    """Warning text if a Gusto department has no dimension values in the mapping."""
    uuid = str(record.get("uuid") or "")
    title = record.get("title")
    if uuid in company.departments or (title is not None and title in company.departments):
        return None
    if not company.departments and company.default_dimensions is not None:
        return None
    return (
        f"Gusto department {title!r} (uuid {uuid}) of company {company.company_uuid} has no "
        f"dimension values; add {company.key_path}.dimensions.departments.{title or uuid!r}. "
        "Payrolls paying employees of this department will be refused until it is mapped."
    )


def location_gap(company: CompanyMapping, record: dict[str, Any]) -> str | None:
    """Warning text if the mapping maps locations but not this one."""
    uuid = str(record.get("uuid") or "")
    if not company.locations or uuid in company.locations:
        return None
    where = ", ".join(str(record.get(k)) for k in ("street_1", "city", "state") if record.get(k))
    return (
        f"Gusto location {uuid} ({where or 'no address'}) of company {company.company_uuid} has "
        f"no dimension values; add {company.key_path}.dimensions.locations.{uuid!r}."
    )
