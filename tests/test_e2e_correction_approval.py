"""Corrections wait for a person by default (corrections_approval: manual), over HTTP.

A payroll amended or cancelled after its journal was posted is staged in the audit store, not
posted; `target-dynamics-fo-audit corrections` lists it with the difference per account and
`corrections approve` lets the next run (or the command itself, with --config) post it, exactly
once, through the same corrector as automatic corrections.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import subprocess
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from e2e_support import SANDBOX_TODAY, fill_store, run_target, target_config, tool, write_config
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault
from test_bad_input_catalogue import (
    SUMMIT,
    Message,
    latest_outcome,
    lower_pay,
    one_payroll,
    text_of,
)
from test_e2e_corrections import (
    amended_by,
    balanced_per_journal,
    descriptions,
    ledger,
    oracle,
    own_gusto,
    payroll_records,
    summit_messages,
    summit_paid_since,
    with_payroll,
)

__all__ = ["oracle", "own_gusto", "summit_messages"]  # fixtures, shared with test_e2e_corrections


@pytest.fixture
def manual_config(tmp_path: Path, credential_store: Path, mapping_file: Path) -> Path:
    """The target with the default settings: corrections_approval is not set (manual)."""
    return write_config(tmp_path, target_config(tmp_path, credential_store, mapping_file))


def audit_cli(
    config: Path, *args: str, with_config: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    argv = [tool("target-dynamics-fo-audit"), "--audit-db", str(config.parent / "audit.sqlite")]
    argv += list(args)
    if with_config:
        argv += ["--config", str(config)]
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        check=False,
        cwd=config.parent,
        env=env or dict(os.environ),
    )


def without_payrolls(messages: list[Message]) -> str:
    """The run's other messages: Gusto sent nothing new for any payroll."""
    return text_of(
        [m for m in messages if not (m["type"] == "RECORD" and m["stream"] == "payrolls")]
    )


def moved(before: dict[str, Decimal], after: dict[str, Decimal]) -> list[Decimal]:
    return sorted(
        after.get(k, Decimal(0)) - before.get(k, Decimal(0))
        for k in {*before, *after}
        if after.get(k, Decimal(0)) != before.get(k, Decimal(0))
    )


def test_a_staged_correction_is_not_posted_until_approved_then_posted_once(
    summit_messages: list[Message],
    fresh_dynamics: DynamicsSandbox,
    manual_config: Path,
    oracle: Any,
) -> None:
    messages, payroll, amended = amended_by(summit_messages, Decimal("1.00"))
    newer = copy.deepcopy(amended)
    lower_pay(newer, Decimal("2.50"))
    expected = oracle(with_payroll(messages, newer))
    uuid = payroll["payroll_uuid"]
    audit_db = manual_config.parent / "audit.sqlite"

    assert run_target(manual_config, with_payroll(messages, payroll)).returncode == 0
    before = ledger(fresh_dynamics)

    # Found and staged, not posted: twice, and the run says how to approve it.
    for _ in range(2):
        run = run_target(manual_config, with_payroll(messages, amended))
        assert run.returncode == 0, run.stderr[-3000:]
        assert len(descriptions(fresh_dynamics)) == 1
        assert ledger(fresh_dynamics) == before
        outcome = latest_outcome(audit_db, uuid)
        assert outcome is not None and outcome["outcome"] == "correction_staged", outcome
        assert f"corrections approve {uuid}" in outcome["fix"]
        assert "correction(s) staged for approval" in run.stderr
        assert f"corrections approve {uuid}" in run.stderr

    listing = audit_cli(manual_config, "corrections")
    assert listing.returncode == 0, listing.stderr
    assert "PENDING approval" in listing.stdout and uuid in listing.stdout
    amounts = sorted(
        Decimal(line.split()[-1]) for line in listing.stdout.splitlines() if line.startswith("    ")
    )
    assert amounts == [Decimal("-1.00"), Decimal("1.00")], listing.stdout

    # A newer change before approval replaces the staged plan (same step, new amounts).
    run = run_target(manual_config, with_payroll(messages, newer))
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(descriptions(fresh_dynamics)) == 1
    listing = audit_cli(manual_config, "corrections")
    amounts = sorted(
        Decimal(line.split()[-1]) for line in listing.stdout.splitlines() if line.startswith("    ")
    )
    assert amounts == [Decimal("-3.50"), Decimal("3.50")], listing.stdout
    assert listing.stdout.count("correction 1 of journal") == 1

    # Approved without a Dynamics config: nothing moves until the next run.
    approve = audit_cli(manual_config, "corrections", "approve", uuid)
    assert approve.returncode == 0, approve.stderr
    assert "next run" in approve.stdout
    assert len(descriptions(fresh_dynamics)) == 1
    assert "APPROVED" in audit_cli(manual_config, "corrections").stdout

    # The next run posts it even though Gusto sent nothing new for the payroll.
    run = run_target(manual_config, without_payrolls(messages))
    assert run.returncode == 0, run.stderr[-3000:]
    headers = descriptions(fresh_dynamics)
    assert len(headers) == 3, headers
    assert [d.split(" ")[0] for d in headers[1:]] == ["Reversal", "Repost"]
    balanced_per_journal(fresh_dynamics)
    assert ledger(fresh_dynamics) == expected
    # The ledger moved by exactly the two amendments together, to the cent.
    assert moved(before, ledger(fresh_dynamics)) == [Decimal("-3.50"), Decimal("3.50")]
    outcome = latest_outcome(audit_db, uuid)
    assert outcome is not None and outcome["outcome"] == "corrected", outcome
    assert "No corrections are waiting" in audit_cli(manual_config, "corrections").stdout

    # Reruns post nothing more; approving again finds nothing to approve.
    for _ in range(2):
        run = run_target(manual_config, with_payroll(messages, newer))
        assert run.returncode == 0, run.stderr[-3000:]
        assert len(descriptions(fresh_dynamics)) == 3
    assert audit_cli(manual_config, "corrections", "approve", uuid).returncode == 1


