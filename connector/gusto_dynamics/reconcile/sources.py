"""Reading Gusto afresh for a reconciliation, with the stored grants (the calendar's
``CompanyReader``, i.e. the tap's token manager), and the audit trail; F&O is read by
``fo_side``. ``build_inputs`` joins both sides with facts from the mapping file. Nothing here
writes to either system.

The journal a payroll *should* have is built with the target's own builder under the current
mapping, but from what Gusto answers now, not from anything the pipeline stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from tap_gusto.dates import horizon, period_listing_start, period_windows, windows
from target_dynamics_fo.audit import AuditStore
from target_dynamics_fo.ledger import (
    JournalError,
    build_journal,
    journal_batch_number,
    parse_amount,
    payroll_content_hash,
)
from target_dynamics_fo.mapping import CompanyMapping, MappingError
from target_dynamics_fo.mapping import Mapping as MappingFile
from target_dynamics_fo.payables import InvoiceError, build_vendor_invoice
from target_dynamics_fo.payrolls import employee_ref
from target_dynamics_fo.workers import PeopleError, desired_worker

from gusto_dynamics.company_reader import CompanyReader
from gusto_dynamics.reconcile.fo_side import FoSide
from gusto_dynamics.reconcile.model import (
    ZERO,
    AuditOutcome,
    GustoPayment,
    GustoPayroll,
    Inputs,
    Line,
    Period,
    Person,
    iso_day,
)

# Gusto's longest pay period: a monthly payroll paid before its period ends is listed by a
# window reaching past the check date.
PERIOD_SLACK = dt.timedelta(days=92)


class SourceError(Exception):
    """A system could not be read; the message names it and what to do (exit code 2)."""


@dataclass
class GustoCompany:
    company_uuid: str
    name: str
    payrolls: list[GustoPayroll] = field(default_factory=list)
    payments: list[GustoPayment] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)


def _money(value: Any, where: str) -> Decimal:
    amount: Decimal = parse_amount(ZERO if value is None else value, where=where)
    return amount


def gusto_today(reader: CompanyReader) -> tuple[dt.date, dict[str, Any]]:
    """Gusto's own date (its ``Date`` header) and the company record, in one request."""
    response = reader.get(f"/v1/companies/{reader.company_uuid}", {})
    sent = response.headers.get("Date")
    # Without a Date header (never seen from Gusto) the horizon counts from this machine's day.
    today = parsedate_to_datetime(sent).date() if sent else dt.datetime.now(dt.UTC).date()
    body = response.json(parse_float=Decimal)
    return today, body if isinstance(body, dict) else {}


def _payroll_record(reader: CompanyReader, company: str, uuid: str) -> dict[str, Any]:
    """The single-payroll answer with every page of employee compensations, shaped as the
    tap emits it (so its content hash is the one the target stamped on the journal)."""
    path = f"/v1/companies/{company}/payrolls/{uuid}"
    record: dict[str, Any] | None = None
    comps: list[dict[str, Any]] = []
    for _response, body in reader.pages(
        path,
        {"include": "benefits,deductions,taxes"},
        lambda b: b.get("employee_compensations") or [] if isinstance(b, dict) else [],
    ):
        if not isinstance(body, dict):
            raise SourceError(f"Gusto returned a non-object body for payroll {uuid}")
        record = record if record is not None else body
        comps.extend(body.get("employee_compensations") or [])
    assert record is not None
    record["payroll_uuid"] = str(record.get("payroll_uuid") or record.get("uuid") or uuid)
    record["company_uuid"] = company
    record["employee_compensations"] = comps
    record["employee_compensations_count"] = len(comps)
    record["payroll_type"] = "off_cycle" if record.get("off_cycle") else "regular"
    return record


