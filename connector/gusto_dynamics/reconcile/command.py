"""`gusto-dynamics reconcile`: is everything Gusto paid in a period in the F&O ledger, once,
on the right accounts and dimensions, and does the headcount agree?

Exit codes, for a scheduler that runs it after each payroll and alerts: 0 everything agrees,
1 at least one break (each names its fix), 2 nothing could be compared (a system could not be
read, or the command's own settings are wrong).
"""

from __future__ import annotations

import argparse
import calendar as month_calendar
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from gd_vault import VaultError
from target_dynamics_fo.fo import ODataClient
from target_dynamics_fo.mapping import CompanyMapping, MappingError, load_mapping
from target_dynamics_fo.settings import SettingsError, connection_from_config

from gusto_dynamics.calendar import connected_companies
from gusto_dynamics.cli import CommandError, emit, open_vault
from gusto_dynamics.company_reader import CompanyReader
from gusto_dynamics.reconcile import render
from gusto_dynamics.reconcile.fo_side import read_fo
from gusto_dynamics.reconcile.logic import Period, reconcile
from gusto_dynamics.reconcile.sources import build_inputs, read_audit, read_gusto

EXIT_AGREES = 0
EXIT_BREAKS = 1
EXIT_UNREADABLE = 2
DEFAULT_MAPPING = Path("config/mapping.yml")
DEFAULT_AUDIT_DB = Path(".gusto-dynamics/audit.sqlite")
DEFAULT_OUT = Path(".gusto-dynamics/reports")
# Read-only and rerun by the scheduler: give up quickly rather than wait out a long outage.
FO_DEADLINE_SECONDS = 30.0
FO_RETRIES = 3


class UnreadableError(Exception):
    """A system could not be read: exit 2 with the message (which names the fix)."""


def parse_period(args: argparse.Namespace) -> Period:
    if args.period:
        try:
            start = dt.date.fromisoformat(f"{args.period}-01")
        except ValueError:
            raise CommandError(f"--period {args.period!r} is not YYYY-MM") from None
        last = month_calendar.monthrange(start.year, start.month)[1]
        return Period(start, start.replace(day=last))
    if not (args.date_from and args.date_to):
        raise CommandError("give --period YYYY-MM, or both --from and --to (YYYY-MM-DD)")
    try:
        start, end = dt.date.fromisoformat(args.date_from), dt.date.fromisoformat(args.date_to)
    except ValueError:
        raise CommandError("--from and --to must be dates like 2026-11-01") from None
    if end < start:
        raise CommandError("--to is before --from")
    return Period(start, end)


def _companies(
    args: argparse.Namespace, data: dict[str, Any], mapping: Any
) -> list[CompanyMapping]:
    connected = [uuid for uuid, _name in connected_companies(data)]
    if args.company:
        unknown = sorted(set(args.company) - set(connected))
        if unknown:
            raise CommandError(
                f"company {', '.join(unknown)} is not connected; connect it with "
                "`gusto-dynamics connect gusto`"
            )
        connected = [c for c in connected if c in set(args.company)]
    chosen = []
    for uuid in connected:
        try:
            company = mapping.company(uuid)
        except MappingError:
            emit(f"note: company {uuid} is connected but not in the mapping; skipped", sys.stderr)
            continue
        if args.legal_entity and company.legal_entity.lower() not in {
            le.lower() for le in args.legal_entity
        }:
            continue
        chosen.append(company)
    if not chosen:
        raise CommandError(
            "no connected and mapped Gusto company matches --company/--legal-entity; check "
            "`gusto-dynamics status` and the mapping file"
        )
    return chosen


def _fo_client(args: argparse.Namespace, vault_path: Path, data: dict[str, Any]) -> ODataClient:
    environments = sorted((data.get("dynamics") or {}).get("environments") or {})
    name = args.environment or (environments[0] if len(environments) == 1 else None)
    if not name:
        raise CommandError(
            "name the Dynamics environment with --environment "
            f"(stored: {', '.join(environments) or 'none'}); connect one with "
            "`gusto-dynamics connect dynamics`"
        )
    try:
        connection = connection_from_config(
            {"credentials_store": str(vault_path), "dynamics_environment": name}
        )
    except SettingsError as exc:
        raise CommandError(str(exc)) from None
    return ODataClient(
        connection.environment_url,
        connection.token_provider(),
        connection.ca_bundle,
        FO_DEADLINE_SECONDS,
        FO_RETRIES,
        backoff_base_seconds=0.5,
    )


