"""Pure journal builder: one processed Gusto payroll -> one balanced F&O general journal.

No I/O. Every amount is parsed with `parse_amount` and summed as Decimal. The rules are
written for accountants in docs/accounting.md; keep the two in step.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping as AbcMapping
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from target_dynamics_fo.ledger.content import journal_batch_number, payroll_content_hash
from target_dynamics_fo.ledger.model import (
    RECONCILED_TOTALS,
    TEXT_LIMIT,
    EmployeeRef,
    Journal,
    JournalError,
    JournalLine,
    signed_line,
    wrong_company,
)
from target_dynamics_fo.ledger.money import (
    ZERO,
    AmountError,
    exact_arithmetic,
    format_amount,
    parse_amount,
)
from target_dynamics_fo.ledger.rules import Builder, add_company_taxes, add_employee
from target_dynamics_fo.ledger.split import DimKey, split_amount
from target_dynamics_fo.mapping import CompanyMapping

# Short names of suspense lines, so the line text (60 characters) keeps them whole.
_SUSPENSE_LABEL = {
    "gross_pay": "gross pay",
    "employee_taxes": "employee taxes",
    "employee_benefits_deductions": "benefit deductions",
    "other_deductions": "other deductions",
    "imputed_pay": "imputed pay",
    "net_pay": "net pay",
}

# Line order inside a journal: expenses first, then liabilities, suspense last.
_COMPONENT_RANK = (
    "Wages: ",
    "Other earnings",
    "Imputed income",
    "Reimbursements",
    "ER tax: ",
    "Benefit: ",
    "Imputed income offset",
    "EE tax: ",
    "ER tax payable: ",
    "Benefit payable: ",
    "Deduction: ",
    "Net pay",
    "Reimbursements payable",
    "Suspense",
)


def _reconcile(builder: Builder) -> list[tuple[str, Decimal]]:
    """Compare with Gusto's totals; returns (total, expected - computed) for each difference."""
    totals = builder.payroll.get("totals")
    if totals is None:
        return []
    if not isinstance(totals, AbcMapping):
        builder.problem(
            f"payroll {builder.payroll_uuid}: totals must be an object; fix the source record"
        )
        return []
    differences: list[tuple[str, Decimal]] = []
    for key in RECONCILED_TOTALS:
        if totals.get(key) is None:
            continue
        expected = builder.amount(totals[key], f"totals.{key}")
        computed = builder.sums[key]
        if expected != computed:
            differences.append((key, expected - computed))
            builder.issues.append(
                f"totals.{key}: Gusto says {format_amount(expected)}, the employee lines add up "
                f"to {format_amount(computed)} (difference {format_amount(expected - computed)})"
                + (
                    _company_tax_hint(builder, expected - computed)
                    if key == "employer_taxes"
                    else ""
                )
            )
    return differences


def _company_tax_hint(builder: Builder, difference: Decimal) -> str:
    """Name the setting when the difference is exactly the payroll's company taxes."""
    company_taxes = ZERO
    for _, item in builder.items(builder.payroll, "company_taxes", "(payroll)"):
        try:
            company_taxes += parse_amount(item.get("amount"), where="company_taxes")
        except AmountError:
            return ""
    if company_taxes == 0:
        return ""
    key = f"{builder.mapping.key_path}.post_company_taxes"
    if builder.mapping.post_company_taxes and difference == -company_taxes:
        return (
            f"; that is exactly the payroll's company_taxes, which this payroll's employee taxes "
            f"already include: set {key}: false"
        )
    if not builder.mapping.post_company_taxes and difference == company_taxes:
        return f"; that is exactly the payroll's company_taxes: set {key}: true"
    return ""


def _side_text(label: str, signed: Decimal) -> str:
    return f"{label} {format_amount(abs(signed))} {'Dr' if signed > 0 else 'Cr'}"


def _suspense_summary(pid: str, account: str | None, parked: list[str], unposted: list[str]) -> str:
    """Say exactly what went to suspense, and what could not (two-sided totals)."""
    if parked:
        text = (
            f"payroll {pid}: posted to suspense account {account}: "
            f"{', '.join(parked)}; clear them after checking the payroll in Gusto"
        )
    else:
        text = f"payroll {pid}: nothing was posted to suspense account {account}"
    if unposted:
        text += (
            f"; not posted anywhere (both sides of these totals differ equally, so the journal "
            f"balances but its expense differs from Gusto's by these amounts): "
            f"{', '.join(unposted)}; correct the payroll in Gusto or the mapping"
        )
    return text


def _rank(component: str) -> int:
    # Longest matching prefix, so "Imputed income offset" is not ranked as "Imputed income".
    matches = [(len(p), i) for i, p in enumerate(_COMPONENT_RANK) if component.startswith(p)]
    return max(matches)[1] if matches else len(_COMPONENT_RANK)


def _text(prefix: str, component: str, employee: str) -> str:
    who = f"ee {employee[:8]} " if employee else ""
    return f"{prefix} {who}{component}"[:TEXT_LIMIT]