@pytest.mark.parametrize(
    "kill_at", ["target.batch.before:1", "target.batch.after:1", "target.audit.before_outcome:1"]
)
def test_approve_posts_at_once_and_a_kill_at_any_step_never_posts_a_second_reversal(
    summit_messages: list[Message],
    fresh_dynamics: DynamicsSandbox,
    manual_config: Path,
    kill_at: str,
) -> None:
    messages, payroll, amended = amended_by(summit_messages, Decimal("1.00"))
    uuid = payroll["payroll_uuid"]
    assert run_target(manual_config, with_payroll(messages, payroll)).returncode == 0
    before = ledger(fresh_dynamics)
    assert run_target(manual_config, with_payroll(messages, amended)).returncode == 0
    assert len(descriptions(fresh_dynamics)) == 1

    killed = audit_cli(
        manual_config,
        "corrections",
        "approve",
        "--all",
        with_config=True,
        env={**os.environ, "GUSTO_DYNAMICS_KILL_AT": kill_at},
    )
    assert killed.returncode == 137, killed.stderr[-3000:]
    assert len(descriptions(fresh_dynamics)) in {1, 3}

    # Approving again (posts at once) and running the target again: one reversal, ever.
    again = audit_cli(manual_config, "corrections", "approve", uuid, with_config=True)
    assert again.returncode == 0, again.stderr[-3000:]
    for _ in range(2):
        run = run_target(manual_config, with_payroll(messages, amended))
        assert run.returncode == 0, run.stderr[-3000:]
        headers = descriptions(fresh_dynamics)
        assert len(headers) == 3, headers
        assert sum(d.startswith("Reversal") for d in headers) == 1
    balanced_per_journal(fresh_dynamics)
    assert moved(before, ledger(fresh_dynamics)) == [Decimal("-1.00"), Decimal("1.00")]
    outcome = latest_outcome(manual_config.parent / "audit.sqlite", uuid)
    assert outcome is not None and outcome["outcome"] == "already_posted", outcome