def _run(args: argparse.Namespace) -> int:
    # Anything that stops the comparison exits 2, so that 1 always means "breaks to fix".
    try:
        return _reconcile(args)
    except (CommandError, VaultError) as exc:
        emit(f"error: {exc}", sys.stderr)
        return EXIT_UNREADABLE


def _reconcile(args: argparse.Namespace) -> int:
    period = parse_period(args)
    try:
        mapping = load_mapping(args.mapping)
    except (MappingError, OSError) as exc:
        raise CommandError(f"cannot use the mapping file {args.mapping}: {exc}") from None
    vault = open_vault(args)
    data = vault.read()
    companies = _companies(args, data, mapping)
    client = _fo_client(args, Path(vault.path), data)
    try:
        try:
            fo = read_fo(client, companies, period)
        except Exception as exc:
            raise UnreadableError(
                f"could not read Dynamics 365 F&O at {client.environment_url}: "
                f"{type(exc).__name__}: {exc}. Nothing was compared. Run reconcile again when "
                "F&O answers; if the credentials were revoked, reconnect with "
                "`gusto-dynamics connect dynamics`."
            ) from exc
        gusto = []
        for company in companies:
            try:
                reader = CompanyReader(vault, company.company_uuid)
                gusto.append(read_gusto(reader, company, period, fo.dimension_names))
            except Exception as exc:
                raise UnreadableError(
                    f"could not read Gusto for company {company.company_uuid}: "
                    f"{type(exc).__name__}: {exc}. Nothing was compared. Run reconcile again "
                    "when Gusto answers; if the grant was revoked, reconnect with "
                    "`gusto-dynamics connect gusto`."
                ) from exc
    except UnreadableError as exc:
        emit(f"error: {exc}", sys.stderr)
        return EXIT_UNREADABLE
    audit_db = Path(args.audit_db) if args.audit_db else None
    report = reconcile(build_inputs(period, mapping, gusto, fo, read_audit(audit_db)))
    _output(args, report)
    return EXIT_AGREES if report.agrees else EXIT_BREAKS


def _output(args: argparse.Namespace, report: Any) -> None:
    out = Path(args.out) if args.out else None
    if args.format == "table":
        emit(
            render.to_table(
                report,
                only_breaks_for=frozenset() if args.all else frozenset({"accounts", "people"}),
            )
        )
    elif args.format == "json":
        emit(render.dumps(report))
    if args.format in ("csv", "html") or out is not None:
        directory = out or DEFAULT_OUT
        directory.mkdir(parents=True, exist_ok=True)
        if args.format == "csv":
            for path in render.write_csv(report, directory):
                emit(f"CSV: {path}", sys.stderr)
        path = render.write_html(report, directory)
        emit(f"HTML report: {path}", sys.stderr if args.format != "html" else None)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "reconcile",
        help="reconcile a period of Gusto payrolls against the F&O ledger (exit 0/1/2)",
        description=(
            "Read Gusto (with the stored grants) and F&O (read only) afresh for a period by "
            "check date and report payrolls, accounts x dimensions, headcount and contractor "
            "payments. Exit 0 when everything agrees, 1 when there is a break (each names its "
            "fix), 2 when a system could not be read."
        ),
    )
    when = parser.add_argument_group("period (by check date)")
    when.add_argument("--period", metavar="YYYY-MM", help="a calendar month")
    when.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="first day")
    when.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="last day")
    parser.add_argument(
        "--company", action="append", metavar="UUID", help="only this Gusto company (repeatable)"
    )
    parser.add_argument(
        "--legal-entity",
        action="append",
        metavar="ID",
        help="only companies mapped to this F&O legal entity, e.g. rsc (repeatable)",
    )
    parser.add_argument(
        "--format", choices=("table", "csv", "json", "html"), default="table", help="default: table"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help=f"write the HTML report (and CSV files) here (default for csv/html: {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--mapping",
        default=str(DEFAULT_MAPPING),
        metavar="PATH",
        help=f"the target's mapping file (default: {DEFAULT_MAPPING})",
    )
    parser.add_argument(
        "--environment",
        metavar="NAME",
        help="Dynamics environment in the store (default: the only one)",
    )
    parser.add_argument(
        "--audit-db",
        default=str(DEFAULT_AUDIT_DB),
        metavar="PATH",
        help=(
            "the target's audit trail, for what the connector thinks it did "
            f"(default: {DEFAULT_AUDIT_DB})"
        ),
    )
    parser.add_argument(
        "--all", action="store_true", help="table: list agreeing account and people rows too"
    )
    parser.set_defaults(handler=_run)
