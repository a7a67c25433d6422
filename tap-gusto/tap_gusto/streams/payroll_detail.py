"""One payroll read in full: every page of its ``employee_compensations``, checked complete.

Record shapes (setting ``payroll_record_shape``, docs/CONTRACTS.md section 7):

* ``whole`` (default): the pages are merged into the ``payrolls`` record;
* ``split``: each page is emitted as it is read, as ``payroll_compensations`` records that carry
  the read's ``fetch_id``, and the ``payrolls`` record follows without the list, with
  ``employee_compensations_count`` and the same ``fetch_id``. Only one page is in memory.
* ``auto``: per payroll, ``whole`` up to ``payroll_split_above`` compensations and ``split``
  above: decided on the first page's ``X-Total-Count``, or, without it, when the pages read
  pass the limit (those are then emitted first). Memory is bounded by the limit.

Either way the read is checked by counters (``PayrollFetch``), not on a merged list: as many
compensations as Gusto's ``X-Total-Count`` announced, each employee once. A read that fails or
does not add up raises before the ``payrolls`` record exists, so no payroll is emitted from it.
"""

from __future__ import annotations

import dataclasses
import typing as t
import uuid as uuid_module
from itertools import chain

from tap_gusto import schemas
from tap_gusto.client import GustoStream
from tap_gusto.conform import paused_gc
from tap_gusto.errors import GustoAPIError, IncompletePayrollError
from tap_gusto.money import FieldSpec, Kind
from tap_gusto.streams.company import EmployeesStream
from tap_gusto.streams.paged import key_list
from tap_gusto.streams.payroll_listing import PayrollListing

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import requests
    from singer_sdk.helpers.types import Context

WHOLE, SPLIT, AUTO = "whole", "split", "auto"
#: ``auto``'s default limit: a whole record of 5,000 compensations is about 10 MB of JSON, which
#: puts the target's peak at about 170 MB and the tap's at about 215 MiB (docs/CONTRACTS.md
#: section 7), against about 80 MB for either when split.
DEFAULT_SPLIT_ABOVE = 5000
COMPENSATIONS_STREAM = "payroll_compensations"

#: The converted fields of one employee compensation (paths inside it).
COMPENSATION_FIELDS: tuple[FieldSpec, ...] = (
    ("gross_pay", Kind.MONEY),
    ("net_pay", Kind.MONEY),
    ("check_amount", Kind.MONEY),
    ("fixed_compensations[].amount", Kind.MONEY),
    ("hourly_compensations[].amount", Kind.MONEY),
    ("hourly_compensations[].hours", Kind.HOURS),
    ("hourly_compensations[].compensation_multiplier", Kind.RATE),
    ("paid_time_off[].hours", Kind.HOURS),
    ("paid_time_off[].amount", Kind.MONEY),
    ("paid_time_off[].final_payout_unused_hours_input", Kind.HOURS),
    ("reimbursements[].amount", Kind.MONEY),
    ("benefits[].employee_deduction", Kind.MONEY),
    ("benefits[].company_contribution", Kind.MONEY),
    ("deductions[].amount", Kind.MONEY),
    ("taxes[].amount", Kind.MONEY),
)


@dataclasses.dataclass
class PayrollFetch:
    """One read of one payroll: the first page's body and counters over every page."""

    company: str
    uuid: str
    fetch_id: str = dataclasses.field(default_factory=lambda: str(uuid_module.uuid4()))
    header: dict[str, t.Any] | None = None
    announced: int | None = None
    read: int = 0
    employees: set[str] = dataclasses.field(default_factory=set)

    def take(self, response: requests.Response, body: t.Any) -> list[dict[str, t.Any]]:
        """The page's compensations, counted; the first page's body is kept as the header."""
        if not isinstance(body, dict):
            raise GustoAPIError(
                f"Gusto returned a non-object body for payroll {self.uuid} of company "
                f"{self.company}."
            )
        header = response.headers.get("X-Total-Count", "").strip()
        if header.isdigit():
            if self.announced is not None and int(header) != self.announced:
                raise IncompletePayrollError(
                    f"Payroll {self.uuid} of company {self.company} changed while it was read "
                    f"(X-Total-Count {self.announced} then {header}); rerun the sync."
                )
            self.announced = int(header)
        if self.header is None:
            self.header = body
        compensations: list[dict[str, t.Any]] = body.get("employee_compensations") or []
        self.read += len(compensations)
        self.employees.update(str(c.get("employee_uuid")) for c in compensations)
        return compensations

    def complete_count(self) -> int:
        """The number of compensations, once every page is read and they add up."""
        count = self.announced if self.announced is not None else self.read
        if self.read != count or len(self.employees) != self.read:
            raise IncompletePayrollError(
                f"Payroll {self.uuid} of company {self.company}: read {self.read} employee "
                f"compensations ({len(self.employees)} distinct employees) but Gusto announced "
                f"{count}. The payroll is not emitted; rerun the sync."
            )
        return count


