"""Exactly-once decisions of the poster, and the audit store's promises, without a network."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from target_dynamics_fo.audit import AuditStore
from target_dynamics_fo.fo import (
    EntraTokenProvider,
    ODataBatchError,
    Operation,
    WriteOutcomeUnknownError,
)
from target_dynamics_fo.ledger import Journal, JournalLine
from target_dynamics_fo.payrolls import MAX_JOURNAL_LINES, JournalPoster, header_description
from target_dynamics_fo.posting import hash_in_description
from tdfo_fakes import RecordingAudit

HASH = "ab12cd34ef56ab78" + "0" * 48


def journal(lines: int = 2, content_hash: str = HASH) -> Journal:
    half = [
        JournalLine(
            i + 1,
            "600100",
            {"Department": "110"},
            Decimal("10.00"),
            Decimal("0"),
            "t",
            "Wages: Regular Hours",
        )
        for i in range(lines // 2)
    ]
    other = [
        JournalLine(len(half) + i + 1, "210400", {}, Decimal("0"), Decimal("10.00"), "t", "Net pay")
        for i in range(lines - len(half))
    ]
    return Journal(
        company_uuid="c1",
        payroll_uuid="p1",
        legal_entity="rsc",
        journal_name="Payroll",
        journal_batch_number="GUS-ABC",
        currency="USD",
        trans_date=date(2026, 1, 15),
        description=f"Gusto payroll 2026-01-15 p1 #{content_hash[:8]}",
        idempotency_key="k",
        content_hash=content_hash,
        lines=tuple(half + other),
    )


class FakeClient:
    """Answers lookups from `headers`; `batch` runs the scripted behaviours in order."""

    max_retries = 4
    deadline_seconds = 100.0

    def __init__(self, script: list[str]) -> None:
        self.headers: list[dict[str, Any]] = []
        self.script = script
        self.batches: list[list[Operation]] = []
        self.lookups = 0
        self.sleep = lambda _s: None

    def backoff(self, attempt: int) -> float:
        return 0.0

    def get_all(self, entity: str, **kw: Any) -> list[dict[str, Any]]:
        self.lookups += 1
        assert kw["cross_company"] is True
        assert "dataAreaId eq 'rsc'" in kw["filter"]
        return list(self.headers)

    def batch(self, ops: list[Operation], **kw: Any) -> list[Any]:
        self.batches.append(ops)
        step = self.script.pop(0)
        header = {"Description": ops[0].body["Description"] if ops[0].body else ""}
        if step == "ok":
            self.headers.append(header)
            return []
        if step == "commit-then-lose":
            self.headers.append(header)
            raise WriteOutcomeUnknownError("connection dropped", entity="$batch")
        if step == "lose":
            raise WriteOutcomeUnknownError("connection dropped", entity="$batch")
        if step == "exists":
            raise ODataBatchError(
                "The record already exists.", status=500, content_id=1, entity="x"
            )
        raise ODataBatchError(
            "Main account 1 does not exist.", status=500, content_id=2, entity="x"
        )


def post(script: list[str], j: Journal | None = None, existing: list[dict[str, Any]] | None = None):
    client = FakeClient(script)
    client.headers.extend(existing or [])
    audit = RecordingAudit()
    j = j or journal()
    result = JournalPoster(client, audit).post(j, ["v"] * len(j.lines), "2026-01-15")  # type: ignore[arg-type]
    return result, client, audit


def test_posts_header_and_all_lines_in_one_changeset() -> None:
    result, client, audit = post(["ok"])
    assert result.outcome == "posted"
    assert len(client.batches) == 1
    ops = client.batches[0]
    assert [op.entity for op in ops] == ["LedgerJournalHeaders"] + ["LedgerJournalLines"] * 2
    line = ops[1].body or {}
    assert line["TransDate"] == "2026-01-15T12:00:00Z"
    assert line["DebitAmount"] == Decimal("10.00") and line["AccountType"] == "Ledger"
    assert "IsPosted" not in (ops[0].body or {})
    assert audit.outcomes[-1]["outcome"] == "posted"


def test_found_with_same_hash_is_already_posted_and_not_sent() -> None:
    desc = header_description(journal())
    result, client, _ = post([], existing=[{"Description": desc}])
    assert result.outcome == "already_posted" and client.batches == []


def test_found_with_other_hash_is_changed_after_posting_and_never_reposted() -> None:
    result, client, audit = post([], existing=[{"Description": "Gusto payroll #ffffffff"}])
    assert result.outcome == "changed_after_posting" and client.batches == []
    assert "changed after it was posted" in (result.reason or "")
    assert audit.outcomes[-1]["fix"]


def test_lost_response_after_commit_is_looked_up_not_resent() -> None:
    result, client, _ = post(["commit-then-lose"])
    assert result.outcome == "posted" and len(client.batches) == 1
    assert client.lookups == 2


def test_lost_request_is_retried_after_lookup_finds_nothing() -> None:
    result, client, _ = post(["lose", "ok"])
    assert result.outcome == "posted" and len(client.batches) == 2
    assert client.lookups == 2


def test_an_answer_lost_on_every_try_gives_up_after_max_retries_with_nothing_posted() -> None:
    result, client, audit = post(["lose"] * FakeClient.max_retries)
    assert result.outcome == "refused" and len(client.batches) == FakeClient.max_retries
    assert client.lookups == 1 + FakeClient.max_retries
    assert f"after {FakeClient.max_retries} attempts" in (result.reason or "")
    assert "nothing was posted" in (audit.outcomes[-1]["fix"] or "")


def test_the_deadline_stops_the_retries_before_the_retry_limit() -> None:
    client = FakeClient(["lose"] * FakeClient.max_retries)
    client.backoff = lambda attempt: 60.0  # type: ignore[method-assign]
    client.deadline_seconds = 30.0
    j = journal()
    result = JournalPoster(client, RecordingAudit()).post(j, ["v", "v"], "2026-01-15")  # type: ignore[arg-type]
    assert result.outcome == "refused" and len(client.batches) == 1
    assert "after 1 attempts" in (result.reason or "")


def test_record_already_exists_with_same_hash_is_already_posted() -> None:
    client_script = ["exists"]
    client = FakeClient(client_script)
    j = journal()
    original_batch = client.batch

    def batch(ops: list[Operation], **kw: Any) -> list[Any]:
        client.headers.append({"Description": header_description(j)})
        return original_batch(ops, **kw)

    client.batch = batch  # type: ignore[method-assign]
    result = JournalPoster(client, RecordingAudit()).post(j, ["v", "v"], "2026-01-15")  # type: ignore[arg-type]
    assert result.outcome == "already_posted"


def test_rejected_changeset_is_refused_with_reason_and_fix() -> None:
    result, _, _ = post(["reject"])
    assert result.outcome == "refused"
    assert "Main account 1 does not exist" in (result.reason or "") and result.fix


def test_more_than_4999_lines_is_refused_with_advice() -> None:
    big = journal(MAX_JOURNAL_LINES + 1)
    result, client, _ = post([], j=big)
    assert result.outcome == "refused" and client.batches == [] and client.lookups == 0
    assert "summary_level: department" in (result.fix or "")


def test_header_description_carries_the_hash_prefix() -> None:
    desc = header_description(journal())
    assert len(desc) <= 60
    found = hash_in_description(desc)
    assert found is not None and HASH.startswith(found)


def test_audit_store_never_holds_a_secret(tmp_path: Path) -> None:
    secret = "s3cr3t-value-never-stored"
    store = AuditStore(tmp_path / "audit.sqlite")
    store.record_request("POST", "$batch", 401, "GUS-1", "HTTP 401: unauthorized")
    store.record_received("payrolls", "p1", {"payroll_uuid": "p1", "amount": Decimal("1.10")}, "c1")
    store.record_outcome("p1", "refused", reason="x", fix="y")
    store.close()
    provider = EntraTokenProvider("https://x", "t", "c", client_secret=secret)
    message = provider._describe_error(
        {"error": "invalid_client", "error_description": f"AADSTS7000215: bad {secret}"}
    )
    assert secret not in message and "client secret is wrong" in message
    for path in tmp_path.glob("audit.sqlite*"):
        assert secret.encode() not in path.read_bytes()


@pytest.mark.parametrize(
    ("code", "hint"),
    [("90002", "tenant was not found"), ("700016", "client) id is not known")],
)
def test_entra_errors_become_clear_messages(code: str, hint: str) -> None:
    provider = EntraTokenProvider("https://x", "t", "c", client_secret="s")
    message = provider._describe_error({"error": "x", "error_description": f"AADSTS{code}: x"})
    assert hint in message
