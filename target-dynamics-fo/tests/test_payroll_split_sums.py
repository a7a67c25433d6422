"""A split payroll's sums kept as its rows arrive give exactly the journal (or the refusal)
that reading the rows back gives, and are given up whenever that cannot be proved: an employee
reference that changed in between, another process's write, rows of an earlier run, another
company (docs/CONTRACTS.md section 7)."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from target_dynamics_fo import runtime as runtime_module
from target_dynamics_fo.audit import AuditStore, from_json, to_json
from target_dynamics_fo.interrupt import StopGate
from target_dynamics_fo.ledger import EmployeeRef, Journal, JournalError, build_journal
from target_dynamics_fo.mapping import CompanyMapping
from target_dynamics_fo.payrolls import COMPENSATIONS_STREAM, CompensationIntake
from target_dynamics_fo.payrolls import split as split_module
from target_dynamics_fo.payrolls.base import ref_dict
from target_dynamics_fo.payrolls.split import StoredCompensations
from test_journal import CO as J_CO
from test_journal import E1, E2, E3, REFS, company_mapping, employee, mapping_data, payroll
from test_journal_properties import CO, MAPPINGS, PROPERTY_SETTINGS, a_payroll

_fetches = itertools.count()
OTHER_CO = "33333333-3333-5333-8333-333333333333"


def send_rows(
    intake: CompensationIntake, record: dict[str, Any], company_uuid: str | None = None
) -> dict[str, Any]:
    """The record's compensations through ``intake`` as the tap's split shape; its header."""
    fetch_id = f"fetch-{next(_fetches)}"
    for comp in record["employee_compensations"]:
        row = {
            **comp,
            "payroll_uuid": record["payroll_uuid"],
            "fetch_id": fetch_id,
            "company_uuid": company_uuid or record["company_uuid"],
        }
        # As a Singer message brings it: every non-integer number an exact Decimal.
        row = from_json(to_json(row))
        intake.receive(COMPENSATIONS_STREAM, f"{row['payroll_uuid']}|{comp['employee_uuid']}", row)
    header = {k: v for k, v in record.items() if k != "employee_compensations"}
    header["fetch_id"] = fetch_id
    return header


def save_refs(audit: AuditStore, refs: dict[str, EmployeeRef], company: str = CO) -> None:
    for ref in refs.values():
        audit.save_employee_ref(company, ref.uuid, ref_dict(ref))


def built(header: dict[str, Any], mapping: CompanyMapping, rows: StoredCompensations) -> Any:
    """The journal, or the refusal's text."""
    try:
        return build_journal(header, {}, mapping, compensations=rows)
    except JournalError as exc:
        return f"refused: {exc}"


def both_ways(
    audit: AuditStore, intake: CompensationIntake, header: dict[str, Any], mapping: CompanyMapping
) -> tuple[Any, Any, bool]:
    """(built from the sums kept on arrival, built by reading the rows back, whether the sums
    were handed to the builder)."""
    live = StoredCompensations(audit, header, pin=True, intake=intake)
    handed = live._arrived is not None
    from_sums = built(header, mapping, live)
    read_back = built(header, mapping, StoredCompensations(audit, header, pin=False))
    return from_sums, read_back, handed


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AuditStore]:
    with AuditStore(tmp_path / "audit.sqlite") as audit:
        yield audit


def lookup(mapping: CompanyMapping) -> Callable[[str], CompanyMapping | None]:
    return lambda company_uuid: mapping if company_uuid == mapping.company_uuid else None


