"""Mapping file loading and validation, and the example config/mapping.yml."""

from __future__ import annotations

import copy
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from target_dynamics_fo.mapping import (
    DimensionShare,
    MappingError,
    UnmappedDimension,
    load_mapping,
    parse_mapping,
)

CONFIG = Path(__file__).resolve().parents[2] / "config" / "mapping.yml"
CO = "33333333-3333-5333-8333-333333333333"

# docs/CONTRACTS.md section 3: what the Dynamics sandbox has.
CHART = {
    "600100",
    "600110",
    "600120",
    "600130",
    "600140",
    "600200",
    "600300",
    "600400",
    "600500",
    "600700",
    "600710",
    "210100",
    "210110",
    "210120",
    "210130",
    "210200",
    "210300",
    "210400",
    "999999",
}
DIMENSION_VALUES = {
    "BusinessUnit": {"100", "200", "900"},
    "Department": {"110", "120", "210", "220", "910", "500"},
    "CostCenter": {"DEN", "PHX", "BAK"},
}
# docs/CONTRACTS.md section 2: uuid5 of readable names under the sandbox's namespace.
SANDBOX_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/gusto-dynamics/sandbox/gusto")


def sandbox_uid(*parts: str) -> str:
    return str(uuid.uuid5(SANDBOX_NS, "/".join(["demo", *parts])))


def minimal(**company: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "legal_entity": "rsc",
        "journal_name": "Payroll",
        "accounts": {
            "other_earnings": "600140",
            "imputed_income": "600140",
            "imputed_offset": "600500",
            "reimbursement_expense": "600400",
            "net_pay": "210400",
        },
        "contractors": {
            "vendor_group": "CONTRACT",
            "vendor_account": "GUS-{uuid8}",
            "invoice_journal_name": "APInvoice",
            "expense_accounts": {"wage": "600700", "bonus": "600700", "reimbursement": "600710"},
        },
        "workers": {"personnel_number": "GUS-{uuid8}"},
    }
    body.update(company)
    return {"version": 1, "companies": {CO: body}}


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(MappingError) as info:
        parse_mapping(data, "test.yml")
    assert "mapping test.yml" in str(info.value)
    return info.value.problems


# ---- the shipped example -------------------------------------------------------------------


def test_example_fits_both_sandboxes() -> None:
    mapping = load_mapping(CONFIG)
    a = mapping.company(sandbox_uid("company", "Ridgeline Specialty Contractors"))
    b = mapping.company(sandbox_uid("company", "Summit Bakery Co"))
    assert (a.legal_entity, b.legal_entity) == ("rsc", "sbc")
    assert a.journal_name == b.journal_name == "Payroll"
    for company in (a, b):
        assert company.suspense_account is None
        assert company.summary_level == "department"
        assert company.required_main_accounts() <= CHART
        for dim, values in company.required_dimension_values().items():
            assert values <= DIMENSION_VALUES[dim], dim
        assert company.contractors.vendor_group == "CONTRACT"
    titles = (
        "Commercial Field Operations",
        "Commercial Project Management",
        "Residential Field Operations",
        "Residential Service",
        "Administration",
    )
    denver = sandbox_uid("location", "Ridgeline Specialty Contractors", "Denver")
    phoenix = sandbox_uid("location", "Ridgeline Specialty Contractors", "Phoenix")
    for title in titles:
        dept = sandbox_uid("department", "Ridgeline Specialty Contractors", title)
        for loc in (denver, phoenix):
            shares = a.dimension_shares(dept, title, loc)
            assert sum(s.percent for s in shares) == 100
    admin = a.dimension_shares(None, "Administration", denver)
    assert admin == (
        DimensionShare(
            Decimal(50), {"BusinessUnit": "100", "Department": "910", "CostCenter": "DEN"}
        ),
        DimensionShare(
            Decimal(50), {"BusinessUnit": "200", "Department": "910", "CostCenter": "DEN"}
        ),
    )
    assert a.dimensions_for(None, "Residential Service", phoenix) == {
        "BusinessUnit": "200",
        "Department": "220",
        "CostCenter": "PHX",
    }
    boulder = sandbox_uid("location", "Summit Bakery Co", "Boulder")
    assert b.dimensions_for(None, "Bakery", boulder) == {"Department": "500", "CostCenter": "BAK"}


