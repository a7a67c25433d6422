from __future__ import annotations

import json
from decimal import Decimal

import pytest
from target_dynamics_fo.fo import (
    DynamicsAuthError,
    DynamicsThrottledError,
    ODataBatchError,
    ODataClient,
    Operation,
    WriteOutcomeUnknownError,
    describe_error,
    dumps,
    fo_date,
    parse_batch_response,
)
from tdfo_fakes import FakeTokens, RecordingAudit, Reply, scripted

ERROR_500 = (
    '{"error":{"code":"","message":"An error has occurred.","innererror":{"message":"Write failed '
    "for table row of type 'LedgerJournalLineEntity'. Infolog: Error: Main account 999 does not "
    'exist.","type":"Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException",'
    '"stacktrace":"   at Microsoft.Dynamics.Secret.Frame()"}}}'
)


def make_client(
    url: str, **kw: object
) -> tuple[ODataClient, FakeTokens, RecordingAudit, list[float]]:
    tokens, audit, sleeps = FakeTokens(), RecordingAudit(), []
    client = ODataClient(
        url,
        tokens,
        None,
        kw.pop("deadline", 120),
        kw.pop("retries", 5),
        audit,
        backoff_base_seconds=0.01,
        sleep=sleeps.append,
    )
    return client, tokens, audit, sleeps


def test_get_all_follows_next_link_and_keeps_decimals() -> None:
    with scripted() as srv:
        srv.script = [
            Reply(
                body=json.dumps(
                    {"value": [{"A": 1}], "@odata.nextLink": f"{srv.url}/data/X?$skip=1"}
                )
            ),
            Reply(body='{"value": [{"A": 2, "Amount": 0.10}]}'),
        ]
        client, _, audit, _ = make_client(srv.url)
        rows = client.get_all("X", filter="dataAreaId eq 'rsc'", cross_company=True)
    assert rows == [{"A": 1}, {"A": 2, "Amount": Decimal("0.10")}]
    assert "cross-company=true" in srv.seen[0].path
    assert "$filter=dataAreaId%20eq%20'rsc'" in srv.seen[0].path
    assert srv.seen[1].path == "/data/X?$skip=1"
    assert [r[2] for r in audit.requests] == [200, 200]


def test_next_link_to_another_host_is_refused() -> None:
    with scripted() as srv:
        srv.script = [Reply(body='{"value": [], "@odata.nextLink": "https://evil.example/data/X"}')]
        client, *_ = make_client(srv.url)
        with pytest.raises(Exception, match="another host"):
            client.get_all("X")


def test_429_waits_exactly_retry_after_then_fallback_30() -> None:
    with scripted() as srv:
        srv.script = [
            Reply(429, "{}", {"Retry-After": "7"}),
            Reply(429, "{}"),
            Reply(body='{"value": []}'),
        ]
        client, _, _, sleeps = make_client(srv.url)
        assert client.get_all("X") == []
    assert sleeps == [7.0, 30.0]


def test_429_beyond_deadline_fails_without_sleeping() -> None:
    with scripted() as srv:
        srv.script = [Reply(429, "{}", {"Retry-After": "600"})]
        client, _, _, sleeps = make_client(srv.url, deadline=60)
        with pytest.raises(DynamicsThrottledError, match="deadline"):
            client.get_all("X")
    assert sleeps == []


def test_5xx_on_read_backs_off_then_succeeds() -> None:
    with scripted() as srv:
        srv.script = [Reply(503, "busy"), Reply(502, "busy"), Reply(body='{"value": [1]}')]
        client, _, _, sleeps = make_client(srv.url)
        assert client.get_all("X") == [1]
    assert sleeps == [0.01, 0.02]


def test_dropped_connection_on_read_retries() -> None:
    with scripted() as srv:
        srv.script = [Reply(drop=True), Reply(body='{"value": [1]}')]
        client, *_ = make_client(srv.url)
        assert client.get_all("X") == [1]


def test_dropped_connection_on_write_is_unknown_outcome_not_resent() -> None:
    with scripted() as srv:
        srv.script = [Reply(drop=True)]
        client, *_ = make_client(srv.url)
        with pytest.raises(WriteOutcomeUnknownError):
            client.post("X", {"A": 1})
    assert len(srv.seen) == 1


def test_401_gets_a_fresh_token_once_then_configuration_error() -> None:
    with scripted() as srv:
        srv.script = [Reply(401, ""), Reply(body='{"value": []}')]
        client, tokens, *_ = make_client(srv.url)
        client.get_all("X")
        assert [s.headers["Authorization"] for s in srv.seen] == ["Bearer tok-1", "Bearer tok-2"]
        srv.script = [Reply(401, ""), Reply(401, "")]
        with pytest.raises(DynamicsAuthError, match="Entra applications"):
            client.get_all("X")
    assert tokens.forced == 2


