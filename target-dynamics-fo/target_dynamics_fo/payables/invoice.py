"""Pure builder: one Gusto contractor payment -> one F&O vendor invoice journal (AP).

Debit the mapped expense account per part of the payment (wage, bonus, reimbursement),
with the contractor's department dimensions when known; credit the contractor's vendor.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from target_dynamics_fo.ledger import (
    CENT,
    NO_AMOUNT,
    TEXT_LIMIT,
    ZERO,
    AmountError,
    Balanced,
    ProblemsError,
    canonical_amount,
    content_digest,
    exact_arithmetic,
    journal_batch_number,
    parse_amount,
    rounding_arithmetic,
    split_amount,
)
from target_dynamics_fo.mapping import CompanyMapping, DimensionShare, MappingError

VENDOR_ACCOUNT_LIMIT = 20
INVOICE_NUMBER_LIMIT = 20
RATE_PLACES = 4
HOURS_PLACES = 3
_HASHED = ("uuid", "company_uuid", "contractor_uuid", "date", "wage_type", "payment_method")
_MONEY = ("wage", "bonus", "reimbursement", "hours", "hourly_rate", "wage_total")


class InvoiceError(ProblemsError, ValueError):
    """The payment cannot be posted; `problems` lists every reason with its fix."""

    def __init__(self, payment_uuid: str, problems: Iterable[str]) -> None:
        self.payment_uuid = payment_uuid
        super().__init__(f"contractor payment {payment_uuid} was not posted", problems)


@dataclass(frozen=True)
class InvoiceLine:
    line_number: int
    account_type: Literal["Ledger", "Vend"]
    account: str  # main account for Ledger lines, vendor account for the Vend line
    dimensions: AbcMapping[str, str]
    debit: Decimal
    credit: Decimal
    text: str
    component: str


@dataclass(frozen=True)
class VendorInvoice(Balanced):
    company_uuid: str
    payment_uuid: str
    contractor_uuid: str
    legal_entity: str
    journal_name: str
    journal_batch_number: str
    invoice_number: str
    vendor_account: str
    vendor_group: str
    currency: str
    invoice_date: date
    description: str
    idempotency_key: str
    content_hash: str
    lines: tuple[InvoiceLine, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def amount(self) -> Decimal:
        """What the company owes the vendor (negative for a correction that reduces it)."""
        vendor = next(line for line in self.lines if line.account_type == "Vend")
        return vendor.credit - vendor.debit


def payment_content_hash(payment: AbcMapping[str, Any]) -> str:
    """sha256 hex of the payment's accounting content, insensitive to number formatting."""
    content: dict[str, Any] = {k: payment.get(k) for k in _HASHED}
    for key in _MONEY:
        value = payment.get(key)
        try:
            content[key] = canonical_amount(parse_amount(value, where=key, max_places=6))
        except AmountError:
            content[key] = None if value is None else f"!{value!r}"
    return content_digest(content)


def invoice_number(payment_uuid: str) -> str:
    """F&O invoice numbers hold 20 characters: "GUS" + the first 17 hex digits of the uuid."""
    return ("GUS" + payment_uuid.replace("-", "").upper())[:INVOICE_NUMBER_LIMIT]


def vendor_account_for(contractor: AbcMapping[str, Any], mapping: CompanyMapping) -> str:
    """The F&O vendor account of a contractor: explicit link first, then the mapping's scheme."""
    uuid = str(contractor.get("uuid") or "")
    if not uuid:
        raise MappingError(["contractor record has no uuid; fix the source record"])
    settings = mapping.contractors
    if uuid in settings.links:
        return settings.links[uuid]
    # Upper case, like F&O's own number sequences; F&O compares account keys case-insensitively.
    account = settings.vendor_account.replace("{uuid8}", uuid[:8].upper()).replace(
        "{uuid}", uuid.upper()
    )
    if len(account) > VENDOR_ACCOUNT_LIMIT:
        raise MappingError(
            [
                f"vendor account {account!r} for contractor {uuid} is longer than "
                f"{VENDOR_ACCOUNT_LIMIT} characters; use {{uuid8}} in "
                f"{mapping.key_path}.contractors.vendor_account or add the contractor to "
                f"{mapping.key_path}.contractors.links"
            ]
        )
    return account