@PROPERTY_SETTINGS
@given(
    a_payroll(),
    st.sampled_from(sorted(MAPPINGS)),
    st.sets(st.integers(min_value=0, max_value=6), max_size=3),
    st.sampled_from([None, "12.345", "NaN", "abc"]),
    st.sampled_from([1, 2, 3, 64]),
)
def test_sums_kept_on_arrival_give_the_read_back_journal_or_refusal(
    data: tuple[dict[str, Any], dict[str, EmployeeRef]],
    key: tuple[str, bool],
    unknown: set[int],
    bad_amount: str | None,
    page: int,
) -> None:
    record, refs = copy.deepcopy(data)
    mapping = MAPPINGS[key]
    comps = record["employee_compensations"]
    # Employees the store has no reference for, and an amount the builder refuses.
    known = {uuid: ref for n, (uuid, ref) in enumerate(refs.items()) if n not in unknown}
    if bad_amount is not None:
        comps[0]["net_pay"] = bad_amount
    with tempfile.TemporaryDirectory() as tmp, AuditStore(Path(tmp) / "a.sqlite") as audit:
        save_refs(audit, known)
        intake = CompensationIntake(audit, lookup(mapping))
        original = split_module.SUMS_PAGE
        split_module.SUMS_PAGE = page
        try:
            header = send_rows(intake, record)
        finally:
            split_module.SUMS_PAGE = original
        from_sums, read_back, handed = both_ways(audit, intake, header, mapping)
    assert handed
    assert from_sums == read_back
    if not isinstance(from_sums, Journal):
        assert bad_amount is not None or unknown or "refused" in from_sums


@pytest.fixture
def example() -> tuple[dict[str, Any], dict[str, EmployeeRef], CompanyMapping]:
    record = payroll([employee(E1), employee(E2, gross_pay="1000.0"), employee(E3)])
    return record, REFS, company_mapping()


@pytest.mark.parametrize("summed_before", [True, False])
def test_a_reference_saved_after_the_rows_is_the_one_the_journal_uses(
    store: AuditStore,
    example: tuple[dict[str, Any], dict[str, EmployeeRef], CompanyMapping],
    summed_before: bool,
) -> None:
    record, refs, mapping = example
    company = mapping.company_uuid
    save_refs(store, refs, company)
    intake = CompensationIntake(store, lookup(mapping))
    header = send_rows(intake, record)
    if summed_before:
        # A full page was summed with the references stored then (as at 64 rows).
        intake._add_waiting()
    # An employees record arrives between the rows and their payroll: E1 moves department.
    first, second = sorted(refs)[:2]
    moved = {**refs, first: dataclasses.replace(refs[second], uuid=first)}
    store.save_employee_ref(company, first, ref_dict(moved[first]))
    from_sums, read_back, handed = both_ways(store, intake, header, mapping)
    # Sums made before the change are given up; rows still waiting are summed with the new one.
    assert handed is not summed_before
    assert from_sums == read_back == build_journal(record, moved, mapping)
    assert from_sums != build_journal(record, refs, mapping)


def test_another_process_writing_the_store_sends_the_build_back_to_the_rows(
    tmp_path: Path, example: tuple[dict[str, Any], dict[str, EmployeeRef], CompanyMapping]
) -> None:
    record, refs, mapping = example
    company = mapping.company_uuid
    first, second = sorted(refs)[:2]
    with AuditStore(tmp_path / "a.sqlite") as audit:
        save_refs(audit, refs, company)
        audit.flush_deferred()
        intake = CompensationIntake(audit, lookup(mapping))
        header = send_rows(intake, record)
        intake._add_waiting()  # the references are looked up before the other write
        with AuditStore(tmp_path / "a.sqlite") as other:
            other.save_employee_ref(
                company, first, ref_dict(dataclasses.replace(refs[second], uuid=first))
            )
        from_sums, read_back, handed = both_ways(audit, intake, header, mapping)
    assert not handed
    assert from_sums == read_back
    assert from_sums == build_journal(
        record, {**refs, first: dataclasses.replace(refs[second], uuid=first)}, mapping
    )


def test_sums_are_used_when_nothing_changed_and_give_the_whole_journal(
    store: AuditStore, example: tuple[dict[str, Any], dict[str, EmployeeRef], CompanyMapping]
) -> None:
    record, refs, mapping = example
    save_refs(store, refs, mapping.company_uuid)
    intake = CompensationIntake(store, lookup(mapping))
    header = send_rows(intake, record)
    from_sums, read_back, handed = both_ways(store, intake, header, mapping)
    assert handed
    assert from_sums == read_back == build_journal(record, refs, mapping)


