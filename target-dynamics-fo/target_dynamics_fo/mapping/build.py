"""Building the objects the target reads (company.py) from a validated mapping file (model.py).

Kept apart from the model so the file's shape and the runtime objects can change separately.
"""

from target_dynamics_fo.mapping.company import (
    HUNDRED,
    CompanyMapping,
    ContractorSettings,
    DimensionRule,
    DimensionShare,
    Mapping,
    TaxAccounts,
    WorkerSettings,
)
from target_dynamics_fo.mapping.model import CompanyFile, MappingFile, SplitRule, TaxAccountsFile


def build_mapping(file: MappingFile, source: str) -> Mapping:
    return Mapping({uuid: _company(uuid, body) for uuid, body in file.companies.items()}, source)


def _pair(pair: TaxAccountsFile) -> TaxAccounts:
    return TaxAccounts(pair.expense, pair.payable)


def _optional_pair(pair: TaxAccountsFile | None) -> TaxAccounts | None:
    return None if pair is None else _pair(pair)


def _rule(key: str, rule: SplitRule | dict[str, str]) -> DimensionRule:
    if isinstance(rule, SplitRule):
        return DimensionRule(
            key, tuple(DimensionShare(part.percent, part.dimensions) for part in rule.split)
        )
    return DimensionRule(key, (DimensionShare(HUNDRED, rule),))


def _company(uuid: str, body: CompanyFile) -> CompanyMapping:
    acc, dims, con = body.accounts, body.dimensions, body.contractors
    return CompanyMapping(
        company_uuid=uuid,
        name=body.name or uuid,
        legal_entity=body.legal_entity,
        journal_name=body.journal_name,
        currency=body.currency,
        summary_level=body.summary_level,
        journal_number_prefix=body.journal_number_prefix,
        suspense_account=body.suspense_account,
        dimensions_on_liabilities=body.dimensions_on_liabilities,
        post_company_taxes=body.post_company_taxes,
        company_taxes_allocation=body.company_taxes_allocation,
        corrections=body.corrections,
        earnings=acc.earnings,
        earnings_default=acc.earnings_default,
        other_earnings=acc.other_earnings,
        imputed_income=acc.imputed_income,
        imputed_offset=acc.imputed_offset,
        reimbursement_expense=acc.reimbursement_expense,
        reimbursement_payable=acc.reimbursement_payable,
        net_pay=acc.net_pay,
        employee_taxes=acc.employee_taxes,
        employee_tax_default=acc.employee_tax_default,
        employer_taxes={
            k: TaxAccounts(v.expense, v.payable) for k, v in acc.employer_taxes.items()
        },
        employer_tax_default=_optional_pair(acc.employer_tax_default),
        benefits={k: _pair(v) for k, v in acc.benefits.items()},
        benefit_default=_optional_pair(acc.benefit_default),
        deductions=acc.deductions,
        deduction_default=acc.deduction_default,
        fixed_dimensions=dims.fixed,
        departments={k: _rule(k, v) for k, v in dims.departments.items()},
        locations={k: _rule(k, v) for k, v in dims.locations.items()},
        default_dimensions=dims.default,
        contractors=ContractorSettings(
            vendor_group=con.vendor_group,
            vendor_account=con.vendor_account,
            invoice_journal_name=con.invoice_journal_name,
            wage_account=con.expense_accounts.wage,
            bonus_account=con.expense_accounts.bonus,
            reimbursement_account=con.expense_accounts.reimbursement,
            links=con.links,
            create_vendors=con.create_vendors,
            update_linked_vendors=con.update_linked_vendors,
        ),
        workers=WorkerSettings(body.workers.personnel_number, body.workers.links),
        key_path=f"companies.{uuid!r}",
    )
