"""A catalogue of bad input: each case must fail with an error that names the record and the fix,
and nothing may be half posted (Dynamics holds no journal for it; the audit trail says refused).

Target-side cases feed `target-dynamics-fo` hand-edited Singer messages (the target must work
behind any tap), starting from what tap-gusto really emits for Summit Bakery. Gusto-side cases run
tap-gusto against the Gusto sandbox. Every case is written to the resilience log for the README.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import sqlite3
import subprocess
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import TargetRun, run_target, target_config, tool, write_config
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault
from resilience_log import record

SUMMIT = "ee2ce936-5d04-5cda-8909-6ace20a55be1"
SOURCE = "bad-input catalogue"
Message = dict[str, Any]


# ------------------------------------------------------------------ inputs


@pytest.fixture(scope="module")
def summit_messages(
    tmp_path_factory: pytest.TempPathFactory,
    gusto_sandbox: GustoSandbox,
    credential_store: Path,
) -> list[Message]:
    """What tap-gusto emits for Summit Bakery over five weeks (two or three payrolls)."""
    work = tmp_path_factory.mktemp("catalogue-tap")
    config = write_config(
        work,
        {
            "api_url": gusto_sandbox.url,
            "credentials_store": str(credential_store),
            "company_ids": [SUMMIT],
            "start_date": (gusto_sandbox.today - dt.timedelta(days=35)).isoformat(),
        },
        "tap-config.json",
    )
    result = subprocess.run(
        [tool("tap-gusto"), "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=work,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    messages = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert any(m.get("stream") == "payrolls" and m["type"] == "RECORD" for m in messages)
    return messages


def one_payroll(messages: list[Message]) -> tuple[list[Message], Message]:
    """The messages with only the first payroll record kept (a copy), and that record."""
    kept: list[Message] = []
    chosen: Message | None = None
    for message in messages:
        if message["type"] == "RECORD" and message["stream"] == "payrolls":
            if chosen is not None:
                continue
            payroll = copy.deepcopy(message)
            chosen = payroll["record"]
            kept.append(payroll)
            continue
        kept.append(message)
    assert chosen is not None
    return kept, chosen


def text_of(messages: list[Message]) -> str:
    return "".join(json.dumps(m) + "\n" for m in messages)


def journal_headers(dyn: DynamicsSandbox) -> list[dict[str, Any]]:
    headers: list[dict[str, Any]] = dyn.entities["LedgerJournalHeaders"]
    return headers


def latest_outcome(audit_db: Path, payroll_uuid: str) -> dict[str, Any] | None:
    if not audit_db.exists():
        return None
    with sqlite3.connect(audit_db) as db:
        db.row_factory = sqlite3.Row
        row = db.execute(
            "SELECT * FROM outcomes WHERE payroll_uuid = ? ORDER BY id DESC LIMIT 1",
            (payroll_uuid,),
        ).fetchone()
    return dict(row) if row else None


# ------------------------------------------------------------------ the checks


def check_refused(
    case: str,
    injected: str,
    run: TargetRun,
    dyn: DynamicsSandbox,
    audit_db: Path,
    payroll_uuid: str,
    needles: tuple[str, ...],
    *,
    outcome: str = "refused",
) -> None:
    """Non-zero exit; the log names the payroll, the cause and a fix; nothing in Dynamics."""
    stored = latest_outcome(audit_db, payroll_uuid)
    problems: list[str] = []
    if run.returncode == 0:
        problems.append("the run exited 0")
    if payroll_uuid not in run.stderr:
        problems.append("the error does not name the payroll")
    problems += [f"the error does not say {n!r}" for n in needles if n not in run.stderr]
    if "fix" not in run.stderr.lower():
        problems.append("the error gives no fix")
    if stored is None or stored["outcome"] != outcome:
        problems.append(f"audit outcome is {stored and stored['outcome']}, not {outcome}")
    elif not stored["fix"]:
        problems.append("the audit outcome has no fix")
    if outcome == "refused" and journal_headers(dyn):
        problems.append(f"{len(journal_headers(dyn))} journal(s) reached Dynamics")
    reason = (stored or {}).get("reason") or ""
    record(
        "bad_input",
        case,
        injected,
        f"{outcome}, names the payroll and the fix, nothing posted",
        "; ".join(problems) or f"{outcome}: {reason[:140]}",
        passed=not problems,
        source=SOURCE,
    )
    assert not problems, (problems, run.stderr[-3000:])


def check_failed_run(
    case: str,
    injected: str,
    returncode: int,
    stderr: str,
    needles: tuple[str, ...],
    dyn: DynamicsSandbox | None = None,
    forbidden: tuple[str, ...] = (),
) -> None:
    """A run stopped with a clear error (for input that is not one payroll's)."""
    problems: list[str] = []
    if returncode == 0:
        problems.append("the run exited 0")
    problems += [
        f"the error does not say {n!r}" for n in needles if n.lower() not in stderr.lower()
    ]
    problems += [f"the error shows {f!r}" for f in forbidden if f and f in stderr]
    if dyn is not None and journal_headers(dyn):
        problems.append("a journal reached Dynamics")
    last = next((ln for ln in reversed(stderr.strip().splitlines()) if ln.strip()), "")
    record(
        "bad_input",
        case,
        injected,
        "run fails with a clear error naming the input and the fix; nothing posted",
        "; ".join(problems) or f"failed: {last.strip()[:160]}",
        passed=not problems,
        source=SOURCE,
    )
    assert not problems, (problems, stderr[-3000:])


# ------------------------------------------------------------------ target-side cases


def first_employee(record: Message) -> Message:
    comps: list[Message] = record["employee_compensations"]
    return comps[0]


def set_gross(value: Any) -> Callable[[Message], None]:
    def edit(payroll: Message) -> None:
        first_employee(payroll)["gross_pay"] = value

    return edit


MONEY_CASES = {
    "money with a thousands separator": ("1,234.56", ("gross_pay",)),
    "empty money string": ("", ("gross_pay",)),
    "NaN as money": ("NaN", ("gross_pay",)),
    "money in exponent notation": ("1e3", ("gross_pay",)),
    "money with three decimals": ("123.456", ("gross_pay",)),
    "money F&O cannot hold (numeric(32,6))": ("1" + "0" * 40, ("gross_pay", "numeric(32,6)")),
    # A JSON number, as another tap may send it: the target reads it as an exact decimal.
    "money as a huge JSON number": (1e40, ("gross_pay", "numeric(32,6)")),
}


@pytest.mark.parametrize("case", list(MONEY_CASES))
def test_malformed_money_is_refused(
    case: str,
    summit_messages: list[Message],
    fresh_dynamics: DynamicsSandbox,
    target_config_file: Path,
    tmp_path: Path,
) -> None:
    value, needles = MONEY_CASES[case]
    messages, payroll = one_payroll(summit_messages)
    set_gross(value)(payroll)
    run = run_target(target_config_file, text_of(messages))
    check_refused(
        case,
        f"employee gross_pay = {value!r}",
        run,
        fresh_dynamics,
        tmp_path / "audit.sqlite",
        payroll["payroll_uuid"],
        needles,
    )


def _drop_totals(payroll: Message) -> None:
    del payroll["totals"]


def _unbalance(payroll: Message) -> None:
    # One employee's net pay one cent off: the payroll no longer adds up to its own totals.
    employee = first_employee(payroll)
    employee["net_pay"] = str(_dec(employee["net_pay"]) + _dec("0.01"))


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _short_count(payroll: Message) -> None:
    payroll["employee_compensations_count"] = len(payroll["employee_compensations"]) + 1


def _duplicate_employee(payroll: Message) -> None:
    comps = payroll["employee_compensations"]
    comps.append(copy.deepcopy(comps[0]))
    payroll["employee_compensations_count"] = len(comps)


RECORD_CASES: dict[str, tuple[Callable[[Message], None], tuple[str, ...]]] = {
    "payroll without totals": (_drop_totals, ("totals",)),
    "unbalanced payroll (net pay off by one cent)": (_unbalance, ("net_pay",)),
    "fewer employee compensations than announced": (_short_count, ("employee_compensations",)),
    "one employee twice in a payroll": (_duplicate_employee, ("employee",)),
}


@pytest.mark.parametrize("case", list(RECORD_CASES))
def test_inconsistent_payroll_is_refused(
    case: str,
    summit_messages: list[Message],
    fresh_dynamics: DynamicsSandbox,
    target_config_file: Path,
    tmp_path: Path,
) -> None:
    edit, needles = RECORD_CASES[case]
    messages, payroll = one_payroll(summit_messages)
    edit(payroll)
    run = run_target(target_config_file, text_of(messages))
    check_refused(
        case,
        edit.__name__.strip("_").replace("_", " "),
        run,
        fresh_dynamics,
        tmp_path / "audit.sqlite",
        payroll["payroll_uuid"],
        needles,
    )


def test_employee_absent_from_the_employee_stream_is_refused(
    summit_messages: list[Message],
    fresh_dynamics: DynamicsSandbox,
    target_config_file: Path,
    tmp_path: Path,
) -> None:
    messages, payroll = one_payroll(summit_messages)
    missing = first_employee(payroll)["employee_uuid"]
    messages = [
        m
        for m in messages
        if not (
            m["type"] == "RECORD" and m["stream"] == "employees" and m["record"]["uuid"] == missing
        )
    ]
    run = run_target(target_config_file, text_of(messages))
    check_refused(
        "employee absent from the employees stream",
        f"employees RECORD of {missing} removed",
        run,
        fresh_dynamics,
        tmp_path / "audit.sqlite",
        payroll["payroll_uuid"],
        (missing,),
    )


def _mapping_edit(mapping_file: Path, tmp_path: Path, edit: Callable[[Message], None]) -> Path:
    data = yaml.safe_load(mapping_file.read_text())
    edit(data["companies"][SUMMIT])
    path = tmp_path / "mapping.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def _unmap_department(company: Message) -> None:
    company["dimensions"]["departments"] = {"Pastry": {"Department": "500"}}


def _missing_main_account(company: Message) -> None:
    company["accounts"] = copy.deepcopy(company["accounts"])
    company["accounts"]["net_pay"] = "219999"


def _unknown_journal_name(company: Message) -> None:
    company["journal_name"] = "PayrollX"


def _unknown_dimension_value(company: Message) -> None:
    company["dimensions"]["departments"] = {"Bakery": {"Department": "599"}}


MAPPING_CASES: dict[str, tuple[Callable[[Message], None], tuple[str, ...]]] = {
    "unmapped department": (_unmap_department, ("Bakery",)),
    "main account missing in Dynamics": (_missing_main_account, ("219999",)),
    "unknown journal name": (_unknown_journal_name, ("PayrollX",)),
    "dimension value missing in Dynamics": (_unknown_dimension_value, ("599",)),
}


@pytest.mark.parametrize("case", list(MAPPING_CASES))
def test_mapping_that_does_not_fit_is_refused(
    case: str,
    summit_messages: list[Message],
    fresh_dynamics: DynamicsSandbox,
    credential_store: Path,
    mapping_file: Path,
    tmp_path: Path,
) -> None:
    edit, needles = MAPPING_CASES[case]
    mapping = _mapping_edit(mapping_file, tmp_path, edit)
    config = write_config(tmp_path, target_config(tmp_path, credential_store, mapping))
    messages, payroll = one_payroll(summit_messages)
    run = run_target(config, text_of(messages))
    check_refused(
        case,
        f"mapping: {edit.__name__.strip('_').replace('_', ' ')}",
        run,
        fresh_dynamics,
        tmp_path / "audit.sqlite",
        payroll["payroll_uuid"],
        needles,
    )


DYNAMICS_CASES: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "no active ledger dimension format": ({"ledger_format": None}, ("format",)),
    "ledger format lacking a mapped dimension": (
        {"ledger_format": "MainAccount-BusinessUnit"},
        ("Department",),
    ),
    "segment delimiter that clashes with a value": ({"delimiter": "Period"}, ("delimiter",)),
}