class CompensationRows(GustoStream):
    """The ``payroll_compensations`` stream's behaviour (the class is in ``payrolls.py``, a
    child of the payrolls stream, so that the tap's loop never syncs it on its own)."""

    primary_keys = ("payroll_uuid", "employee_uuid")
    record_id_field = "employee_uuid"
    schema = schemas.PAYROLL_COMPENSATIONS
    decimal_fields = COMPENSATION_FIELDS
    paginated = False

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending: Iterable[dict[str, t.Any]] = ()

    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        # A failed page must reach the payrolls stream, which then emits no payroll record:
        # no partition-failure handling here.
        rows, self.pending = self.pending, ()
        yield from rows


class PayrollDetail(PayrollListing):
    """Reads one payroll in the configured record shape."""

    #: The payrolls stream's record fields converted to Decimal, its compensations' included.
    detail_fields: t.ClassVar[tuple[FieldSpec, ...]] = tuple(
        (f"employee_compensations[].{path}", kind) for path, kind in COMPENSATION_FIELDS
    )

    def generate_child_contexts(
        self, record: dict[str, t.Any], context: Context | None
    ) -> t.Iterable[Context | None]:
        # The compensations are synced while the payroll is read (fetch_payroll), not after.
        return ()

    def employees_first(self, context: Context | None) -> None:
        """The company's employees, read now if this run has not: emitted before any payroll
        record or compensation, so the target knows every employee they name."""
        employees = self.gusto_tap.streams.get("employees")
        if isinstance(employees, EmployeesStream):
            employees.read_before_payroll(context)

    def no_compensations(self) -> dict[str, t.Any]:
        """The compensation fields of a payroll record read from nowhere (a deleted payroll)."""
        if self.gusto_tap.payroll_record_shape() == SPLIT:
            return {"fetch_id": str(uuid_module.uuid4()), "employee_compensations_count": 0}
        return {"employee_compensations": [], "employee_compensations_count": 0}

    def fetch_payroll(
        self, context: Context | None, company: str, uuid: str, listed: dict[str, t.Any]
    ) -> dict[str, t.Any]:
        """The payroll's record: its pages merged (``whole``) or emitted ahead (``split``)."""
        fetch = PayrollFetch(company, uuid)
        pages = self.pages(
            context,
            f"/v1/companies/{company}/payrolls/{uuid}",
            {"include": "benefits,deductions,taxes"},
            key_list("employee_compensations"),
        )
        shape = self.gusto_tap.payroll_record_shape()
        taken: list[dict[str, t.Any]] = []
        if shape == AUTO:
            shape, taken = self._shape_of(fetch, pages)
        if shape == SPLIT:
            self._emit_compensations(context, fetch, pages, taken)
            record = fetch.header
            assert record is not None
            record["fetch_id"] = fetch.fetch_id
        else:
            # Pages of thousands of employees parse into millions of objects (paused_gc).
            with paused_gc():
                compensations = taken
                compensations.extend(c for page in pages for c in fetch.take(*page))
            record = fetch.header
            assert record is not None
            record["employee_compensations"] = compensations
        count = fetch.complete_count()
        for key, value in listed.items():
            record.setdefault(key, value)  # e.g. totals when the detail omits them
        record["payroll_uuid"] = str(record.get("payroll_uuid") or record.get("uuid") or uuid)
        record["employee_compensations_count"] = count
        record["payroll_type"] = "off_cycle" if record.get("off_cycle") else "regular"
        return record

    def _shape_of(
        self, fetch: PayrollFetch, pages: Iterator[tuple[requests.Response, t.Any]]
    ) -> tuple[str, list[dict[str, t.Any]]]:
        """``auto``: the shape of this read, and the compensations read to decide it.

        Pages are read until Gusto's count or the compensations read pass the limit (split),
        or until the last page (whole); the rest of ``pages`` is left for the shape chosen.
        """
        limit = self.gusto_tap.payroll_split_above()
        taken: list[dict[str, t.Any]] = []
        with paused_gc():
            for page in pages:
                taken.extend(fetch.take(*page))
                if (fetch.announced or 0) > limit or len(taken) > limit:
                    return SPLIT, taken
        return WHOLE, taken

    def _emit_compensations(
        self,
        context: Context | None,
        fetch: PayrollFetch,
        pages: Iterator[tuple[requests.Response, t.Any]],
        taken: list[dict[str, t.Any]],
    ) -> None:
        """Emit the compensations already ``taken``, then each page's as it is read."""
        stream = self.gusto_tap.streams.get(COMPENSATIONS_STREAM)
        if not isinstance(stream, CompensationRows):
            raise GustoAPIError(f"The {COMPENSATIONS_STREAM} stream is missing from the tap.")
        if not stream.selected and not self.gusto_tap.compensations_warned:
            self.gusto_tap.compensations_warned = True
            self.logger.warning(
                "payroll_record_shape is %s but the %s stream is not selected: payrolls "
                "emitted split come without their employee compensations.",
                self.gusto_tap.payroll_record_shape(),
                COMPENSATIONS_STREAM,
            )

        self.employees_first(context)

        def rows() -> t.Iterator[dict[str, t.Any]]:
            for page in chain((taken,), (fetch.take(*page) for page in pages)):
                if isinstance(fetch.header, dict):
                    fetch.header.pop("employee_compensations", None)  # emitted as rows
                for compensation in page:
                    compensation["payroll_uuid"] = fetch.uuid
                    compensation["fetch_id"] = fetch.fetch_id
                    yield compensation

        stream.pending = rows()
        stream.sync({"company_uuid": fetch.company})
