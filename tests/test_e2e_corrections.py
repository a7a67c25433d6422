"""Corrections over HTTP: a payroll amended or cancelled after its journal was posted is put
right in the Dynamics sandbox exactly once (docs/accounting.md, "Corrections").

The target is fed what tap-gusto really emitted for Summit Bakery, then the same payroll as
Gusto amends it. The oracle for "the ledger equals Gusto's new payroll" is independent of the
correction code: the amended payroll posted alone on a fresh Dynamics.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    SANDBOX_TODAY,
    TargetRun,
    fill_store,
    run_target,
    target_config,
    tool,
    write_config,
)
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault
from target_dynamics_fo.ledger import journal_batch_number
from test_bad_input_catalogue import (
    SUMMIT,
    Message,
    _mapping_edit,
    latest_outcome,
    lower_pay,
    one_payroll,
    summit_messages,
    text_of,
)

__all__ = ["summit_messages"]  # the module fixture, shared with the bad-input catalogue

Ledger = dict[str, Decimal]


def ledger(dyn: DynamicsSandbox, only: set[str] | None = None) -> Ledger:
    """Debit minus credit per account display value over the journal lines in Dynamics (of
    the journals numbered ``only``, else all)."""
    net: Ledger = {}
    for line in dyn.entities["LedgerJournalLines"]:
        if only is not None and line["JournalBatchNumber"] not in only:
            continue
        key = str(line["AccountDisplayValue"])
        amount = Decimal(str(line["DebitAmount"])) - Decimal(str(line["CreditAmount"]))
        net[key] = net.get(key, Decimal(0)) + amount
    return {k: v for k, v in net.items() if v != 0}


def balanced_per_journal(dyn: DynamicsSandbox) -> None:
    sums: dict[str, Decimal] = {}
    for line in dyn.entities["LedgerJournalLines"]:
        amount = Decimal(str(line["DebitAmount"])) - Decimal(str(line["CreditAmount"]))
        number = str(line["JournalBatchNumber"])
        sums[number] = sums.get(number, Decimal(0)) + amount
    assert sums and all(v == 0 for v in sums.values()), sums


def descriptions(dyn: DynamicsSandbox) -> list[str]:
    return [str(h["Description"]) for h in dyn.entities["LedgerJournalHeaders"]]


def with_payroll(messages: list[Message], record: Message) -> str:
    return text_of(
        [
            {**m, "record": record} if m["type"] == "RECORD" and m["stream"] == "payrolls" else m
            for m in messages
        ]
    )


def amended_by(
    summit_messages: list[Message], amount: Decimal
) -> tuple[list[Message], Message, Message]:
    """The messages, their payroll as first emitted, and that payroll as Gusto amended it."""
    messages, payroll = one_payroll(summit_messages)
    amended = copy.deepcopy(payroll)
    lower_pay(amended, amount)
    return messages, payroll, amended


@pytest.fixture
def mode_config(
    request: pytest.FixtureRequest, tmp_path: Path, credential_store: Path, mapping_file: Path
) -> Path:
    mode = getattr(request, "param", "reverse_and_repost")

    def edit(company: Message) -> None:
        company["corrections"] = mode

    mapping = _mapping_edit(mapping_file, tmp_path, edit)
    # These tests are about the documents and exactly-once: corrections post as found. Staging
    # and approval (the default) have their own tests below.
    return write_config(
        tmp_path,
        target_config(tmp_path, credential_store, mapping, corrections_approval="automatic"),
    )


@pytest.fixture
def oracle(
    fresh_dynamics: DynamicsSandbox,
    tmp_path_factory: pytest.TempPathFactory,
    credential_store: Path,
    mapping_file: Path,
) -> Iterator[Any]:
    """What a payroll posted alone on a fresh Dynamics puts on the ledger."""

    def post_alone(messages: str) -> Ledger:
        fresh_dynamics.reset()
        work = tmp_path_factory.mktemp("oracle")
        config = write_config(work, target_config(work, credential_store, mapping_file))
        run = run_target(config, messages)
        assert run.returncode == 0, run.stderr[-3000:]
        net = ledger(fresh_dynamics)
        fresh_dynamics.reset()
        return net

    yield post_alone


@pytest.mark.parametrize(
    ("mode_config", "documents_per_step"),
    [("reverse_and_repost", 2), ("difference", 1)],
    indirect=["mode_config"],
)
def test_amended_payroll_is_corrected_once_and_the_ledger_equals_gusto(
    summit_messages: list[Message],
    fresh_dynamics: DynamicsSandbox,
    mode_config: Path,
    oracle: Any,
    documents_per_step: int,
) -> None:
    messages, payroll, amended = amended_by(summit_messages, Decimal("1.00"))
    twice = copy.deepcopy(amended)
    lower_pay(twice, Decimal("2.50"))
    expected_amended = oracle(with_payroll(messages, amended))
    expected_twice = oracle(with_payroll(messages, twice))
    assert expected_amended != expected_twice

    first = run_target(mode_config, with_payroll(messages, payroll))
    assert first.returncode == 0, first.stderr[-3000:]
    (original,) = fresh_dynamics.entities["LedgerJournalHeaders"]
    number = str(original["JournalBatchNumber"])
    before = ledger(fresh_dynamics)

    second = run_target(mode_config, with_payroll(messages, amended))
    assert second.returncode == 0, second.stderr[-3000:]
    headers = descriptions(fresh_dynamics)
    assert len(headers) == 1 + documents_per_step, headers
    # Each correction document names the journal it corrects.
    assert all(f"of {number}" in d for d in headers[1:]), headers
    balanced_per_journal(fresh_dynamics)
    assert ledger(fresh_dynamics) == expected_amended
    # The ledger moved by exactly the amendment: 1.00 less wages and 1.00 less net pay.
    moved = {
        k: ledger(fresh_dynamics).get(k, Decimal(0)) - before.get(k, Decimal(0))
        for k in {*before, *expected_amended}
    }
    assert sorted(v for v in moved.values() if v) == [Decimal("-1.00"), Decimal("1.00")], moved
    outcome = latest_outcome(mode_config.parent / "audit.sqlite", payroll["payroll_uuid"])
    assert outcome is not None and outcome["outcome"] == "corrected", outcome
    assert outcome["journal_batch_number"] == number

    # Rerunning the same amended payroll posts nothing more.
    again = run_target(mode_config, with_payroll(messages, amended))
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(descriptions(fresh_dynamics)) == 1 + documents_per_step
    outcome = latest_outcome(mode_config.parent / "audit.sqlite", payroll["payroll_uuid"])
    assert outcome is not None and outcome["outcome"] == "already_posted", outcome

    # A second amendment is the next step of the chain, and the ledger follows Gusto again.
    third = run_target(mode_config, with_payroll(messages, twice))
    assert third.returncode == 0, third.stderr[-3000:]
    assert len(descriptions(fresh_dynamics)) == 1 + 2 * documents_per_step
    balanced_per_journal(fresh_dynamics)
    assert ledger(fresh_dynamics) == expected_twice

    # Gusto undoes the amendments: content equal to the original is corrected back, once.
    for _ in range(2):
        undone = run_target(mode_config, with_payroll(messages, payroll))
        assert undone.returncode == 0, undone.stderr[-3000:]
        assert len(descriptions(fresh_dynamics)) == 1 + 3 * documents_per_step
        assert ledger(fresh_dynamics) == before


def test_cancelled_payroll_is_reversed_once(
    summit_messages: list[Message], fresh_dynamics: DynamicsSandbox, mode_config: Path
) -> None:
    messages, payroll = one_payroll(summit_messages)
    first = run_target(mode_config, with_payroll(messages, payroll))
    assert first.returncode == 0, first.stderr[-3000:]
    cancelled = {**payroll, "processed": False, "cancelled": True}
    for _ in range(2):
        run = run_target(mode_config, with_payroll(messages, cancelled))
        assert run.returncode == 0, run.stderr[-3000:]
        assert len(descriptions(fresh_dynamics)) == 2, descriptions(fresh_dynamics)
        balanced_per_journal(fresh_dynamics)
        assert ledger(fresh_dynamics) == {}
    assert descriptions(fresh_dynamics)[1].startswith("Reversal 1 of ")
    # Processed again after it was reversed as cancelled: refused, naming it, nothing posted.
    back = run_target(mode_config, with_payroll(messages, payroll))
    assert back.returncode != 0
    assert len(descriptions(fresh_dynamics)) == 2
    outcome = latest_outcome(mode_config.parent / "audit.sqlite", payroll["payroll_uuid"])
    assert outcome is not None and outcome["outcome"] == "refused", outcome
    assert "cancelled" in outcome["reason"] and outcome["fix"]
    assert payroll["payroll_uuid"] in back.stderr


@pytest.mark.parametrize("kill_at", ["target.batch.before:1", "target.batch.after:1"])
def test_a_kill_around_the_correction_never_posts_a_second_reversal(
    summit_messages: list[Message],
    fresh_dynamics: DynamicsSandbox,
    mode_config: Path,
    kill_at: str,
) -> None:
    messages, payroll, amended = amended_by(summit_messages, Decimal("1.00"))
    assert run_target(mode_config, with_payroll(messages, payroll)).returncode == 0
    killed = run_target(
        mode_config,
        with_payroll(messages, amended),
        env={**os.environ, "GUSTO_DYNAMICS_KILL_AT": kill_at},
    )
    assert killed.returncode == 137, killed.stderr[-3000:]
    # Before the $batch nothing is in; after it the whole step is (one changeset).
    assert len(descriptions(fresh_dynamics)) in {1, 3}
    for _ in range(2):
        run = run_target(mode_config, with_payroll(messages, amended))
        assert run.returncode == 0, run.stderr[-3000:]
        headers = descriptions(fresh_dynamics)
        assert len(headers) == 3, headers
        assert sum(d.startswith("Reversal") for d in headers) == 1


def test_a_lost_answer_to_the_correction_is_confirmed_by_lookup(
    summit_messages: list[Message], fresh_dynamics: DynamicsSandbox, mode_config: Path
) -> None:
    messages, payroll, amended = amended_by(summit_messages, Decimal("1.00"))
    assert run_target(mode_config, with_payroll(messages, payroll)).returncode == 0
    fresh_dynamics.faults["lose_response_next_write"] = 1
    run = run_target(mode_config, with_payroll(messages, amended))
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(descriptions(fresh_dynamics)) == 3
    outcome = latest_outcome(mode_config.parent / "audit.sqlite", payroll["payroll_uuid"])
    assert outcome is not None and outcome["outcome"] == "corrected", outcome


# ------------------------------------------------- the whole pipeline: tap detection, incremental


@pytest.fixture(scope="module")
def own_gusto() -> Iterator[GustoSandbox]:
    """A Gusto sandbox of this module's own: the amendments below must not leak elsewhere."""
    with GustoSandbox(
        port=0, seed="demo", today=SANDBOX_TODAY, rate_limit_per_minute=6000
    ) as gusto:
        yield gusto