@pytest.mark.parametrize("case", list(DYNAMICS_CASES))
def test_dynamics_setup_that_does_not_fit_is_refused(
    case: str,
    summit_messages: list[Message],
    fresh_dynamics: DynamicsSandbox,
    target_config_file: Path,
    tmp_path: Path,
) -> None:
    settings, needles = DYNAMICS_CASES[case]
    fresh_dynamics.configure(**settings)
    messages, payroll = one_payroll(summit_messages)
    run = run_target(target_config_file, text_of(messages))
    check_refused(
        case,
        f"Dynamics: {settings}",
        run,
        fresh_dynamics,
        tmp_path / "audit.sqlite",
        payroll["payroll_uuid"],
        needles,
    )


def _zero_every_amount(value: Any) -> Any:
    """Every decimal amount in a record set to zero (ints such as counts are kept)."""
    if isinstance(value, dict):
        return {key: _zero_every_amount(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_zero_every_amount(item) for item in value]
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+\.[0-9]+", value):
        return "0.00"
    if isinstance(value, float):
        return 0
    return value


def test_a_payroll_of_zeros_creates_no_empty_journal(
    summit_messages: list[Message],
    fresh_dynamics: DynamicsSandbox,
    target_config_file: Path,
    tmp_path: Path,
) -> None:
    """F&O's Post journals job stops on a header without lines: none may be created."""
    messages, payroll = one_payroll(summit_messages)
    zeroed = _zero_every_amount(payroll)
    payroll.clear()
    payroll.update(zeroed)
    run = run_target(target_config_file, text_of(messages))
    stored = latest_outcome(tmp_path / "audit.sqlite", payroll["payroll_uuid"]) or {}
    problems: list[str] = []
    if run.returncode != 0:
        problems.append(f"the run exited {run.returncode}")
    if journal_headers(fresh_dynamics):
        problems.append("a journal header reached Dynamics")
    if stored.get("outcome") != "skipped" or "nothing to post" not in (stored.get("reason") or ""):
        problems.append(f"audit outcome is {stored.get('outcome')}: {stored.get('reason')}")
    record(
        "bad_input",
        "payroll whose amounts are all zero",
        "every amount of one payroll set to 0.00",
        "skipped (nothing to post), no journal header created",
        "; ".join(problems) or f"skipped: {(stored.get('reason') or '')[:140]}",
        passed=not problems,
        source=SOURCE,
    )
    assert not problems, (problems, run.stderr[-3000:])


def lower_pay(payroll: Message, amount: Decimal) -> None:
    """Gusto amends a payroll: its first employee's gross and net pay are ``amount`` lower,
    and the totals follow, so the payroll stays consistent to the cent."""
    employee = first_employee(payroll)
    for key in ("gross_pay", "net_pay", "check_amount"):
        employee[key] = str(_dec(employee[key]) - amount)
    for key in ("gross_pay", "net_pay", "company_debit", "net_pay_debit"):
        payroll["totals"][key] = str(_dec(payroll["totals"][key]) - amount)
    if employee.get("payment_method") == "Check":
        payroll["totals"]["check_amount"] = str(_dec(payroll["totals"]["check_amount"]) - amount)


def _report_corrections(company: Message) -> None:
    company["corrections"] = "report"


def test_payroll_changed_after_posting_is_not_posted_again(
    summit_messages: list[Message],
    fresh_dynamics: DynamicsSandbox,
    credential_store: Path,
    mapping_file: Path,
    tmp_path: Path,
) -> None:
    # With `corrections: report` a change is only reported (tests/test_e2e_corrections.py
    # covers the default, which corrects it).
    mapping = _mapping_edit(mapping_file, tmp_path, _report_corrections)
    target_config_file = write_config(tmp_path, target_config(tmp_path, credential_store, mapping))
    messages, payroll = one_payroll(summit_messages)
    first = run_target(target_config_file, text_of(messages))
    assert first.returncode == 0, first.stderr[-3000:]
    before = journal_headers(fresh_dynamics)
    assert len(before) == 1
    # A correction in Gusto after the journal was posted: same payroll, different amounts.
    lower_pay(payroll, _dec("1.00"))
    second = run_target(target_config_file, text_of(messages))
    check_refused(
        "payroll changed after posting",
        "same payroll uuid, gross and net pay 1.00 lower, after its journal was posted",
        second,
        fresh_dynamics,
        tmp_path / "audit.sqlite",
        payroll["payroll_uuid"],
        ("changed after it was posted",),
        outcome="changed_after_posting",
    )
    assert journal_headers(fresh_dynamics) == before


def _rename_department(messages: list[Message]) -> None:
    """Gusto renames the "Bakery" department: employees and departments carry the new title."""
    for message in messages:
        if message["type"] != "RECORD":
            continue
        record = message["record"]
        if message["stream"] == "employees" and record.get("department") == "Bakery":
            record["department"] = "Artisan Bakery"
        if message["stream"] == "departments" and record.get("title") == "Bakery":
            record["title"] = "Artisan Bakery"


@pytest.mark.parametrize("change", ["department renamed in Gusto", "department unmapped"])
def test_posted_payroll_stays_already_posted_whatever_the_mapping_says_now(
    change: str,
    summit_messages: list[Message],
    fresh_dynamics: DynamicsSandbox,
    credential_store: Path,
    mapping_file: Path,
    target_config_file: Path,
    tmp_path: Path,
) -> None:
    messages, payroll = one_payroll(summit_messages)
    first = run_target(target_config_file, text_of(messages))
    assert first.returncode == 0, first.stderr[-3000:]
    before = copy.deepcopy(journal_headers(fresh_dynamics))
    assert len(before) == 1
    config = target_config_file
    resent = copy.deepcopy(messages)
    if change == "department renamed in Gusto":
        _rename_department(resent)
    else:
        mapping = _mapping_edit(mapping_file, tmp_path, _unmap_department)
        config = write_config(
            tmp_path, target_config(tmp_path, credential_store, mapping), "target-unmapped.json"
        )
    second = run_target(config, text_of(resent))
    stored = latest_outcome(tmp_path / "audit.sqlite", payroll["payroll_uuid"])
    problems: list[str] = []
    if stored is None or stored["outcome"] != "already_posted":
        problems.append(f"audit outcome is {stored and stored['outcome']}, not already_posted")
    if journal_headers(fresh_dynamics) != before:
        problems.append("Dynamics journals changed")
    if f"REFUSED payroll {payroll['payroll_uuid']}" in second.stderr:
        problems.append("the payroll was reported refused")
    record(
        "bad_input",
        f"posted payroll re-sent, {change}",
        f"{change} after the journal was posted; the payroll re-sent",
        "already_posted (the exactly-once lookup comes before the mapping checks)",
        "; ".join(problems) or "already_posted; nothing posted again",
        passed=not problems,
        source=SOURCE,
    )
    assert not problems, (problems, second.stderr[-3000:])


# ------------------------------------------------------------------ Singer protocol cases


def _schema_breaking(messages: list[Message]) -> tuple[list[Message], str]:
    out = copy.deepcopy(messages)
    for message in out:
        if message["type"] == "RECORD" and message["stream"] == "employees":
            message["record"]["terminated"] = "maybe"
            return out, message["record"]["uuid"]
    raise AssertionError("no employee record")


def test_record_breaking_its_schema_stops_the_run(
    summit_messages: list[Message], fresh_dynamics: DynamicsSandbox, target_config_file: Path
) -> None:
    messages, uuid = _schema_breaking(summit_messages)
    run = run_target(target_config_file, text_of(messages))
    check_failed_run(
        "record breaking its stream's schema",
        "employees record with terminated = 'maybe' (schema: boolean)",
        run.returncode,
        run.stderr,
        ("terminated", "employees", "Fix:"),
        fresh_dynamics,
    )
    del uuid


def test_record_for_an_unknown_stream_stops_the_run(
    summit_messages: list[Message], fresh_dynamics: DynamicsSandbox, target_config_file: Path
) -> None:
    messages = [
        *summit_messages[:2],
        {"type": "RECORD", "stream": "paystubs", "record": {"uuid": "x"}},
        *summit_messages[2:],
    ]
    run = run_target(target_config_file, text_of(messages))
    check_failed_run(
        "record for a stream without a SCHEMA",
        "RECORD for stream 'paystubs' that no SCHEMA message announced",
        run.returncode,
        run.stderr,
        ("paystubs", "Fix:"),
        fresh_dynamics,
    )


def test_a_line_that_is_not_json_stops_the_run(
    summit_messages: list[Message], fresh_dynamics: DynamicsSandbox, target_config_file: Path
) -> None:
    text = text_of(summit_messages[:3]) + '{"type": "RECORD", "stream": "employ\n'
    run = run_target(target_config_file, text)
    check_failed_run(
        "truncated Singer line",
        "a message cut in the middle (what a killed tap leaves)",
        run.returncode,
        run.stderr,
        ("json", "line 4", "rerun"),
        fresh_dynamics,
    )


def test_blank_lines_in_the_input_are_skipped(
    summit_messages: list[Message],
    fresh_dynamics: DynamicsSandbox,
    target_config_file: Path,
) -> None:
    messages, _payroll = one_payroll(summit_messages)
    text = "\n" + text_of(messages).replace("\n", "\n\n", 3) + "\n  \n"
    run = run_target(target_config_file, text)
    problems = [] if run.returncode == 0 else [f"the run exited {run.returncode}"]
    if len(journal_headers(fresh_dynamics)) != 1:
        problems.append(f"{len(journal_headers(fresh_dynamics))} journals, not 1")
    record(
        "bad_input",
        "blank lines in the input",
        "empty and whitespace-only lines between Singer messages",
        "skipped, as other Singer targets do; the payroll posts",
        "; ".join(problems) or "skipped; the payroll posted once",
        passed=not problems,
        source=SOURCE,
    )
    assert not problems, (problems, run.stderr[-3000:])


# ------------------------------------------------------------------ Gusto-side cases


def _tap(
    work: Path, gusto: GustoSandbox, store: Path, **settings: Any
) -> subprocess.CompletedProcess[str]:
    config = write_config(
        work,
        {
            "api_url": gusto.url,
            "credentials_store": str(store),
            "company_ids": [SUMMIT],
            "start_date": (gusto.today - dt.timedelta(days=20)).isoformat(),
            "backoff_max_tries": 1,
            **settings,
        },
        "tap-config.json",
    )
    return subprocess.run(
        [tool("tap-gusto"), "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=work,
        check=False,
    )


def test_unsupported_gusto_api_version_names_the_setting(
    gusto_sandbox: GustoSandbox, credential_store: Path, tmp_path: Path
) -> None:
    result = _tap(tmp_path, gusto_sandbox, credential_store, api_version="2024-01-01")
    check_failed_run(
        "unsupported Gusto API version (406)",
        "tap setting api_version = 2024-01-01",
        result.returncode,
        result.stderr,
        ("2024-01-01", "406", "api_version"),
    )


def _private_store(tmp_path: Path, source: Path, edit: Callable[[Message], None]) -> Path:
    path = tmp_path / "vault.enc"
    data = Vault.open(source).read()
    edit(data)
    Vault.open(path).update(lambda target: target.update(data))
    return path


def test_revoked_refresh_token_tells_the_admin_to_reconnect_that_company(
    gusto_sandbox: GustoSandbox, credential_store: Path, tmp_path: Path
) -> None:
    fresh = gusto_sandbox.mint_refresh_token(SUMMIT)

    def revoked(data: Message) -> None:
        record = data["gusto"]["companies"][SUMMIT]
        record.update(access_token=None, expires_at=0, refresh_token=fresh)

    store = _private_store(tmp_path, credential_store, revoked)
    revoke = gusto_sandbox.url + "/oauth/revoke"
    import requests  # noqa: PLC0415 - only this case speaks OAuth directly

    answer = requests.post(
        revoke,
        json={
            "client_id": gusto_sandbox.client_id,
            "client_secret": gusto_sandbox.client_secret,
            "token": fresh,
        },
        timeout=30,
    )
    assert answer.status_code < 300, answer.text
    result = _tap(tmp_path, gusto_sandbox, store)
    check_failed_run(
        "revoked Gusto grant",
        "the company's refresh token revoked in Gusto",
        result.returncode,
        result.stderr,
        (SUMMIT, "invalid_grant", "reconnect", "gusto-dynamics connect gusto"),
        forbidden=(fresh,),
    )


def test_tampered_credential_store_is_refused_without_secrets(
    gusto_sandbox: GustoSandbox, credential_store: Path, tmp_path: Path
) -> None:
    store = tmp_path / "vault.enc"
    blob = bytearray(credential_store.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    store.write_bytes(bytes(blob))
    result = _tap(tmp_path, gusto_sandbox, store)
    check_failed_run(
        "tampered credential store",
        "one bit flipped in the encrypted store",
        result.returncode,
        result.stderr,
        ("store",),
        forbidden=(gusto_sandbox.client_secret, os.environ.get("GUSTO_DYNAMICS_VAULT_KEY", "")),
    )
    assert store.read_bytes() == bytes(blob), "the tampered store was overwritten"


BROKEN_MAPPINGS = {
    # (the mapping file's text, what the error must name)
    "mapping that is not valid YAML": (
        "version: 1\ncompanies:\n  - key: [unclosed\n",
        ("mapping.yml", "line 3", "YAML"),
    ),
    "mapping with a wrong type": ("version: 1\ncompanies: 5\n", ("mapping.yml", "companies")),
}


@pytest.mark.parametrize("case", list(BROKEN_MAPPINGS))
def test_a_broken_mapping_file_stops_the_run_with_its_place(
    case: str,
    summit_messages: list[Message],
    fresh_dynamics: DynamicsSandbox,
    credential_store: Path,
    tmp_path: Path,
) -> None:
    text, needles = BROKEN_MAPPINGS[case]
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(text)
    config = write_config(tmp_path, target_config(tmp_path, credential_store, mapping))
    messages, _payroll = one_payroll(summit_messages)
    run = run_target(config, text_of(messages))
    check_failed_run(
        case,
        text.replace("\n", "⏎")[:60],
        run.returncode,
        run.stderr,
        needles,
        fresh_dynamics,
        forbidden=("Traceback",),
    )


def test_a_state_message_without_a_value_stops_the_run(
    fresh_dynamics: DynamicsSandbox, target_config_file: Path
) -> None:
    run = run_target(target_config_file, '{"type": "STATE"}\n')
    check_failed_run(
        "STATE message without a value",
        '{"type": "STATE"} (no value)',
        run.returncode,
        run.stderr,
        ("value",),
        fresh_dynamics,
        forbidden=("Traceback",),
    )


def test_a_state_message_whose_value_is_not_an_object_stops_the_run(
    fresh_dynamics: DynamicsSandbox, target_config_file: Path
) -> None:
    """Passed on, a bookmark of "garbage" would be what the tap resumes from next time."""
    run = run_target(target_config_file, '\n{"type": "STATE", "value": "garbage"}\n')
    check_failed_run(
        "STATE message whose value is not an object",
        '{"type": "STATE", "value": "garbage"}',
        run.returncode,
        run.stderr,
        ("line 2", "STATE", "not an object", "fix"),
        fresh_dynamics,
        forbidden=("Traceback",),
    )
    assert '"garbage"' not in run.stdout, "the garbage state was written back as a bookmark"


RIDGELINE = "0c991fcc-d01e-50c4-90c6-d27026b49396"
ZERO_PAYMENT = "5b0c3c1e-0000-4000-8000-00000000cafe"
PAYMENT_DATE = "2026-11-13"


def _contractor_messages(payment: Message) -> str:
    """A contractor and one payment as any tap could send them (money as strings)."""
    open_schema = {"type": "object", "properties": {}, "additionalProperties": True}
    contractor = {
        "uuid": payment["contractor_uuid"],
        "company_uuid": RIDGELINE,
        "type": "Individual",
        "first_name": "Dana",
        "last_name": "Whitfield",
        "business_name": None,
        "department": "Commercial Field Operations",
        "is_active": True,
    }
    return text_of(
        [
            {
                "type": "SCHEMA",
                "stream": "contractors",
                "schema": open_schema,
                "key_properties": ["uuid"],
            },
            {"type": "RECORD", "stream": "contractors", "record": contractor},
            {
                "type": "SCHEMA",
                "stream": "contractor_payments",
                "schema": open_schema,
                "key_properties": ["uuid"],
            },
            {"type": "RECORD", "stream": "contractor_payments", "record": payment},
        ]
    )


def test_a_contractor_payment_of_zero_creates_no_empty_invoice(
    fresh_dynamics: DynamicsSandbox, target_config_file: Path, tmp_path: Path
) -> None:
    """The rule for payrolls holds for AP invoices: no header without lines."""
    payment = {
        "uuid": ZERO_PAYMENT,
        "company_uuid": RIDGELINE,
        "contractor_uuid": "bc57832c-d8bc-43a7-ae99-3a03380ff037",
        "date": PAYMENT_DATE,
        "wage_type": "Hourly",
        "hours": "0.0",
        "hourly_rate": "65.17",
        "wage": "0.00",
        "bonus": "0.00",
        "reimbursement": "0.00",
        "wage_total": "0.00",
        "payment_method": "Direct Deposit",
        "status": "Funded",
    }
    run = run_target(target_config_file, _contractor_messages(payment))
    problems: list[str] = []
    if run.returncode != 0:
        problems.append(f"the run exited {run.returncode}")
    if journal_headers(fresh_dynamics):
        problems.append("an invoice journal header reached Dynamics")
    with sqlite3.connect(tmp_path / "audit.sqlite") as db:
        row = db.execute(
            "SELECT outcome, reason FROM payment_outcomes WHERE payment_uuid = ? "
            "ORDER BY id DESC LIMIT 1",
            (ZERO_PAYMENT,),
        ).fetchone()
    if row is None or row[0] != "skipped" or "nothing to post" not in (row[1] or ""):
        problems.append(f"audit outcome is {row}")
    record(
        "bad_input",
        "contractor payment of zero",
        f"a contractor payment of 0.00 on {PAYMENT_DATE}",
        "skipped (nothing to post), no invoice header created",
        "; ".join(problems) or f"skipped: {(row[1] if row else '')[:140]}",
        passed=not problems,
        source=SOURCE,
    )
    assert not problems, (problems, run.stderr[-3000:])