def _shares(
    contractor: AbcMapping[str, Any] | None, mapping: CompanyMapping, problems: list[str]
) -> tuple[DimensionShare, ...]:
    """The payroll lines' rules: department (split), location, `default`, fixed dimensions.

    A contractor without a department (or missing from the contractors stream) takes
    `dimensions.default` like an employee; without a default only the fixed dimensions,
    which the account-structure check refuses where F&O requires more.
    """
    fixed = (DimensionShare(Decimal(100), dict(mapping.fixed_dimensions)),)
    if contractor is None:
        if mapping.default_dimensions is None:
            return fixed
        return (DimensionShare(Decimal(100), mapping.default_dimension_set()),)
    dept_uuid = contractor.get("department_uuid") or None
    title = contractor.get("department_title") or contractor.get("department") or None
    location = contractor.get("location_uuid") or None
    if dept_uuid is None and title is None and mapping.default_dimensions is None:
        return fixed
    try:
        return mapping.dimension_shares(
            None if dept_uuid is None else str(dept_uuid),
            None if title is None else str(title),
            None if location is None else str(location),
        )
    except MappingError as exc:
        problems.extend(exc.problems)
        return fixed


def build_vendor_invoice(
    payment: AbcMapping[str, Any],
    contractor: AbcMapping[str, Any] | None,
    mapping: CompanyMapping,
) -> VendorInvoice:
    """Build the vendor invoice journal for one contractor payment, or raise InvoiceError."""
    with exact_arithmetic():
        return _build_vendor_invoice(payment, contractor, mapping)