def test_example_sandbox_seed_agrees() -> None:
    seed = pytest.importorskip("gd_sandbox.gusto.seed")
    mapping = load_mapping(CONFIG)
    assert seed.uid("demo", "company", seed.COMPANY_A) in mapping.companies
    company = mapping.company(seed.uid("demo", "company", seed.COMPANY_A))
    for spec in seed.COMPANY_A_DEPARTMENTS:
        assert spec.title in company.departments


# ---- validation ----------------------------------------------------------------------------


def test_minimal_mapping_defaults() -> None:
    company = parse_mapping(minimal()).company(CO)
    assert company.currency == "USD"
    assert company.summary_level == "department"
    assert company.journal_number_prefix == "GUS"
    assert company.suspense_account is None
    assert company.dimensions_on_liabilities is False
    assert company.reimbursement_credit_account == "210400"


def test_all_problems_listed_with_key_paths() -> None:
    data = minimal(summary_level="weekly", journal_number_prefix="gus_1", colour="blue")
    body = data["companies"][CO]
    del body["accounts"]["net_pay"]
    body["accounts"]["earnings"] = {"Salary": 600130.0}
    body["accounts"]["employer_taxes"] = {"FUTA": {"expense": "600200"}}
    body["dimensions"] = {
        "departments": {
            "Admin": {
                "split": [
                    {"percent": "50", "dimensions": {"Department": "910"}},
                    {"percent": "40", "dimensions": {"Department": "910"}},
                ]
            }
        },
        "locations": {"den": {"Department": "110"}},
        "fixed": {"BusinessUnit": "900"},
        "default": {"BusinessUnit": "900"},
    }
    body["workers"]["personnel_number"] = "W-{name}"
    problems = problems_of(data)
    key = f"companies.'{CO}'"
    expected = [
        f"{key}.colour: unknown key",
        f"{key}.summary_level: must be one of department, employee, payroll",
        f"{key}.journal_number_prefix: 'gus_1' must be 1-8 upper-case letters or digits",
        f"{key}.accounts.net_pay: is missing; add it",
        f"{key}.accounts.earnings.'Salary': must be a string, got 600130.0; quote it in YAML",
        f"{key}.accounts.employer_taxes.'FUTA'.payable: is missing",
        f"{key}.dimensions.departments.'Admin'.split: percentages add up to 90, not 100",
        f"{key}.dimensions: dimension 'Department' is set by more than one of "
        "['departments', 'locations']",
        f"{key}.dimensions.default.BusinessUnit: dimension 'BusinessUnit' is already fixed",
        f"{key}.workers.personnel_number: unknown placeholder {{name}}",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in problems), (text, problems)
    assert len(problems) == len(expected)


def test_account_numbers_may_be_unquoted_ints() -> None:
    data = minimal()
    data["companies"][CO]["accounts"]["net_pay"] = 210400
    assert parse_mapping(data).company(CO).net_pay == "210400"


def test_split_needs_two_positive_parts() -> None:
    data = minimal(
        dimensions={
            "departments": {"A": {"split": [{"percent": "100", "dimensions": {"Department": "1"}}]}}
        }
    )
    assert any("at least two parts" in p for p in problems_of(data))
    data = minimal(
        dimensions={
            "departments": {
                "A": {
                    "split": [
                        {"percent": "abc", "dimensions": {"Department": "1"}},
                        {"percent": "-10", "dimensions": {"Department": "2"}},
                    ]
                }
            }
        }
    )
    problems = problems_of(data)
    assert any("split[0].percent: must be a decimal percentage" in p for p in problems)
    assert any("split[1].percent: must be greater than 0" in p for p in problems)


def test_top_level_problems() -> None:
    assert any("unsupported version 2" in p for p in problems_of({"version": 2, "companies": {}}))
    assert any("companies: is missing" in p for p in problems_of({}))
    assert any("maps no company" in p for p in problems_of({"companies": {}}))


