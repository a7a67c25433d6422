"""`gusto-dynamics calendar`: upcoming check dates and payroll deadlines, and the runs they imply.

Gusto's pay periods carry, per upcoming regular payroll, a check date and a payroll deadline (a
date; some API versions give a timestamp). A payroll is normally processed shortly before its
deadline, so the calendar plans a run two hours after the deadline, another on the check date
morning (late approvals, ``payroll.paid``), plus one daily catch-up for off-cycle payrolls and
anything a webhook missed. Tokens come from the tap's ``TokenManager`` (single-flight refresh,
rotated refresh token saved before first use), never from code of our own.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gusto_dynamics.cli import CommandError, emit, open_vault
from gusto_dynamics.company_reader import CalendarError, CompanyReader
from gusto_dynamics.runner import DEFAULT_COMMAND, shell_line

__all__ = [
    "CalendarError",
    "CompanyCalendar",
    "CompanyReader",
    "build_calendar",
    "connected_companies",
    "parse_deadline",
    "read_company_calendar",
    "register",
    "render_cron",
    "three_months_ahead",
]

logger = logging.getLogger(__name__)

# Gusto's pay periods endpoint refuses end dates more than 3 months ahead.
MAX_DAYS_AHEAD = 90
# Periods whose check date is still ahead may have ended up to a month ago (monthly schedules).
LOOKBACK_DAYS = 45
DEFAULT_DEADLINE_TIME = dtime(16, 0)
DEFAULT_TZ = "America/Los_Angeles"
AFTER_DEADLINE = timedelta(hours=2)
CHECK_DATE_RUN_TIME = dtime(6, 0)
CATCH_UP_TIME = dtime(5, 30)


@dataclass(frozen=True)
class UpcomingPayroll:
    company_uuid: str
    pay_schedule_uuid: str | None
    pay_schedule_name: str | None
    start_date: date
    end_date: date
    check_date: date
    deadline: datetime
    processed: bool
    payroll_uuid: str | None
    payroll_type: str | None


@dataclass(frozen=True)
class PlannedRun:
    at: datetime
    company_uuid: str
    reason: str


@dataclass
class CompanyCalendar:
    company_uuid: str
    company_name: str | None
    payrolls: list[UpcomingPayroll] = field(default_factory=list)
    runs: list[PlannedRun] = field(default_factory=list)
    error: str | None = None


def _date(value: Any, what: str, company_uuid: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise CalendarError(
            f"company {company_uuid}: pay period has an invalid {what} {value!r}"
        ) from None


def parse_deadline(value: Any, tz: ZoneInfo, deadline_time: dtime, company_uuid: str) -> datetime:
    """A date-only deadline means "by ``deadline_time`` on that day" in ``tz``."""
    text = str(value or "")
    if "T" in text:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise CalendarError(
                f"company {company_uuid}: invalid payroll_deadline {value!r}"
            ) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    return datetime.combine(_date(text, "payroll_deadline", company_uuid), deadline_time, tz)


def build_calendar(
    company_uuid: str,
    company_name: str | None,
    schedules: Iterable[Mapping[str, Any]],
    periods: Iterable[Mapping[str, Any]],
    *,
    today: date,
    days: int,
    tz: ZoneInfo,
    deadline_time: dtime = DEFAULT_DEADLINE_TIME,
) -> CompanyCalendar:
    """Pure: the upcoming payrolls in [today, today+days] and the runs they call for."""
    names = {
        str(s.get("uuid")): str(s.get("custom_name") or s.get("name") or s.get("frequency") or "")
        for s in schedules
    }
    horizon = today + timedelta(days=days)
    calendar = CompanyCalendar(company_uuid, company_name)
    seen: set[tuple[str | None, date]] = set()
    for period in periods:
        payroll = period.get("payroll") or {}
        if not isinstance(payroll, Mapping) or not payroll.get("check_date"):
            continue
        check_date = _date(payroll["check_date"], "check_date", company_uuid)
        schedule_uuid = period.get("pay_schedule_uuid")
        key = (str(schedule_uuid) if schedule_uuid else None, check_date)
        if not today <= check_date <= horizon or key in seen:
            continue
        seen.add(key)
        deadline_value = payroll.get("payroll_deadline") or (check_date - timedelta(days=2))
        calendar.payrolls.append(
            UpcomingPayroll(
                company_uuid=company_uuid,
                pay_schedule_uuid=key[0],
                pay_schedule_name=names.get(key[0] or ""),
                start_date=_date(period.get("start_date"), "start_date", company_uuid),
                end_date=_date(period.get("end_date"), "end_date", company_uuid),
                check_date=check_date,
                deadline=parse_deadline(deadline_value, tz, deadline_time, company_uuid),
                processed=bool(payroll.get("processed")),
                payroll_uuid=payroll.get("payroll_uuid"),
                payroll_type=payroll.get("payroll_type"),
            )
        )
    calendar.payrolls.sort(key=lambda p: (p.check_date, p.pay_schedule_name or ""))
    runs: dict[datetime, PlannedRun] = {}
    for p in calendar.payrolls:
        label = f"check date {p.check_date.isoformat()}"
        if p.pay_schedule_name:
            label += f", {p.pay_schedule_name}"
        for at, why in (
            (p.deadline + AFTER_DEADLINE, f"2 h after the payroll deadline ({label})"),
            (datetime.combine(p.check_date, CHECK_DATE_RUN_TIME, tz), f"check date ({label})"),
        ):
            at_utc = at.astimezone(UTC)
            if at_utc not in runs:
                runs[at_utc] = PlannedRun(at_utc, company_uuid, why)
    calendar.runs = sorted(runs.values(), key=lambda r: r.at)
    return calendar


def three_months_ahead(today: date) -> date:
    """Gusto's limit for a pay periods ``end_date`` (same day three months on, clamped)."""
    month = today.month + 3
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for day in (today.day, 30, 29, 28):
        try:
            return date(year, month, min(today.day, day))
        except ValueError:
            continue
    return date(year, month, 28)