def test_a_cancelled_payroll_is_staged_then_reversed_once_after_approval(
    summit_messages: list[Message], fresh_dynamics: DynamicsSandbox, manual_config: Path
) -> None:
    messages, payroll = one_payroll(summit_messages)
    uuid = payroll["payroll_uuid"]
    assert run_target(manual_config, with_payroll(messages, payroll)).returncode == 0
    cancelled = {**payroll, "processed": False, "cancelled": True}
    run = run_target(manual_config, with_payroll(messages, cancelled))
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(descriptions(fresh_dynamics)) == 1
    listing = audit_cli(manual_config, "corrections")
    assert "PENDING approval" in listing.stdout and "cancelled in Gusto" in listing.stdout

    approve = audit_cli(manual_config, "corrections", "approve", uuid, with_config=True)
    assert approve.returncode == 0, approve.stderr[-3000:]
    for _ in range(2):
        run = run_target(manual_config, with_payroll(messages, cancelled))
        assert run.returncode == 0, run.stderr[-3000:]
        headers = descriptions(fresh_dynamics)
        assert len(headers) == 2, headers
        assert headers[1].startswith("Reversal 1 of ")
    balanced_per_journal(fresh_dynamics)
    assert ledger(fresh_dynamics) == {}


# ------------------------------------------------------------- dating into a closed period