def test_rows_of_an_earlier_run_of_the_same_read_are_read_back(
    store: AuditStore, example: tuple[dict[str, Any], dict[str, EmployeeRef], CompanyMapping]
) -> None:
    record, refs, mapping = example
    save_refs(store, refs, mapping.company_uuid)
    # An earlier target process stored the whole read; this one receives only its first row.
    earlier = CompensationIntake(store)
    header = send_rows(earlier, record)
    intake = CompensationIntake(store, lookup(mapping))
    row = dict(record["employee_compensations"][0])
    row.update(payroll_uuid=record["payroll_uuid"], fetch_id=header["fetch_id"])
    row["company_uuid"] = record["company_uuid"]
    intake.receive(COMPENSATIONS_STREAM, "k", from_json(to_json(row)))
    from_sums, read_back, handed = both_ways(store, intake, header, mapping)
    assert handed  # handed over, but the builder sees they cover 1 row of 3
    assert from_sums == read_back == build_journal(record, refs, mapping)


def test_rows_of_another_company_than_the_header_names_are_read_back(
    store: AuditStore, example: tuple[dict[str, Any], dict[str, EmployeeRef], CompanyMapping]
) -> None:
    record, refs, mapping = example
    save_refs(store, refs, mapping.company_uuid)
    intake = CompensationIntake(store, lambda company_uuid: mapping)
    header = send_rows(intake, record, company_uuid=OTHER_CO)
    from_sums, read_back, handed = both_ways(store, intake, header, mapping)
    assert not handed
    assert from_sums == read_back


def test_a_failure_while_summing_is_left_to_the_read_back(
    store: AuditStore,
    example: tuple[dict[str, Any], dict[str, EmployeeRef], CompanyMapping],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record, refs, mapping = example
    save_refs(store, refs, mapping.company_uuid)
    intake = CompensationIntake(store, lookup(mapping))

    def fails(*args: object) -> None:
        raise RuntimeError("a bug while summing")

    monkeypatch.setattr(split_module.ArrivedSums, "add", fails)
    header = send_rows(intake, record)
    from_sums, read_back, handed = both_ways(store, intake, header, mapping)
    assert not handed
    assert from_sums == read_back == build_journal(record, refs, mapping)


def test_a_company_without_mapping_keeps_no_sums(
    store: AuditStore, example: tuple[dict[str, Any], dict[str, EmployeeRef], CompanyMapping]
) -> None:
    record, refs, mapping = example
    save_refs(store, refs, mapping.company_uuid)
    intake = CompensationIntake(store, lambda company_uuid: None)
    header = send_rows(intake, record)
    from_sums, read_back, handed = both_ways(store, intake, header, mapping)
    assert not handed
    assert from_sums == read_back == build_journal(record, refs, mapping)


def test_a_run_hands_its_payrolls_the_sums_its_intake_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The wiring the shortcut depends on: one intake, and the very mapping objects the
    # processor builds with (the builder takes sums made under its own mapping only).
    mapping_file = tmp_path / "mapping.yml"
    mapping_file.write_text(yaml.safe_dump(mapping_data()))
    monkeypatch.setattr(runtime_module, "build_client", lambda config, audit: object())
    config = {"mapping_file": str(mapping_file), "audit_db": str(tmp_path / "audit.sqlite")}
    runtime = runtime_module.Runtime(config, StopGate(lambda signum: None))
    try:
        processor = runtime.processor
        assert processor.intake is runtime.compensations
        company = processor.mapping.company(J_CO)
        assert runtime.compensations._companies is not None
        assert runtime.compensations._companies(J_CO) is company
        assert runtime.compensations._companies(OTHER_CO) is None
    finally:
        runtime.audit.close()