def read_company_calendar(
    vault: Any,
    company_uuid: str,
    company_name: str | None,
    *,
    today: date,
    days: int,
    tz: ZoneInfo,
    deadline_time: dtime = DEFAULT_DEADLINE_TIME,
    api_url: str | None = None,
) -> CompanyCalendar:
    try:
        reader = CompanyReader(vault, company_uuid, api_url=api_url)
        base = f"/v1/companies/{company_uuid}"
        schedules = reader.get_all(base + "/pay_schedules")
        periods = reader.get_all(
            base + "/pay_periods",
            {
                "start_date": (today - timedelta(days=LOOKBACK_DAYS)).isoformat(),
                "end_date": min(
                    today + timedelta(days=days), three_months_ahead(today)
                ).isoformat(),
            },
        )
        return build_calendar(
            company_uuid,
            company_name,
            schedules,
            periods,
            today=today,
            days=days,
            tz=tz,
            deadline_time=deadline_time,
        )
    except Exception as exc:
        # One company's problem (revoked grant, missing scope) must not hide the others.
        logger.debug("calendar for %s failed", company_uuid, exc_info=True)
        return CompanyCalendar(company_uuid, company_name, error=f"{type(exc).__name__}: {exc}")


def connected_companies(data: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    companies = data.get("gusto", {}).get("companies", {}) or {}
    return sorted(
        ((str(uuid), (rec or {}).get("company_name")) for uuid, rec in companies.items()),
        key=lambda c: (c[1] or "", c[0]),
    )


# -- output ------------------------------------------------------------------------------------


def to_json(calendars: list[CompanyCalendar], tz: ZoneInfo, catch_up: datetime) -> dict[str, Any]:
    return {
        "timezone": str(tz),
        "daily_catch_up": catch_up.astimezone(tz).strftime("%H:%M"),
        "companies": [
            {
                "company_uuid": c.company_uuid,
                "company_name": c.company_name,
                "error": c.error,
                "payrolls": [
                    {
                        "check_date": p.check_date.isoformat(),
                        "payroll_deadline": p.deadline.isoformat(),
                        "pay_period": [p.start_date.isoformat(), p.end_date.isoformat()],
                        "pay_schedule_uuid": p.pay_schedule_uuid,
                        "pay_schedule_name": p.pay_schedule_name,
                        "processed": p.processed,
                        "payroll_uuid": p.payroll_uuid,
                        "payroll_type": p.payroll_type,
                    }
                    for p in c.payrolls
                ],
                "runs": [{"at": r.at.isoformat(), "reason": r.reason} for r in c.runs],
            }
            for c in calendars
        ],
    }


def render_text(calendars: list[CompanyCalendar], tz: ZoneInfo, days: int) -> list[str]:
    def local(at: datetime) -> str:
        return at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")

    lines = [f"Pay calendar for the next {days} days (times in {tz})."]
    for c in calendars:
        lines.append("")
        lines.append(f"{c.company_name or '(unnamed company)'}  {c.company_uuid}")
        if c.error:
            lines.append(f"  could not read the pay calendar: {c.error}")
            continue
        if not c.payrolls:
            lines.append("  no regular payroll with a check date in this window")
            continue
        lines.append(f"  {'check date':<11} {'deadline':<21} {'pay period':<23} schedule / status")
        for p in c.payrolls:
            status = "processed" if p.processed else "not processed yet"
            lines.append(
                f"  {p.check_date.isoformat():<11} {local(p.deadline):<21} "
                f"{p.start_date.isoformat()}..{p.end_date.isoformat()}  "
                f"{p.pay_schedule_name or '-'} / {status}"
            )
        lines.append("  planned runs:")
        lines.extend(f"    {local(r.at):<21} {r.reason}" for r in c.runs)
    lines.append("")
    lines.append(
        f"Plus a daily catch-up run at {CATCH_UP_TIME.strftime('%H:%M')} ({tz}) for off-cycle "
        "payrolls and anything a webhook missed. Print a crontab with --cron."
    )
    return lines


def _cron_escape(command: str) -> str:
    # In a crontab an unescaped % ends the command and feeds the rest to stdin.
    return command.replace("%", "\\%")


def render_cron(
    calendars: list[CompanyCalendar],
    *,
    command: str,
    project_dir: Path,
    cron_tz: ZoneInfo,
    catch_up_tz: ZoneInfo,
    user: str | None,
    log_file: str,
    now: datetime,
) -> list[str]:
    who = f"{user} " if user else ""
    prefix = f"cd {shlex.quote(str(project_dir))} && "
    suffix = f" >> {shlex.quote(log_file)} 2>&1"
    lines = [
        f"# gusto-dynamics pay-calendar runs, generated {now.astimezone(UTC).isoformat()}",
        f"# Times are in {cron_tz}: set the cron daemon's timezone (or CRON_TZ) to match.",
        "# Dated lines would fire again next year: regenerate this block at least monthly,",
        "# e.g. from the daily line at the end.",
    ]
    for c in calendars:
        for run in c.runs:
            at = run.at.astimezone(cron_tz)
            if at < now:
                continue
            line = shell_line(command, c.company_uuid)
            lines.append(f"# {c.company_name or c.company_uuid}: {run.reason}")
            lines.append(
                f"{at.minute} {at.hour} {at.day} {at.month} * {who}"
                + _cron_escape(prefix + line + suffix)
            )
    catch_up = datetime.combine(now.astimezone(catch_up_tz).date(), CATCH_UP_TIME, catch_up_tz)
    catch_up = catch_up.astimezone(cron_tz)
    lines.append("# daily catch-up for every connected company")
    lines.append(
        f"{catch_up.minute} {catch_up.hour} * * * {who}"
        + _cron_escape(prefix + shell_line(command, None) + suffix)
    )
    return lines


# -- command -----------------------------------------------------------------------------------


def _zone(name: str, option: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CommandError(f"{option} {name!r} is not a known IANA timezone") from None


def _run(args: argparse.Namespace) -> int:
    if not 1 <= args.days <= MAX_DAYS_AHEAD:
        raise CommandError(f"--days must be between 1 and {MAX_DAYS_AHEAD} (Gusto's limit)")
    tz = _zone(args.tz, "--tz")
    try:
        deadline_time = dtime.fromisoformat(args.deadline_time)
    except ValueError:
        raise CommandError(f"--deadline-time {args.deadline_time!r} is not HH:MM") from None
    vault = open_vault(args)
    companies = connected_companies(vault.read())
    if args.company:
        companies = [c for c in companies if c[0] in set(args.company)]
    if not companies:
        raise CommandError(
            "no connected Gusto company (or none matching --company); connect one with "
            "`gusto-dynamics connect gusto`"
        )
    now = datetime.now(UTC).astimezone(tz)
    if args.as_of:
        now = datetime.combine(args.as_of, now.timetz())  # the same time of day, on that date
    today = now.date()
    calendars = [
        read_company_calendar(
            vault,
            uuid,
            name,
            today=today,
            days=args.days,
            tz=tz,
            deadline_time=deadline_time,
            api_url=args.api_url,
        )
        for uuid, name in companies
    ]
    catch_up = datetime.combine(today, CATCH_UP_TIME, tz)
    if args.cron:
        lines = render_cron(
            calendars,
            command=args.command,
            project_dir=Path(args.project_dir).expanduser().absolute(),
            cron_tz=_zone(args.cron_tz, "--cron-tz"),
            catch_up_tz=tz,
            user=args.cron_user,
            log_file=args.cron_log,
            now=now,
        )
    elif args.json:
        lines = [json.dumps(to_json(calendars, tz, catch_up), indent=2)]
    else:
        lines = render_text(calendars, tz, args.days)
    for line in lines:
        emit(line)
    failed = [c for c in calendars if c.error]
    return 1 if failed and len(failed) == len(calendars) else 0


def _as_of_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-12-03") from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "calendar", help="upcoming check dates and payroll deadlines, and the runs they imply"
    )
    p.add_argument("--days", type=int, default=45, help="days ahead (default 45, max 90)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--cron", action="store_true", help="print a crontab block for the runs")
    p.add_argument("--company", action="append", metavar="UUID", help="only this company")
    p.add_argument("--tz", default=DEFAULT_TZ, help=f"payroll timezone (default {DEFAULT_TZ})")
    p.add_argument(
        "--deadline-time",
        default=DEFAULT_DEADLINE_TIME.strftime("%H:%M"),
        help="time of day of a date-only payroll deadline, in --tz (default 16:00)",
    )
    p.add_argument("--api-url", help="Gusto API base URL (default: stored per company)")
    p.add_argument(
        "--as-of",
        type=_as_of_date,
        help="plan as if today were this date, YYYY-MM-DD (default: today in --tz); Gusto "
        "still limits the look-ahead to three months after its own today",
    )
    p.add_argument(
        "--command",
        default=DEFAULT_COMMAND,
        help=f"pipeline command for --cron (default '{DEFAULT_COMMAND}')",
    )
    p.add_argument("--project-dir", default=".", help="Meltano project directory for --cron")
    p.add_argument("--cron-tz", default="UTC", help="timezone of the cron daemon (default UTC)")
    p.add_argument("--cron-user", help="add a user column (for /etc/cron.d files)")
    p.add_argument(
        "--cron-log",
        default=".gusto-dynamics/cron-runs.log",
        help="file the cron runs append to (relative to --project-dir)",
    )
    p.set_defaults(handler=_run)
