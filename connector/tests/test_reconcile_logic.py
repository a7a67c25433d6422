"""The pure reconciliation and its rendering, on small hand-made periods (no I/O)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from gusto_dynamics.reconcile import logic, render
from gusto_dynamics.reconcile.logic import (
    AuditOutcome,
    FoEmployment,
    FoInvoice,
    FoJournal,
    GustoPayment,
    GustoPayroll,
    Inputs,
    LedgerEntry,
    Line,
    Period,
    Person,
    reconcile,
)

D = Decimal
NOV = Period(date(2026, 11, 1), date(2026, 11, 30))
WAGES = ("rsc", "600100", ("100", "110", "DEN"))
TAX = ("rsc", "600200", ("100", "110", "DEN"))
NET = ("rsc", "210400", ("", "", ""))
PAYABLE = ("rsc", "210120", ("", "", ""))


def lines(wages: str = "1000.00", tax: str = "76.50") -> tuple[Line, ...]:
    return (
        Line(WAGES, D(wages), D(0)),
        Line(TAX, D(tax), D(0)),
        Line(PAYABLE, D(0), D(tax)),
        Line(NET, D(0), D(wages)),
    )


def payroll(uuid: str = "aaaaaaaa-1111", content_hash: str = "c0ffee00" + "0" * 56) -> GustoPayroll:
    return GustoPayroll(
        company_uuid="co-1",
        company_name="Ridgeline",
        legal_entity="rsc",
        payroll_uuid=uuid,
        check_date=date(2026, 11, 15),
        payroll_type="regular",
        totals={"gross_pay": D("1000.00"), "net_pay": D("1000.00"), "employer_taxes": D("76.50")},
        content_hash=content_hash,
        batch_number="GUS-AAAA",
        expected=lines(),
        paid={"emp-1": "Commercial Field Operations"},
    )


def journal(
    batch: str = "GUS-AAAA", posted: bool = True, description: str | None = None
) -> FoJournal:
    return FoJournal(
        "rsc",
        batch,
        "Payroll",
        description or "Gusto payroll 2026-11-15 aaaaaaaa #c0ffee00",
        posted,
        lines(),
        date(2026, 11, 15),
    )


def ledger_for(j: FoJournal) -> list[LedgerEntry]:
    return [LedgerEntry("rsc", j.batch_number, x.account, x.net) for x in j.lines]


def person(**changes: object) -> Person:
    base = Person(
        "co-1",
        "rsc",
        "emp-1",
        "Ada Field",
        "Commercial Field Operations",
        "GUS-EMP1",
        date(2025, 3, 1),
        None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def inputs(**changes: object) -> Inputs:
    j = journal()
    base = Inputs(
        period=NOV,
        dimension_names=("BusinessUnit", "Department", "CostCenter"),
        payrolls=[payroll()],
        journals=[j],
        ledger=ledger_for(j),
        payments=[
            GustoPayment(
                "co-1", "rsc", "pay-1", "Acme LLC", date(2026, 11, 20), D("500.00"), "GUS-PAY1"
            )
        ],
        invoices=[FoInvoice("rsc", "GUS-PAY1", True, D("500.00"))],
        people=[person()],
        employments=[FoEmployment("rsc", "GUS-EMP1", date(2025, 3, 1), None)],
        department_dimensions={"rsc": {"Commercial Field Operations": (("100", "110", ""),)}},
        account_ranks={"rsc": {"600100": 0, "600200": 1}},
        wage_accounts={"rsc": frozenset({"600100"})},
        audit={"aaaaaaaa-1111": AuditOutcome("posted", "GUS-AAAA", "2026-11-15T10:00:00")},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def status(report: logic.Report) -> list[str]:
    return [r.status for r in report.payrolls]


def test_everything_agrees() -> None:
    report = reconcile(inputs())
    assert report.agrees and report.breaks == 0
    assert status(report) == [logic.POSTED]
    assert report.payrolls[0].connector_says == "posted 2026-11-15"
    assert [r.main_account for r in report.accounts] == ["600100", "600200", "210120", "210400"]
    assert report.departments[0].wage_lines_in_journals == 1
    assert report.totals()["ledger_debit"] == D("1076.50")


def test_missing_journal_says_replay_and_shows_in_accounts() -> None:
    report = reconcile(inputs(journals=[], ledger=[]))
    assert status(report) == [logic.MISSING]
    assert "replay" in report.payrolls[0].fix and "aaaaaaaa-1111" in report.payrolls[0].fix
    assert all(r.journal_difference != 0 for r in report.accounts)
    assert report.section_breaks()["payrolls"] == 1 and not report.agrees


def test_unbuildable_payroll_says_fix_the_mapping() -> None:
    broken = replace(payroll(), expected=(), build_error="department 'X' is not mapped")
    report = reconcile(inputs(payrolls=[broken], journals=[], ledger=[]))
    assert status(report) == [logic.UNBUILDABLE]
    assert report.payrolls[0].fix.startswith("fix the mapping (department 'X'")


def test_not_yet_posted() -> None:
    report = reconcile(inputs(journals=[journal(posted=False)], ledger=[]))
    assert status(report) == [logic.NOT_POSTED]
    assert "post the journal in F&O" in report.payrolls[0].fix
    assert {r.fix for r in report.accounts} == {"post the journal in F&O"}


def test_posted_twice_keeps_the_connectors_number() -> None:
    copy = journal("HAND-1")
    original = journal()
    report = reconcile(
        inputs(journals=[copy, original], ledger=ledger_for(copy) + ledger_for(original))
    )
    assert status(report) == [logic.POSTED_TWICE]
    assert report.payrolls[0].fix == "reverse journal HAND-1 in F&O (keep GUS-AAAA)"
    assert report.payrolls[0].fo_debit == 2 * D("1076.50")


def test_changed_in_gusto_after_posting() -> None:
    report = reconcile(inputs(payrolls=[payroll(content_hash="beef" + "0" * 60)]))
    assert status(report) == [logic.CHANGED_IN_GUSTO]
    assert "reverse GUS-AAAA" in report.payrolls[0].fix


def test_amount_differs_from_what_the_mapping_implies() -> None:
    other = replace(payroll(), expected=lines(wages="1000.01"))
    report = reconcile(inputs(payrolls=[other]))
    assert status(report) == [logic.AMOUNT_DIFFERS]
    wages = next(r for r in report.accounts if r.main_account == "600100")
    assert wages.journal_difference == D("-0.01") and wages.ledger_difference == 0


def test_ledger_that_differs_from_the_journal_lines() -> None:
    j = journal()
    entries = ledger_for(j)[:-1]
    report = reconcile(inputs(ledger=entries))
    assert status(report) == [logic.AMOUNT_DIFFERS]
    assert "ledger entries" in report.payrolls[0].fix


def test_journal_without_gusto_payroll_is_listed() -> None:
    stray = journal("GUS-ZZZZ", description="Gusto payroll 2026-11-30 zzzzzzzz #00")
    report = reconcile(inputs(journals=[journal(), stray], ledger=ledger_for(journal())))
    assert status(report) == [logic.POSTED, logic.NO_GUSTO_PAYROLL]
    assert "GUS-ZZZZ" in report.payrolls[1].fix


def test_foreign_journals_are_not_ours() -> None:
    theirs = journal("GJ-0001", description="Accrual")
    report = reconcile(inputs(journals=[journal(), theirs]))
    assert status(report) == [logic.POSTED]


def test_hire_termination_and_paid_without_employment() -> None:
    hired = person(
        employee_uuid="emp-2",
        name="Bo New",
        personnel_number="GUS-EMP2",
        hire_date=date(2026, 11, 10),
    )
    left = person(
        employee_uuid="emp-3",
        name="Cy Gone",
        personnel_number="GUS-EMP3",
        termination_date=date(2026, 11, 20),
    )
    report = reconcile(
        inputs(
            people=[person(), hired, left],
            employments=[
                FoEmployment("rsc", "GUS-EMP1", date(2025, 3, 1), None),
                FoEmployment("rsc", "GUS-EMP3", date(2025, 3, 1), None),
            ],
        )
    )
    rows = {(r.event, r.name): r for r in report.people}
    assert not rows[("hire", "Bo New")].in_fo and "replay" in rows[("hire", "Bo New")].fix
    assert not rows[("termination", "Cy Gone")].in_fo
    assert "2026-11-20" in rows[("termination", "Cy Gone")].fix
    assert report.section_breaks()["headcount"] == 2


def test_paid_employee_without_employment_and_department_without_wage_lines() -> None:
    j = replace(journal(), lines=lines()[1:])  # no wage line
    report = reconcile(inputs(journals=[j], ledger=ledger_for(j), employments=[]))
    assert [(r.event, r.in_fo) for r in report.people] == [("paid", False)]
    (department,) = report.departments
    assert department.paid_in_gusto == 1 and department.wage_lines_in_journals == 0
    assert "fix the mapping" in department.fix


@pytest.mark.parametrize(
    ("invoices", "want"),
    [
        ([], logic.NO_INVOICE),
        ([FoInvoice("rsc", "GUS-PAY1", False, D("500.00"))], logic.INVOICE_NOT_POSTED),
        ([FoInvoice("rsc", "GUS-PAY1", True, D("499.99"))], logic.INVOICE_DIFFERS),
        ([FoInvoice("rsc", "gus-pay1", True, D("500.00"))], logic.INVOICED),
    ],
)
def test_contractor_payments(invoices: list[FoInvoice], want: str) -> None:
    (row,) = reconcile(inputs(invoices=invoices)).payments
    assert row.status == want
    assert bool(row.fix) == (want != logic.INVOICED)


def test_period_label_and_description_hash() -> None:
    assert NOV.label == "2026-11"
    assert Period(date(2026, 11, 2), date(2026, 11, 30)).label == "2026-11-02..2026-11-30"
    assert logic.description_hash("Gusto payroll 2026-11-15 aaaaaaaa #c0ffee00") == "c0ffee00"
    assert logic.description_hash("no hash") is None


def test_every_format_carries_the_same_figures(tmp_path: Path) -> None:
    report = reconcile(inputs(journals=[journal(posted=False)], ledger=[]))
    table = render.to_table(report)
    assert "1 break(s)" not in table and "break(s) to fix" in table
    assert "in F&O, not yet posted" in table and "1,076.50" in table
    data = json.loads(render.dumps(report))
    assert data["agrees"] is False
    assert data["sections"]["payrolls"][0]["F&O debit"] == "1076.50"
    paths = render.write_csv(report, tmp_path)
    assert len(paths) == 5
    assert "1076.50" in paths[0].read_text()
    page = render.to_html(report)
    assert page.count("<img class='chart'") == 2 and "data:image/png;base64," in page
    assert "id='summary' class='breaks'" in page
    assert "id='summary' class='ok'" in render.to_html(reconcile(inputs()))


@pytest.mark.parametrize(
    "args",
    [
        ["--period", "2026-13"],
        ["--from", "2026-11-01"],
        ["--from", "2026-11-30", "--to", "2026-11-01"],
    ],
)
def test_a_reconciliation_that_cannot_start_exits_2(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gusto_dynamics.cli import main  # noqa: PLC0415 - the CLI, only for this test

    assert main(["--vault", str(tmp_path / "none.enc"), "reconcile", *args]) == 2
    assert capsys.readouterr().err.startswith("error: ")


# ---- corrections: original, reversal(s) and repost read as one chain -------------------------

NEW_HASH = "beef" + "0" * 60


def swapped(j: FoJournal, batch: str, description: str) -> FoJournal:
    return replace(
        j,
        batch_number=batch,
        description=description,
        lines=tuple(Line(x.account, x.credit, x.debit) for x in j.lines),
    )


def amended_chain(posted: bool = True) -> tuple[GustoPayroll, list[FoJournal]]:
    amended = replace(payroll(content_hash=NEW_HASH), expected=lines(wages="990.00"))
    original = journal()
    reversal = swapped(original, "GUS-REV1", "Reversal 1 of GUS-AAAA #beef")
    repost = replace(
        journal("GUS-REP1", posted=posted, description="Repost 1 of GUS-AAAA #beef"),
        lines=lines(wages="990.00"),
    )
    return amended, [original, reversal, repost]


def test_a_corrected_payroll_is_one_chain_and_agrees_once_posted() -> None:
    amended, chain = amended_chain()
    ledger = [e for j in chain for e in ledger_for(j)]
    said = {amended.payroll_uuid: AuditOutcome("corrected", "GUS-AAAA", "2026-11-20T10:00:00")}
    report = reconcile(inputs(payrolls=[amended], journals=chain, ledger=ledger, audit=said))
    assert status(report) == [logic.CORRECTED] and report.agrees
    (row,) = report.payrolls
    assert row.batch_numbers == ("GUS-AAAA", "GUS-REV1", "GUS-REP1")
    # The chain's position, not the sum of its documents: what the new payroll's journal holds.
    assert row.fo_debit == row.expected_debit == D("1066.50")
    assert row.ledger_debit == D("1066.50")
    assert all(not r.is_break for r in report.accounts)


def test_a_correction_not_yet_posted_in_f_and_o_is_a_break() -> None:
    amended, chain = amended_chain(posted=False)
    ledger = [e for j in chain[:2] for e in ledger_for(j)]
    report = reconcile(inputs(payrolls=[amended], journals=chain, ledger=ledger))
    assert status(report) == [logic.NOT_POSTED]
    assert "GUS-REP1" in report.payrolls[0].fix


def test_a_staged_correction_is_pending_not_agreed() -> None:
    amended = replace(payroll(content_hash=NEW_HASH), expected=lines(wages="990.00"))
    said = {amended.payroll_uuid: AuditOutcome("correction_staged", "GUS-AAAA", "2026-11-20")}
    report = reconcile(inputs(payrolls=[amended], audit=said))
    assert status(report) == [logic.CORRECTION_PENDING] and not report.agrees
    assert f"corrections approve {amended.payroll_uuid}" in report.payrolls[0].fix


def test_a_cancelled_payroll_reversed_in_f_and_o_agrees() -> None:
    original = journal()
    reversal = swapped(original, "GUS-REV1", "Reversal 1 of GUS-AAAA #dead")
    chain = [original, reversal]
    report = reconcile(
        inputs(payrolls=[], journals=chain, ledger=[e for j in chain for e in ledger_for(j)])
    )
    assert status(report) == [logic.CANCELLED_REVERSED] and report.agrees
    assert report.payrolls[0].batch_numbers == ("GUS-AAAA", "GUS-REV1")
    assert report.payrolls[0].fo_debit == 0


def test_a_difference_journal_chain_agrees_once_posted() -> None:
    amended = replace(payroll(content_hash=NEW_HASH), expected=lines(wages="990.00"))
    original = journal()
    difference = replace(
        journal("GUS-DIF1", description="Difference 1 of GUS-AAAA #beef"),
        lines=(Line(WAGES, D(0), D("10.00")), Line(NET, D("10.00"), D(0))),
    )
    chain = [original, difference]
    report = reconcile(
        inputs(payrolls=[amended], journals=chain, ledger=[e for j in chain for e in ledger_for(j)])
    )
    assert status(report) == [logic.CORRECTED]
    assert report.payrolls[0].batch_numbers == ("GUS-AAAA", "GUS-DIF1")