def test_unknown_company_names_the_fix() -> None:
    mapping = parse_mapping(minimal())
    with pytest.raises(MappingError, match=r"company abc is not mapped; add companies.'abc'"):
        mapping.company("abc")


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="cannot read the mapping file"):
        load_mapping(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("companies: [unclosed", encoding="utf-8")
    with pytest.raises(MappingError, match="is not valid YAML"):
        load_mapping(bad)
    bad.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(MappingError, match="top-level 'companies'"):
        load_mapping(bad)


# ---- dimensions and people -----------------------------------------------------------------


def test_dimension_lookup_errors_name_the_yaml_key() -> None:
    data = minimal(
        dimensions={
            "departments": {"Field": {"Department": "110"}},
            "locations": {"den": {"CostCenter": "DEN"}},
        }
    )
    company = parse_mapping(data).company(CO)
    with pytest.raises(
        UnmappedDimension, match=r"department 'Yard' \(uuid d1\).*departments.'Yard'"
    ):
        company.dimensions_for("d1", "Yard", "den")
    with pytest.raises(UnmappedDimension, match=r"location phx.*locations.'phx'"):
        company.dimensions_for(None, "Field", "phx")
    with pytest.raises(UnmappedDimension, match=r"no department.*dimensions.default"):
        company.dimensions_for(None, None, "den")
    assert company.dimensions_for(None, "Field", None) == {"Department": "110"}


def test_split_department_common_dimensions() -> None:
    data = minimal(
        dimensions={
            "departments": {
                "Admin": {
                    "split": [
                        {
                            "percent": "70",
                            "dimensions": {"BusinessUnit": "100", "Department": "910"},
                        },
                        {
                            "percent": "30",
                            "dimensions": {"BusinessUnit": "200", "Department": "910"},
                        },
                    ]
                }
            }
        }
    )
    company = parse_mapping(data).company(CO)
    assert company.dimensions_for(None, "Admin", None) == {"Department": "910"}
    assert [s.percent for s in company.dimension_shares(None, "Admin", None)] == [70, 30]
    assert company.required_dimension_values() == {
        "BusinessUnit": {"100", "200"},
        "Department": {"910"},
    }


def test_personnel_numbers() -> None:
    data = minimal()
    data["companies"][CO]["workers"] = {
        "personnel_number": "GUS-{employee_code}",
        "links": {"e-linked": "000123"},
    }
    company = parse_mapping(data).company(CO)
    assert company.personnel_number_for({"uuid": "e-linked"}) == "000123"
    assert (
        company.personnel_number_for({"uuid": "abcdef12-0000", "employee_code": "A7"}) == "GUS-A7"
    )
    with pytest.raises(MappingError, match=r"has no employee_code.*workers.links"):
        company.personnel_number_for({"uuid": "abcdef12-0000"})
    plain = parse_mapping(minimal()).company(CO)
    assert plain.personnel_number_for({"uuid": "abcdef12-3456"}) == "GUS-ABCDEF12"


def test_required_main_accounts_cover_every_account() -> None:
    data = copy.deepcopy(minimal(suspense_account="999999"))
    data["companies"][CO]["accounts"]["benefit_default"] = {
        "expense": "600300",
        "payable": "210200",
    }
    accounts = parse_mapping(data).company(CO).required_main_accounts()
    assert {"999999", "600300", "210200", "600700", "600710", "210400"} <= accounts


def test_yaml_duplicates_and_leading_zeros(tmp_path: Path) -> None:
    text = CONFIG.read_text(encoding="utf-8")
    path = tmp_path / "m.yml"
    path.write_text(
        text.replace(
            '"Tool Loan": "210300"', '"Tool Loan": "210300"\n        "Tool Loan": "210301"'
        ),
        encoding="utf-8",
    )
    with pytest.raises(MappingError, match="duplicate key 'Tool Loan'"):
        load_mapping(path)
    path.write_text(text.replace('net_pay: "210400"', "net_pay: 010400"), encoding="utf-8")
    company = load_mapping(path).company(sandbox_uid("company", "Ridgeline Specialty Contractors"))
    assert company.net_pay == "010400"
