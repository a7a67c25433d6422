"""Pure reconciliation: Gusto's period against the F&O journals, ledger and employments.

No I/O here. ``sources`` and ``fo_side`` read both systems afresh into ``model``'s inputs;
``reconcile`` compares them and names, for every difference, what a person does about it:
payrolls and their correction chains in ``payrolls``, accounts, headcount and contractor
payments here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

# The report's whole vocabulary (inputs, rows, statuses) is importable from here, its face.
from gusto_dynamics.reconcile.model import *  # noqa: F403
from gusto_dynamics.reconcile.model import (
    FIX_MAPPING,
    INVOICE_DIFFERS,
    INVOICE_NOT_POSTED,
    INVOICED,
    NO_INVOICE,
    POST,
    REPLAY,
    ZERO,
    AccountKey,
    AccountRow,
    DepartmentRow,
    FoEmployment,
    FoInvoice,
    FoJournal,
    Inputs,
    PaymentRow,
    Period,
    Person,
    PersonRow,
    Report,
)
from gusto_dynamics.reconcile.payrolls import payroll_rows


def _account_rows(inputs: Inputs, journals: list[FoJournal]) -> list[AccountRow]:
    gusto: dict[AccountKey, Decimal] = defaultdict(lambda: ZERO)
    booked: dict[AccountKey, Decimal] = defaultdict(lambda: ZERO)
    ledger: dict[AccountKey, Decimal] = defaultdict(lambda: ZERO)
    unposted: set[AccountKey] = set()
    for payroll in inputs.payrolls:
        for line in payroll.expected:
            gusto[line.account] += line.net
    numbers = {(j.legal_entity, j.batch_number.casefold()) for j in journals}
    for journal in journals:
        for line in journal.lines:
            booked[line.account] += line.net
            if not journal.posted:
                unposted.add(line.account)
    for entry in inputs.ledger:
        if (entry.legal_entity, entry.journal_number.casefold()) in numbers:
            ledger[entry.account] += entry.amount
    rows = []
    for key in set(gusto) | set(booked) | set(ledger):
        legal_entity, account, dims = key
        g, b, led = gusto[key], booked[key], ledger[key]
        if g == b == led == ZERO:
            continue
        fix = ""
        if b != g:
            fix = f"{FIX_MAPPING} or {REPLAY} (see the payrolls section)"
        elif led != b:
            fix = f"{POST}" if key in unposted else "see the payrolls section"
        rank = inputs.account_ranks.get(legal_entity, {}).get(account, 9)
        rows.append(AccountRow(legal_entity, account, dims, rank, g, b, led, fix))
    rows.sort(key=lambda r: (r.legal_entity, r.rank, r.main_account, r.dimensions))
    return rows


def _active(employments: Iterable[FoEmployment], period: Period) -> dict[tuple[str, str], bool]:
    out: dict[tuple[str, str], bool] = {}
    for e in employments:
        key = (e.legal_entity, e.personnel_number.casefold())
        overlaps = e.start <= period.end and (e.end is None or e.end >= period.start)
        out[key] = out.get(key, False) or overlaps
    return out


def _covers(line: tuple[str, ...], part: tuple[str, ...]) -> bool:
    """A wage line belongs to a department part when it carries every value the part sets
    (the location adds its own values, e.g. a cost center, that the department does not)."""
    return any(part) and all(
        not want or have == want for have, want in zip(line, part, strict=False)
    )


def _headcount(
    inputs: Inputs, journals: list[FoJournal]
) -> tuple[list[DepartmentRow], list[PersonRow]]:
    period = inputs.period
    people = {(p.legal_entity, p.employee_uuid): p for p in inputs.people}
    active = _active(inputs.employments, period)
    employments = {(e.legal_entity, e.personnel_number.casefold()) for e in inputs.employments}
    paid: dict[tuple[str, str], set[str]] = defaultdict(set)
    for payroll in inputs.payrolls:
        for employee, department in payroll.paid.items():
            paid[(payroll.legal_entity, department)].add(employee)
    wage_dims: dict[str, dict[tuple[str, ...], int]] = defaultdict(lambda: defaultdict(int))
    for journal in journals:
        wages = inputs.wage_accounts.get(journal.legal_entity, frozenset())
        for line in journal.lines:
            if line.account[1] in wages:
                wage_dims[journal.legal_entity][line.account[2]] += 1
    active_by_department: dict[tuple[str, str], int] = defaultdict(int)
    for person in inputs.people:
        if active.get((person.legal_entity, person.personnel_number.casefold())):
            active_by_department[(person.legal_entity, person.department)] += 1
    departments: list[DepartmentRow] = []
    keys = set(paid) | {k for k, n in active_by_department.items() if n}
    for legal_entity, department in sorted(keys):
        parts = inputs.department_dimensions.get(legal_entity, {}).get(department, ())
        lines = sum(
            n for dims, n in wage_dims[legal_entity].items() if any(_covers(dims, p) for p in parts)
        )
        count = len(paid.get((legal_entity, department), set()))
        fix = ""
        if count and not lines:
            fix = (
                f"no wage lines for this department's dimensions in the journals: {FIX_MAPPING} "
                f"(departments: {department!r}), then {REPLAY}"
                if parts
                else f"{FIX_MAPPING}: the department has no dimensions, then {REPLAY}"
            )
        departments.append(
            DepartmentRow(
                legal_entity,
                department or "(no department)",
                " / ".join("-".join(d) for d in parts),
                count,
                lines,
                active_by_department.get((legal_entity, department), 0),
                fix,
            )
        )
    rows: list[PersonRow] = []
    worker_fix = (
        f"{REPLAY}: run the pipeline so the employees stream creates the worker "
        "(target-dynamics-fo-audit workers shows why it did not)"
    )
    seen: set[tuple[str, str, str]] = set()

    def add(person: Person, event: str, day: date | None, in_fo: bool, fix: str) -> None:
        if (person.legal_entity, person.employee_uuid, event) in seen:
            return
        seen.add((person.legal_entity, person.employee_uuid, event))
        rows.append(
            PersonRow(
                person.legal_entity,
                event,
                day,
                person.name,
                person.department or "(no department)",
                person.personnel_number,
                in_fo,
                "" if in_fo else fix,
            )
        )

    for person in sorted(inputs.people, key=lambda p: (p.legal_entity, p.name)):
        key = (person.legal_entity, person.personnel_number.casefold())
        if person.hire_date in period:
            add(person, "hire", person.hire_date, key in employments, worker_fix)
        if person.termination_date in period:
            ended = any(
                e.end == person.termination_date
                for e in inputs.employments
                if (e.legal_entity, e.personnel_number.casefold()) == key
            )
            add(
                person,
                "termination",
                person.termination_date,
                ended,
                f"{REPLAY}: run the pipeline so the employment is ended on "
                f"{person.termination_date}",
            )
    for payroll in inputs.payrolls:
        for employee in payroll.paid:
            found_person = people.get((payroll.legal_entity, employee))
            if found_person is None:
                continue
            key = (found_person.legal_entity, found_person.personnel_number.casefold())
            if not active.get(key):
                add(found_person, "paid", payroll.check_date, False, worker_fix)
    rows.sort(key=lambda r: (r.legal_entity, r.event, r.day or period.start, r.name))
    return departments, rows


def _payment_rows(inputs: Inputs) -> list[PaymentRow]:
    invoices: dict[tuple[str, str], list[FoInvoice]] = defaultdict(list)
    for each in inputs.invoices:
        invoices[(each.legal_entity, each.batch_number.casefold())].append(each)
    rows = []
    for payment in sorted(inputs.payments, key=lambda p: (p.payment_date, p.contractor)):
        found = invoices.get((payment.legal_entity, payment.batch_number.casefold()), [])
        invoice: FoInvoice | None = found[0] if found else None
        if invoice is None:
            status = NO_INVOICE
            fix = (
                f"{FIX_MAPPING} ({payment.build_error}), then {REPLAY}"
                if payment.build_error
                else f"{REPLAY}: target-dynamics-fo-audit replay-payment {payment.payment_uuid} "
                "--config <target config>"
            )
        elif invoice.amount != payment.amount:
            status = INVOICE_DIFFERS
            fix = f"reverse invoice journal {invoice.batch_number} in F&O, then {REPLAY}"
        elif not invoice.posted:
            status = INVOICE_NOT_POSTED
            fix = f"{POST}: post invoice journal {invoice.batch_number}"
        else:
            status, fix = INVOICED, ""
        rows.append(
            PaymentRow(
                payment.legal_entity,
                payment.payment_date,
                payment.contractor,
                payment.payment_uuid,
                payment.batch_number,
                payment.amount,
                invoice.amount if invoice else None,
                status,
                fix,
            )
        )
    return rows


def reconcile(inputs: Inputs) -> Report:
    payrolls, journals = payroll_rows(inputs)
    departments, people = _headcount(inputs, journals)
    return Report(
        period=inputs.period,
        dimension_names=inputs.dimension_names,
        payrolls=payrolls,
        accounts=_account_rows(inputs, journals),
        departments=departments,
        people=people,
        payments=_payment_rows(inputs),
    )
