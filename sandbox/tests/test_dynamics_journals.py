"""General journal writes: F&O-style validation, exact decimals, totals, posting."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.dynamics.odata import dumps, loads
from gd_sandbox.dynamics.testing import Op, PinnedSession, batch_request, data_session

DATE = "2026-01-15T12:00:00Z"


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


def header(http: PinnedSession, dyn: DynamicsSandbox, **body: Any) -> requests.Response:
    resp: requests.Response = http.post(
        f"{dyn.url}/data/LedgerJournalHeaders", json={"JournalName": "Payroll", **body}
    )
    return resp


def line(http: PinnedSession, dyn: DynamicsSandbox, jbn: str, **body: Any) -> requests.Response:
    payload = {
        "JournalBatchNumber": jbn,
        "AccountType": "Ledger",
        "CurrencyCode": "USD",
        "TransDate": DATE,
        **body,
    }
    # Amounts go out as JSON numbers with their exact digits, never through float.
    text = dumps(payload)
    resp: requests.Response = http.post(
        f"{dyn.url}/data/LedgerJournalLines",
        data=text,
        headers={"Content-Type": "application/json"},
    )
    return resp


def infolog(resp: requests.Response) -> str:
    assert resp.status_code == 500, resp.text
    err = resp.json()["error"]
    assert err["code"] == ""
    assert err["message"] == "An error has occurred."
    assert (
        err["innererror"]["type"]
        == "Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException"
    )
    assert err["innererror"]["message"].startswith("Write failed for table row of type '")
    return str(err["innererror"]["message"])


def test_header_defaults_and_number_sequence(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    resp = header(http, dyn)
    assert resp.status_code == 201
    body = resp.json()
    assert body["JournalBatchNumber"]
    assert body["IsPosted"] == "No"
    assert body["Description"] == "Payroll journal"
    assert body["PostingLayer"] == "Current"
    assert body["dataAreaId"] == "rsc"
    assert resp.headers["ETag"] == body["@odata.etag"]
    second = header(http, dyn).json()["JournalBatchNumber"]
    assert second != body["JournalBatchNumber"]
    sbc = header(
        http, dyn, dataAreaId="sbc", JournalBatchNumber="GD-SBC-1", Description="Payroll 2026-01-15"
    )
    assert sbc.status_code == 201
    assert sbc.json()["Description"] == "Payroll 2026-01-15"


def test_header_validation(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    assert "Journal name 'Nope' does not exist in company 'rsc'" in infolog(
        header(http, dyn, JournalName="Nope")
    )
    assert "type 'VendInvoiceRegister'" in infolog(header(http, dyn, JournalName="APInvoice"))
    assert "Company 'zzz' does not exist" in infolog(header(http, dyn, dataAreaId="zzz"))
    assert header(http, dyn, JournalBatchNumber="DUP-1").status_code == 201
    assert "The record already exists." in infolog(header(http, dyn, JournalBatchNumber="DUP-1"))
    unknown = header(http, dyn, Bogus="x")
    assert unknown.status_code == 400
    assert "The property 'Bogus' does not exist" in unknown.json()["error"]["innererror"]["message"]


def test_lines_exact_decimals_totals_and_voucher(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    jbn = header(http, dyn, JournalBatchNumber="J-1").json()["JournalBatchNumber"]
    r1 = line(
        http,
        dyn,
        jbn,
        LineNumber=1,
        AccountDisplayValue="600100-100-110-DEN",
        DebitAmount=Decimal("1234.10"),
    )
    assert r1.status_code == 201, r1.text
    r2 = line(
        http,
        dyn,
        jbn,
        LineNumber=2,
        AccountDisplayValue="600110-100-110-DEN",
        DebitAmount=Decimal("0.20"),
    )
    r3 = line(
        http, dyn, jbn, LineNumber=3, AccountDisplayValue="210400", CreditAmount=Decimal("1234.30")
    )
    assert r2.status_code == r3.status_code == 201
    created = loads(r1.content)
    assert created["DebitAmount"] == Decimal("1234.1")
    assert created["TransDate"] == DATE
    assert created["Voucher"] == loads(r2.content)["Voucher"] == loads(r3.content)["Voucher"]
    hdr = loads(
        http.get(
            f"{dyn.url}/data/LedgerJournalHeaders(dataAreaId='rsc',JournalBatchNumber='J-1')"
        ).content
    )
    assert hdr["JournalTotalDebit"] == Decimal("1234.30")
    assert hdr["JournalTotalCredit"] == Decimal("1234.30")
    stored = dyn.entities["LedgerJournalLines"]
    assert all(isinstance(r["DebitAmount"], Decimal) for r in stored)
    assert sum(r["DebitAmount"] for r in stored) == Decimal("1234.30")


@pytest.mark.parametrize(
    ("display", "expected"),
    [
        ("699999-100-110-DEN", "Main account '699999' does not exist"),
        ("600900-100-110-DEN", "Main account '600900' is suspended"),
        ("210900", "Main account '210900' does not allow manual entry"),
        ("600100-100-999-DEN", "Value '999' for financial dimension 'Department' does not exist"),
        ("600100-100-990-DEN", "Value '990' for financial dimension 'Department' is suspended"),
        ("600100-XYZ", "Value 'XYZ' for financial dimension 'BusinessUnit' does not exist"),
        ("-100-110-DEN", "The main account is missing"),
    ],
)
def test_ledger_display_value_errors(
    http: PinnedSession, dyn: DynamicsSandbox, display: str, expected: str
) -> None:
    jbn = header(http, dyn).json()["JournalBatchNumber"]
    message = infolog(
        line(http, dyn, jbn, LineNumber=1, AccountDisplayValue=display, DebitAmount=Decimal(1))
    )
    assert expected in message
    assert "LedgerJournalLineEntity" in message
    assert dyn.entities["LedgerJournalLines"] == []


def test_display_value_segment_rules(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    jbn = header(http, dyn).json()["JournalBatchNumber"]
    # Missing trailing segments are blank; extra trailing segments are dropped silently.
    assert (
        line(
            http, dyn, jbn, LineNumber=1, AccountDisplayValue="600100-100", DebitAmount=Decimal(1)
        ).status_code
        == 201
    )
    assert (
        line(
            http,
            dyn,
            jbn,
            LineNumber=2,
            AccountDisplayValue="210400---DEN-EXTRA",
            CreditAmount=Decimal(1),
        ).status_code
        == 201
    )


def test_delimiter_and_format_follow_configuration(
    http: PinnedSession, dyn: DynamicsSandbox
) -> None:
    jbn = header(http, dyn).json()["JournalBatchNumber"]
    dyn.configure(delimiter="Period", ledger_format="MainAccount-Department")
    params = http.get(f"{dyn.url}/data/DimensionParameters").json()["value"]
    assert params[0]["DimensionSegmentDelimiter"] == "Period"
    assert (
        line(
            http, dyn, jbn, LineNumber=1, AccountDisplayValue="600100.110", DebitAmount=Decimal(5)
        ).status_code
        == 201
    )
    assert "Value '100-110' for financial dimension 'Department'" in infolog(
        line(
            http,
            dyn,
            jbn,
            LineNumber=2,
            AccountDisplayValue="600100.100-110",
            DebitAmount=Decimal(5),
        )
    )
    requests.post(f"{dyn.url}/_sandbox/config", json={"ledger_format": None}, verify=dyn.ca_bundle)
    assert "No active format for data entities has been set up." in infolog(
        line(http, dyn, jbn, LineNumber=3, AccountDisplayValue="600100.110", DebitAmount=Decimal(5))
    )


def test_line_rules(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    jbn = header(http, dyn).json()["JournalBatchNumber"]
    both = line(
        http,
        dyn,
        jbn,
        LineNumber=1,
        AccountDisplayValue="600100",
        DebitAmount=Decimal(1),
        CreditAmount=Decimal(1),
    )
    assert "both a debit (1) and a credit (1)" in infolog(both)
    no_currency = line(
        http,
        dyn,
        jbn,
        LineNumber=1,
        AccountDisplayValue="600100",
        DebitAmount=Decimal(1),
        CurrencyCode="",
    )
    assert "Field 'CurrencyCode' must be filled in." in infolog(no_currency)
    bad_currency = line(
        http,
        dyn,
        jbn,
        LineNumber=1,
        AccountDisplayValue="600100",
        DebitAmount=Decimal(1),
        CurrencyCode="ZZZ",
    )
    assert "Currency 'ZZZ'" in infolog(bad_currency)
    no_header = line(
        http, dyn, "NOPE", LineNumber=1, AccountDisplayValue="600100", DebitAmount=Decimal(1)
    )
    assert "Journal batch number 'NOPE' does not exist" in infolog(no_header)
    bare_date = line(
        http,
        dyn,
        jbn,
        LineNumber=1,
        AccountDisplayValue="600100",
        DebitAmount=Decimal(1),
        TransDate="2026-01-15",
    )
    assert bare_date.status_code == 400
    assert "Edm.DateTimeOffset" in bare_date.json()["error"]["innererror"]["message"]
    resp = http.post(
        f"{dyn.url}/data/LedgerJournalLines",
        json={
            "JournalBatchNumber": jbn,
            "AccountDisplayValue": "600100",
            "DebitAmount": 1,
            "CurrencyCode": "USD",
        },
    )
    assert "Field 'TransDate' must be filled in." in infolog(resp)
    vend = line(
        http,
        dyn,
        jbn,
        LineNumber=1,
        AccountType="Vend",
        AccountDisplayValue="V99999",
        CreditAmount=Decimal(1),
    )
    assert "Vendor account 'V99999' does not exist in company 'rsc'" in infolog(vend)
    assert dyn.entities["LedgerJournalLines"] == []


def test_line_number_assigned_when_omitted(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    jbn = header(http, dyn).json()["JournalBatchNumber"]
    first = loads(
        line(http, dyn, jbn, AccountDisplayValue="600100", DebitAmount=Decimal(1)).content
    )
    second = loads(
        line(http, dyn, jbn, AccountDisplayValue="210400", CreditAmount=Decimal(1)).content
    )
    assert (first["LineNumber"], second["LineNumber"]) == (Decimal(1), Decimal(2))


def test_patch_and_delete(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    header(http, dyn, JournalBatchNumber="P-1")
    line(http, dyn, "P-1", LineNumber=1, AccountDisplayValue="600100", DebitAmount=Decimal("10.00"))
    url = (
        f"{dyn.url}/data/LedgerJournalLines(dataAreaId='rsc',JournalBatchNumber='P-1',LineNumber=1)"
    )
    patched = http.patch(
        url, data='{"DebitAmount": 12.34}', headers={"Content-Type": "application/json"}
    )
    assert patched.status_code == 204
    hdr_url = f"{dyn.url}/data/LedgerJournalHeaders(dataAreaId='rsc',JournalBatchNumber='P-1')"
    assert loads(http.get(hdr_url).content)["JournalTotalDebit"] == Decimal("12.34")
    stale = http.patch(url, json={"Text": "x"}, headers={"If-Match": 'W/"stale"'})
    assert stale.status_code == 412
    missing = http.patch(url.replace("LineNumber=1", "LineNumber=9"), json={"Text": "x"})
    assert missing.status_code == 400
    assert "No resources were found when selecting for update." in missing.text
    rekey = http.patch(url, json={"LineNumber": 5})
    assert rekey.status_code == 400
    assert http.delete(url).status_code == 204
    assert loads(http.get(hdr_url).content)["JournalTotalDebit"] == Decimal(0)
    assert http.delete(hdr_url).status_code == 204
    assert http.get(hdr_url).status_code == 404


def test_posting_creates_ledger_entries_and_locks_journal(
    http: PinnedSession, dyn: DynamicsSandbox
) -> None:
    header(http, dyn, JournalBatchNumber="POST-1")
    line(
        http,
        dyn,
        "POST-1",
        LineNumber=1,
        AccountDisplayValue="600100-100-110-DEN",
        DebitAmount=Decimal("100.01"),
    )
    line(
        http,
        dyn,
        "POST-1",
        LineNumber=2,
        AccountDisplayValue="210400",
        CreditAmount=Decimal("100.01"),
    )
    resp = requests.post(f"{dyn.url}/_sandbox/journals/rsc/POST-1/post", verify=dyn.ca_bundle)
    assert resp.status_code == 200, resp.text
    hdr = http.get(
        f"{dyn.url}/data/LedgerJournalHeaders",
        params={"$filter": "IsPosted eq Microsoft.Dynamics.DataEntities.NoYes'Yes'"},
    )
    assert [h["JournalBatchNumber"] for h in hdr.json()["value"]] == ["POST-1"]
    entries = loads(
        http.get(
            f"{dyn.url}/data/GeneralJournalAccountEntries",
            params={"$filter": "JournalNumber eq 'POST-1'"},
        ).content
    )["value"]
    assert sorted(e["TransactionCurrencyAmount"] for e in entries) == [
        Decimal("-100.01"),
        Decimal("100.01"),
    ]
    assert {e["MainAccount"] for e in entries} == {"600100", "210400"}
    late = line(
        http, dyn, "POST-1", LineNumber=3, AccountDisplayValue="600100", DebitAmount=Decimal(1)
    )
    assert "has been posted" in infolog(late)
    assert "has been posted" in infolog(
        http.delete(
            f"{dyn.url}/data/LedgerJournalHeaders(dataAreaId='rsc',JournalBatchNumber='POST-1')"
        )
    )
    again = requests.post(f"{dyn.url}/_sandbox/journals/rsc/POST-1/post", verify=dyn.ca_bundle)
    assert again.status_code == 409
    write = http.post(f"{dyn.url}/data/GeneralJournalAccountEntries", json={"JournalNumber": "x"})
    assert write.status_code == 405
    assert "read-only" in write.text


def test_unbalanced_journal_does_not_post(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    header(http, dyn, JournalBatchNumber="UNB-1")
    line(
        http, dyn, "UNB-1", LineNumber=1, AccountDisplayValue="600100", DebitAmount=Decimal("10.00")
    )
    line(
        http, dyn, "UNB-1", LineNumber=2, AccountDisplayValue="210400", CreditAmount=Decimal("9.99")
    )
    resp = requests.post(f"{dyn.url}/_sandbox/journals/rsc/UNB-1/post", verify=dyn.ca_bundle)
    assert resp.status_code == 400
    assert "out of balance by 0.01" in resp.json()["error"]
    assert dyn.entities["GeneralJournalAccountEntries"] == []
    assert dyn.entities["LedgerJournalHeaders"][0]["IsPosted"] == "No"


def test_amounts_must_be_json_numbers(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    jbn = header(http, dyn).json()["JournalBatchNumber"]
    quoted = http.post(
        f"{dyn.url}/data/LedgerJournalLines",
        data=dumps(
            {
                "JournalBatchNumber": jbn,
                "AccountDisplayValue": "600100",
                "DebitAmount": "10.00",
                "CurrencyCode": "USD",
                "TransDate": DATE,
            }
        ),
    )
    assert quoted.status_code == 400
    assert "Edm.Decimal" in quoted.json()["error"]["innererror"]["message"]
    assert dyn.entities["LedgerJournalLines"] == []


def test_quoted_amounts_allowed_with_ieee754_opt_in(
    http: PinnedSession, dyn: DynamicsSandbox
) -> None:
    jbn = header(http, dyn).json()["JournalBatchNumber"]
    resp = http.post(
        f"{dyn.url}/data/LedgerJournalLines",
        data=dumps(
            {
                "JournalBatchNumber": jbn,
                "AccountDisplayValue": "600100",
                "DebitAmount": "10.05",
                "CurrencyCode": "USD",
                "TransDate": DATE,
            }
        ),
        headers={"Content-Type": "application/json;odata.metadata=minimal;IEEE754Compatible=true"},
    )
    assert resp.status_code == 201, resp.text
    assert dyn.entities["LedgerJournalLines"][0]["DebitAmount"] == Decimal("10.05")


def test_voucher_allocation_in_connection_with_balance(
    http: PinnedSession, dyn: DynamicsSandbox
) -> None:
    header(http, dyn, JournalBatchNumber="V-1")
    amounts = [("600100", "DebitAmount", "5.00"), ("210400", "CreditAmount", "5.00"),
               ("600110", "DebitAmount", "2.50"), ("210400", "CreditAmount", "1.00"),
               ("210400", "CreditAmount", "1.50"), ("600120", "DebitAmount", "9.99")]  # fmt: skip
    vouchers = []
    for number, (account, side, amount) in enumerate(amounts, start=1):
        resp = line(
            http,
            dyn,
            "V-1",
            LineNumber=number,
            AccountDisplayValue=account,
            **{side: Decimal(amount)},
        )
        assert resp.status_code == 201, resp.text
        vouchers.append(resp.json()["Voucher"])
    assert vouchers[0] == vouchers[1]
    assert vouchers[2] == vouchers[3] == vouchers[4] != vouchers[1]
    assert vouchers[5] not in vouchers[:5]


def test_failed_changeset_leaves_voucher_balances_intact(
    http: PinnedSession, dyn: DynamicsSandbox
) -> None:
    header(http, dyn, JournalBatchNumber="V-2")
    first = line(
        http, dyn, "V-2", LineNumber=1, AccountDisplayValue="600100", DebitAmount=Decimal("3.00")
    )
    common = {"JournalBatchNumber": "V-2", "CurrencyCode": "USD", "TransDate": DATE}
    good = {**common, "LineNumber": 2, "AccountDisplayValue": "210400", "CreditAmount": 3}
    bad = {**common, "LineNumber": 3, "AccountDisplayValue": "nope", "DebitAmount": 1}
    body, ctype = batch_request(
        [[Op("POST", "LedgerJournalLines", good), Op("POST", "LedgerJournalLines", bad)]]
    )
    assert (
        http.post(f"{dyn.url}/data/$batch", data=body, headers={"Content-Type": ctype}).status_code
        == 200
    )
    assert len(dyn.entities["LedgerJournalLines"]) == 1
    # Line 1's voucher is still open (3.00 out of balance), so line 2 joins it.
    second = line(
        http, dyn, "V-2", LineNumber=2, AccountDisplayValue="210400", CreditAmount=Decimal("3.00")
    )
    assert second.json()["Voucher"] == first.json()["Voucher"]


def test_amounts_outside_numeric_32_6_are_refused(
    http: PinnedSession, dyn: DynamicsSandbox
) -> None:
    """F&O's amount columns are numeric(32,6): the sandbox refuses what they cannot hold."""
    jbn = header(http, dyn, JournalBatchNumber="J-BIG").json()["JournalBatchNumber"]
    for number, amount in enumerate(
        (Decimal(10) ** 26, Decimal("-1E+40"), Decimal("0.0000001")), start=1
    ):
        response = line(
            http,
            dyn,
            jbn,
            LineNumber=number,
            AccountDisplayValue="210400",
            DebitAmount=amount,
        )
        assert response.status_code == 400, (amount, response.text)
    fits = line(
        http,
        dyn,
        jbn,
        LineNumber=9,
        AccountDisplayValue="210400",
        DebitAmount=Decimal("12345678901234567890.123456"),
    )
    assert fits.status_code == 201, fits.text