Pipeline = Callable[[], tuple[list[Message], TargetRun]]


@pytest.fixture
def pipeline(
    own_gusto: GustoSandbox,
    fresh_dynamics: DynamicsSandbox,
    vault_key_env: str,
    tmp_path: Path,
    mapping_file: Path,
) -> Pipeline:
    """`tap-gusto | target-dynamics-fo` for Summit Bakery, each run from the last run's STATE."""
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
    target = write_config(
        tmp_path, target_config(tmp_path, store, mapping_file, corrections_approval="automatic")
    )
    state_file = tmp_path / "state.json"

    def run() -> tuple[list[Message], TargetRun]:
        args = [tool("tap-gusto"), "--config", str(tap_config)]
        if state_file.exists():
            args += ["--state", str(state_file)]
        tap = subprocess.run(args, capture_output=True, text=True, check=False, cwd=tmp_path)
        assert tap.returncode == 0, tap.stderr[-3000:]
        result = run_target(target, tap.stdout)
        assert result.returncode == 0, result.stderr[-3000:]
        states = [line for line in result.stdout.splitlines() if line.startswith("{")]
        state_file.write_text(states[-1])
        messages = [json.loads(line) for line in tap.stdout.splitlines() if line.strip()]
        return messages, result

    return run


def payroll_records(messages: list[Message]) -> list[Message]:
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == "payrolls"]