def _month_after(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def correction_dates(dyn: DynamicsSandbox, original: str) -> set[str]:
    return {
        str(line["TransDate"])[:10]
        for line in dyn.entities["LedgerJournalLines"]
        if line["JournalBatchNumber"] != original
    }


def test_a_correction_into_a_closed_period_lands_on_the_configured_date(
    summit_messages: list[Message],
    fresh_dynamics: DynamicsSandbox,
    tmp_path: Path,
    credential_store: Path,
    mapping_file: Path,
) -> None:
    messages, payroll, amended = amended_by(summit_messages, Decimal("1.00"))
    uuid = payroll["payroll_uuid"]
    check_date = dt.date.fromisoformat(str(payroll["check_date"])[:10])

    def config(dating: str) -> Path:
        settings = target_config(
            tmp_path,
            credential_store,
            mapping_file,
            corrections_approval="automatic",
            correction_date=dating,
        )
        return write_config(tmp_path, settings, f"target-{dating}.json")

    assert run_target(config("check_date"), with_payroll(messages, payroll)).returncode == 0
    ((original, _),) = [
        (str(h["JournalBatchNumber"]), h) for h in fresh_dynamics.entities["LedgerJournalHeaders"]
    ]
    before = ledger(fresh_dynamics)
    # Month-end closed the check date's period, and the next one is on hold.
    fresh_dynamics.configure(
        period_status=[
            {"company": "sbc", "period": f"{check_date:%Y-%m}", "status": "Closed"},
            {
                "company": "sbc",
                "period": f"{_month_after(check_date, 1):%Y-%m}",
                "status": "OnHold",
            },
        ]
    )

    # check_date: Dynamics refuses the closed period; the run fails naming the payroll and the
    # setting, and nothing of the correction (reversal or repost) is in Dynamics.
    refused = run_target(config("check_date"), with_payroll(messages, amended))
    assert refused.returncode != 0
    assert len(descriptions(fresh_dynamics)) == 1
    assert ledger(fresh_dynamics) == before
    outcome = latest_outcome(tmp_path / "audit.sqlite", uuid)
    assert outcome is not None and outcome["outcome"] == "refused", outcome
    assert uuid in outcome["reason"] and "closed" in outcome["reason"]
    assert "correction_date: first_open_day" in outcome["fix"]
    assert uuid in refused.stderr and "correction_date: first_open_day" in refused.stderr

    # first_open_day: dated on the first day of the first open period after the closed one.
    moved_on = run_target(config("first_open_day"), with_payroll(messages, amended))
    assert moved_on.returncode == 0, moved_on.stderr[-3000:]
    headers = descriptions(fresh_dynamics)
    assert len(headers) == 3, headers
    assert correction_dates(fresh_dynamics, original) == {_month_after(check_date, 2).isoformat()}
    balanced_per_journal(fresh_dynamics)
    assert moved(before, ledger(fresh_dynamics)) == [Decimal("-1.00"), Decimal("1.00")]
    # The original stays on its check date.
    assert {
        str(line["TransDate"])[:10]
        for line in fresh_dynamics.entities["LedgerJournalLines"]
        if line["JournalBatchNumber"] == original
    } == {check_date.isoformat()}


def test_first_open_day_keeps_the_check_date_when_its_period_is_open(
    summit_messages: list[Message],
    fresh_dynamics: DynamicsSandbox,
    tmp_path: Path,
    credential_store: Path,
    mapping_file: Path,
) -> None:
    messages, payroll, amended = amended_by(summit_messages, Decimal("1.00"))
    check_date = str(payroll["check_date"])[:10]
    settings = target_config(tmp_path, credential_store, mapping_file)
    config = write_config(tmp_path, {**settings, "correction_date": "first_open_day"})
    assert run_target(config, with_payroll(messages, payroll)).returncode == 0
    (header,) = fresh_dynamics.entities["LedgerJournalHeaders"]
    staged = run_target(config, with_payroll(messages, amended))
    assert staged.returncode == 0, staged.stderr[-3000:]
    # Staged (manual approval), the listing shows the date it will be posted on.
    listing = audit_cli(config, "corrections")
    assert f"on {check_date}" in listing.stdout, listing.stdout
    approve = audit_cli(config, "corrections", "approve", "--all", with_config=True)
    assert approve.returncode == 0, approve.stderr[-3000:]
    assert correction_dates(fresh_dynamics, str(header["JournalBatchNumber"])) == {check_date}


def test_a_change_undone_in_gusto_before_approval_leaves_nothing_to_approve(
    summit_messages: list[Message], fresh_dynamics: DynamicsSandbox, manual_config: Path
) -> None:
    messages, payroll, amended = amended_by(summit_messages, Decimal("1.00"))
    uuid = payroll["payroll_uuid"]
    assert run_target(manual_config, with_payroll(messages, payroll)).returncode == 0
    assert run_target(manual_config, with_payroll(messages, amended)).returncode == 0
    assert "PENDING approval" in audit_cli(manual_config, "corrections").stdout
    undone = run_target(manual_config, with_payroll(messages, payroll))
    assert undone.returncode == 0, undone.stderr[-3000:]
    outcome = latest_outcome(manual_config.parent / "audit.sqlite", uuid)
    assert outcome is not None and outcome["outcome"] == "already_posted", outcome
    assert "No corrections are waiting" in audit_cli(manual_config, "corrections").stdout
    assert audit_cli(manual_config, "corrections", "approve", uuid).returncode == 1
    assert len(descriptions(fresh_dynamics)) == 1
    shown = audit_cli(manual_config, "show", uuid)
    assert "correction 1 of journal" in shown.stdout and "replaced" in shown.stdout


# --------------------------------------- the whole pipeline, default settings: tap -> staged


@pytest.fixture
def manual_pipeline(
    own_gusto: GustoSandbox,
    fresh_dynamics: DynamicsSandbox,
    vault_key_env: str,
    tmp_path: Path,
    mapping_file: Path,
) -> tuple[Callable[[], list[Message]], Path]:
    """`tap-gusto | target-dynamics-fo` for Summit Bakery from the last STATE, target defaults."""
    store = tmp_path / "store" / "vault.enc"
    store.parent.mkdir()
    Vault.open(store).update(lambda data: fill_store(data, own_gusto, fresh_dynamics))
    tap_config = write_config(
        tmp_path,
        {
            "api_url": own_gusto.url,
            "credentials_store": str(store),
            "company_ids": [SUMMIT],
            "start_date": (SANDBOX_TODAY - dt.timedelta(days=90)).isoformat(),
            "max_requests_per_minute": 6000,
        },
        "tap-config.json",
    )
    target = write_config(tmp_path, target_config(tmp_path, store, mapping_file))
    state_file = tmp_path / "state.json"

    def run() -> list[Message]:
        args = [tool("tap-gusto"), "--config", str(tap_config)]
        if state_file.exists():
            args += ["--state", str(state_file)]
        tap = subprocess.run(args, capture_output=True, text=True, check=False, cwd=tmp_path)
        assert tap.returncode == 0, tap.stderr[-3000:]
        result = run_target(target, tap.stdout)
        assert result.returncode == 0, result.stderr[-3000:]
        states = [line for line in result.stdout.splitlines() if line.startswith("{")]
        state_file.write_text(states[-1])
        return [json.loads(line) for line in tap.stdout.splitlines() if line.strip()]

    return run, target


def test_an_incremental_run_stages_an_amendment_and_the_run_after_approval_posts_it(
    own_gusto: GustoSandbox,
    fresh_dynamics: DynamicsSandbox,
    manual_pipeline: tuple[Callable[[], list[Message]], Path],
) -> None:
    run, config = manual_pipeline
    run()
    posted = len(descriptions(fresh_dynamics))
    inside = summit_paid_since(own_gusto, SANDBOX_TODAY - dt.timedelta(days=50), SANDBOX_TODAY)[-1]
    before = ledger(fresh_dynamics)
    own_gusto.amend_payroll(inside, Decimal("25.00"))

    found = run()
    assert [r["payroll_uuid"] for r in payroll_records(found)] == [inside]
    assert len(descriptions(fresh_dynamics)) == posted
    outcome = latest_outcome(config.parent / "audit.sqlite", inside)
    assert outcome is not None and outcome["outcome"] == "correction_staged", outcome
    # Nothing new from Gusto, no approval: still nothing posted.
    assert payroll_records(run()) == []
    assert len(descriptions(fresh_dynamics)) == posted

    assert audit_cli(config, "corrections", "approve", inside).returncode == 0
    assert payroll_records(run()) == []
    headers = descriptions(fresh_dynamics)
    assert [d.split(" ")[0] for d in headers[posted:]] == ["Reversal", "Repost"], headers
    balanced_per_journal(fresh_dynamics)
    assert moved(before, ledger(fresh_dynamics)) == [Decimal("-25.00"), Decimal("25.00")]
    run()
    assert len(descriptions(fresh_dynamics)) == posted + 2


def test_an_approved_correction_refused_by_a_closed_period_is_restaged_with_its_new_date(
    summit_messages: list[Message],
    fresh_dynamics: DynamicsSandbox,
    tmp_path: Path,
    credential_store: Path,
    mapping_file: Path,
) -> None:
    messages, payroll, amended = amended_by(summit_messages, Decimal("1.00"))
    uuid = payroll["payroll_uuid"]
    check_date = dt.date.fromisoformat(str(payroll["check_date"])[:10])
    settings = target_config(tmp_path, credential_store, mapping_file)
    on_check_date = write_config(tmp_path, settings)
    assert run_target(on_check_date, with_payroll(messages, payroll)).returncode == 0
    (header,) = fresh_dynamics.entities["LedgerJournalHeaders"]
    fresh_dynamics.configure(
        period_status=[{"company": "sbc", "period": f"{check_date:%Y-%m}", "status": "Closed"}]
    )
    assert run_target(on_check_date, with_payroll(messages, amended)).returncode == 0

    refused = audit_cli(on_check_date, "corrections", "approve", uuid, with_config=True)
    assert refused.returncode == 1
    assert len(descriptions(fresh_dynamics)) == 1
    listing = audit_cli(on_check_date, "corrections").stdout
    assert "APPROVED, posting REFUSED" in listing and "correction_date: first_open_day" in listing

    # The fix named: first_open_day. The plan's date changed, so it waits for a new approval.
    first_open = write_config(
        tmp_path, {**settings, "correction_date": "first_open_day"}, "target-open.json"
    )
    assert run_target(first_open, with_payroll(messages, amended)).returncode == 0
    assert len(descriptions(fresh_dynamics)) == 1
    listing = audit_cli(first_open, "corrections").stdout
    assert "PENDING approval" in listing
    assert f"on {_month_after(check_date, 1).isoformat()}" in listing
    approve = audit_cli(first_open, "corrections", "approve", uuid, with_config=True)
    assert approve.returncode == 0, approve.stderr[-3000:]
    assert correction_dates(fresh_dynamics, str(header["JournalBatchNumber"])) == {
        _month_after(check_date, 1).isoformat()
    }
    assert len(descriptions(fresh_dynamics)) == 3