def read_gusto(
    reader: CompanyReader,
    mapping: CompanyMapping,
    period: Period,
    segments: tuple[str, ...],
) -> GustoCompany:
    company = mapping.company_uuid
    today, info = gusto_today(reader)
    name = str(info.get("name") or info.get("trade_name") or mapping.name or company)
    out = GustoCompany(company, name)
    base = f"/v1/companies/{company}"
    employees = reader.get_all(base + "/employees")
    refs = {str(e.get("uuid")): employee_ref(e) for e in employees}
    titles = {str(e.get("uuid")): str(e.get("department") or "") for e in employees}
    for employee in employees:
        try:
            worker = desired_worker(employee, mapping, None)
        except PeopleError:
            continue  # the target reports such records; the reconciliation cannot place them
        out.people.append(
            Person(
                company,
                worker.legal_entity,
                worker.employee_uuid,
                worker.name,
                titles.get(worker.employee_uuid, ""),
                worker.personnel_number,
                worker.hire_date,
                worker.end_date,
            )
        )
    listed: dict[str, dict[str, Any]] = {}
    last = min(horizon(today), period.end + PERIOD_SLACK)
    for start, end in period_windows(period_listing_start(period.start), last):
        for item in reader.get_all(
            base + "/payrolls",
            {
                "processing_statuses": "processed",
                "payroll_types": "regular,off_cycle",
                "include": "totals",
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
            },
        ):
            uuid = str(item.get("payroll_uuid") or item.get("uuid") or "")
            if uuid and iso_day(item.get("check_date")) in period:
                listed.setdefault(uuid, item)
    legal_entity = mapping.legal_entity.lower()
    for uuid in listed:
        record = _payroll_record(reader, company, uuid)
        totals = {str(k): _money(v, f"totals.{k}") for k, v in (record.get("totals") or {}).items()}
        expected: tuple[Line, ...] = ()
        error = None
        try:
            journal = build_journal(record, refs, mapping)
            expected = tuple(
                Line(
                    (
                        legal_entity,
                        x.main_account,
                        tuple(x.dimensions.get(s, "") for s in segments),
                    ),
                    x.debit,
                    x.credit,
                    x.component,
                )
                for x in journal.lines
            )
        except (JournalError, MappingError) as exc:
            error = str(exc).splitlines()[0]
        out.payrolls.append(
            GustoPayroll(
                company_uuid=company,
                company_name=name,
                legal_entity=legal_entity,
                payroll_uuid=record["payroll_uuid"],
                check_date=iso_day(record.get("check_date")) or period.start,
                payroll_type=record["payroll_type"],
                totals=totals,
                content_hash=payroll_content_hash(record),
                batch_number=journal_batch_number(
                    mapping.journal_number_prefix, company, record["payroll_uuid"]
                ),
                expected=expected,
                build_error=error,
                paid={
                    str(c.get("employee_uuid")): titles.get(str(c.get("employee_uuid")), "")
                    for c in record["employee_compensations"]
                    if not c.get("excluded")
                },
            )
        )
    contractors = {str(c.get("uuid")): c for c in reader.get_all(base + "/contractors")}
    for start, end in windows(period.start, period.end):
        pages = reader.pages(
            base + "/contractor_payments",
            {"start_date": start.isoformat(), "end_date": end.isoformat()},
            lambda b: b.get("contractor_payments") or [] if isinstance(b, dict) else [],
        )
        for _response, body in pages:
            for group in (body or {}).get("contractor_payments") or []:
                for payment in group.get("payments") or []:
                    out.payments.append(
                        _payment(payment, group, contractors, mapping, company, legal_entity)
                    )
    return out


def _payment(  # noqa: PLR0917 - one reader's context, passed through
    payment: dict[str, Any],
    group: Mapping[str, Any],
    contractors: Mapping[str, Mapping[str, Any]],
    mapping: CompanyMapping,
    company: str,
    legal_entity: str,
) -> GustoPayment:
    payment.setdefault("contractor_uuid", group.get("contractor_uuid"))
    payment["company_uuid"] = company
    uuid = str(payment.get("uuid"))
    contractor = contractors.get(str(payment.get("contractor_uuid")))
    label = (
        str(contractor.get("business_name") or "").strip()
        or " ".join(
            str(contractor.get(k) or "") for k in ("first_name", "last_name") if contractor.get(k)
        )
        if contractor
        else str(payment.get("contractor_uuid"))
    )
    amount = _money(payment.get("wage_total"), "wage_total") + _money(
        payment.get("reimbursement"), "reimbursement"
    )
    error = None
    try:
        invoice = build_vendor_invoice(payment, contractor, mapping)
        amount = invoice.amount
    except (InvoiceError, MappingError) as exc:
        error = str(exc).splitlines()[0]
    return GustoPayment(
        company,
        legal_entity,
        uuid,
        label,
        iso_day(payment.get("date")) or dt.date.min,
        amount,
        journal_batch_number(mapping.journal_number_prefix, company, f"contractor-payment:{uuid}"),
        error,
    )


