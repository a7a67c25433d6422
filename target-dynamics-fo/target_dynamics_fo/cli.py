"""target-dynamics-fo-audit: read the audit trail, and replay a payroll that failed.

    target-dynamics-fo-audit [--audit-db PATH] failures
    target-dynamics-fo-audit [--audit-db PATH] journals
    target-dynamics-fo-audit [--audit-db PATH] summary
    target-dynamics-fo-audit [--audit-db PATH] show PAYROLL_UUID
    target-dynamics-fo-audit replay PAYROLL_UUID --config CONFIG.json
    target-dynamics-fo-audit [--audit-db PATH] workers | vendors | invoices
    target-dynamics-fo-audit replay-payment PAYMENT_UUID --config CONFIG.json
    target-dynamics-fo-audit [--audit-db PATH] corrections
    target-dynamics-fo-audit corrections approve (PAYROLL_UUID | --all) [--config CONFIG.json]

``corrections`` lists the corrections staged for approval (``corrections_approval: manual``)
with their documents and the difference per account; ``corrections approve`` approves them:
posted by the next run, or at once when ``--config`` gives the Dynamics connection.

``replay`` rebuilds the journal from the payroll record stored in the audit trail with the
CURRENT mapping and posts it exactly once (the same journal number and hash checks as a run).
"""

