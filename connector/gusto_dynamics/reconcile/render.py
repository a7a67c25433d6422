"""The reconciliation report as a text table, CSV, JSON or one self-contained HTML file.

Every format is built from the same column specs, so a figure cannot differ between them.
The HTML embeds its charts (matplotlib PNGs as data URIs), its style and a small sort script:
it opens with no network. Amounts stay ``Decimal`` into matplotlib, which draws them itself.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import operator
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from gusto_dynamics.reconcile.model import ZERO, AccountRow, Report

Cell = str | Decimal | int | date | None


@dataclass(frozen=True)
class Column:
    title: str
    get: Callable[[Any], Cell]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    columns: tuple[Column, ...]
    rows: Sequence[Any]


def _plotted(amounts: Iterable[Decimal]) -> Any:
    """Amounts for a chart, as ``Decimal``: matplotlib accepts them (its type stubs say
    float), so no report figure ever passes through binary floating point here."""
    return list(amounts)


def _money(value: Cell) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return "" if value is None else str(value)


def _plain(value: Cell) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


# Each section's columns: the title, then (after two or more spaces) the row attribute shown.
# "{dimensions}" stands for the ledger's dimension names, known only from F&O.
DIMENSIONS = "{dimensions}"
_PAYROLLS = """
    status                  status
    check date              check_date
    company                 company
    legal entity            legal_entity
    type                    payroll_type
    payroll                 payroll_uuid_short
    journal                 journal_numbers
    Gusto gross pay         gusto_gross
    Gusto net pay           gusto_net
    Gusto employer taxes    gusto_employer_taxes
    Gusto journal debit     expected_debit
    F&O debit               fo_debit
    F&O credit              fo_credit
    ledger debit            ledger_debit
    ledger credit           ledger_credit
    connector says          connector_says
    fix                     fix
"""
_ACCOUNTS = """
    legal entity            legal_entity
    main account            main_account
    {dimensions}            dimension_values
    Gusto (mapping)         gusto
    journals                journals
    ledger                  ledger
    journals - Gusto        journal_difference
    ledger - journals       ledger_difference
    fix                     fix
"""
_HEADCOUNT = """
    legal entity                legal_entity
    department                  department
    {dimensions}                dimensions
    paid in Gusto               paid_in_gusto
    wage lines in journals      wage_lines_in_journals
    active employments in F&O   active_in_fo
    fix                         fix
"""
_PEOPLE = """
    legal entity        legal_entity
    event               event
    date                day
    name                name
    department          department
    personnel number    personnel_number
    in F&O              in_fo_label
    fix                 fix
"""
_CONTRACTORS = """
    status              status
    date                payment_date
    legal entity        legal_entity
    contractor          contractor
    payment             payment_uuid_short
    invoice journal     batch_number
    Gusto amount        gusto_amount
    F&O invoice         fo_amount
    fix                 fix