def _lines(builder: Builder, text_prefix: str) -> tuple[JournalLine, ...]:
    grouped: dict[tuple[int, str, str, DimKey, str], Decimal] = {}
    for (account, component, target, employee), amount in builder.entries.items():
        if amount == 0 or not target:
            continue
        parts = split_amount(amount, tuple(p for p, _ in target))
        for part, (_, dims) in zip(parts, target, strict=True):
            key = (_rank(component), component, account, dims, employee)
            grouped[key] = grouped.get(key, ZERO) + part
    lines: list[JournalLine] = []
    for key in sorted(grouped):
        amount = grouped[key]
        if amount == 0:
            continue
        _, component, account, dims, employee = key
        lines.append(
            signed_line(
                len(lines) + 1,
                account,
                dims,
                amount,
                text=_text(text_prefix, component, employee),
                component=component,
            )
        )
    return tuple(lines)


class CompensationSource(Protocol):
    """A split payroll's compensations, kept outside the record (the audit store's rows)."""

    #: What names them in messages, e.g. "its read <fetch id>".
    label: str

    def count(self) -> int: ...

    def duplicates(self) -> list[tuple[str, int, int]]:
        """(employee, first index, later index) for each repeat of an employee."""
        ...

    def content_hash(self) -> str: ...

    def __iter__(self) -> Iterator[tuple[int, AbcMapping[str, Any], EmployeeRef | None]]:
        """(index in the read, compensation, the employee's reference if known)."""
        ...


def build_journal(
    payroll: AbcMapping[str, Any],
    employees: AbcMapping[str, EmployeeRef],
    mapping: CompanyMapping,
    content_hash: str | None = None,
    compensations: CompensationSource | None = None,
) -> Journal:
    """Build the balanced general journal for one processed payroll, or raise JournalError.

    ``content_hash`` is ``payroll_content_hash(payroll)`` when the caller has it already.
    ``compensations`` replaces the record's ``employee_compensations`` (the split shape): they
    are read once, one at a time, and only per-account sums are kept.
    """
    with exact_arithmetic():
        return _build_journal(payroll, employees, mapping, content_hash, compensations)


def _add_listed(
    builder: Builder, payroll: AbcMapping[str, Any], employees: AbcMapping[str, EmployeeRef]
) -> None:
    """Post the record's own ``employee_compensations`` (the whole shape)."""
    pid = builder.payroll_uuid
    comps = payroll.get("employee_compensations")
    if not isinstance(comps, list):
        builder.problem(
            f"payroll {pid}: employee_compensations is missing or not a list; read the payroll "
            "with its employee compensations"
        )
        comps = []
    count = _announced(payroll)
    if count is not None and count != len(comps):
        builder.problem(
            f"payroll {pid}: employee_compensations has {len(comps)} entries but Gusto reported "
            f"{count}; some pages were not read; run the tap again for this payroll"
        )
    seen: dict[str, int] = {}
    for index, comp in enumerate(comps):
        if isinstance(comp, AbcMapping) and comp.get("employee_uuid"):
            euuid = str(comp["employee_uuid"])
            if euuid in seen:
                _twice(builder, euuid, seen[euuid], index)
            seen.setdefault(euuid, index)
        if not isinstance(comp, AbcMapping):
            builder.problem(
                f"payroll {pid}: employee_compensations[{index}] must be an object;"
                " fix the source record"
            )
            continue
        if comp.get("excluded") is True:
            continue
        add_employee(builder, index, comp, employees)


def _add_streamed(
    builder: Builder, payroll: AbcMapping[str, Any], compensations: CompensationSource
) -> None:
    """Post compensations kept outside the record (the split shape), one at a time."""
    pid = builder.payroll_uuid
    count = _announced(payroll)
    arrived = compensations.count()
    if count is None or count != arrived:
        builder.problem(
            f"payroll {pid}: {arrived} employee compensations arrived for {compensations.label} "
            f"but Gusto reported {count}; some pages were not read (or the tap was stopped); "
            "run the tap again for this payroll"
        )
    for euuid, first, later in compensations.duplicates():
        _twice(builder, euuid, first, later)
    for index, comp, ref in compensations:
        if comp.get("excluded") is True:
            continue
        euuid = str(comp.get("employee_uuid") or "")
        add_employee(builder, index, comp, {euuid: ref} if ref is not None else {})


def _announced(payroll: AbcMapping[str, Any]) -> Any:
    count = payroll.get("employee_compensations_count")
    if isinstance(count, str) and count.isdigit():
        count = int(count)
    return count


def _twice(builder: Builder, euuid: str, first: int, later: int) -> None:
    # Overlapping pages would count an employee twice.
    builder.problem(
        f"payroll {builder.payroll_uuid}: employee {euuid} appears twice in "
        f"employee_compensations ([{first}] and [{later}]); pages overlapped; run the tap again "
        "for this payroll"
    )


