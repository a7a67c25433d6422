"""The accounting mapping: which F&O accounts and dimension values a Gusto payroll posts to.

Loaded from YAML (docs/accounting.md; JSON schema in config/mapping.schema.json). Validation
collects every problem before raising, so a user fixes the whole file in one pass.

- company.py: the loaded objects the target reads (CompanyMapping and its parts);
- model.py: the file's shape as a pydantic model, with its rules;
- loader.py: strict YAML and the wording of problems;
- schema.py: the JSON schema for editors, written from the model.
"""

from target_dynamics_fo.mapping.company import (
    COMPANY_TAX_ALLOCATIONS,
    CORRECTION_MODES,
    HUNDRED,
    SUMMARY_LEVELS,
    CompanyMapping,
    CompanyTaxAllocation,
    ContractorSettings,
    CorrectionMode,
    DimensionRule,
    DimensionShare,
    Mapping,
    MappingError,
    SummaryLevel,
    TaxAccounts,
    UnmappedDimension,
    WorkerSettings,
)
from target_dynamics_fo.mapping.loader import load_mapping, parse_mapping
from target_dynamics_fo.mapping.model import MappingFile

__all__ = [
    "COMPANY_TAX_ALLOCATIONS",
    "CORRECTION_MODES",
    "HUNDRED",
    "SUMMARY_LEVELS",
    "CompanyMapping",
    "CompanyTaxAllocation",
    "ContractorSettings",
    "CorrectionMode",
    "DimensionRule",
    "DimensionShare",
    "Mapping",
    "MappingError",
    "MappingFile",
    "SummaryLevel",
    "TaxAccounts",
    "UnmappedDimension",
    "WorkerSettings",
    "load_mapping",
    "parse_mapping",
]