"""


# Cells that are not a row attribute as it stands, named in the tables like one.
_DERIVED: dict[str, Callable[[Any], Cell]] = {
    "payroll_uuid_short": lambda r: r.payroll_uuid[:8],
    "payment_uuid_short": lambda r: r.payment_uuid[:8],
    "journal_numbers": lambda r: ", ".join(r.batch_numbers),
    "dimension_values": lambda r: "-".join(r.dimensions),
    "in_fo_label": lambda r: "yes" if r.in_fo else "NO",
}


def _columns(table: str, dimensions: str) -> tuple[Column, ...]:
    columns = []
    for line in table.strip().splitlines():
        title, name = re.split(r"\s{2,}", line.strip())
        get = _DERIVED.get(name) or operator.attrgetter(name)
        columns.append(Column(dimensions if title == DIMENSIONS else title, get))
    return tuple(columns)


def sections(report: Report) -> list[Section]:
    dims = "-".join(report.dimension_names) or "dimensions"
    return [
        Section("payrolls", "1. Payrolls", _columns(_PAYROLLS, dims), report.payrolls),
        Section("accounts", "2. Accounts", _columns(_ACCOUNTS, dims), report.accounts),
        Section(
            "headcount",
            "3. Headcount by department",
            _columns(_HEADCOUNT, dims),
            report.departments,
        ),
        Section(
            "people",
            "3. Hires, terminations and people paid",
            _columns(_PEOPLE, dims),
            report.people,
        ),
        Section(
            "contractors", "4. Contractor payments", _columns(_CONTRACTORS, dims), report.payments
        ),
    ]


def summary_lines(report: Report) -> list[str]:
    totals = report.totals()
    head = (
        f"Reconciliation {report.period.label}: everything agrees."
        if report.agrees
        else f"Reconciliation {report.period.label}: {report.breaks} break(s) to fix."
    )
    counts = ", ".join(f"{k} {v}" for k, v in report.section_breaks().items())
    return [
        head,
        f"  payrolls {len(report.payrolls)}, contractor payments {len(report.payments)}; "
        f"breaks by section: {counts}",
        f"  Gusto gross pay {_money(totals['gusto_gross_pay'])}; journal debits: Gusto implies "
        f"{_money(totals['gusto_journal_debit'])}, "
        f"F&O journals {_money(totals['fo_journal_debit'])},"
        f" ledger {_money(totals['ledger_debit'])}",
        f"  contractor payments {_money(totals['contractor_payments'])}, AP invoices "
        f"{_money(totals['contractor_invoices'])}",
    ]


# ---- text, CSV, JSON -------------------------------------------------------------------------


def to_table(report: Report, *, only_breaks_for: frozenset[str] = frozenset()) -> str:
    """Plain-text tables; sections named in ``only_breaks_for`` list their breaks only (the
    accounts and people lists are long when everything agrees)."""
    out = [*summary_lines(report), ""]
    for section in sections(report):
        rows = [r for r in section.rows if section.key not in only_breaks_for or r.is_break]
        hidden = len(section.rows) - len(rows)
        note = f" ({hidden} agreeing row(s) not shown)" if hidden else ""
        out.append(f"{section.title}{note}")
        if not rows:
            out.extend(["  (nothing to show)", ""])
            continue
        cells = [[c.title for c in section.columns]] + [
            [
                _money(c.get(r)) if isinstance(c.get(r), Decimal) else _plain(c.get(r))
                for c in section.columns
            ]
            for r in rows
        ]
        widths = [max(len(row[i]) for row in cells) for i in range(len(section.columns))]
        for row in cells:
            out.append(
                "  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
            )
        out.append("")
    return "\n".join(out)


def _json_cell(value: Cell) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_json(report: Report) -> dict[str, Any]:
    return {
        "period": {"start": report.period.start.isoformat(), "end": report.period.end.isoformat()},
        "agrees": report.agrees,
        "breaks": report.breaks,
        "breaks_by_section": report.section_breaks(),
        "totals": {k: str(v) for k, v in report.totals().items()},
        "sections": {
            s.key: [
                {c.title: _json_cell(c.get(r)) for c in s.columns} | {"break": r.is_break}
                for r in s.rows
            ]
            for s in sections(report)
        },
    }


def write_csv(report: Report, directory: Path) -> list[Path]:
    paths = []
    for section in sections(report):
        path = directory / f"reconcile-{report.period.label}-{section.key}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([c.title for c in section.columns] + ["break"])
            for row in section.rows:
                writer.writerow(
                    [_plain(c.get(row)) for c in section.columns] + ["yes" if row.is_break else ""]
                )
        paths.append(path)
    return paths


# ---- charts ----------------------------------------------------------------------------------


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _department_label(row: AccountRow, report: Report) -> str:
    names = report.dimension_names
    if "Department" in names:
        value = row.dimensions[names.index("Department")]
        return f"{row.legal_entity} {value or '(none)'}"
    return f"{row.legal_entity} {'-'.join(row.dimensions) or '(none)'}"


def charts(report: Report) -> list[tuple[str, str, str]]:
    """(id, title, data URI) of each chart."""
    import matplotlib  # noqa: PLC0415 - only the HTML report needs it, and it is slow to import

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt  # noqa: PLC0415

    made = []
    wages: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for row in report.accounts:
        if row.rank == 0:
            label = _department_label(row, report)
            wages[label][0] += row.gusto
            wages[label][1] += row.ledger
    labels = sorted(wages)
    figure, axes = plt.subplots(figsize=(8, 3.6))
    positions = list(range(len(labels)))
    # Floats only from here on: matplotlib draws, the report's figures stay Decimal.
    axes.bar(
        [p - 0.2 for p in positions], _plotted(wages[k][0] for k in labels), 0.4, label="Gusto"
    )
    axes.bar(
        [p + 0.2 for p in positions], _plotted(wages[k][1] for k in labels), 0.4, label="Ledger"
    )
    axes.set_xticks(positions, labels, rotation=30, ha="right")
    axes.set_ylabel("wage expense")
    axes.set_title(f"Wage expense by department, {report.period.label}")
    axes.legend()
    made.append(("chart-wages", "Wage expense by department: Gusto against ledger", _png(figure)))
    plt.close(figure)

    by_date: dict[date, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    broken: set[date] = set()
    for payroll in report.payrolls:
        if payroll.check_date is None:
            continue
        by_date[payroll.check_date][0] += payroll.expected_debit or ZERO
        by_date[payroll.check_date][1] += payroll.ledger_debit
        if payroll.is_break:
            broken.add(payroll.check_date)
    days = sorted(by_date)
    # One slot per check date, labelled with the date: the dates are few and uneven.
    slots = list(range(len(days)))
    figure, axes = plt.subplots(figsize=(8, 3.6))
    axes.plot(slots, _plotted(by_date[d][0] for d in days), "o-", label="Gusto (journal debit)")
    axes.plot(slots, _plotted(by_date[d][1] for d in days), "s--", label="Ledger (posted debit)")
    marked = [i for i, d in enumerate(days) if d in broken]
    if marked:
        axes.scatter(
            marked,
            _plotted(max(by_date[days[i]]) for i in marked),
            s=160,
            marker="x",
            color="red",
            zorder=5,
            label="break",
        )
    axes.set_xticks(slots, [d.isoformat() for d in days], rotation=30, ha="right")
    axes.set_ylabel("total debit")
    axes.set_title(f"Payroll totals by check date, {report.period.label}")
    axes.legend()
    made.append(
        ("chart-payrolls", "Payroll totals by check date: Gusto against ledger", _png(figure))
    )
    plt.close(figure)
    return made


# ---- HTML ------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
#summary{padding:1em;border-radius:6px;margin-bottom:1em}
#summary.ok{background:#d9f2dd;border:2px solid #2e7d32}
#summary.breaks{background:#fde2e1;border:2px solid #c62828}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left}
th{background:#eee;cursor:pointer;user-select:none}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.break td{background:#fff0f0}
img.chart{max-width:calc(50% - 1.5em);border:1px solid #ddd;margin:0.5em 1em 0.5em 0}
"""

