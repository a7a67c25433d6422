"""Gusto streams (names, keys, replication and shapes as in docs/CONTRACTS.md section 4), one
module per domain: the company and its people (``company``), contractors, and payrolls (the
list and its corrections in ``payroll_listing``, one payroll's read in ``payroll_detail``)."""

from __future__ import annotations

from tap_gusto.client import GustoStream
from tap_gusto.streams.company import (
    CompaniesStream,
    DepartmentsStream,
    EmployeesStream,
    LocationsStream,
    PaySchedulesStream,
)
from tap_gusto.streams.contractors import ContractorPaymentsStream, ContractorsStream
from tap_gusto.streams.payroll_detail import (
    AUTO,
    COMPENSATION_FIELDS,
    DEFAULT_SPLIT_ABOVE,
    SPLIT,
    WHOLE,
    PayrollFetch,
)
from tap_gusto.streams.payroll_listing import (
    EMITTED_KEY,
    FINGERPRINTS_KEY,
    fingerprint,
    fingerprint_entry,
)
from tap_gusto.streams.payrolls import (
    PayPeriodsStream,
    PayrollCompensationsStream,
    PayrollsStream,
)

STREAM_TYPES: tuple[type[GustoStream], ...] = (
    CompaniesStream,
    EmployeesStream,
    DepartmentsStream,
    LocationsStream,
    PaySchedulesStream,
    PayPeriodsStream,
    PayrollsStream,
    PayrollCompensationsStream,
    ContractorsStream,
    ContractorPaymentsStream,
)

__all__ = [
    "AUTO",
    "COMPENSATION_FIELDS",
    "DEFAULT_SPLIT_ABOVE",
    "EMITTED_KEY",
    "FINGERPRINTS_KEY",
    "SPLIT",
    "STREAM_TYPES",
    "WHOLE",
    "CompaniesStream",
    "ContractorPaymentsStream",
    "ContractorsStream",
    "DepartmentsStream",
    "EmployeesStream",
    "LocationsStream",
    "PayPeriodsStream",
    "PaySchedulesStream",
    "PayrollCompensationsStream",
    "PayrollFetch",
    "PayrollsStream",
    "fingerprint",
    "fingerprint_entry",
]