def _build_vendor_invoice(
    payment: AbcMapping[str, Any],
    contractor: AbcMapping[str, Any] | None,
    mapping: CompanyMapping,
) -> VendorInvoice:
    payment_uuid = str(payment.get("uuid") or "")
    pid = payment_uuid or "(no uuid)"
    problems: list[str] = []
    warnings: list[str] = []

    def amount(key: str, places: int = 2) -> Decimal:
        value = payment.get(key)
        if value is None and key in ("bonus", "reimbursement", "hours", "hourly_rate", "wage"):
            return ZERO
        try:
            return parse_amount(value, where=f"contractor payment {pid}: {key}", max_places=places)
        except AmountError as exc:
            problems.append(str(exc))
            return ZERO

    if not payment_uuid:
        problems.append("contractor payment has no uuid; fix the source record")
    company_uuid = str(payment.get("company_uuid") or "")
    if company_uuid != mapping.company_uuid:
        problems.append(
            f"contractor payment {pid}: company_uuid {company_uuid!r} does not match the mapping's "
            f"company {mapping.company_uuid}; use the mapping entry for the payment's company"
        )
    contractor_uuid = str(payment.get("contractor_uuid") or "")
    if not contractor_uuid:
        problems.append(
            f"contractor payment {pid}: contractor_uuid is missing; fix the source record"
        )
    invoice_date: date | None = None
    raw_date = payment.get("date")
    if isinstance(raw_date, date):
        invoice_date = raw_date
    elif isinstance(raw_date, str):
        try:
            invoice_date = date.fromisoformat(raw_date[:10])
        except ValueError:
            invoice_date = None
    if invoice_date is None:
        problems.append(
            f"contractor payment {pid}: date = {raw_date!r} is not a YYYY-MM-DD date; "
            "fix the source record"
        )
        invoice_date = date(1900, 1, 1)

    hours = amount("hours", HOURS_PLACES)
    rate = amount("hourly_rate", RATE_PLACES)
    wage = amount("wage")
    bonus = amount("bonus")
    reimbursement = amount("reimbursement")
    wage_total = amount("wage_total")
    wage_part = wage_total - bonus
    with rounding_arithmetic():
        # Gusto rounds hours x rate half up to the cent (as payroll engines do).
        earned = (hours * rate).quantize(CENT, rounding=ROUND_HALF_UP)
    expected = earned + wage
    if not problems and expected != wage_part:
        problems.append(
            f"contractor payment {pid}: wage_total {wage_total} should be hours {hours} x "
            f"hourly_rate {rate} + wage {wage} + bonus {bonus} = {expected + bonus}; "
            "check the payment in Gusto"
        )

    if contractor is not None and str(contractor.get("uuid") or "") != contractor_uuid:
        problems.append(
            f"contractor payment {pid}: the contractor record given is {contractor.get('uuid')!r}, "
            f"not the payment's contractor {contractor_uuid}; pass the matching contractor"
        )
    vendor_account = ""
    try:
        vendor_account = vendor_account_for(
            contractor if contractor is not None else {"uuid": contractor_uuid}, mapping
        )
    except MappingError as exc:
        problems.extend(exc.problems)
    if contractor is None:
        warnings.append(
            f"contractor payment {pid}: contractor {contractor_uuid} is not in the contractors "
            "stream, so the expense carries no department dimensions of its own (only "
            f"{mapping.key_path}.dimensions.default, if set); select the `contractors` stream "
            "to get them"
        )
    status = payment.get("status")
    if status is not None and status != "Funded":
        warnings.append(
            f"contractor payment {pid}: Gusto status is {status!r}, not 'Funded'; Gusto may "
            "still cancel it, in which case reverse this invoice"
        )
    shares = _shares(contractor, mapping, problems)

    settings = mapping.contractors
    parts = (
        ("Contractor wage", settings.wage_account, wage_part),
        ("Contractor bonus", settings.bonus_account, bonus),
        ("Contractor reimbursement", settings.reimbursement_account, reimbursement),
    )
    # Exact: every part has at most two places; quantize only fixes the scale for display.
    # A zero total builds (a lone zero vendor line); the caller records it as nothing to post.
    total = (wage_part + bonus + reimbursement).quantize(CENT)
    if problems:
        raise InvoiceError(pid, problems)

    content_hash = payment_content_hash(payment)
    prefix = f"{invoice_date.isoformat()} {pid[:8]} contractor payment"
    grouped: dict[tuple[str, str, tuple[tuple[str, str], ...]], Decimal] = {}
    for component, account, value in parts:
        if value == 0:
            continue
        for share_amount, share in zip(
            split_amount(value, tuple(s.percent for s in shares)), shares, strict=True
        ):
            key = (component, account, tuple(sorted(share.dimensions.items())))
            grouped[key] = grouped.get(key, ZERO) + share_amount
    lines: list[InvoiceLine] = []
    for (component, account, dims), value in grouped.items():
        if value == 0:
            continue
        lines.append(
            InvoiceLine(
                line_number=len(lines) + 1,
                account_type="Ledger",
                account=account,
                dimensions=dict(dims),
                debit=value if value > 0 else NO_AMOUNT,
                credit=-value if value < 0 else NO_AMOUNT,
                text=f"{prefix} {component.split()[-1]}"[:TEXT_LIMIT],
                component=component,
            )
        )
    lines.append(
        InvoiceLine(
            line_number=len(lines) + 1,
            account_type="Vend",
            account=vendor_account,
            dimensions={},
            debit=-total if total < 0 else NO_AMOUNT,
            credit=total if total > 0 else NO_AMOUNT,
            text=f"{prefix} total"[:TEXT_LIMIT],
            component="Vendor",
        )
    )
    invoice = VendorInvoice(
        company_uuid=mapping.company_uuid,
        payment_uuid=payment_uuid,
        contractor_uuid=contractor_uuid,
        legal_entity=mapping.legal_entity,
        journal_name=settings.invoice_journal_name,
        journal_batch_number=journal_batch_number(
            mapping.journal_number_prefix,
            mapping.company_uuid,
            f"contractor-payment:{payment_uuid}",
        ),
        invoice_number=invoice_number(payment_uuid),
        vendor_account=vendor_account,
        vendor_group=settings.vendor_group,
        currency=mapping.currency,
        invoice_date=invoice_date,
        description=f"Gusto contractor payment {invoice_date.isoformat()} {pid[:8]} "
        f"#{content_hash[:8]}",
        idempotency_key=f"gusto-contractor:{mapping.company_uuid}:{payment_uuid}:{content_hash}",
        content_hash=content_hash,
        lines=tuple(lines),
        warnings=tuple(warnings),
    )
    if invoice.total_debit != invoice.total_credit:
        raise InvoiceError(
            pid,
            [
                f"internal error: debits {invoice.total_debit} != credits {invoice.total_credit}; "
                "report this payment to the maintainers"
            ],
        )
    return invoice