# Sorts a table by the clicked column: numbers by value (commas ignored), text otherwise.
# On load it marks each chart drawn or not, so a headless browser can tell (data-rendered).
_SCRIPT = """
document.querySelectorAll('table.sortable th').forEach(function(th){
  th.addEventListener('click',function(){
    var table=th.closest('table'),body=table.tBodies[0],i=th.cellIndex;
    var asc=th.dataset.sort!=='asc';th.dataset.sort=asc?'asc':'desc';
    var rows=Array.prototype.slice.call(body.rows);
    rows.sort(function(a,b){
      var x=a.cells[i].textContent.replace(/,/g,''),y=b.cells[i].textContent.replace(/,/g,'');
      var nx=parseFloat(x),ny=parseFloat(y);
      var num=/^-?[0-9.]+$/;
      var c=(num.test(x)&&num.test(y))?nx-ny:x.localeCompare(y);
      return asc?c:-c;});
    rows.forEach(function(r){body.appendChild(r);});
  });
});
window.addEventListener('load',function(){
  document.querySelectorAll('img.chart').forEach(function(img){
    img.dataset.rendered=String(img.complete&&img.naturalWidth>0);
  });
  document.body.dataset.ready='yes';
});
"""


def to_html(report: Report) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Reconciliation {e(report.period.label)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Gusto against Dynamics 365 F&amp;O: {e(report.period.label)}</h1>",
        f"<section id='summary' class='{'ok' if report.agrees else 'breaks'}'>",
    ]
    first, *rest = summary_lines(report)
    parts.append(f"<h2>{e(first)}</h2><ul>")
    parts.extend(f"<li>{e(line.strip())}</li>" for line in rest)
    parts.append("</ul></section><section id='charts'>")
    for chart_id, title, uri in charts(report):
        parts.append(
            f"<img class='chart' id='{chart_id}' alt='{e(title)}' title='{e(title)}' src='{uri}'>"
        )
    parts.append("</section>")
    for section in sections(report):
        parts.append(f"<section id='section-{section.key}'><h2>{e(section.title)}</h2>")
        parts.append(f"<table class='sortable' id='table-{section.key}'><thead><tr>")
        parts.extend(f"<th>{e(c.title)}</th>" for c in section.columns)
        parts.append("</tr></thead><tbody>")
        for row in section.rows:
            parts.append(f"<tr class='{'break' if row.is_break else 'ok'}'>")
            for column in section.columns:
                value = column.get(row)
                if isinstance(value, Decimal | int):
                    parts.append(f"<td class='num'>{e(_money(value))}</td>")
                else:
                    parts.append(f"<td>{e(_plain(value))}</td>")
            parts.append("</tr>")
        parts.append("</tbody></table></section>")
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "".join(parts)


def write_html(report: Report, directory: Path) -> Path:
    path = directory / f"reconcile-{report.period.label}.html"
    path.write_text(to_html(report), encoding="utf-8")
    return path


def dumps(report: Report) -> str:
    return json.dumps(to_json(report), indent=2)
