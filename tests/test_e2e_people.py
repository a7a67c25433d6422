"""End to end over HTTP: Gusto people and contractors -> Dynamics workers, vendors and AP.

Expected values come from the tap's own output for the seed (never hard-coded): every employee
arrives as a worker with its employment, terminated ones end on the termination date, every
contractor arrives as a vendor, every contractor payment as one vendor invoice journal; a rerun
writes nothing; a termination made in the Gusto sandbox ends the employment on the next run; a
payment to a contractor without a vendor fails with a clear error and posts nothing.
"""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from e2e_support import (
    DYNAMICS_ENVIRONMENT,
    SANDBOX_TODAY,
    PipelineRun,
    run_target,
    target_config,
    tool,
    write_config,
)
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.gusto import GustoSandbox
from gd_vault import Vault
from target_dynamics_fo.ledger import journal_batch_number
from target_dynamics_fo.payables import invoice_number

RIDGELINE = "0c991fcc-d01e-50c4-90c6-d27026b49396"
LEGAL_ENTITY = {RIDGELINE: "rsc", "ee2ce936-5d04-5cda-8909-6ace20a55be1": "sbc"}
OPEN_END = "2154-12-31T23:59:59Z"
PEOPLE_STREAMS = {"companies", "employees", "departments", "locations"}
PAYABLE_STREAMS = {"contractors", "contractor_payments"}


def records(tap_output: str, stream: str) -> list[dict[str, Any]]:
    out = []
    for line in tap_output.splitlines():
        message = json.loads(line)
        if message.get("type") == "RECORD" and message.get("stream") == stream:
            out.append(message["record"])
    return out


def only_streams(tap_output: str, streams: set[str]) -> str:
    """SCHEMA/RECORD messages of the chosen streams (and every STATE) from the tap's output."""
    kept = []
    for line in tap_output.splitlines():
        message = json.loads(line)
        if message.get("type") in ("SCHEMA", "RECORD") and message.get("stream") not in streams:
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def personnel_number(employee_uuid: str) -> str:
    return f"GUS-{employee_uuid[:8].upper()}"


def vendor_account(contractor_uuid: str) -> str:
    return f"GUS-{contractor_uuid[:8].upper()}"


def active_end(employee: dict[str, Any]) -> str | None:
    ends = [
        t["effective_date"]
        for t in employee.get("terminations") or []
        if t.get("active") is not False
    ]
    return max(ends) if ends else None


def hire_date(employee: dict[str, Any]) -> str:
    return max(job["hire_date"] for job in employee["jobs"])


def employments_by_worker(
    entities: dict[str, list[dict[str, Any]]],
) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in entities["Employments"]:
        found[row["PersonnelNumber"]].append(row)
    return found


def audit(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("target-dynamics-fo-audit"), "--audit-db", str(db), *args],
        capture_output=True,
        text=True,
        check=False,
    )


# ---------------------------------------------------------------- the real pipeline


def test_seed_employees_arrive_as_workers_with_employments(pipeline_run: PipelineRun) -> None:
    assert pipeline_run.target.returncode == 0, pipeline_run.target.stderr[-3000:]
    entities = pipeline_run.entities_after_first
    employees = records(pipeline_run.tap_output, "employees")
    assert employees, "the seed has employees"
    workers = {w["PersonnelNumber"]: w for w in entities["Workers"]}
    employments = employments_by_worker(entities)
    terminated = 0
    for employee in employees:
        number = personnel_number(employee["uuid"])
        worker = workers[number]
        assert worker["FirstName"] == employee["first_name"]
        assert worker["LastName"] == employee["last_name"]
        assert worker["WorkerType"] == "Employee"
        [employment] = employments[number]
        assert employment["LegalEntityId"] == LEGAL_ENTITY[employee["company_uuid"]]
        assert employment["EmploymentStartDate"][:10] == hire_date(employee)
        end = active_end(employee)
        if end is None:
            assert employment["EmploymentEndDate"] == OPEN_END
        else:
            terminated += 1
            assert employment["EmploymentEndDate"][:10] == end
        assert employment["DimensionDisplayValue"], "the department mapping gives dimensions"
    assert terminated > 0, "the seed terminates people during the year"
    ours = [w for w in entities["Workers"] if w["PersonnelNumber"].startswith("GUS-")]
    assert len(ours) == len(employees), "one worker per employee, never two"


