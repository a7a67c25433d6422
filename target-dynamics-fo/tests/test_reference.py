"""Reference-data checks: every gap reported at once, with the names a finance user knows."""

from __future__ import annotations

from pathlib import Path

import pytest
from target_dynamics_fo.fo import (
    ReferenceData,
    ReferenceDataError,
    check_company,
    company_gaps,
    department_gap,
)
from target_dynamics_fo.mapping import load_mapping

MAPPING = Path(__file__).resolve().parents[2] / "config" / "mapping.yml"
RIDGELINE = "0c991fcc-d01e-50c4-90c6-d27026b49396"


def complete_reference() -> ReferenceData:
    company = load_mapping(MAPPING).company(RIDGELINE)
    ref = ReferenceData(
        ledger_format_name="Ledger",
        ledger_segments=("MainAccount", "BusinessUnit", "Department", "CostCenter"),
        delimiter="-",
        main_accounts={
            a: {"MainAccountId": a, "Name": a} for a in company.required_main_accounts()
        },
        journal_names={"rsc": {"Payroll", "GenJrn"}},
    )
    for name, values in company.required_dimension_values().items():
        ref.dimension_values[(name, "")] = set(values)
    return ref


def test_complete_reference_has_no_gap() -> None:
    company = load_mapping(MAPPING).company(RIDGELINE)
    assert company_gaps(complete_reference(), company) == []


def test_every_gap_is_reported_in_one_error() -> None:
    company = load_mapping(MAPPING).company(RIDGELINE)
    ref = complete_reference()
    del ref.main_accounts["600100"]
    del ref.main_accounts["210400"]
    ref.dimension_values[("Department", "")].discard("910")
    ref.journal_names["rsc"] = {"GenJrn"}
    ref.problems.append("no active ledger dimension format (formats found: none); fix it.")
    with pytest.raises(ReferenceDataError) as info:
        check_company(ref, company)
    text = str(info.value)
    assert "600100" in text and "210400" in text
    assert "Department values used by the mapping do not exist in Dynamics: 910" in text
    assert "journal name 'Payroll' does not exist in legal entity 'rsc'" in text
    assert "no active ledger dimension format" in text
    assert len(info.value.gaps) == 4


def test_dimension_missing_from_the_active_format_is_named() -> None:
    company = load_mapping(MAPPING).company(RIDGELINE)
    ref = complete_reference()
    ref.ledger_segments = ("MainAccount", "BusinessUnit", "Department")
    gaps = company_gaps(ref, company)
    assert any("'CostCenter' is used by the mapping but is not a segment" in g for g in gaps)


def test_values_containing_the_delimiter_are_refused() -> None:
    company = load_mapping(MAPPING).company(RIDGELINE)
    ref = complete_reference()
    ref.delimiter = "0"  # every account number contains it
    gaps = company_gaps(ref, company)
    assert any("contains the segment delimiter" in g for g in gaps)


def test_unmapped_gusto_department_gives_a_warning_naming_it() -> None:
    company = load_mapping(MAPPING).company(RIDGELINE)
    record = {"uuid": "d-1", "company_uuid": RIDGELINE, "title": "Marketing"}
    warning = department_gap(company, record)
    assert warning is not None and "'Marketing'" in warning and "dimensions.departments" in warning
    known = {"uuid": "x", "company_uuid": RIDGELINE, "title": "Administration"}
    assert department_gap(company, known) is None
