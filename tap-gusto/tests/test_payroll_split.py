"""payroll_record_shape split: the same compensations as whole, counted per read, and no payroll
record from a read that failed (over HTTP against the Gusto sandbox)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault, generate_key
from tap_gusto.errors import GustoAPIError, IncompleteExtractionError, IncompletePayrollError
from tap_gusto.run_status import read_status
from tap_gusto.streams import PayrollFetch, PayrollsStream
from tap_gusto.tap import TapGusto
from tapgusto_support import (
    SANDBOX_TODAY,
    base_config,
    connect_companies,
    parse_messages,
    records,
    run_tap,
)

STREAMS = ["payrolls", "payroll_compensations"]
# The large demo company's payrolls span three pages.
PAGE_SIZE = 50
# No rate-limit waits: the runs read every page of a few months of payrolls.
PER_MINUTE = 100_000
ROW_KEYS = ("payroll_uuid", "fetch_id", "company_uuid")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    mp = pytest.MonkeyPatch()
    key = generate_key()
    mp.setenv("GUSTO_DYNAMICS_VAULT_KEY", key.decode() if isinstance(key, bytes) else key)
    tmp = tmp_path_factory.mktemp("split")
    with GustoSandbox(
        port=0, seed="demo", today=SANDBOX_TODAY, rate_limit_per_minute=PER_MINUTE
    ) as gusto:
        vault = Vault.open(tmp / "vault.enc")
        connect_companies(vault, gusto)
        config = base_config(
            vault,
            gusto,
            page_size=PAGE_SIZE,
            max_requests_per_minute=PER_MINUTE,
            start_date=(SANDBOX_TODAY - dt.timedelta(days=90)).isoformat(),
        )
        whole, _ = run_tap(config, streams=STREAMS)
        split, _ = run_tap({**config, "payroll_record_shape": "split"}, streams=STREAMS)
        yield {"gusto": gusto, "config": config, "whole": whole, "split": split}
    mp.undo()


def _rows_by_fetch(messages: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for row in records(messages, "payroll_compensations"):
        rows.setdefault(row["fetch_id"], []).append(row)
    return rows


def test_split_gives_the_same_payrolls_and_compensations_as_whole(env: dict[str, Any]) -> None:
    whole = {p["payroll_uuid"]: p for p in records(env["whole"], "payrolls")}
    split = {p["payroll_uuid"]: p for p in records(env["split"], "payrolls")}
    assert split.keys() == whole.keys() and whole
    rows = _rows_by_fetch(env["split"])
    for uuid, record in whole.items():
        header = split[uuid]
        assert "employee_compensations" not in header
        compensations = [
            {k: v for k, v in row.items() if k not in ROW_KEYS} for row in rows[header["fetch_id"]]
        ]
        # Same compensations, same order, same exact Decimals.
        assert compensations == record["employee_compensations"]
        assert {row["payroll_uuid"] for row in rows[header["fetch_id"]]} == {uuid}
        others = {k: v for k, v in header.items() if k != "fetch_id"}
        assert others == {k: v for k, v in record.items() if k != "employee_compensations"}


def test_split_counts_per_read_and_rows_come_first(env: dict[str, Any]) -> None:
    rows = _rows_by_fetch(env["split"])
    headers = records(env["split"], "payrolls")
    assert len({h["fetch_id"] for h in headers}) == len(headers)
    assert set(rows) == {h["fetch_id"] for h in headers}
    multi_page = 0
    for header in headers:
        mine = rows[header["fetch_id"]]
        assert header["employee_compensations_count"] == len(mine)
        assert len({row["employee_uuid"] for row in mine}) == len(mine)
        multi_page += len(mine) > PAGE_SIZE
    assert multi_page
    # Every row of a read is written before its payroll record.
    seen: set[str] = set()
    for message in env["split"]:
        if message["type"] != "RECORD":
            continue
        if message["stream"] == "payroll_compensations":
            seen.add(message["record"]["fetch_id"])
        else:
            assert message["record"]["fetch_id"] in seen


def test_whole_emits_nothing_of_the_compensations_stream(env: dict[str, Any]) -> None:
    assert not [m for m in env["whole"] if m.get("stream") == "payroll_compensations"]
    assert all("fetch_id" not in p for p in records(env["whole"], "payrolls"))


def test_a_read_failing_on_a_later_page_emits_no_payroll_record(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fetch = PayrollsStream.fetch

    def failing(
        self: PayrollsStream, context: Any, path: str, params: dict[str, Any]
    ) -> requests.Response:
        if "/payrolls/" in path and params.get("page") == 2:
            raise GustoAPIError(f"simulated failure of page 2 of {path}")
        return fetch(self, context, path, params)

    monkeypatch.setattr(PayrollsStream, "fetch", failing)
    config = {**env["config"], "payroll_record_shape": "split"}
    tap = TapGusto(config=config, state={}, parse_env_config=False)
    for name, stream in tap.streams.items():
        stream.selected = name in STREAMS
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(IncompleteExtractionError) as err:
        tap.extract()
    assert "simulated failure of page 2" in str(err.value)
    messages = parse_messages(out.getvalue())
    rows = _rows_by_fetch(messages)
    headers = records(messages, "payrolls")
    # Payrolls of one page (the small company) are complete and emitted, each after its rows.
    for header in headers:
        assert header["employee_compensations_count"] == len(rows.pop(header["fetch_id"]))
    # The read that failed: its first page went out, and no payroll record names it.
    (failed,) = rows.values()
    assert len(failed) == PAGE_SIZE
    (payroll,) = {row["payroll_uuid"] for row in failed}
    assert payroll in str(err.value)
    assert payroll not in {h["payroll_uuid"] for h in headers}


# Between the head counts of the demo's companies, and more than a page (PAGE_SIZE).
SPLIT_ABOVE = 60


def _check_auto(env: dict[str, Any], messages: list[dict[str, Any]]) -> None:
    """Payrolls of more than SPLIT_ABOVE compensations came split, the others whole, each
    with exactly what the whole shape gives."""
    whole = {p["payroll_uuid"]: p for p in records(env["whole"], "payrolls")}
    auto = {p["payroll_uuid"]: p for p in records(messages, "payrolls")}
    assert auto.keys() == whole.keys()
    rows = _rows_by_fetch(messages)
    shapes = set()
    for uuid, record in whole.items():
        header = auto[uuid]
        large = len(record["employee_compensations"]) > SPLIT_ABOVE
        shapes.add(large)
        if not large:
            assert header == record
            continue
        assert "employee_compensations" not in header
        mine = rows.pop(header["fetch_id"])
        compensations = [{k: v for k, v in row.items() if k not in ROW_KEYS} for row in mine]
        assert compensations == record["employee_compensations"]
        assert header["employee_compensations_count"] == len(mine)
        others = {k: v for k, v in header.items() if k != "fetch_id"}
        assert others == {k: v for k, v in record.items() if k != "employee_compensations"}
    assert not rows  # no row of a read that no payroll names
    assert shapes == {True, False}


def test_auto_splits_only_the_payrolls_above_the_limit(env: dict[str, Any]) -> None:
    config = {**env["config"], "payroll_record_shape": "auto", "payroll_split_above": SPLIT_ABOVE}
    messages, _ = run_tap(config, streams=STREAMS)
    _check_auto(env, messages)


def test_auto_without_gustos_count_splits_when_the_pages_pass_the_limit(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fetch = PayrollsStream.fetch
    pages_read: dict[str, int] = {}

    def uncounted(
        self: PayrollsStream, context: Any, path: str, params: dict[str, Any]
    ) -> requests.Response:
        response = fetch(self, context, path, params)
        if "/payrolls/" in path:
            response.headers.pop("X-Total-Count", None)
            pages_read[path] = pages_read.get(path, 0) + 1
        return response

    monkeypatch.setattr(PayrollsStream, "fetch", uncounted)
    config = {**env["config"], "payroll_record_shape": "auto", "payroll_split_above": SPLIT_ABOVE}
    messages, _ = run_tap(config, streams=STREAMS)
    # The pages read to decide are emitted first, then the rest: the same rows, in order.
    _check_auto(env, messages)
    assert max(pages_read.values()) > 2


def test_auto_at_the_limit_stays_whole(env: dict[str, Any]) -> None:
    largest = max(len(p["employee_compensations"]) for p in records(env["whole"], "payrolls"))
    config = {**env["config"], "payroll_record_shape": "auto", "payroll_split_above": largest}
    messages, _ = run_tap(config, streams=STREAMS)
    assert records(messages, "payrolls") == records(env["whole"], "payrolls")
    assert not records(messages, "payroll_compensations")


def _page(employees: list[str], total: str | None) -> tuple[requests.Response, Any]:
    response = requests.Response()
    if total is not None:
        response.headers["X-Total-Count"] = total
    body = {
        "payroll_uuid": "p",
        "employee_compensations": [{"employee_uuid": e} for e in employees],
    }
    return response, body


def test_fetch_counters_refuse_missing_duplicate_and_moving_counts() -> None:
    complete = PayrollFetch("c", "p")
    complete.take(*_page(["a", "b"], "3"))
    complete.take(*_page(["c"], "3"))
    assert complete.complete_count() == 3

    short = PayrollFetch("c", "p")
    short.take(*_page(["a", "b"], "3"))
    with pytest.raises(IncompletePayrollError, match="read 2 employee compensations"):
        short.complete_count()

    repeated = PayrollFetch("c", "p")
    repeated.take(*_page(["a", "b"], "3"))
    repeated.take(*_page(["b"], "3"))
    with pytest.raises(IncompletePayrollError, match="2 distinct employees"):
        repeated.complete_count()

    moved = PayrollFetch("c", "p")
    moved.take(*_page(["a", "b"], "3"))
    with pytest.raises(IncompletePayrollError, match="X-Total-Count 3 then 4"):
        moved.take(*_page(["c", "d"], "4"))


def test_command_line_split_run_and_outcomes(env: dict[str, Any], tmp_path: Path) -> None:
    """The ``tap-gusto`` command (TapGusto.invoke) notes each run's outcome per company."""
    status_file = tmp_path / "run-status.json"
    config = {**env["config"], "payroll_record_shape": "split", "status_file": str(status_file)}
    config["company_ids"] = [env["gusto"].company("Summit Bakery Co").uuid]
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    command = [sys.executable, "-m", "tap_gusto", "--config", str(config_file)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    messages = parse_messages(done.stdout)
    headers = records(messages, "payrolls")
    rows = _rows_by_fetch(messages)
    assert headers and all(
        h["employee_compensations_count"] == len(rows[h["fetch_id"]]) for h in headers
    )
    (entry,) = read_status(status_file).values()
    assert entry["last_run_ok"] is True and entry["last_run_message"] == "extraction completed"

    config["api_version"] = "2019-01-01"  # refused by Gusto with a 406
    config_file.write_text(json.dumps(config), encoding="utf-8")
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode != 0
    (entry,) = read_status(status_file).values()
    assert entry["last_run_ok"] is False and "2019-01-01" in entry["last_run_message"]


def test_split_rows_come_after_their_companys_employees(env: dict[str, Any]) -> None:
    """employees_refresh daily: a rerun reads a company's employees only when it has a new
    payroll, and then before the payroll's first compensation row. (Last: it changes the
    sandbox.)"""
    gusto = env["gusto"]
    config = {**env["config"], "payroll_record_shape": "split"}
    first, _ = run_tap(config)
    state = next(m["value"] for m in reversed(first) if m["type"] == "STATE")
    info = gusto.info()
    company = info["company_uuids"][1]
    hired = gusto.hire_employee(company_uuid=company, first_name="Ada", last_name="Obi")
    pending = next(
        p
        for c in info["companies"]
        for p in c["payrolls"]
        if not p["processed"] and c["uuid"] == company
    )
    gusto.process_payroll(pending["uuid"])
    messages, _ = run_tap(config, state)
    order = [
        (m["stream"], m["record"].get("company_uuid"))
        for m in messages
        if m["type"] == "RECORD" and m["stream"] in ("employees", "payroll_compensations")
    ]
    first_row = order.index(("payroll_compensations", company))
    assert ("employees", company) in order[:first_row]
    assert hired["uuid"] in {r["uuid"] for r in records(messages, "employees")}


def _shape_of(pages: list[tuple[requests.Response, Any]]) -> tuple[str, int, int]:
    """(shape, compensations taken to decide, pages left) for ``pages`` under SPLIT_ABOVE."""
    stream = types.SimpleNamespace(
        gusto_tap=types.SimpleNamespace(payroll_split_above=lambda: SPLIT_ABOVE)
    )
    left = iter(pages)
    shape, taken = PayrollsStream._shape_of(stream, PayrollFetch("c", "p"), left)  # type: ignore[arg-type]
    return shape, len(taken), len(list(left))


def test_auto_decides_on_gustos_count_before_reading_further() -> None:
    names = [f"e{n}" for n in range(150)]
    counted = [_page(names[i : i + 50], "150") for i in range(0, 150, 50)]
    assert _shape_of(counted) == ("split", 50, 2)
    uncounted = [_page(names[i : i + 50], None) for i in range(0, 150, 50)]
    assert _shape_of(uncounted) == ("split", 100, 1)
    small = [_page(names[:50], "60"), _page(names[50:60], "60")]
    assert _shape_of(small) == ("whole", 60, 0)
