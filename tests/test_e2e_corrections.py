"""Corrections over HTTP: a payroll amended or cancelled after its journal was posted is put
right in the Dynamics sandbox exactly once (docs/accounting.md, "Corrections").

The target is fed what tap-gusto really emitted for Summit Bakery, then the same payroll as
Gusto amends it. The oracle for "the ledger equals Gusto's new payroll" is independent of the
correction code: the amended payroll posted alone on a fresh Dynamics.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from e2e_support import run_target, target_config, write_config
from gd_sandbox.dynamics import DynamicsSandbox
from test_bad_input_catalogue import (
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


def ledger(dyn: DynamicsSandbox) -> Ledger:
    """Debit minus credit per account display value over every journal line in Dynamics."""
    net: Ledger = {}
    for line in dyn.entities["LedgerJournalLines"]:
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
    return write_config(tmp_path, target_config(tmp_path, credential_store, mapping))


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