def test_seed_contractors_arrive_as_vendors_and_payments_as_one_invoice_each(
    pipeline_run: PipelineRun,
) -> None:
    entities = pipeline_run.entities_after_first
    contractors = records(pipeline_run.tap_output, "contractors")
    payments = records(pipeline_run.tap_output, "contractor_payments")
    assert contractors and payments
    vendors = {(v["dataAreaId"], v["VendorAccountNumber"]): v for v in entities["VendorsV2"]}
    for contractor in contractors:
        vendor = vendors[
            (LEGAL_ENTITY[contractor["company_uuid"]], vendor_account(contractor["uuid"]))
        ]
        assert vendor["VendorGroupId"] == "CONTRACT"
        if contractor["type"] == "Business":
            assert vendor["VendorPartyType"] == "Organization"
            assert vendor["VendorOrganizationName"] == contractor["business_name"]
        else:
            assert vendor["VendorPartyType"] == "Person"
            assert vendor["PersonFirstName"] == contractor["first_name"]
            assert vendor["PersonLastName"] == contractor["last_name"]

    headers = defaultdict(list)
    for header in entities["VendInvoiceJournalHeaders"]:
        headers[header["JournalBatchNumber"]].append(header)
    lines = defaultdict(list)
    for line in entities["VendInvoiceJournalLines"]:
        lines[line["JournalBatchNumber"]].append(line)
    assert len(headers) == len(payments)
    for payment in payments:
        number = journal_batch_number(
            "GUS", payment["company_uuid"], f"contractor-payment:{payment['uuid']}"
        )
        assert len(headers[number]) == 1, f"payment {payment['uuid']} must post exactly once"
        assert headers[number][0]["JournalName"] == "APInvoice"
        owed = Decimal(str(payment["wage_total"])) + Decimal(str(payment["reimbursement"]))
        credit = sum(
            (Decimal(str(x["Credit"])) - Decimal(str(x["Debit"])) for x in lines[number]),
            Decimal(0),
        )
        assert credit == owed, f"invoice {number} must credit the vendor what Gusto paid"
        for line in lines[number]:
            assert line["AccountType"] == "Vend"
            assert line["AccountDisplayValue"].replace("\\", "") == vendor_account(
                payment["contractor_uuid"]
            )
            assert line["Invoice"] == invoice_number(payment["uuid"])
            assert line["OffsetAccountDisplayValue"].split("-")[0] in ("600700", "600710")


def test_rerun_creates_no_worker_employment_vendor_or_invoice(pipeline_run: PipelineRun) -> None:
    assert pipeline_run.rerun.returncode == 0, pipeline_run.rerun.stderr[-3000:]
    for entity in (
        "Workers",
        "Employments",
        "VendorsV2",
        "VendInvoiceJournalHeaders",
        "VendInvoiceJournalLines",
    ):
        assert (
            pipeline_run.entities_after_rerun[entity] == pipeline_run.entities_after_first[entity]
        ), entity
    # The only write a rerun may make is asking Entra for its token (not a Dynamics change).
    assert pipeline_run.writes_during_rerun <= 1
    employees = records(pipeline_run.tap_output, "employees")
    payments = records(pipeline_run.tap_output, "contractor_payments")
    stderr = pipeline_run.rerun.stderr
    assert f"workers and employments: {len(employees)} unchanged; 0 failed" in stderr
    assert f"{len(payments)} payments already_posted" in stderr


