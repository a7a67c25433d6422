"""Payables: Gusto contractors -> Dynamics vendors; contractor payments -> AP invoice journals.

Pure parts: the vendor a contractor should be (:mod:`.vendors`), the invoice built from a
payment (:mod:`.invoice`) and its F&O operations (:mod:`.invoice_journal`). I/O: vendors are
written by :mod:`.vendor_sync`, invoices posted exactly once by :mod:`.sync`. Import from here.
"""

from __future__ import annotations

from target_dynamics_fo.payables.invoice import (
    InvoiceError,
    InvoiceLine,
    VendorInvoice,
    build_vendor_invoice,
    invoice_number,
    payment_content_hash,
    vendor_account_for,
)
from target_dynamics_fo.payables.invoice_journal import (
    invoice_description,
    invoice_operations,
    vendor_display_value,
)
from target_dynamics_fo.payables.sync import PayablesSync
from target_dynamics_fo.payables.vendors import VendorError, VendorPlan, plan_vendor, vendor_fields

__all__ = [
    "InvoiceError",
    "InvoiceLine",
    "PayablesSync",
    "VendorError",
    "VendorInvoice",
    "VendorPlan",
    "build_vendor_invoice",
    "invoice_description",
    "invoice_number",
    "invoice_operations",
    "payment_content_hash",
    "plan_vendor",
    "vendor_account_for",
    "vendor_display_value",
    "vendor_fields",
]
