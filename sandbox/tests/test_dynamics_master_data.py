"""Workers, employments (hire/terminate), vendors and the vendor invoice journal."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.dynamics.odata import dumps, loads
from gd_sandbox.dynamics.testing import PinnedSession, data_session

OPEN_END = "2154-12-31T23:59:59Z"


@pytest.fixture(scope="module")
def dyn() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox() as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def http(dyn: DynamicsSandbox) -> PinnedSession:
    return data_session(dyn)


@pytest.fixture(autouse=True)
def _fresh(dyn: DynamicsSandbox) -> None:
    dyn.reset()


def infolog(resp: requests.Response) -> str:
    assert resp.status_code == 500, resp.text
    return str(resp.json()["error"]["innererror"]["message"])


def employment_url(dyn: DynamicsSandbox, pn: str, start: str, end: str = OPEN_END) -> str:
    return (
        f"{dyn.url}/data/Employments(PersonnelNumber='{pn}',LegalEntityId='rsc',"
        f"EmploymentStartDate={start},EmploymentEndDate={end})"
    )


def test_hire_worker_and_employment(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    worker = http.post(f"{dyn.url}/data/Workers", json={"FirstName": "Lena", "LastName": "Ortiz"})
    assert worker.status_code == 201, worker.text
    pn = worker.json()["PersonnelNumber"]
    assert worker.json()["Name"] == "Lena Ortiz"
    assert worker.json()["WorkerStatus"] == "None"
    emp = http.post(
        f"{dyn.url}/data/Employments",
        json={
            "PersonnelNumber": pn,
            "LegalEntityId": "rsc",
            "EmploymentStartDate": "2026-02-02T12:00:00Z",
        },
    )
    assert emp.status_code == 201, emp.text
    assert emp.json()["EmploymentEndDate"] == OPEN_END
    assert http.get(f"{dyn.url}/data/Workers('{pn}')").json()["WorkerStatus"] == "Employed"
    assert emp.headers["Location"] == employment_url(dyn, pn, "2026-02-02T12:00:00Z")
    overlap = http.post(
        f"{dyn.url}/data/Employments",
        json={
            "PersonnelNumber": pn,
            "LegalEntityId": "rsc",
            "EmploymentStartDate": "2026-03-01T12:00:00Z",
        },
    )
    assert "overlaps" in infolog(overlap)
    ghost = http.post(
        f"{dyn.url}/data/Employments",
        json={
            "PersonnelNumber": "999999",
            "LegalEntityId": "rsc",
            "EmploymentStartDate": "2026-03-01T12:00:00Z",
        },
    )
    assert "Worker '999999' does not exist" in infolog(ghost)
    bad_dims = http.post(
        f"{dyn.url}/data/Employments",
        json={
            "PersonnelNumber": "000101",
            "LegalEntityId": "rsc",
            "EmploymentStartDate": "2030-01-01T12:00:00Z",
            "DimensionDisplayValue": "100-999-DEN",
        },
    )
    assert "Value '999' for financial dimension 'Department' does not exist" in infolog(bad_dims)
    dims = http.patch(
        employment_url(dyn, pn, "2026-02-02T12:00:00Z"),
        json={"DimensionDisplayValue": "100-110-DEN"},
    )
    assert dims.status_code == 204
    bad_le = http.post(
        f"{dyn.url}/data/Employments",
        json={
            "PersonnelNumber": pn,
            "LegalEntityId": "zzz",
            "EmploymentStartDate": "2026-03-01T12:00:00Z",
        },
    )
    assert "Company 'zzz' does not exist" in infolog(bad_le)


def test_terminate_by_patching_open_end_date(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    url = employment_url(dyn, "000102", "2020-07-13T12:00:00Z")
    assert http.get(url).status_code == 200
    resp = http.patch(url, json={"EmploymentEndDate": "2026-01-30T12:00:00Z"})
    assert resp.status_code == 204, resp.text
    assert http.get(url).status_code == 404
    ended = http.get(employment_url(dyn, "000102", "2020-07-13T12:00:00Z", "2026-01-30T12:00:00Z"))
    assert ended.status_code == 200
    assert http.get(f"{dyn.url}/data/Workers('000102')").json()["WorkerStatus"] == "Terminated"
    too_early = http.patch(
        employment_url(dyn, "000101", "2019-03-04T12:00:00Z"),
        json={"EmploymentEndDate": "2018-01-01T12:00:00Z"},
    )
    assert "before the start date" in infolog(too_early)
    other_key = http.patch(
        employment_url(dyn, "000101", "2019-03-04T12:00:00Z"), json={"LegalEntityId": "sbc"}
    )
    assert other_key.status_code == 400
    # Rehire after the termination is a new employment row.
    rehire = http.post(
        f"{dyn.url}/data/Employments",
        json={
            "PersonnelNumber": "000102",
            "LegalEntityId": "rsc",
            "EmploymentStartDate": "2026-06-01T12:00:00Z",
        },
    )
    assert rehire.status_code == 201


def test_vendor_create_and_validation(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    resp = http.post(
        f"{dyn.url}/data/VendorsV2",
        json={
            "VendorOrganizationName": "Mesa Electric LLC",
            "VendorGroupId": "CONTRACT",
            "dataAreaId": "sbc",
        },
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["VendorAccountNumber"].startswith("V")
    assert body["dataAreaId"] == "sbc"
    assert body["CurrencyCode"] == "USD"
    person = http.post(
        f"{dyn.url}/data/VendorsV2",
        json={
            "VendorAccountNumber": "C-0001",
            "VendorPartyType": "Person",
            "PersonFirstName": "Ann",
            "PersonLastName": "Lee",
            "VendorGroupId": "CONTRACT",
        },
    )
    assert person.status_code == 201
    no_group = http.post(
        f"{dyn.url}/data/VendorsV2", json={"VendorOrganizationName": "X", "VendorGroupId": "NOPE"}
    )
    assert "The value 'NOPE' in field 'Vendor group' is not found" in infolog(no_group)
    no_name = http.post(f"{dyn.url}/data/VendorsV2", json={"VendorGroupId": "CONTRACT"})
    assert "Field 'VendorOrganizationName' must be filled in." in infolog(no_name)
    assert "Name" not in body  # VendorsV2 has no Name property
    with_name = http.post(
        f"{dyn.url}/data/VendorsV2", json={"Name": "x", "VendorGroupId": "CONTRACT"}
    )
    assert with_name.status_code == 400


def test_vendor_invoice_journal(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    hdr = http.post(
        f"{dyn.url}/data/VendInvoiceJournalHeaders",
        json={"JournalName": "APInvoice", "JournalBatchNumber": "AP-1"},
    )
    assert hdr.status_code == 201, hdr.text
    assert hdr.json()["Description"] == "AP Invoice"
    wrong_name = http.post(
        f"{dyn.url}/data/VendInvoiceJournalHeaders", json={"JournalName": "Payroll"}
    )
    assert "type 'Daily'" in infolog(wrong_name)
    line = {
        "JournalBatchNumber": "AP-1",
        "LineNumber": 1,
        "AccountType": "Vend",
        "AccountDisplayValue": "V00001",
        "OffsetAccountType": "Ledger",
        "OffsetAccountDisplayValue": "600700-100-110-DEN",
        "Credit": Decimal("1500.50"),
        "Currency": "USD",
        "Date": "2026-01-31T12:00:00Z",
        "Invoice": "GUSTO-CP-1",
    }
    ok = http.post(
        f"{dyn.url}/data/VendInvoiceJournalLines",
        data=dumps(line),
        headers={"Content-Type": "application/json"},
    )
    assert ok.status_code == 201, ok.text
    created = loads(ok.content)
    assert created["Credit"] == Decimal("1500.5")
    assert created["Voucher"].startswith("APIN")
    unknown_vendor = http.post(
        f"{dyn.url}/data/VendInvoiceJournalLines",
        data=dumps({**line, "LineNumber": 2, "AccountDisplayValue": "V404"}),
    )
    assert "Vendor account 'V404' does not exist" in infolog(unknown_vendor)
    no_date = {k: v for k, v in line.items() if k != "Date"}
    assert "Field 'Date' must be filled in." in infolog(
        http.post(
            f"{dyn.url}/data/VendInvoiceJournalLines", data=dumps({**no_date, "LineNumber": 3})
        )
    )
    bad_offset = http.post(
        f"{dyn.url}/data/VendInvoiceJournalLines",
        data=dumps({**line, "LineNumber": 4, "OffsetAccountDisplayValue": "123"}),
    )
    assert "Main account '123' does not exist" in infolog(bad_offset)


def test_vendor_invoice_journal_posts_to_ledger(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    http.post(
        f"{dyn.url}/data/VendInvoiceJournalHeaders",
        json={"JournalName": "APInvoice", "JournalBatchNumber": "AP-9"},
    )
    line = {
        "JournalBatchNumber": "AP-9",
        "LineNumber": 1,
        "AccountDisplayValue": "V00001",
        "OffsetAccountDisplayValue": "600700-100-110-DEN",
        "Credit": Decimal("980.25"),
        "Currency": "USD",
        "Date": "2026-01-31T12:00:00Z",
    }
    assert http.post(f"{dyn.url}/data/VendInvoiceJournalLines", data=dumps(line)).status_code == 201
    posted = PinnedSession(dyn.ca_bundle).post(f"{dyn.url}/_sandbox/journals/rsc/AP-9/post")
    assert posted.status_code == 200, posted.text
    entries = {
        e["MainAccount"]: e["TransactionCurrencyAmount"]
        for e in dyn.entities["GeneralJournalAccountEntries"]
    }
    assert entries == {"200100": Decimal("-980.25"), "600700": Decimal("980.25")}
    assert dyn.entities["VendInvoiceJournalHeaders"][0]["IsPosted"] == "Yes"
