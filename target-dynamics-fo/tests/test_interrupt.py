"""Stop gate, settled-only STATE, awaiting-outcome marks and the signal handlers."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from target_dynamics_fo import audit as outcomes
from target_dynamics_fo.audit import AuditStore
from target_dynamics_fo.cli import main as audit_cli
from target_dynamics_fo.interrupt import Progress, StopGate, exit_status


class StoppedError(Exception):
    pass


def _gate() -> tuple[StopGate, list[int]]:
    calls: list[int] = []

    def stop(signum: int) -> None:
        calls.append(signum)
        raise StoppedError(signum)

    return StopGate(stop), calls


def test_exit_status_is_128_plus_the_signal() -> None:
    assert exit_status(signal.SIGTERM) == 143
    assert exit_status(signal.SIGINT) == 130


def test_signal_outside_a_document_stops_at_once() -> None:
    gate, calls = _gate()
    with pytest.raises(StoppedError):
        gate.request(signal.SIGTERM)
    assert calls == [signal.SIGTERM]


def test_signal_inside_a_document_lets_it_finish_then_stops() -> None:
    gate, calls = _gate()
    finished = []
    with pytest.raises(StoppedError), gate.document():
        gate.request(signal.SIGTERM)
        assert calls == []
        finished.append("journal")
    assert finished == ["journal"]
    assert calls == [signal.SIGTERM]


def test_second_signal_abandons_the_document_in_flight() -> None:
    gate, calls = _gate()
    with pytest.raises(StoppedError), gate.document():
        gate.request(signal.SIGTERM)
        gate.request(signal.SIGTERM)
        pytest.fail("the document went on after the second signal")
    assert calls == [signal.SIGTERM]


def test_no_document_starts_after_a_stop_was_asked_for() -> None:
    gate, _ = _gate()
    gate.signum = signal.SIGINT
    with pytest.raises(StoppedError), gate.document():
        pytest.fail("a document started after the stop")


def test_state_covering_an_unsettled_document_is_never_the_safe_one() -> None:
    progress = Progress()
    progress.state({"bookmark": 0})
    progress.received("payrolls:a")
    progress.state({"bookmark": 1})
    progress.received("payrolls:b")
    progress.state({"bookmark": 2})
    assert progress.safe_state() == {"bookmark": 0}
    progress.settled("payrolls:a")
    assert progress.safe_state() == {"bookmark": 1}
    assert progress.unsettled == 1
    progress.settled("payrolls:b")
    assert progress.safe_state() == {"bookmark": 2}


def test_no_safe_state_when_the_first_document_is_unsettled() -> None:
    progress = Progress()
    progress.received("contractor_payments:p")
    progress.state({"bookmark": 1})
    assert progress.safe_state() is None


def _payroll(uuid: str) -> dict[str, object]:
    return {
        "payroll_uuid": uuid,
        "company_uuid": "c",
        "processed": True,
        "check_date": "2026-11-15",
    }


def test_stored_payroll_awaits_its_outcome_until_a_final_one(tmp_path: Path) -> None:
    store = AuditStore(tmp_path / "audit.sqlite")
    store.store_payroll(_payroll("p1"))
    store.store_payroll(_payroll("p2"), awaiting=False)  # a dry run's
    assert [r["payroll_uuid"] for r in store.awaiting_payrolls()] == ["p1"]
    store.record_outcome("p1", outcomes.DRY_RUN)
    assert [r["payroll_uuid"] for r in store.awaiting_payrolls()] == ["p1"]
    store.record_outcome("p1", outcomes.POSTED, legal_entity="sbc", journal_batch_number="GUS-X")
    assert store.awaiting_payrolls() == []
    # Re-sent by a later run: awaiting again until that run settles it.
    store.store_payroll(_payroll("p1"))
    assert [r["payroll_uuid"] for r in store.awaiting_payrolls()] == ["p1"]
    assert store.journal_targets("p1") == [("sbc", "GUS-X")]
    store.store_payment({"uuid": "pay1", "company_uuid": "c", "date": "2026-11-20"})
    assert [r["payment_uuid"] for r in store.awaiting_payments()] == ["pay1"]
    store.record_payment_outcome("pay1", outcomes.ALREADY_POSTED, "c", None, None, None, None)
    assert store.awaiting_payments() == []
    store.close()


def test_failures_and_summary_list_what_has_no_outcome(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "audit.sqlite"
    with AuditStore(db) as store:
        store.store_payroll(_payroll("p-left"))
        store.store_payment({"uuid": "pay-left", "company_uuid": "c", "date": "2026-11-20"})
    assert audit_cli(["--audit-db", str(db), "failures"]) == 1
    out = capsys.readouterr().out
    assert "NO OUTCOME  payroll p-left" in out
    assert "NO OUTCOME  contractor payment pay-left" in out
    assert "replay p-left" in out and "replay-payment pay-left" in out
    assert audit_cli(["--audit-db", str(db), "summary"]) == 0
    assert "1 payroll(s), 1 contractor payment(s)" in capsys.readouterr().out


def test_a_store_from_before_the_mark_gets_it_for_payrolls_without_an_outcome(
    tmp_path: Path,
) -> None:
    db = tmp_path / "audit.sqlite"
    with AuditStore(db) as store:
        store.store_payroll(_payroll("old-posted"))
        store.record_outcome("old-posted", outcomes.POSTED)
        store.store_payroll(_payroll("old-left"))
        store._db.execute("ALTER TABLE payrolls DROP COLUMN awaiting_outcome")
        store._db.execute("ALTER TABLE contractor_payments DROP COLUMN awaiting_outcome")
        # A store from before the mark is also from before schema versions.
        store._db.execute("PRAGMA user_version = 0")
        store._db.commit()
    with AuditStore(db) as store:
        assert [r["payroll_uuid"] for r in store.awaiting_payrolls()] == ["old-left"]
