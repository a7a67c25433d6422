"""Pure: a built vendor invoice as F&O operations, and the words for what posting it came to.

An F&O vendor invoice journal line is a vendor line (``AccountType`` Vend) whose offset is the
expense: one line per expense part of the built invoice (wage, bonus, reimbursement, department
share), all with the same invoice number and voucher. Header and lines go in one changeset
through the exactly-once engine (:mod:`target_dynamics_fo.posting`).
"""

from __future__ import annotations

from collections.abc import Sequence

from target_dynamics_fo import audit as outcomes
from target_dynamics_fo.fo import (
    VENDOR_INVOICE_HEADERS,
    VENDOR_INVOICE_LINES,
    ODataError,
    Operation,
    fo_date,
)
from target_dynamics_fo.ledger import DimensionFormat, ledger_display_value
from target_dynamics_fo.payables.invoice import VendorInvoice
from target_dynamics_fo.posting import (
    Decision,
    Document,
    Faults,
    Rules,
    described,
    journal_header,
)

HEADER_ENTITY = VENDOR_INVOICE_HEADERS
LINE_ENTITY = VENDOR_INVOICE_LINES
INVOICE_FAULTS = Faults(batch=("target.invoice.batch.before", "target.invoice.batch.after"))
REPLAY_HINT = "then replay it: target-dynamics-fo-audit replay-payment {uuid} --config <config>"


def invoice_description(invoice: VendorInvoice) -> str:
    """Header Description ending in ``#<hash prefix>`` (60 characters at most)."""
    return described(invoice.description, invoice.content_hash)


def vendor_display_value(account: str, delimiter: str) -> str:
    # F&O escapes the segment delimiter inside a non-ledger account too ("US\-108" in its
    # answers): the account alone, written like a ledger account without dimensions.
    return ledger_display_value(account, {}, DimensionFormat(("MainAccount",), delimiter))


def invoice_operations(
    invoice: VendorInvoice, offset_display: Sequence[str], delimiter: str
) -> list[Operation]:
    """Header + one vendor line per expense line of the invoice, for one changeset."""
    le = invoice.legal_entity.lower()
    number = invoice.journal_batch_number
    name, text = invoice.journal_name, invoice_description(invoice)
    ops = [journal_header(HEADER_ENTITY, "VendInvoiceJournalHeader", le, number, name, text)]
    expense = [line for line in invoice.lines if line.account_type == "Ledger"]
    vendor = vendor_display_value(invoice.vendor_account, delimiter)
    for number_in_journal, (line, display) in enumerate(
        zip(expense, offset_display, strict=True), start=1
    ):
        ops.append(
            Operation(
                "POST",
                LINE_ENTITY,
                {
                    "dataAreaId": le,
                    "JournalBatchNumber": number,
                    "LineNumber": number_in_journal,
                    # One voucher for the whole invoice: its lines belong together.
                    "Voucher": number,
                    "AccountType": "Vend",
                    "AccountDisplayValue": vendor,
                    # The expense is debited, so the vendor is credited by the same amount.
                    "Credit": line.debit,
                    "Debit": line.credit,
                    "Currency": invoice.currency,
                    "Date": fo_date(invoice.invoice_date),
                    "InvoiceDate": fo_date(invoice.invoice_date),
                    "Invoice": invoice.invoice_number,
                    "Description": line.text,
                    "OffsetAccountType": "Ledger",
                    "OffsetAccountDisplayValue": display,
                },
                odata_type="VendInvoiceJournalLine",
            )
        )
    return ops


class InvoiceRules(Rules):
    """What a contractor payment's invoice journal is called in each finding, with its fix."""

    # The document, the record it is posted from, what a person reverses (see Rules).
    noun, source_noun, reversed_noun = "invoice journal", "payment", "invoice"

    def source(self, doc: Document) -> str:
        return f"contractor payment {doc.document_uuid}"

    def unconfirmed_fix(self, doc: Document) -> str:
        return f"nothing was posted; {_hint(doc)} once Dynamics is reachable"

    def rejected(self, doc: Document, error: ODataError) -> Decision:
        return Decision(
            outcomes.REFUSED,
            f"Dynamics rejected invoice journal {doc.number} for contractor payment "
            f"{doc.document_uuid}; nothing was saved: {error.message}",
            _fix_for(error.message, _hint(doc)),
        )


RULES = InvoiceRules()


def _hint(doc: Document) -> str:
    return REPLAY_HINT.format(uuid=doc.document_uuid)


def _fix_for(message: str, hint: str) -> str:
    text = message.lower()
    if "number sequence" in text or "manual" in text:
        return (
            "allow manual journal batch numbers for the invoice journal (Organization "
            "administration > Number sequences: allow changes to a lower and a higher number), "
            + hint
        )
    if "vendor account" in text:
        return f"create or link the contractor's vendor, {hint}"
    if "dimension" in text or "ledger account" in text or "main account" in text:
        return f"check the contractor expense accounts and dimensions in Dynamics, {hint}"
    return f"correct the cause in Dynamics or the mapping, {hint}"