def test_audit_cli_shows_workers_vendors_and_invoices(pipeline_run: PipelineRun) -> None:
    db = pipeline_run.audit_db
    workers = audit(db, "workers")
    assert workers.returncode == 0, workers.stderr
    employees = records(pipeline_run.tap_output, "employees")
    assert personnel_number(employees[0]["uuid"]) in workers.stdout
    assert "create_worker" in workers.stdout and "end" in workers.stdout
    vendors = audit(db, "vendors")
    assert vendors.returncode == 0 and "create" in vendors.stdout
    invoices = audit(db, "invoices")
    payments = records(pipeline_run.tap_output, "contractor_payments")
    assert invoices.returncode == 0
    assert f"{len(payments)} invoice(s) in Dynamics" in invoices.stdout
    failures = audit(db, "failures")
    assert failures.returncode == 0 and "No failures" in failures.stdout


# ---------------------------------------------------------------- payables failures


def test_payment_to_a_contractor_without_vendor_fails_clearly_and_posts_nothing_for_it(
    tap_output: str,
    fresh_dynamics: DynamicsSandbox,
    tmp_path: Path,
    credential_store: Path,
    mapping_file: Path,
) -> None:
    contractors = [c for c in records(tap_output, "contractors") if c["company_uuid"] == RIDGELINE]
    payments = records(tap_output, "contractor_payments")
    lost = contractors[0]["uuid"]
    mapping = yaml.safe_load(mapping_file.read_text())
    # Linked to a vendor that does not exist: matched, never created, so it has no vendor.
    mapping["companies"][RIDGELINE]["contractors"]["links"] = {lost: "V09999"}
    broken = tmp_path / "mapping-link.yml"
    broken.write_text(yaml.safe_dump(mapping))
    config = write_config(tmp_path, target_config(tmp_path, credential_store, broken))
    run = run_target(config, only_streams(tap_output, PAYABLE_STREAMS))

    assert run.returncode == 1, "a payment that cannot post must make the run fail"
    assert run.states, "state is still written after the other payments posted"
    theirs = [p for p in payments if p["contractor_uuid"] == lost]
    others = [p for p in payments if p["contractor_uuid"] != lost]
    assert theirs and others
    assert f"contractor {lost}" in run.stderr and "V09999" in run.stderr
    numbers = {
        h["JournalBatchNumber"] for h in fresh_dynamics.entities["VendInvoiceJournalHeaders"]
    }
    for payment in theirs:
        number = journal_batch_number(
            "GUS", payment["company_uuid"], f"contractor-payment:{payment['uuid']}"
        )
        assert number not in numbers
        assert payment["uuid"] in run.stderr
    assert len(numbers) == len(others)
    failures = audit(tmp_path / "audit.sqlite", "failures")
    assert failures.returncode == 1
    assert theirs[0]["uuid"] in failures.stdout and "fix:" in failures.stdout

    # Fixed mapping (no link: the scheme's vendor is created), then replay posts it once.
    fixed = write_config(
        tmp_path, target_config(tmp_path, credential_store, mapping_file), "fixed.json"
    )
    rerun = run_target(fixed, only_streams(tap_output, {"contractors"}))
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    replay = [
        tool("target-dynamics-fo-audit"),
        "replay-payment",
        theirs[0]["uuid"],
        "--config",
        str(fixed),
    ]
    first = subprocess.run(replay, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr[-2000:] + first.stdout
    assert ": posted" in first.stdout
    again = subprocess.run(replay, capture_output=True, text=True, check=False)
    assert again.returncode == 0 and "already_posted" in again.stdout
    number = journal_batch_number("GUS", RIDGELINE, f"contractor-payment:{theirs[0]['uuid']}")
    assert [
        h
        for h in fresh_dynamics.entities["VendInvoiceJournalHeaders"]
        if h["JournalBatchNumber"] == number
    ].__len__() == 1


def test_payments_without_the_contractors_stream_fail_naming_the_contractor(
    tap_output: str,
    fresh_dynamics: DynamicsSandbox,
    target_config_file: Path,
) -> None:
    config = target_config_file
    run = run_target(config, only_streams(tap_output, {"contractor_payments"}))
    assert run.returncode == 1
    assert "not in the contractors stream" in run.stderr
    assert fresh_dynamics.entities["VendInvoiceJournalHeaders"] == []


# ---------------------------------------------------------------- a termination in Gusto


@pytest.fixture(scope="module")
def own_gusto() -> Iterator[GustoSandbox]:
    """A Gusto sandbox of this module's own: the termination below must not leak elsewhere."""
    with GustoSandbox(port=0, seed="demo", today=SANDBOX_TODAY) as gusto:
        yield gusto


@pytest.fixture
def own_configs(
    tmp_path: Path, vault_key_env: str, own_gusto: GustoSandbox, fresh_dynamics: DynamicsSandbox
) -> tuple[Path, Path, Path]:
    """Tap config, a catalog selecting the people streams only, and the target config."""
    store = tmp_path / "store" / "vault.enc"
    store.parent.mkdir()

    def fill(data: dict[str, Any]) -> None:
        data["gusto"] = {
            "app": {
                "client_id": own_gusto.client_id,
                "client_secret": own_gusto.client_secret,
                "api_url": own_gusto.url,
            },
            "companies": {
                RIDGELINE: {
                    "company_uuid": RIDGELINE,
                    "access_token": None,
                    "refresh_token": own_gusto.mint_refresh_token(RIDGELINE),
                    "expires_at": 0,
                    "api_url": own_gusto.url,
                    "pending_refresh_token": None,
                }
            },
        }
        dyn = fresh_dynamics
        data["dynamics"] = {
            "environments": {
                DYNAMICS_ENVIRONMENT: {
                    **dyn.client_settings(),
                    "certificate_pem": None,
                    "certificate_thumbprint": None,
                }
            }
        }

    Vault.open(store).update(fill)
    tap_config = tmp_path / "tap-config.json"
    tap_config.write_text(json.dumps({"api_url": own_gusto.url, "credentials_store": str(store)}))
    catalog = subprocess.run(
        [tool("tap-gusto"), "--config", str(tap_config), "--discover"],
        capture_output=True,
        text=True,
        check=True,
    )
    streams = json.loads(catalog.stdout)
    for stream in streams["streams"]:
        selected = stream["tap_stream_id"] in PEOPLE_STREAMS
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = selected
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(json.dumps(streams))
    target = write_config(
        tmp_path,
        target_config(tmp_path, store, Path(__file__).parents[1] / "config" / "mapping.yml"),
    )
    return tap_config, catalog_file, target


def _tap(tap_config: Path, catalog: Path) -> str:
    result = subprocess.run(
        [tool("tap-gusto"), "--config", str(tap_config), "--catalog", str(catalog)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_termination_in_gusto_ends_the_employment_on_the_next_run(
    own_gusto: GustoSandbox,
    own_configs: tuple[Path, Path, Path],
    fresh_dynamics: DynamicsSandbox,
) -> None:
    tap_config, catalog, target = own_configs
    messages = _tap(tap_config, catalog)
    first = run_target(target, messages)
    assert first.returncode == 0, first.stderr[-3000:]
    employees = records(messages, "employees")
    active = next(e for e in employees if active_end(e) is None)
    number = personnel_number(active["uuid"])
    [before] = employments_by_worker(fresh_dynamics.entities)[number]
    assert before["EmploymentEndDate"] == OPEN_END

    last_day = hire_date(active)  # the earliest valid termination date, fixed by the seed
    response = requests.post(
        f"{own_gusto.url}/_sandbox/employees/{active['uuid']}/terminate",
        json={"effective_date": last_day},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    workers_before = len(fresh_dynamics.entities["Workers"])

    second = run_target(target, _tap(tap_config, catalog))
    assert second.returncode == 0, second.stderr[-3000:]
    [after] = employments_by_worker(fresh_dynamics.entities)[number]
    assert after["EmploymentStartDate"] == before["EmploymentStartDate"]
    assert after["EmploymentEndDate"][:10] == last_day
    assert len(fresh_dynamics.entities["Workers"]) == workers_before, "no second worker"
    assert "end_employment" in audit(target.parent / "audit.sqlite", "workers").stdout
