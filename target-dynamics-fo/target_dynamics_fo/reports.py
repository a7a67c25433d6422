"""The read-only reports of ``target-dynamics-fo-audit``: failures, journals, summary, one
payroll, people, invoices and the corrections waiting for approval, printed from the trail."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import TextIO

from target_dynamics_fo import audit as outcomes
from target_dynamics_fo.audit import AuditStore
from target_dynamics_fo.ledger import parse_amount
from target_dynamics_fo.payrolls import fetch_id_of


def failures(store: AuditStore, out: TextIO) -> int:
    rows = store.failures()
    waiting = store.open_corrections()
    if waiting:
        # Not failures (a person decides), but never to be missed at month-end.
        print(
            f"{len(waiting)} correction(s) of posted payrolls wait for approval or the next run: "
            "see `target-dynamics-fo-audit corrections`",
            file=out,
        )
    other = _other_failures(store, out) + _awaiting(store, out)
    if not rows and not other:
        print(
            "No failures: every payroll and contractor payment seen was posted, already "
            "posted or skipped.",
            file=out,
        )
        return 0
    for row in rows:
        _failure(
            f"{row['outcome'].upper()}  payroll {row['payroll_uuid']}  company "
            f"{row['company_uuid']}  journal {row['journal_batch_number'] or '-'}  at {row['at']}",
            row["reason"],
            row["fix"],
            out,
        )
    return 1


def _awaiting(store: AuditStore, out: TextIO) -> int:
    """Payrolls and payments stored by a run that stopped before they reached an outcome."""
    why = (
        "stored by a run that stopped (or could not reach Dynamics) before it had an outcome; "
        "it may or may not be in Dynamics yet"
    )
    approved = store.approved_corrections()
    awaiting = [
        (
            f"NO OUTCOME  payroll {row['payroll_uuid']}  company {row['company_uuid']}  check "
            f"date {row['check_date']}  stored at {row['received_at']}",
            "its correction was approved and waits for the next run to post it"
            if row["payroll_uuid"] in approved
            else why,
            ("replay", row["payroll_uuid"]),
        )
        for row in store.awaiting_payrolls()
    ] + [
        (
            f"NO OUTCOME  contractor payment {row['payment_uuid']}  contractor "
            f"{row['contractor_uuid']}  date {row['payment_date']}  stored at {row['received_at']}",
            why,
            ("replay-payment", row["payment_uuid"]),
        )
        for row in store.awaiting_payments()
    ]
    for what, reason, (command, uuid) in awaiting:
        _failure(what, reason, outcomes.AWAITING_FIX.format(command=command, uuid=uuid), out)
    return len(awaiting)


def _failure(headline: str, why: str | None, fix: str | None, out: TextIO) -> None:
    print(headline, file=out)
    print(f"  why: {why}", file=out)
    if fix:
        print(f"  fix: {fix}", file=out)


def _other_failures(store: AuditStore, out: TextIO) -> int:
    """Contractor payments, workers and vendors whose latest outcome needs a person."""
    count = 0
    for row in store.latest_payment_outcomes():
        if row["outcome"] in outcomes.FAILURE_OUTCOMES:
            count += 1
            _failure(
                f"{row['outcome'].upper()}  contractor payment {row['payment_uuid']}  contractor "
                f"{row['contractor_uuid']}  invoice journal {row['journal_batch_number'] or '-'}"
                f"  at {row['at']}",
                row["reason"],
                row["fix"],
                out,
            )
    for kind in ("worker", "employment", "vendor"):
        for row in store.latest_people_decisions(kind):
            if row["outcome"] == "failed":
                count += 1
                _failure(
                    f"FAILED  {kind} {row['dynamics_key']}  gusto {row['gusto_uuid']}  "
                    f"at {row['at']}",
                    row["detail"],
                    row["fix"],
                    out,
                )
    return count


def _table(
    header: tuple[str, ...],
    rows: list[tuple[str, ...]],
    out: TextIO,
    *,
    right_from: int | None = None,
) -> None:
    """Aligned columns; the columns from ``right_from`` on (amounts, counts) flush right."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    for line in (header, *rows):
        cells = [
            str(c).rjust(w) if right_from is not None and i >= right_from else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        print("  ".join(cells).rstrip(), file=out)


def people(store: AuditStore, command: str, out: TextIO) -> int:
    kinds = ("worker", "employment") if command == "workers" else ("vendor",)
    rows = [row for kind in kinds for row in store.latest_people_decisions(kind)]
    _table(
        ("kind", "dynamics", "legal entity", "last action", "outcome", "at", "detail"),
        [
            (
                row["kind"],
                row["dynamics_key"],
                row["legal_entity"] or "",
                row["action"],
                row["outcome"],
                row["at"],
                row["detail"] or "",
            )
            for row in rows
        ],
        out,
    )
    print(f"{len(rows)} {' and '.join(kinds)} record(s) acted on", file=out)
    return 0


def invoices(store: AuditStore, out: TextIO) -> int:
    rows = store.latest_payment_outcomes()
    _table(
        ("invoice journal", "legal entity", "date", "vendor", "invoice", "amount", "outcome"),
        [
            (
                row["journal_batch_number"] or "-",
                row["legal_entity"] or "-",
                row["invoice_date"] or "-",
                row["vendor_account"] or "-",
                row["invoice_number"] or "-",
                row["amount"] or "-",
                row["outcome"],
            )
            for row in rows
        ],
        out,
    )
    in_dynamics = [r for r in rows if r["outcome"] in (outcomes.POSTED, outcomes.ALREADY_POSTED)]
    total = sum((_amount(r["amount"]) for r in in_dynamics if r["amount"]), Decimal(0))
    print(
        f"{len(rows)} contractor payment(s); {len(in_dynamics)} invoice(s) in Dynamics "
        f"totalling {total}",
        file=out,
    )
    return 0


def journals(store: AuditStore, out: TextIO) -> int:
    rows = store.posted_journals()
    _table(
        ("journal", "legal entity", "check date", "lines", "total debit", "total credit"),
        [
            (
                row["journal_batch_number"],
                row["legal_entity"],
                row["trans_date"],
                str(row["line_count"]),
                row["total_debit"],
                row["total_credit"],
            )
            for row in rows
        ],
        out,
        right_from=3,
    )
    debit = sum((_amount(r["total_debit"]) for r in rows), Decimal(0))
    credit = sum((_amount(r["total_credit"]) for r in rows), Decimal(0))
    print(f"{len(rows)} journal(s); total debit {debit}, total credit {credit}", file=out)
    return 0


def summary(store: AuditStore, out: TextIO) -> int:
    counts = Counter(row["outcome"] for row in store.latest_outcomes())
    order = (
        outcomes.POSTED,
        outcomes.ALREADY_POSTED,
        outcomes.CORRECTED,
        outcomes.CORRECTION_STAGED,
        outcomes.CORRECTION_APPROVED,
        outcomes.DRY_RUN,
        outcomes.SKIPPED,
        outcomes.REFUSED,
        outcomes.CHANGED_AFTER_POSTING,
    )
    print(
        "payrolls by latest outcome: " + ", ".join(f"{counts.get(o, 0)} {o}" for o in order),
        file=out,
    )
    received = store.records_by_stream()
    print(
        "records received by stream: "
        + (", ".join(f"{stream} {n}" for stream, n in received.items()) or "none"),
        file=out,
    )
    print(
        f"stored without an outcome (settled by the next run): {len(store.awaiting_payrolls())} "
        f"payroll(s), {len(store.awaiting_payments())} contractor payment(s)",
        file=out,
    )
    print(f"requests to Dynamics recorded: {store.request_count()}", file=out)
    return 0


def show(store: AuditStore, payroll_uuid: str, out: TextIO) -> int:
    stored = store.load_payroll(payroll_uuid)
    if stored is None and not store.outcomes_for(payroll_uuid):
        print(f"payroll {payroll_uuid} is not in the audit trail", file=out)
        return 1
    if stored is not None:
        fetch_id = fetch_id_of(stored.record)
        if fetch_id is None:
            employees = len(stored.record.get("employee_compensations") or [])
            refs = f"employee refs stored {len(stored.employee_refs or [])}"
        else:
            # The split shape keeps the compensations as rows of their read, not in the record.
            employees = store.compensation_count(fetch_id)
            refs = f"compensations kept as rows of read {fetch_id}"
        print(
            f"payroll {payroll_uuid}  company {stored.company_uuid}  check date "
            f"{stored.check_date}  processed {stored.processed}  employees {employees}  {refs}",
            file=out,
        )
    for journal in store.journals_for(payroll_uuid):
        kind = "dry run" if journal["dry_run"] else "built"
        print(
            f"journal {journal['journal_batch_number']} ({kind} {journal['built_at']}) "
            f"{journal['legal_entity']} {journal['trans_date']} "
            f"hash {journal['content_hash'][:16]} "
            f"lines {journal['line_count']} debit {journal['total_debit']} credit "
            f"{journal['total_credit']}",
            file=out,
        )
        for line in store.journal_lines(int(journal["id"])):
            print(
                f"  {line['line_number']:>4} {line['account_display_value']:<28} "
                f"{line['debit']:>14} {line['credit']:>14}  {line['text']}",
                file=out,
            )
    for staged in store.corrections_for(payroll_uuid):
        print(
            f"correction {staged['sequence']} of journal {staged['original']}: {staged['status']} "
            f"(staged {staged['staged_at']}, approved {staged['approved_at'] or '-'}, posted "
            f"{staged['posted_at'] or '-'}); difference per account: "
            + ", ".join(
                f"{d['account']} {_amount(d['amount']):+}"
                for d in outcomes.from_json(staged["difference_json"])
            ),
            file=out,
        )
    for row in store.outcomes_for(payroll_uuid):
        print(f"{row['at']} {row['outcome']}: {row['reason'] or ''}", file=out)
        if row["fix"]:
            print(f"  fix: {row['fix']}", file=out)
    return 0


def corrections(store: AuditStore, out: TextIO) -> int:
    """Every staged correction not yet posted: its documents and difference per account."""
    rows = store.open_corrections()
    if not rows:
        print("No corrections are waiting: nothing is staged for approval.", file=out)
        return 0
    for row in rows:
        approved = row["status"] == outcomes.STAGE_APPROVED
        state = "APPROVED, posted by the next run" if approved else "PENDING approval"
        trail = store.outcomes_for(row["payroll_uuid"])
        last = trail[-1] if trail else None
        if approved and last is not None and last["outcome"] == outcomes.REFUSED:
            # Approved, but Dynamics refused the posting: no run retries it by itself.
            state = "APPROVED, posting REFUSED"
        print(
            f"{state}  payroll {row['payroll_uuid']}  company {row['company_uuid']}  legal "
            f"entity {row['legal_entity']}  correction {row['sequence']} of journal "
            f"{row['original']} ({row['what']})  staged {row['staged_at']}",
            file=out,
        )
        for doc in outcomes.from_json(row["documents_json"]):
            print(
                f"  {doc['description']}: journal {doc['journal_batch_number']} on "
                f"{doc['trans_date']}, {len(doc['lines'])} lines, debit {doc['total_debit']} "
                f"credit {doc['total_credit']}",
                file=out,
            )
        difference = outcomes.from_json(row["difference_json"])
        print("  difference per account (debit +, credit -):", file=out)
        for item in difference:
            print(f"    {item['account']:<30} {_amount(item['amount']):>+14}", file=out)
        if not difference:
            print("    none", file=out)
        if state == "APPROVED, posting REFUSED" and last is not None:
            print(f"  refused: {last['reason']}", file=out)
            print(f"  fix: {last['fix']}", file=out)
        print(
            f"  approve: target-dynamics-fo-audit corrections approve {row['payroll_uuid']}"
            + (" --config <target config> (posts it now)" if approved else ""),
            file=out,
        )
    pending = sum(1 for r in rows if r["status"] == outcomes.STAGE_PENDING)
    print(f"{len(rows)} correction(s) not yet posted, {pending} pending approval", file=out)
    return 0


def _amount(value: object) -> Decimal:
    """An amount the audit store wrote (text, or a number of its JSON), exactly."""
    # Up to F&O's six places: the store holds what Dynamics holds.
    return parse_amount(value, where="audit store amount", max_places=6)