def _build_journal(
    payroll: AbcMapping[str, Any],
    employees: AbcMapping[str, EmployeeRef],
    mapping: CompanyMapping,
    content_hash: str | None,
    compensations: CompensationSource | None,
) -> Journal:
    payroll_uuid = str(payroll.get("payroll_uuid") or payroll.get("uuid") or "")
    builder = Builder(payroll, mapping, payroll_uuid or "(no uuid)")
    pid = builder.payroll_uuid
    if not payroll_uuid:
        builder.problem("payroll has no payroll_uuid; fix the source record")
    company_uuid = str(payroll.get("company_uuid") or "")
    mismatch = wrong_company(f"payroll {pid}", company_uuid, mapping.company_uuid, "payroll")
    if mismatch:
        builder.problem(mismatch)
    if payroll.get("processed") is not True:
        builder.problem(
            f"payroll {pid}: is not processed (processed = {payroll.get('processed')!r}); only "
            "processed payrolls are posted; wait until Gusto processes it"
        )
    trans_date = _date(builder, payroll.get("check_date"), "check_date") or date(1900, 1, 1)
    period = payroll.get("pay_period")
    period_text = ""
    if isinstance(period, AbcMapping):
        start = _date(builder, period.get("start_date"), "pay_period.start_date")
        end = _date(builder, period.get("end_date"), "pay_period.end_date")
        if start and end:
            period_text = f"{start:%m%d}-{end:%m%d}"
    if compensations is None:
        _add_listed(builder, payroll, employees)
    else:
        _add_streamed(builder, payroll, compensations)
    if mapping.post_company_taxes:
        add_company_taxes(builder)
    differences = _reconcile(builder)

    if not content_hash:
        content_hash = (
            payroll_content_hash(payroll) if compensations is None else compensations.content_hash()
        )
    off_cycle = payroll.get("payroll_type") == "off_cycle" or payroll.get("off_cycle") is True
    short = pid[:8]
    label = " off-cycle" if off_cycle else ""
    text_prefix = " ".join(p for p in (trans_date.isoformat(), period_text, short) if p) + label

    imbalance = sum(builder.entries.values(), ZERO)
    warnings: list[str] = []
    if builder.issues or imbalance != 0:
        if imbalance != 0:
            more, less = ("debits", "credits") if imbalance > 0 else ("credits", "debits")
            builder.issues.append(
                f"the lines do not balance: {more} exceed {less} by {format_amount(abs(imbalance))}"
            )
        if mapping.suspense_account is None or builder.problems:
            hint = (
                "correct the payroll in Gusto, or set "
                f"{mapping.key_path}.suspense_account to post differences there with a warning"
            )
            raise JournalError(pid, [*builder.problems, *builder.issues, hint])
        suspense_target = builder.fixed()
        parked: list[str] = []
        unposted: list[str] = []
        for key, diff in differences:
            side = RECONCILED_TOTALS[key]
            if side == "both":
                unposted.append(f"{key} {format_amount(diff)}")
                continue
            signed = diff if side == "debit" else -diff
            builder.post(
                mapping.suspense_account,
                f"Suspense: {_SUSPENSE_LABEL[key]}",
                signed,
                suspense_target,
                "",
            )
            parked.append(_side_text(_SUSPENSE_LABEL[key], signed))
        rest = sum(builder.entries.values(), ZERO)
        builder.post(mapping.suspense_account, "Suspense: unbalanced", -rest, suspense_target, "")
        if rest != 0:
            parked.append(_side_text("unbalanced", -rest))
        warnings = [f"payroll {pid}: {issue}" for issue in builder.issues]
        warnings.append(_suspense_summary(pid, mapping.suspense_account, parked, unposted))
    warnings.extend(builder.warnings)
    if builder.problems:
        raise JournalError(pid, builder.problems)

    lines = _lines(builder, text_prefix)
    journal = Journal(
        company_uuid=mapping.company_uuid,
        payroll_uuid=payroll_uuid,
        legal_entity=mapping.legal_entity,
        journal_name=mapping.journal_name,
        journal_batch_number=journal_batch_number(
            mapping.journal_number_prefix, mapping.company_uuid, payroll_uuid
        ),
        currency=mapping.currency,
        trans_date=trans_date,
        description=f"Gusto payroll {trans_date.isoformat()} {short}{label} #{content_hash[:8]}",
        idempotency_key=f"gusto:{mapping.company_uuid}:{payroll_uuid}:{content_hash}",
        content_hash=content_hash,
        lines=lines,
        warnings=tuple(warnings),
    )
    unbalanced = journal.balance_problems("payroll")
    if unbalanced:
        raise JournalError(pid, unbalanced)
    return journal


def _date(builder: Builder, value: object, key: str) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    builder.problem(
        f"payroll {builder.payroll_uuid}: {key} = {value!r} is not a YYYY-MM-DD date;"
        " fix the source record"
    )
    return None