# ---- F&O ---------------------------------------------------------------------------------


def read_audit(path: Path | None) -> dict[str, AuditOutcome]:
    """What the connector thinks it did, by payroll and payment uuid; empty without a trail."""
    if path is None or not path.exists():
        return {}
    with AuditStore(path) as audit:
        out = {
            str(row["payroll_uuid"]): AuditOutcome(
                str(row["outcome"]), row["journal_batch_number"], str(row["at"])
            )
            for row in audit.latest_outcomes()
        }
        for row in audit.latest_payment_outcomes():
            out[str(row["payment_uuid"])] = AuditOutcome(
                str(row["outcome"]), row["journal_batch_number"], str(row["at"])
            )
    return out


# ---- mapping-derived facts -----------------------------------------------------------------


def account_ranks(company: CompanyMapping) -> dict[str, int]:
    """Wages first, then employer taxes, then benefits: what a controller checks first."""
    ranks: dict[str, int] = {}
    wages = wage_accounts(company)
    for account in wages:
        ranks[account] = 0
    taxes = [*company.employer_taxes.values()]
    if company.employer_tax_default:
        taxes.append(company.employer_tax_default)
    for pair in taxes:
        ranks.setdefault(pair.expense, 1)
    benefits = [*company.benefits.values()]
    if company.benefit_default:
        benefits.append(company.benefit_default)
    for pair in benefits:
        ranks.setdefault(pair.expense, 2)
    return ranks


def wage_accounts(company: CompanyMapping) -> frozenset[str]:
    accounts = set(company.earnings.values()) | {company.other_earnings}
    if company.earnings_default:
        accounts.add(company.earnings_default)
    return frozenset(accounts)


def department_dimensions(
    company: CompanyMapping, titles: Iterable[str], segments: tuple[str, ...]
) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Dimension values (ledger order) of each department's wage lines, one per split part."""
    out: dict[str, tuple[tuple[str, ...], ...]] = {}
    for title in titles:
        try:
            shares = company.dimension_shares(None, title or None, None)
        except MappingError:
            continue
        out[title] = tuple(tuple(s.dimensions.get(name, "") for name in segments) for s in shares)
    return out


def build_inputs(
    period: Period,
    mapping: MappingFile,
    gusto: list[GustoCompany],
    fo: FoSide,
    audit: dict[str, AuditOutcome],
) -> Inputs:
    companies = {g.company_uuid: mapping.company(g.company_uuid) for g in gusto}
    ranks: dict[str, dict[str, int]] = {}
    wages: dict[str, frozenset[str]] = {}
    departments: dict[str, dict[str, tuple[tuple[str, ...], ...]]] = {}
    for g in gusto:
        company = companies[g.company_uuid]
        legal_entity = company.legal_entity.lower()
        ranks.setdefault(legal_entity, {}).update(account_ranks(company))
        wages[legal_entity] = wages.get(legal_entity, frozenset()) | wage_accounts(company)
        titles = {p.department for p in g.people}
        departments.setdefault(legal_entity, {}).update(
            department_dimensions(company, titles, fo.dimension_names)
        )
    return Inputs(
        period=period,
        dimension_names=fo.dimension_names,
        payrolls=[p for g in gusto for p in g.payrolls],
        journals=fo.journals,
        ledger=fo.ledger,
        payments=[p for g in gusto for p in g.payments],
        invoices=fo.invoices,
        people=[p for g in gusto for p in g.people],
        employments=fo.employments,
        department_dimensions=departments,
        account_ranks=ranks,
        wage_accounts=wages,
        audit=audit,
        journal_prefixes=frozenset(c.journal_number_prefix.upper() for c in companies.values()),
    )
