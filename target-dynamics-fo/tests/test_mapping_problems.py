"""The pydantic mapping model still lists every problem in one run, and keeps percentages exact."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from target_dynamics_fo.mapping import MappingError, load_mapping, parse_mapping

CO = "33333333-3333-5333-8333-333333333333"
KEY = f"companies.'{CO}'"


def company(**extra: Any) -> dict[str, Any]:
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
    body.update(extra)
    return {"version": 1, "companies": {CO: body}}


def test_rules_across_keys_are_reported_next_to_wrong_types() -> None:
    data = company(
        company_taxes_allocation="default",
        post_company_taxes="yes",
        dimensions={
            "fixed": {"BusinessUnit": "900"},
            "departments": {"Field": {"BusinessUnit": "100", "Department": 110.5}},
        },
    )
    with pytest.raises(MappingError) as info:
        parse_mapping(data, "test.yml")
    assert sorted(info.value.problems) == sorted(
        [
            f"{KEY}.post_company_taxes: must be true or false, got 'yes'",
            f"{KEY}.dimensions.departments.'Field'.Department: must be a string, got 110.5; "
            "quote it in YAML",
            f"{KEY}.dimensions: dimension 'BusinessUnit' is set by more than one of "
            "['departments', 'fixed']; set each dimension in one place only",
            f"{KEY}.company_taxes_allocation: is 'default' but {KEY}.dimensions.default is not "
            "set; set it or use 'wages'",
        ]
    )


def test_unknown_key_at_the_top_names_the_allowed_ones() -> None:
    data = company()
    data["compnies"] = {}
    with pytest.raises(
        MappingError, match=r"compnies: unknown key; allowed keys: companies, version"
    ):
        parse_mapping(data)


def test_split_percentages_written_as_yaml_floats_stay_exact_decimals(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yml"
    path.write_text(
        f"""
companies:
  "{CO}":
    legal_entity: rsc
    journal_name: Payroll
    accounts: {{other_earnings: "1", imputed_income: "1", imputed_offset: "1",
               reimbursement_expense: "1", net_pay: "2"}}
    dimensions:
      departments:
        Admin:
          split:
            - {{percent: 33.3333, dimensions: {{BusinessUnit: "100"}}}}
            - {{percent: 33.3333, dimensions: {{BusinessUnit: "200"}}}}
            - {{percent: "33.3334", dimensions: {{BusinessUnit: "300"}}}}
    contractors:
      vendor_group: CONTRACT
      vendor_account: "GUS-{{uuid8}}"
      invoice_journal_name: APInvoice
      expense_accounts: {{wage: "3", bonus: "3", reimbursement: "3"}}
    workers: {{personnel_number: "GUS-{{uuid8}}"}}
""",
        encoding="utf-8",
    )
    shares = load_mapping(path).company(CO).departments["Admin"].shares
    percents = [share.percent for share in shares]
    assert percents == [Decimal("33.3333"), Decimal("33.3333"), Decimal("33.3334")]
    assert all(type(p) is Decimal for p in percents)
    assert sum(percents) == 100
