"""The split payroll record shape: rows kept in the audit store give the whole shape's content
hash byte for byte, the same journal, the same refusals; rows no payroll record names are
never posted (docs/CONTRACTS.md section 7)."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from target_dynamics_fo.audit import AuditStore, from_json, to_json
from target_dynamics_fo.ledger import (
    EmployeeRef,
    JournalError,
    build_journal,
    payroll_content_hash,
)
from target_dynamics_fo.payrolls import (
    COMPENSATIONS_STREAM,
    CompensationIntake,
    StoredCompensations,
    fetch_id_of,
)
from target_dynamics_fo.payrolls.base import ref_dict
from test_content_hash_compat import PAYROLL, PLAIN_PAYROLL, outcome
from test_journal import CO, E1, E2, E3, PR, REFS, company_mapping, employee, payroll

_fetches = itertools.count()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AuditStore]:
    with AuditStore(tmp_path / "audit.sqlite") as audit:
        yield audit


def split(audit: AuditStore, record: dict[str, Any], fetch_id: str | None = None) -> dict[str, Any]:
    """Send ``record`` through the intake as the tap's split shape; returns its header."""
    fetch_id = fetch_id or f"fetch-{next(_fetches)}"
    intake = CompensationIntake(audit)
    for comp in record.get("employee_compensations") or []:
        row = {**comp, "payroll_uuid": record.get("payroll_uuid"), "fetch_id": fetch_id}
        row.setdefault("company_uuid", record.get("company_uuid"))
        intake.receive(
            COMPENSATIONS_STREAM, f"{row['payroll_uuid']}|{comp.get('employee_uuid')}", row
        )
    header = {k: v for k, v in record.items() if k != "employee_compensations"}
    header["fetch_id"] = fetch_id
    header["employee_compensations_count"] = len(record.get("employee_compensations") or [])
    return header


def save_refs(audit: AuditStore, refs: dict[str, EmployeeRef]) -> None:
    for ref in refs.values():
        audit.save_employee_ref(CO, ref.uuid, ref_dict(ref))


def test_the_header_of_a_split_read_names_it() -> None:
    assert fetch_id_of({"fetch_id": "f", "payroll_uuid": PR}) == "f"
    assert fetch_id_of(payroll()) is None
    assert fetch_id_of({**payroll(), "fetch_id": "f"}) is None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PAYROLL)
def test_split_hash_is_the_whole_hash_for_any_payroll(record: dict[str, Any]) -> None:
    assume(all(isinstance(c, dict) for c in record["employee_compensations"]))
    try:
        # As a Singer message brings it: every non-integer number an exact Decimal.
        record = from_json(to_json(record))
    except ValueError:
        assume(False)  # infinities: no Singer message carries them
    whole = outcome(payroll_content_hash, record)
    assume(not whole.startswith("raised"))
    with tempfile.TemporaryDirectory() as tmp, AuditStore(Path(tmp) / "a.sqlite") as audit:
        header = split(audit, copy.deepcopy(record))
        assert StoredCompensations(audit, header, pin=False).content_hash() == whole


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PLAIN_PAYROLL)
def test_split_hash_is_the_whole_hash_for_plain_payrolls(record: dict[str, Any]) -> None:
    # The shape whose texts are made directly (text, boolean and null values), with totals keys
    # that name employee and item keys: rows made before the totals arrive are redone.
    whole = outcome(payroll_content_hash, record)
    assume(not whole.startswith("raised"))
    with tempfile.TemporaryDirectory() as tmp, AuditStore(Path(tmp) / "a.sqlite") as audit:
        header = split(audit, copy.deepcopy(record))
        assert StoredCompensations(audit, header, pin=False).content_hash() == whole


def test_rows_shaped_by_a_totals_key_are_canonicalised_again(store: AuditStore) -> None:
    # "name" becomes a money key when the totals carry it: the rows canonicalised as they
    # arrived (before the totals were known) are redone from their records.
    record = payroll([employee(E1), employee(E2)])
    record["totals"] = {**record["totals"], "name": "1.00", "employee_uuid": "2"}
    header = split(store, record)
    assert StoredCompensations(store, header, pin=False).content_hash() == payroll_content_hash(
        record
    )


def test_split_gives_the_whole_journal(store: AuditStore) -> None:
    record = payroll([employee(E1), employee(E2, gross_pay="1000.0"), employee(E3)])
    save_refs(store, REFS)
    whole = build_journal(record, REFS, company_mapping())
    header = split(store, copy.deepcopy(record))
    rows = StoredCompensations(store, header, pin=True)
    journal = build_journal(header, {}, company_mapping(), compensations=rows)
    assert journal == whole
    assert journal.content_hash == payroll_content_hash(record)
    assert f"#{payroll_content_hash(record)[:8]}" in journal.description


def test_a_replay_uses_the_references_pinned_by_the_first_build(store: AuditStore) -> None:
    record = payroll([employee(E1), employee(E2)])
    save_refs(store, REFS)
    header = split(store, record)
    first = build_journal(
        header, {}, company_mapping(), compensations=StoredCompensations(store, header, pin=True)
    )
    # E1 moves department after the payroll was posted: the replay keeps the first build's.
    store.save_employee_ref(CO, E1, ref_dict(dataclasses.replace(REFS[E2], uuid=E1)))
    again = build_journal(
        header, {}, company_mapping(), compensations=StoredCompensations(store, header, pin=False)
    )
    assert again == first


def test_missing_rows_refuse_the_payroll_naming_it_and_the_fix(store: AuditStore) -> None:
    record = payroll([employee(E1), employee(E2), employee(E3)])
    save_refs(store, REFS)
    header = split(store, record)
    header["employee_compensations_count"] = 5
    with pytest.raises(JournalError) as info:
        build_journal(
            header,
            {},
            company_mapping(),
            compensations=StoredCompensations(store, header, pin=True),
        )
    message = str(info.value)
    assert f"payroll {PR}: 3 employee compensations arrived for its read" in message
    assert "Gusto reported 5" in message and "run the tap again for this payroll" in message


def test_an_employee_twice_is_refused_as_in_the_whole_shape(store: AuditStore) -> None:
    record = payroll([employee(E1), employee(E2), employee(E1)], employee_compensations_count=3)
    save_refs(store, REFS)
    with pytest.raises(JournalError) as whole:
        build_journal(record, REFS, company_mapping())
    header = split(store, record)
    with pytest.raises(JournalError) as split_error:
        build_journal(
            header,
            {},
            company_mapping(),
            compensations=StoredCompensations(store, header, pin=True),
        )
    twice = f"employee {E1} appears twice in employee_compensations ([0] and [2])"
    assert twice in str(whole.value) and twice in str(split_error.value)


def test_rows_no_payroll_record_names_are_never_read_and_are_dropped(store: AuditStore) -> None:
    record = payroll([employee(E1), employee(E2)])
    save_refs(store, REFS)
    # A read stopped after its first page, then a complete read of the same payroll.
    split(store, payroll([employee(E1)]), fetch_id="stopped")
    header = split(store, record, fetch_id="complete")
    rows = StoredCompensations(store, header, pin=True)
    assert rows.count() == 2
    assert [comp["fetch_id"] for _, comp, _ in rows] == ["complete", "complete"]
    store.store_payroll(header)
    store.drop_older_reads(PR)
    assert store.compensation_count("stopped") == 0
    assert store.compensation_count("complete") == 2
    # Kept for replay, with the payroll record naming the read.
    stored = store.load_payroll(PR)
    assert stored is not None and fetch_id_of(stored.record) == "complete"
    assert store.records_by_stream()[COMPENSATIONS_STREAM] == 2