# ruff: noqa: T201 - printing is what this command is for
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from target_dynamics_fo import reports
from target_dynamics_fo.audit import DEFAULT_AUDIT_DB, AuditSchemaTooNewError, AuditStore
from target_dynamics_fo.fo import DynamicsAuthError, ODataError
from target_dynamics_fo.mapping import MappingError, load_mapping
from target_dynamics_fo.payables import PayablesSync
from target_dynamics_fo.payrolls import PayrollProcessor
from target_dynamics_fo.posting import PostResult
from target_dynamics_fo.settings import SettingsError, build_client, correction_policy


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="target-dynamics-fo-audit",
        description="Read the target-dynamics-fo audit trail; replay a failed payroll.",
    )
    parser.add_argument(
        "--audit-db",
        help=f"audit SQLite file (default: the config's audit_db, else {DEFAULT_AUDIT_DB})",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("failures", help="payrolls whose latest outcome needs a person, with the fix")
    sub.add_parser("journals", help="journals in Dynamics: number, legal entity, date, totals")
    sub.add_parser(
        "summary", help="payrolls by latest outcome, records received per stream, requests made"
    )
    show = sub.add_parser("show", help="everything recorded about one payroll")
    show.add_argument("payroll_uuid")
    replay = sub.add_parser("replay", help="rebuild with the current mapping and post once")
    replay.add_argument("payroll_uuid")
    replay.add_argument("--config", required=True, help="the target's config JSON file")
    sub.add_parser("workers", help="workers and employments created, updated or ended")
    sub.add_parser("vendors", help="vendors created or updated for Gusto contractors")
    sub.add_parser("invoices", help="contractor payments: AP invoice journal and outcome")
    payment = sub.add_parser(
        "replay-payment", help="rebuild a contractor payment's invoice and post it once"
    )
    payment.add_argument("payment_uuid")
    payment.add_argument("--config", required=True, help="the target's config JSON file")
    corrections = sub.add_parser(
        "corrections",
        help="corrections staged for approval, with the difference per account; approve them",
    )
    corrections.add_argument("action", nargs="?", choices=("list", "approve"), default="list")
    corrections.add_argument("payroll_uuid", nargs="?")
    corrections.add_argument("--all", action="store_true", help="approve every pending one")
    corrections.add_argument(
        "--config", help="the target's config JSON file: post the approved ones at once"
    )
    return parser


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        return _main(argv, out)
    except BrokenPipeError:
        # The reader stopped early (`... | head`): no traceback. Python's own recipe: point
        # stdout at /dev/null so the flush at exit does not fail again, and exit 1.
        if out is sys.stdout:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 1


def _main(argv: list[str] | None, out: TextIO) -> int:
    args = _parser().parse_args(argv)
    config: dict[str, Any] = {}
    if getattr(args, "config", None):
        try:
            config = json.loads(Path(args.config).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"cannot read config {args.config}: {exc}", file=sys.stderr)
            return 2
    db = args.audit_db or config.get("audit_db") or DEFAULT_AUDIT_DB
    approving = args.command == "corrections" and args.action == "approve"
    if approving and bool(args.payroll_uuid) == bool(args.all):
        print("corrections approve needs a PAYROLL_UUID or --all (not both)", file=sys.stderr)
        return 2
    if args.command not in ("replay", "replay-payment") and not Path(db).exists():
        print(f"no audit trail at {db}; pass --audit-db", file=sys.stderr)
        return 2
    try:
        store = AuditStore(db)
    except AuditSchemaTooNewError as exc:
        # Written by a newer release: reading it with this code could misreport what posted.
        print(exc, file=sys.stderr)
        return 2
    with store:
        if args.command == "failures":
            return reports.failures(store, out)
        if args.command == "journals":
            return reports.journals(store, out)
        if args.command == "summary":
            return reports.summary(store, out)
        if args.command == "show":
            return reports.show(store, args.payroll_uuid, out)
        if args.command in ("workers", "vendors"):
            return reports.people(store, args.command, out)
        if args.command == "invoices":
            return reports.invoices(store, out)
        if args.command == "replay-payment":
            return _replay_payment(store, config, args.payment_uuid, out)
        if args.command == "corrections":
            if args.action == "approve":
                return _approve(store, config, args.payroll_uuid, out)
            return reports.corrections(store, out)
        return _replay(store, config, args.payroll_uuid, out)


def _report(headline: str, result: PostResult, out: TextIO) -> int:
    """A replay's outcome with its reason and fix; exit status 1 when it failed."""
    print(headline, file=out)
    if result.reason:
        print(f"  {result.reason}", file=out)
    if result.fix:
        print(f"  fix: {result.fix}", file=out)
    return 1 if result.failed else 0


# What a replay reports as its failure (exit 1) rather than a traceback.
REPLAY_ERRORS = (MappingError, SettingsError, DynamicsAuthError, ODataError, LookupError)


def _replay_config(config: dict[str, Any]) -> bool:
    """Log a replay's progress to stderr; whether the config can drive one."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    if not config.get("mapping_file"):
        print("the config has no mapping_file", file=sys.stderr)
        return False
    return True


def _replay_payment(
    store: AuditStore, config: dict[str, Any], payment_uuid: str, out: TextIO
) -> int:
    def replay() -> PostResult:
        processor = _processor(store, config)
        payables = PayablesSync(
            processor.mapping,
            store,
            processor.client,
            lambda: processor.reference,
            dry_run=processor.dry_run,
        )
        return payables.replay(payment_uuid)

    return _replayed(
        f"contractor payment {payment_uuid}",
        config,
        replay,
        lambda r: (
            f"(invoice journal {r.journal_batch_number or '-'}, vendor {r.vendor_account or '-'})"
        ),
        out,
    )


def _replay(store: AuditStore, config: dict[str, Any], payroll_uuid: str, out: TextIO) -> int:
    return _replayed(
        f"payroll {payroll_uuid}",
        config,
        lambda: _processor(store, config).replay(payroll_uuid),
        lambda r: f"(journal {r.journal_batch_number or '-'} in {r.legal_entity or '-'})",
        out,
    )


def _processor(store: AuditStore, config: dict[str, Any]) -> PayrollProcessor:
    return PayrollProcessor(
        load_mapping(config["mapping_file"]),
        store,
        build_client(config, store),
        dry_run=bool(config.get("dry_run")),
        dry_run_output=config.get("dry_run_output"),
        corrections=correction_policy(config),
    )


def _replayed(
    what: str,
    config: dict[str, Any],
    replay: Callable[[], PostResult],
    where: Callable[[PostResult], str],
    out: TextIO,
) -> int:
    """Run one replay; its outcome with reason and fix, or why it could not run."""
    if not _replay_config(config):
        return 2
    try:
        result = replay()
    except REPLAY_ERRORS as exc:
        print(f"replay of {what} failed: {exc}", file=sys.stderr)
        return 1
    return _report(f"{what}: {result.outcome} {where(result)}", result, out)


def _approve(
    store: AuditStore, config: dict[str, Any], payroll_uuid: str | None, out: TextIO
) -> int:
    """Approve one (or every) pending correction; post at once when --config is given."""
    wanted = (
        [payroll_uuid]
        if payroll_uuid
        else sorted({str(r["payroll_uuid"]) for r in store.open_corrections()})
    )
    approved: list[str] = []
    for uuid in wanted:
        row = store.approve_correction(uuid)
        if row is None:
            print(
                f"payroll {uuid} has no correction waiting for approval (see "
                "`target-dynamics-fo-audit corrections`)",
                file=sys.stderr,
            )
            continue
        approved.append(uuid)
        print(
            f"approved correction {row['sequence']} of journal {row['original']} for payroll "
            f"{uuid}",
            file=out,
        )
    if not approved:
        return 1 if payroll_uuid else 0
    if not config:
        print(
            f"{len(approved)} correction(s) approved; the next run of the target posts them "
            "(or run this again with --config <target config> to post now).",
            file=out,
        )
        return 0
    status = 0
    for uuid in approved:
        status = max(status, _replay(store, config, uuid, out))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