def summit_paid_since(gusto: GustoSandbox, first: dt.date, last: dt.date) -> list[str]:
    (company,) = [c for c in gusto.info()["companies"] if c["uuid"] == SUMMIT]
    return [
        p["uuid"]
        for p in sorted(company["payrolls"], key=lambda p: p["check_date"])
        if p["processed"] and first.isoformat() <= p["check_date"] <= last.isoformat()
    ]


def test_incremental_runs_find_an_amendment_and_a_cancellation_and_correct_each_once(
    own_gusto: GustoSandbox, fresh_dynamics: DynamicsSandbox, pipeline: Pipeline
) -> None:
    first, _ = pipeline()
    posted = len(descriptions(fresh_dynamics))
    assert posted == len(payroll_records(first)) > 0
    inside = summit_paid_since(own_gusto, SANDBOX_TODAY - dt.timedelta(days=50), SANDBOX_TODAY)[-1]
    outside = summit_paid_since(
        own_gusto, SANDBOX_TODAY - dt.timedelta(days=90), SANDBOX_TODAY - dt.timedelta(days=65)
    )[0]
    before = ledger(fresh_dynamics)
    own_gusto.amend_payroll(inside, Decimal("25.00"))
    own_gusto.amend_payroll(outside, Decimal("10.00"))

    # A plain incremental run re-reads the amended payroll within the window, only that one.
    second, _ = pipeline()
    assert [r["payroll_uuid"] for r in payroll_records(second)] == [inside]
    headers = descriptions(fresh_dynamics)
    assert len(headers) == posted + 2, headers
    assert [d.split(" ")[0] for d in headers[posted:]] == ["Reversal", "Repost"]
    balanced_per_journal(fresh_dynamics)
    after = ledger(fresh_dynamics)
    moved = {k: after.get(k, Decimal(0)) - before.get(k, Decimal(0)) for k in {*before, *after}}
    # Exactly the amendment, to the cent: 25.00 more bonus expense, 25.00 more net pay owed.
    assert sorted(v for v in moved.values() if v) == [Decimal("-25.00"), Decimal("25.00")]

    third, _ = pipeline()
    assert payroll_records(third) == []
    assert len(descriptions(fresh_dynamics)) == posted + 2

    # Cancelled in Gusto: the next incremental run reverses what stands, once.
    own_gusto.cancel_payroll(inside)
    fourth, _ = pipeline()
    (cancelled,) = payroll_records(fourth)
    assert cancelled["payroll_uuid"] == inside and cancelled["cancelled"] is True
    headers = descriptions(fresh_dynamics)
    assert len(headers) == posted + 3 and headers[-1].startswith("Reversal 2 of ")
    balanced_per_journal(fresh_dynamics)
    fifth, _ = pipeline()
    assert payroll_records(fifth) == []
    assert len(descriptions(fresh_dynamics)) == posted + 3
    # The payroll's original, reversal, repost and reversal net to nothing on every account.
    chain = {
        str(h["JournalBatchNumber"])
        for h in fresh_dynamics.entities["LedgerJournalHeaders"][posted:]
    }
    chain.add(journal_batch_number("GUS", SUMMIT, inside))
    assert len(chain) == 4
    assert ledger(fresh_dynamics, chain) == {}
