"""Sandbox hooks the reconciliation tests use: F&O's "Post journals" run for a company, a
journal deleted as if it never reached F&O, and a Gusto payroll corrected after processing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import requests
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.dynamics.odata import dumps, loads
from gd_sandbox.dynamics.testing import data_session
from gd_sandbox.gusto import GustoSandbox

DATE = "2026-11-15T12:00:00Z"


def _journal(dyn: DynamicsSandbox, number: str, amount: str, company: str = "rsc") -> None:
    http = data_session(dyn)
    headers = {"Content-Type": "application/json"}
    made = http.post(
        f"{dyn.url}/data/LedgerJournalHeaders",
        data=dumps({"dataAreaId": company, "JournalBatchNumber": number, "JournalName": "Payroll"}),
        headers=headers,
    )
    assert made.status_code == 201, made.text
    for n, (account, side) in enumerate((("600100", "DebitAmount"), ("210400", "CreditAmount"))):
        body: dict[str, Any] = {
            "dataAreaId": company,
            "JournalBatchNumber": number,
            "LineNumber": n + 1,
            "AccountDisplayValue": account,
            "CurrencyCode": "USD",
            "TransDate": DATE,
            side: Decimal(amount),
        }
        line = http.post(f"{dyn.url}/data/LedgerJournalLines", data=dumps(body), headers=headers)
        assert line.status_code == 201, line.text


def _rows(dyn: DynamicsSandbox, entity: str, number: str) -> list[dict[str, Any]]:
    key = "JournalNumber" if entity == "GeneralJournalAccountEntries" else "JournalBatchNumber"
    return [r for r in dyn.entities[entity] if r[key] == number]


def test_post_journals_posts_every_unposted_journal_of_a_company() -> None:
    with DynamicsSandbox() as dyn:
        _journal(dyn, "A-1", "10.01")
        _journal(dyn, "A-2", "20.02")
        _journal(dyn, "B-1", "30.03", company="sbc")
        dyn.post_journal("rsc", "A-1")
        resp = requests.post(
            f"{dyn.url}/_sandbox/journals/rsc/post",
            json={"journal_name": "Payroll"},
            verify=dyn.ca_bundle,
            timeout=30,
        )
        assert resp.status_code == 200, resp.text
        posted = loads(resp.content)["journals"]
        assert [(p["JournalBatchNumber"], p["debit"]) for p in posted] == [("A-2", "20.02")]
        headers = {
            h["JournalBatchNumber"]: h["IsPosted"] for h in dyn.entities["LedgerJournalHeaders"]
        }
        assert headers == {"A-1": "Yes", "A-2": "Yes", "B-1": "No"}
        entries = _rows(dyn, "GeneralJournalAccountEntries", "A-2")
        assert sorted(e["AccountingCurrencyAmount"] for e in entries) == [
            Decimal("-20.02"),
            Decimal("20.02"),
        ]
        assert dyn.post_journals("rsc") == []


def test_delete_journal_removes_header_lines_and_ledger_entries() -> None:
    with DynamicsSandbox() as dyn:
        _journal(dyn, "D-1", "5.00")
        _journal(dyn, "D-2", "6.00")
        dyn.post_journal("rsc", "D-1")
        resp = requests.delete(
            f"{dyn.url}/_sandbox/journals/rsc/D-1", verify=dyn.ca_bundle, timeout=30
        )
        assert resp.status_code == 200, resp.text
        assert loads(resp.content) == {
            "dataAreaId": "rsc",
            "JournalBatchNumber": "D-1",
            "deleted_lines": 2,
            "deleted_ledger_entries": 2,
        }
        for entity in (
            "LedgerJournalHeaders",
            "LedgerJournalLines",
            "GeneralJournalAccountEntries",
        ):
            assert _rows(dyn, entity, "D-1") == []
        assert len(_rows(dyn, "LedgerJournalLines", "D-2")) == 2
        again = requests.delete(
            f"{dyn.url}/_sandbox/journals/rsc/D-1", verify=dyn.ca_bundle, timeout=30
        )
        assert again.status_code == 404


def test_payroll_correction_after_processing_stays_consistent_to_the_cent() -> None:
    with GustoSandbox(port=0, today=date(2026, 12, 3)) as gusto:
        company = gusto.info()["companies"][1]
        payroll = next(p for p in company["payrolls"] if p["processed"])
        before = gusto.payroll_expected(payroll["uuid"])
        resp = requests.post(
            f"{gusto.url}/_sandbox/payrolls/{payroll['uuid']}/correct",
            json={"amount": "12.34"},
            timeout=30,
        )
        assert resp.status_code == 200, resp.text
        after = gusto.payroll_expected(payroll["uuid"])
        moved = {
            k: Decimal(after["totals"][k]) - Decimal(before["totals"][k]) for k in before["totals"]
        }
        assert (
            moved["gross_pay"] == moved["net_pay"] == moved["employee_bonuses"] == Decimal("12.34")
        )
        comps = after["employee_compensations"]
        assert sum(Decimal(c["gross_pay"]) for c in comps) == Decimal(after["totals"]["gross_pay"])
        assert sum(Decimal(c["net_pay"]) for c in comps) == Decimal(after["totals"]["net_pay"])
        bad = requests.post(
            f"{gusto.url}/_sandbox/payrolls/{payroll['uuid']}/correct",
            json={"amount": "lots"},
            timeout=30,
        )
        assert bad.status_code == 422