def test_500_with_infolog_on_write_is_definite_and_has_no_stacktrace() -> None:
    with scripted() as srv:
        srv.script = [Reply(500, ERROR_500)]
        client, _, audit, _ = make_client(srv.url)
        with pytest.raises(Exception) as info:
            client.post("X", {"A": 1})
    assert "Main account 999 does not exist" in str(info.value)
    assert "Secret.Frame" not in str(info.value)
    assert not isinstance(info.value, WriteOutcomeUnknownError)
    assert "Secret.Frame" not in str(audit.requests)


def test_json_bodies_carry_exact_decimals() -> None:
    assert dumps({"DebitAmount": Decimal("1234.50"), "CreditAmount": Decimal("0")}) == (
        '{"DebitAmount":1234.50,"CreditAmount":0}'
    )
    assert fo_date("2026-01-15") == "2026-01-15T12:00:00Z"


def test_describe_error_survives_truncated_json() -> None:
    text = (
        '{"error":{"code":"","message":"An error has occurred.","innererror":{"message":'
        '"The record already exists..","type":"X","stacktrace":"   at Foo(cut'
    )
    message, _ = describe_error(text, 500)
    assert message == "The record already exists.."


BATCH_OK = (
    "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n"
    "--changesetresponse_2\r\nContent-Type: application/http\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "Content-ID: 1\r\n\r\nHTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\r\n"
    '{"JournalBatchNumber":"A1","Amount":1.10}\r\n'
    "--changesetresponse_2\r\nContent-Type: application/http\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "Content-ID: 2\r\n\r\nHTTP/1.1 201 Created\r\n\r\n{}\r\n"
    "--changesetresponse_2--\r\n--batchresponse_1--\r\n"
)

BATCH_FAIL = (
    "--batchresponse_1\nContent-Type: multipart/mixed; boundary=changesetresponse_2\n\n"
    "--changesetresponse_2\nContent-Type: application/http\nContent-Transfer-Encoding: binary\n"
    "Content-ID: 2\n\nHTTP/1.1 500 Internal Server Error\nContent-Type: application/json\n\n"
    + ERROR_500
    + "\n--changesetresponse_2--\n--batchresponse_1--\n"
)


def test_batch_builds_one_changeset_and_parses_results() -> None:
    with scripted() as srv:
        srv.script = [
            Reply(200, BATCH_OK, {"Content-Type": "multipart/mixed; boundary=batchresponse_1"})
        ]
        client, *_ = make_client(srv.url)
        results = client.batch(
            [
                Operation(
                    "POST",
                    "LedgerJournalHeaders",
                    {"JournalBatchNumber": "A1"},
                    odata_type="LedgerJournalHeader",
                ),
                Operation("POST", "LedgerJournalLines", {"DebitAmount": Decimal("1.10")}),
            ]
        )
    assert [r.status for r in results] == [201, 201]
    assert results[0].body == {"JournalBatchNumber": "A1", "Amount": Decimal("1.10")}
    sent = srv.seen[0]
    assert sent.path == "/data/$batch"
    assert sent.headers["Content-Type"].startswith("multipart/mixed; boundary=batch_")
    body = sent.body.decode()
    assert body.count("Content-Type: multipart/mixed; boundary=changeset_") == 1
    assert "Content-ID: 1\r\n" in body and "Content-ID: 2\r\n" in body
    assert f"POST {srv.url}/data/LedgerJournalHeaders HTTP/1.1" in body
    assert '"@odata.type":"#Microsoft.Dynamics.DataEntities.LedgerJournalHeader"' in body
    assert '"DebitAmount":1.10' in body


def test_batch_inner_failure_under_outer_200_is_a_failure() -> None:
    with scripted() as srv:
        srv.script = [
            Reply(200, BATCH_FAIL, {"Content-Type": "multipart/mixed; boundary=batchresponse_1"})
        ]
        client, *_ = make_client(srv.url)
        with pytest.raises(ODataBatchError) as info:
            client.batch([Operation("POST", "A", {}), Operation("POST", "LedgerJournalLines", {})])
    assert info.value.content_id == 2
    assert "operation 2: POST LedgerJournalLines" in str(info.value)
    assert "Main account 999" in str(info.value)
    assert "stacktrace" not in str(info.value).lower()


def test_parse_batch_response_with_lf_and_unquoted_boundary() -> None:
    results = parse_batch_response(
        BATCH_OK.replace("\r\n", "\n"), 'multipart/mixed; boundary="batchresponse_1"'
    )
    assert [r.content_id for r in results] == [1, 2]
