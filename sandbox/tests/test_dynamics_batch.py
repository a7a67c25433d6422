"""``$batch``: changesets commit atomically, independent requests don't, wire format as F&O's."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.dynamics.testing import (
    Op,
    PinnedSession,
    batch_request,
    data_session,
    parse_batch_response,
)

DATE = "2026-01-31T12:00:00Z"


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


def journal_ops(dyn: DynamicsSandbox, jbn: str, second_account: str = "210400") -> list[Op]:
    return [
        Op(
            "POST",
            f"{dyn.url}/data/LedgerJournalHeaders",
            {
                "@odata.type": "#Microsoft.Dynamics.DataEntities.LedgerJournalHeader",
                "dataAreaId": "sbc",
                "JournalBatchNumber": jbn,
                "JournalName": "Payroll",
                "Description": "Gusto payroll",
            },
        ),
        Op(
            "POST",
            "LedgerJournalLines",
            {
                "dataAreaId": "sbc",
                "JournalBatchNumber": jbn,
                "LineNumber": 1,
                "AccountDisplayValue": "600130-100-500-BAK",
                "DebitAmount": 2500,
                "CurrencyCode": "USD",
                "TransDate": DATE,
            },
        ),
        Op(
            "POST",
            "/data/LedgerJournalLines",
            {
                "dataAreaId": "sbc",
                "JournalBatchNumber": jbn,
                "LineNumber": 2,
                "AccountDisplayValue": second_account,
                "CreditAmount": 2500,
                "CurrencyCode": "USD",
                "TransDate": DATE,
            },
        ),
    ]


def send(http: PinnedSession, dyn: DynamicsSandbox, body: bytes, ctype: str) -> requests.Response:
    resp: requests.Response = http.post(
        f"{dyn.url}/data/$batch", data=body, headers={"Content-Type": ctype}
    )
    return resp


@pytest.mark.parametrize("crlf", [True, False])
def test_changeset_commits_all(http: PinnedSession, dyn: DynamicsSandbox, crlf: bool) -> None:
    body, ctype = batch_request([journal_ops(dyn, "B-1")], crlf=crlf)
    resp = send(http, dyn, body, ctype)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("multipart/mixed; boundary=batchresponse_")
    inner = parse_batch_response(resp)
    assert [(r.status, r.content_id, r.in_changeset) for r in inner] == [
        (201, "1", True),
        (201, "2", True),
        (201, "3", True),
    ]
    assert (
        inner[0]
        .headers["location"]
        .endswith("/data/LedgerJournalHeaders(dataAreaId='sbc',JournalBatchNumber='B-1')")
    )
    assert (
        inner[2]
        .headers["location"]
        .endswith("LedgerJournalLines(dataAreaId='sbc',JournalBatchNumber='B-1',LineNumber=2)")
    )
    assert inner[1].headers["etag"].startswith('W/"')
    assert inner[1].json()["@odata.context"].endswith("$metadata#LedgerJournalLines/$entity")
    (hdr,) = dyn.entities["LedgerJournalHeaders"]
    assert hdr["JournalTotalDebit"] == hdr["JournalTotalCredit"] == Decimal(2500)
    assert dyn.stats["changesets_committed"] == 1


def test_changeset_failure_rolls_back_everything(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    body, ctype = batch_request([journal_ops(dyn, "B-2", second_account="210400-100-777")])
    resp = send(http, dyn, body, ctype)
    assert resp.status_code == 200
    inner = parse_batch_response(resp)
    assert len(inner) == 1
    assert inner[0].status == 500
    assert inner[0].content_id == "3"
    message = inner[0].json()["error"]["innererror"]["message"]
    assert "Value '777' for financial dimension 'Department' does not exist" in message
    assert dyn.entities["LedgerJournalHeaders"] == []
    assert dyn.entities["LedgerJournalLines"] == []
    assert dyn.stats["changesets_rolled_back"] == 1
    # The same batch corrected goes through: nothing half-written blocks it.
    body, ctype = batch_request([journal_ops(dyn, "B-2")])
    assert [r.status for r in parse_batch_response(send(http, dyn, body, ctype))] == [201] * 3


def test_resubmitted_changeset_reports_duplicate(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    body, ctype = batch_request([journal_ops(dyn, "B-3")])
    send(http, dyn, body, ctype)
    inner = parse_batch_response(send(http, dyn, body, ctype))
    assert [(r.status, r.content_id) for r in inner] == [(500, "1")]
    assert "The record already exists." in inner[0].body
    assert len(dyn.entities["LedgerJournalLines"]) == 2


def test_operations_outside_changesets_are_independent(
    http: PinnedSession, dyn: DynamicsSandbox
) -> None:
    ops = journal_ops(dyn, "B-4", second_account="nope")
    body, ctype = batch_request(
        [
            ops[0],
            ops[1],
            ops[2],
            Op("GET", "LedgerJournalHeaders?cross-company=true&$select=JournalBatchNumber"),
        ]
    )
    inner = parse_batch_response(send(http, dyn, body, ctype))
    assert [(r.status, r.in_changeset) for r in inner] == [
        (201, False),
        (201, False),
        (500, False),
        (200, False),
    ]
    assert inner[3].json()["value"][0]["JournalBatchNumber"] == "B-4"
    assert len(dyn.entities["LedgerJournalLines"]) == 1


def test_content_id_reference(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    ops = journal_ops(dyn, "B-5")
    ops.append(Op("PATCH", "$1", {"Description": "renamed"}, content_id="4"))
    body, ctype = batch_request([ops])
    inner = parse_batch_response(send(http, dyn, body, ctype))
    assert [r.status for r in inner] == [201, 201, 201, 204]
    assert dyn.entities["LedgerJournalHeaders"][0]["Description"] == "renamed"


def test_reference_example_layout_without_changeset_terminator(
    http: PinnedSession, dyn: DynamicsSandbox
) -> None:
    # The captured customer-groups request omits the closing changeset delimiter; F&O accepts it.
    body = (
        "--batch_boundary\n"
        "Content-Type: multipart/mixed; boundary=changeset_boundary\n\n"
        "--changeset_boundary\n"
        "Content-Type: application/http\nContent-Transfer-Encoding: binary\nContent-ID: 1\n\n"
        f"POST {dyn.url}/data/VendorGroups HTTP/1.1\n"
        "OData-Version: 4.0\nOData-MaxVersion: 4.0\n"
        "Content-Type: application/json;odata.metadata=minimal\n"
        "Accept: application/json;odata.metadata=minimal\nAccept-Charset: UTF-8\n\n"
        '{\n"@odata.type":"#Microsoft.Dynamics.DataEntities.VendorGroup",\n'
        '"VendorGroupId":"Batch1",\n"dataAreaId":"rsc",\n"Description":"Batch 1"\n}\n\n'
        "--batch_boundary--\n"
    ).encode()
    inner = parse_batch_response(send(http, dyn, body, "multipart/mixed; boundary=batch_boundary"))
    assert [r.status for r in inner] == [201]


def test_too_many_operations(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    ops = [Op("GET", "JournalNames")] * 5001
    body, ctype = batch_request(ops)
    resp = send(http, dyn, body, ctype)
    assert resp.status_code == 400
    assert "maximum is 5000" in resp.json()["error"]["innererror"]["message"]


def test_malformed_batch(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    assert send(http, dyn, b"hello", "multipart/mixed; boundary=x").status_code == 400
    assert send(http, dyn, b"{}", "application/json").status_code == 400


def test_lost_response_on_batch_still_commits(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    dyn.faults["lose_response_next_write"] = 1
    body, ctype = batch_request([journal_ops(dyn, "B-LOST")])
    with pytest.raises(requests.ConnectionError):
        send(http, dyn, body, ctype)
    assert [h["JournalBatchNumber"] for h in dyn.entities["LedgerJournalHeaders"]] == ["B-LOST"]
    assert len(dyn.entities["LedgerJournalLines"]) == 2
    # A blind retry now meets "already exists" - the client must look before it re-sends.
    inner = parse_batch_response(send(http, dyn, body, ctype))
    assert inner[0].status == 500
    assert "already exists" in inner[0].body


def test_concurrent_identical_changesets_commit_once(
    http: PinnedSession, dyn: DynamicsSandbox
) -> None:
    body, ctype = batch_request([journal_ops(dyn, "B-RACE")])
    sessions = [data_session(dyn) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda s: send(s, dyn, body, ctype), sessions))
    outcomes = sorted(parse_batch_response(r)[0].status for r in responses)
    assert outcomes == [201, 500, 500, 500]
    assert len(dyn.entities["LedgerJournalHeaders"]) == 1
    assert len(dyn.entities["LedgerJournalLines"]) == 2
