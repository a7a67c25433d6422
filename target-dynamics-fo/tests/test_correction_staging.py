"""Pure dating and plan digests of corrections, and the audit store's staging rules (no I/O
beyond a temporary SQLite file)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from target_dynamics_fo import audit as outcomes
from target_dynamics_fo.audit import AuditStore
from target_dynamics_fo.ledger import Journal, JournalLine
from target_dynamics_fo.payrolls import first_open_day, plan_difference, plan_digest
from target_dynamics_fo.settings import SettingsError, correction_policy

OCT = (date(2026, 10, 1), date(2026, 10, 31))
NOV = (date(2026, 11, 1), date(2026, 11, 30))
DEC = (date(2026, 12, 1), date(2026, 12, 31))


def test_first_open_day_keeps_an_open_check_date() -> None:
    day, _ = first_open_day(date(2026, 10, 15), [(*OCT, "Open"), (*NOV, "Open")])
    assert day == date(2026, 10, 15)


def test_first_open_day_skips_closed_and_on_hold_periods() -> None:
    periods = [(*OCT, "Closed"), (*NOV, "OnHold"), (*DEC, "Open")]
    day, why = first_open_day(date(2026, 10, 15), periods)
    assert day == date(2026, 12, 1) and "Closed" in why


@pytest.mark.parametrize("periods", [[], [(*OCT, "Closed")], [(*OCT, "Closed"), (*NOV, "Closed")]])
def test_first_open_day_without_an_open_period_dates_nothing(
    periods: list[tuple[date, date, str]],
) -> None:
    day, why = first_open_day(date(2026, 10, 15), periods)
    assert day is None and why


def line(n: int, account: str, debit: str, credit: str) -> JournalLine:
    return JournalLine(n, account, {}, Decimal(debit), Decimal(credit), "t", "c")


def doc(number: str, day: date, *lines: JournalLine) -> Journal:
    return Journal(
        company_uuid="co",
        payroll_uuid="p",
        legal_entity="rsc",
        journal_name="Payroll",
        journal_batch_number=number,
        currency="USD",
        trans_date=day,
        description=f"Reversal 1 of {number}",
        idempotency_key="k",
        content_hash="h",
        lines=lines,
    )


def test_plan_difference_is_the_amendment_and_the_digest_covers_dates_and_amounts() -> None:
    reversal = doc(
        "A", date(2026, 10, 15), line(1, "6000", "0", "100.00"), line(2, "2100", "100.00", "0")
    )
    repost = doc(
        "B", date(2026, 10, 15), line(1, "6000", "99.99", "0"), line(2, "2100", "0", "99.99")
    )
    assert plan_difference([reversal, repost]) == {
        ("6000", ()): Decimal("-0.01"),
        ("2100", ()): Decimal("0.01"),
    }
    digest = plan_digest([reversal, repost])
    assert digest == plan_digest([reversal, repost])
    later = doc("B", date(2026, 12, 1), *repost.lines)
    assert plan_digest([reversal, later]) != digest


def test_correction_policy_defaults_to_manual_and_check_date() -> None:
    policy = correction_policy({})
    assert (policy.approval, policy.dating) == ("manual", "check_date")
    with pytest.raises(SettingsError, match="corrections_approval"):
        correction_policy({"corrections_approval": "yes"})
    with pytest.raises(SettingsError, match="correction_date"):
        correction_policy({"correction_date": "today"})


def stage(store: AuditStore, digest: str, sequence: int = 1, state: str = "s1") -> str:
    return store.stage_correction(
        "p",
        sequence,
        "co",
        "rsc",
        "GUS-1",
        state,
        digest,
        "changed in Gusto",
        [],
        [{"account": "6000", "amount": Decimal("-0.01")}],
    )


def test_staging_approval_replacement_and_posting(tmp_path: Path) -> None:
    store = AuditStore(tmp_path / "audit.sqlite")
    store.store_payroll({"payroll_uuid": "p", "company_uuid": "co", "processed": True})
    assert stage(store, "d1") == outcomes.STAGE_PENDING
    assert stage(store, "d1") == outcomes.STAGE_PENDING
    approved = store.approve_correction("p")
    assert approved is not None and approved["status"] == outcomes.STAGE_APPROVED
    # The next run settles the payroll first, and the approval is in the outcomes trail.
    assert [r["payroll_uuid"] for r in store.awaiting_payrolls()] == ["p"]
    assert store.outcomes_for("p")[-1]["outcome"] == outcomes.CORRECTION_APPROVED
    # The same plan keeps its approval; another plan for the step replaces it, unapproved.
    assert stage(store, "d1") == outcomes.STAGE_APPROVED
    assert stage(store, "d2", state="s2") == outcomes.STAGE_PENDING
    (row,) = store.open_corrections()
    assert row["digest"] == "d2" and row["approved_at"] is None
    amounts = outcomes.from_json(row["difference_json"])
    assert amounts[0]["amount"] == Decimal("-0.01")
    store.correction_posted("p", "s2")
    assert store.open_corrections() == []
    assert store.approve_correction("p") is None
