"""The mapping rules applied to each pay component: which account, which side, which dimensions.

The rules are written for accountants in docs/accounting.md; keep the two in step.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from target_dynamics_fo.ledger.model import (
    HOURS_PLACES,
    RECONCILED_TOTALS,
    REIMBURSEMENT_EARNING,
    EmployeeRef,
)
from target_dynamics_fo.ledger.money import ZERO, AmountError, known_amount, parse_amount
from target_dynamics_fo.ledger.split import DimKey, Target, allocate_by_wages, to_target
from target_dynamics_fo.mapping import CompanyMapping, DimensionShare, MappingError, TaxAccounts

_T = TypeVar("_T")
# Where a value is, for messages: its text, or the parts of it (texts, indexes, other Wheres)
# joined only when a message names it. A payroll has some twenty amounts per employee and
# their paths are almost never shown.
Where = str | tuple[object, ...]


def where_text(where: object) -> str:
    """The text of a Where."""
    if isinstance(where, tuple):
        return "".join(where_text(part) for part in where)
    return str(where)


# Mapping keys naming each kind of account, and the key of its default.
_ACCOUNT_KEYS: dict[str, tuple[str, str]] = {
    "earning": ("earnings", "earnings_default"),
    "benefit": ("benefits", "benefit_default"),
    "deduction": ("deductions", "deduction_default"),
    "employer tax": ("employer_taxes", "employer_tax_default"),
    "employee tax": ("employee_taxes", "employee_tax_default"),
}


@dataclass
class Builder:
    payroll: AbcMapping[str, Any]
    mapping: CompanyMapping
    payroll_uuid: str
    # dict as an ordered set: the same problem found on many employees is reported once
    found: dict[str, None] = field(default_factory=dict)
    issues: list[str] = field(default_factory=list)
    unmapped_names: set[tuple[str, str]] = field(default_factory=set)
    sums: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(RECONCILED_TOTALS, ZERO))
    # (account, component, target, employee) -> signed amount (debit positive)
    entries: dict[tuple[str, str, Target, str], Decimal] = field(default_factory=dict)
    # dimension set -> gross pay it carries: the weights company-level taxes are spread by
    wages: dict[DimKey, Decimal] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return list(self.found)

    def problem(self, text: str) -> None:
        self.found.setdefault(text, None)

    def amount(self, value: object, where: Where, places: int = 2) -> Decimal:
        known = known_amount(value, places)
        if known is not None:
            return known
        try:
            return parse_amount(
                value, where=f"payroll {self.payroll_uuid}: {where_text(where)}", max_places=places
            )
        except AmountError as exc:
            self.problem(str(exc))
            return ZERO

    def items(
        self, comp: AbcMapping[str, Any], key: str, where: Where
    ) -> Iterator[tuple[int, AbcMapping[str, Any]]]:
        for i, item in enumerate(self.item_list(comp, key, where)):
            # dict first: the abstract Mapping check costs more, and parsed records hold dicts.
            if type(item) is dict or self.is_object(item, key, where, i):
                yield i, item

    def item_list(self, comp: AbcMapping[str, Any], key: str, where: Where) -> list[Any]:
        """The list `key` of `comp` (empty when absent; a problem when it is not a list)."""
        value = comp.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(
                f"payroll {self.payroll_uuid}: {where_text(where)}.{key} must be a list; "
                "fix the source record"
            )
            return []
        return value

    def is_object(self, item: object, key: str, where: Where, i: int) -> bool:
        """Whether item `i` of list `key` is an object (a problem when it is not)."""
        if isinstance(item, AbcMapping):
            return True
        self.problem(
            f"payroll {self.payroll_uuid}: {where_text(where)}.{key}[{i}] must be an "
            "object; fix the source record"
        )
        return False

    def post(
        self, account: str | None, component: str, signed: Decimal, target: Target, employee: str
    ) -> None:
        if account is None or signed == 0:
            return
        key = (account, component, target, employee)
        self.entries[key] = self.entries.get(key, ZERO) + signed

    def mapped(
        self, found: _T | None, kind: str, name: str, moves_money: bool, where: Where
    ) -> _T | None:
        """`found` (the mapping's account for `name`); a problem, once per name, when it is
        missing for an amount that is not zero."""
        if found is None and moves_money and (kind, name) not in self.unmapped_names:
            self.unmapped_names.add((kind, name))
            yaml_key, default_key = _ACCOUNT_KEYS[kind]
            self.problem(
                f"payroll {self.payroll_uuid}: {where_text(where)} (and any later ones): {kind} "
                f"{name!r} has no account; add "
                f"{self.mapping.key_path}.accounts.{yaml_key}.{name!r} (or set "
                f"{self.mapping.key_path}.accounts.{default_key})"
            )
        return found

    def fixed(self) -> Target:
        """The mapping's fixed dimensions, all of an amount on them."""
        return to_target([DimensionShare(Decimal(100), self.mapping.fixed_dimensions)])

    def liability(self, target: Target) -> Target:
        """Where the liability side of an amount posted on `target` goes."""
        return target if self.mapping.dimensions_on_liabilities else self.fixed()


def _expense(pair: TaxAccounts | None) -> str | None:
    return None if pair is None else pair.expense


def _payable(pair: TaxAccounts | None) -> str | None:
    return None if pair is None else pair.payable


def _name(item: AbcMapping[str, Any], builder: Builder, where: Where) -> str:
    name = item.get("name")
    if not isinstance(name, str) or not name:
        builder.problem(
            f"payroll {builder.payroll_uuid}: {where_text(where)}.name is missing; "
            "fix the source record"
        )
        return ""
    return name


def _post_earning(
    builder: Builder, name: str, value: Decimal, at: Where, target: Target, *, who: str
) -> None:
    account = builder.mapped(builder.mapping.earning_account(name), "earning", name, value != 0, at)
    builder.post(account, f"Wages: {name}", value, target, who)


def _post_employer_tax(
    builder: Builder,
    name: str,
    value: Decimal,
    at: Where,
    sides: tuple[Target, Target],
    *,
    who: str,
) -> None:
    """An employer tax: expense on the first target of `sides`, payable on the second."""
    if value:  # a zero amount posts nothing and needs no account
        expense, liability = sides
        pair = builder.mapped(
            builder.mapping.employer_tax_accounts(name), "employer tax", name, True, at
        )
        builder.post(_expense(pair), f"ER tax: {name}", value, expense, who)
        builder.post(_payable(pair), f"ER tax payable: {name}", -value, liability, who)
    builder.sums["employer_taxes"] += value


def _named_items(
    builder: Builder, comp: AbcMapping[str, Any], key: str, where: Where
) -> Iterator[tuple[Where, str, AbcMapping[str, Any]]]:
    """The items of list `key` with where each is and its name (a problem when it has none)."""
    for i, item in enumerate(builder.item_list(comp, key, where)):
        if type(item) is dict or builder.is_object(item, key, where, i):
            at = (where, ".", key, "[", i, "]")
            name = item.get("name")
            yield at, name if type(name) is str and name else _name(item, builder, at), item


def _employee_target(
    builder: Builder, euuid: str, employees: AbcMapping[str, EmployeeRef]
) -> Target | None:
    mapping = builder.mapping
    if mapping.summary_level == "payroll":
        return builder.fixed()
    ref = employees.get(euuid)
    try:
        if ref is None:
            if mapping.default_dimensions is None:
                builder.problem(
                    f"payroll {builder.payroll_uuid}: employee {euuid} is not in the employees "
                    "stream; select the `employees` stream in the tap (or set "
                    f"{mapping.key_path}.dimensions.default)"
                )
                return None
            return to_target([DimensionShare(Decimal(100), mapping.default_dimension_set())])
        no_department = ref.department_uuid is None and ref.department_title is None
        if no_department and mapping.default_dimensions is None:
            builder.problem(
                f"payroll {builder.payroll_uuid}: employee {euuid} has no department; give the "
                f"employee a department in Gusto or set {mapping.key_path}.dimensions.default"
            )
            return None
        return to_target(
            mapping.dimension_shares(ref.department_uuid, ref.department_title, ref.location_uuid)
        )
    except MappingError as exc:
        for text in exc.problems:
            builder.problem(f"payroll {builder.payroll_uuid}: {text}")
        return None


def add_employee(
    builder: Builder,
    index: int,
    comp: AbcMapping[str, Any],
    employees: AbcMapping[str, EmployeeRef],
) -> None:
    mapping = builder.mapping
    euuid = str(comp.get("employee_uuid") or "")
    where = f"employee_compensations[{index}] (employee {euuid or 'with no uuid'})"
    if not euuid:
        builder.problem(
            f"payroll {builder.payroll_uuid}: {where}.employee_uuid is missing;"
            " fix the source record"
        )
    target = _employee_target(builder, euuid, employees) or ()
    liability = builder.liability(target)
    who = euuid if mapping.summary_level == "employee" else ""

    gross = builder.amount(comp.get("gross_pay"), (where, ".gross_pay"))
    net = builder.amount(comp.get("net_pay"), (where, ".net_pay"))
    for percent, dims in target:
        builder.wages[dims] = builder.wages.get(dims, ZERO) + gross * percent
    itemised = ZERO
    reimbursed = ZERO
    for at, name, item in _named_items(builder, comp, "fixed_compensations", where):
        value = builder.amount(item.get("amount"), (at, ".amount"))
        if name == REIMBURSEMENT_EARNING:
            reimbursed += value
            continue
        itemised += value
        if value:  # a zero amount posts nothing and needs no account
            _post_earning(builder, name, value, at, target, who=who)
    for at, name, item in _named_items(builder, comp, "hourly_compensations", where):
        if item.get("hours") is not None:
            builder.amount(item.get("hours"), (at, ".hours"), HOURS_PLACES)
        if item.get("amount") is None:
            # Before calculation Gusto gives hours only; the money then sits in the remainder.
            continue
        value = builder.amount(item.get("amount"), (at, ".amount"))
        itemised += value
        if value:
            _post_earning(builder, name, value, at, target, who=who)
    for i, item in builder.items(comp, "paid_time_off", where):
        if item.get("hours") is not None:
            builder.amount(
                item.get("hours"), (where, ".paid_time_off[", i, "].hours"), HOURS_PLACES
            )
    for i, item in builder.items(comp, "reimbursements", where):
        reimbursed += builder.amount(item.get("amount"), (where, ".reimbursements[", i, "].amount"))

    imputed = ZERO
    benefit_deductions = ZERO
    for at, name, item in _named_items(builder, comp, "benefits", where):
        deduction = builder.amount(item.get("employee_deduction", 0), (at, ".employee_deduction"))
        contribution = builder.amount(
            item.get("company_contribution", 0), (at, ".company_contribution")
        )
        if deduction or contribution:
            pair = builder.mapped(mapping.benefit_accounts(name), "benefit", name, True, at)
            builder.post(_expense(pair), f"Benefit: {name}", contribution, target, who)
            payable = f"Benefit payable: {name}"
            builder.post(_payable(pair), payable, -contribution, liability, who)
            builder.post(_payable(pair), payable, -deduction, liability, who)
        builder.sums["benefits"] += contribution
        benefit_deductions += deduction
        if item.get("imputed") is True:
            imputed += contribution

    other_deductions = ZERO
    for at, name, item in _named_items(builder, comp, "deductions", where):
        value = builder.amount(item.get("amount"), (at, ".amount"))
        if value:
            account = builder.mapped(mapping.deduction_account(name), "deduction", name, True, at)
            builder.post(account, f"Deduction: {name}", -value, liability, who)
        other_deductions += value

    employee_taxes = ZERO
    for at, name, item in _named_items(builder, comp, "taxes", where):
        value = builder.amount(item.get("amount"), (at, ".amount"))
        employer = item.get("employer")
        if not isinstance(employer, bool):
            builder.problem(
                f"payroll {builder.payroll_uuid}: {where_text(at)}.employer = {employer!r} must be "
                "true or false; fix the source record"
            )
            continue
        if employer:
            _post_employer_tax(builder, name, value, at, (target, liability), who=who)
        else:
            if value:
                account = builder.mapped(
                    mapping.employee_tax_account(name), "employee tax", name, True, at
                )
                builder.post(account, f"EE tax: {name}", -value, liability, who)
            employee_taxes += value

    builder.post(mapping.other_earnings, "Other earnings", gross - itemised - imputed, target, who)
    builder.post(mapping.imputed_income, "Imputed income", imputed, target, who)
    builder.post(mapping.imputed_offset, "Imputed income offset", -imputed, target, who)
    builder.post(mapping.reimbursement_expense, "Reimbursements", reimbursed, target, who)
    builder.post(mapping.net_pay, "Net pay", -net, liability, who)
    if mapping.reimbursement_payable is None:
        builder.post(mapping.net_pay, "Net pay", -reimbursed, liability, who)
    else:
        builder.post(
            mapping.reimbursement_payable, "Reimbursements payable", -reimbursed, liability, who
        )

    expected_net = gross - imputed - employee_taxes - benefit_deductions - other_deductions
    if expected_net != net:
        builder.issues.append(
            f"{where}: gross_pay {gross} - imputed {imputed} - employee taxes {employee_taxes} "
            f"- benefit deductions {benefit_deductions} - other deductions {other_deductions} "
            f"= {expected_net}, but net_pay is {net} (difference {net - expected_net})"
        )
    sums = builder.sums
    sums["gross_pay"] += gross
    sums["net_pay"] += net
    sums["reimbursements"] += reimbursed
    sums["employee_taxes"] += employee_taxes
    sums["employee_benefits_deductions"] += benefit_deductions
    sums["other_deductions"] += other_deductions
    sums["imputed_pay"] += imputed


def _company_tax_target(builder: Builder) -> Target:
    mapping = builder.mapping
    fixed = builder.fixed()
    rule = mapping.company_taxes_allocation
    if rule == "fixed" or mapping.summary_level == "payroll":
        return fixed
    if rule == "wages":
        weights = allocate_by_wages(builder.wages)
        if weights:
            return weights
    if mapping.default_dimensions is not None:
        if rule == "wages":
            builder.warnings.append(
                f"payroll {builder.payroll_uuid}: no dimension set earned positive gross pay, so "
                f"the company taxes were put on {mapping.key_path}.dimensions.default"
            )
        return to_target([DimensionShare(Decimal(100), mapping.default_dimension_set())])
    builder.warnings.append(
        f"payroll {builder.payroll_uuid}: no dimension set earned positive gross pay, so the "
        f"company taxes carry only the fixed dimensions; set {mapping.key_path}.dimensions.default "
        "to give them a department"
    )
    return fixed


def add_company_taxes(builder: Builder) -> None:
    """Post payroll-level taxes, spread over dimensions by the mapping's allocation rule.

    They name no employee, so they have no department of their own; an account structure
    that requires one would reject them with only the fixed dimensions.
    """
    taxes = [
        (f"company_taxes[{i}]", item)
        for i, item in builder.items(builder.payroll, "company_taxes", "(payroll)")
    ]
    amounts = [builder.amount(item.get("amount"), (at, ".amount")) for at, item in taxes]
    if not any(amounts):
        return
    target = _company_tax_target(builder)
    liability = builder.liability(target)
    for (at, item), value in zip(taxes, amounts, strict=True):
        _post_employer_tax(
            builder, _name(item, builder, at), value, at, (target, liability), who=""
        )
