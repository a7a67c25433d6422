"""Pay calendar: pure planning, cron output, and the command against the Gusto sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from gd_vault import Vault, generate_key
from gusto_dynamics import cli
from gusto_dynamics.calendar import (
    CalendarError,
    build_calendar,
    parse_deadline,
    render_cron,
    three_months_ahead,
)

# The Gusto sandbox's pinned "today": no test depends on the real date.
SANDBOX_TODAY = date(2026, 12, 3)
AS_OF = ("--as-of", SANDBOX_TODAY.isoformat())
LA = ZoneInfo("America/Los_Angeles")
COMPANY = "5df911a0-e8e9-412d-8aaf-a46ad193dd96"
SCHEDULE = "2097fe08-407a-46d7-b35c-a32402a2355e"


def period(start: str, end: str, check: str, deadline: str, processed: bool) -> dict[str, Any]:
    return {
        "start_date": start,
        "end_date": end,
        "pay_schedule_uuid": SCHEDULE,
        "payroll": {
            "payroll_uuid": "bfd8aad4-9c3f-4ca3-b072-a1b2b3ea689f",
            "check_date": check,
            "processed": processed,
            "payroll_deadline": deadline,
            "payroll_type": "regular",
        },
    }


SCHEDULES = [
    {"uuid": SCHEDULE, "frequency": "Twice per month", "name": "Field", "custom_name": None}
]


def test_plans_a_run_after_the_deadline_and_on_the_check_date() -> None:
    periods = [
        period("2026-11-01", "2026-11-15", "2026-11-13", "2026-11-11", True),  # past
        period("2026-11-16", "2026-11-30", "2026-11-30", "2026-11-26", False),
        period("2026-12-01", "2026-12-15", "2026-12-15", "2026-12-11", False),
        period("2027-03-01", "2027-03-15", "2027-03-15", "2027-03-11", False),  # beyond window
    ]
    cal = build_calendar(
        COMPANY, "Summit", SCHEDULES, periods, today=date(2026, 11, 28), days=30, tz=LA
    )
    assert [p.check_date for p in cal.payrolls] == [date(2026, 11, 30), date(2026, 12, 15)]
    assert cal.payrolls[0].deadline == datetime(2026, 11, 26, 16, 0, tzinfo=LA)
    runs = [(r.at.astimezone(LA).replace(tzinfo=None), r.reason.split(" (")[0]) for r in cal.runs]
    assert runs == [
        (datetime(2026, 11, 26, 18, 0), "2 h after the payroll deadline"),
        (datetime(2026, 11, 30, 6, 0), "check date"),
        (datetime(2026, 12, 11, 18, 0), "2 h after the payroll deadline"),
        (datetime(2026, 12, 15, 6, 0), "check date"),
    ]
    assert all(r.at.tzinfo == UTC for r in cal.runs)


def test_timestamp_deadline_is_kept_and_date_deadline_uses_the_configured_time() -> None:
    stamp = parse_deadline("2026-12-11T23:30:00Z", LA, dtime(16, 0), COMPANY)
    assert stamp == datetime(2026, 12, 11, 23, 30, tzinfo=UTC)
    plain = parse_deadline("2026-12-11", LA, dtime(17, 0), COMPANY)
    assert plain == datetime(2026, 12, 11, 17, 0, tzinfo=LA)


def test_bad_date_names_the_company() -> None:
    periods = [period("2026-12-01", "2026-12-15", "15/12/2026", "2026-12-11", False)]
    with pytest.raises(CalendarError, match=COMPANY):
        build_calendar(COMPANY, None, SCHEDULES, periods, today=date(2026, 11, 28), days=30, tz=LA)


def test_three_months_ahead_clamps_to_month_end() -> None:
    assert three_months_ahead(date(2026, 11, 30)) == date(2027, 2, 28)
    assert three_months_ahead(date(2026, 11, 28)) == date(2027, 2, 28)
    assert three_months_ahead(date(2026, 1, 15)) == date(2026, 4, 15)


def test_cron_block_escapes_percent_and_puts_the_company_in_the_environment() -> None:
    periods = [period("2026-12-01", "2026-12-15", "2026-12-15", "2026-12-11", False)]
    cal = build_calendar(
        COMPANY, "Summit", SCHEDULES, periods, today=date(2026, 11, 28), days=30, tz=LA
    )
    lines = render_cron(
        [cal],
        command="meltano run tap-gusto target-dynamics-fo --run-id x%y",
        project_dir=Path("/srv/gusto dynamics"),
        cron_tz=ZoneInfo("UTC"),
        catch_up_tz=LA,
        user="gd",
        log_file=".gusto-dynamics/cron.log",
        now=datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
    )
    jobs = [line for line in lines if not line.startswith("#")]
    # 18:00 PST on 2026-12-11 is 02:00 UTC on 2026-12-12.
    assert jobs[0].startswith("0 2 12 12 * gd cd '/srv/gusto dynamics' && ")
    assert f"export TAP_GUSTO_COMPANY_IDS='[\"{COMPANY}\"]' && meltano run" in jobs[0]
    assert "x\\%y" in jobs[0]
    assert jobs[1].startswith("0 14 15 12 * gd ")
    # Daily catch-up: 05:30 in Los Angeles, all companies.
    assert jobs[-1].startswith("30 13 * * * gd ")
    assert "TAP_GUSTO_COMPANY_IDS" not in jobs[-1]


# -- against the Gusto sandbox -----------------------------------------------------------


@pytest.fixture
def sandbox_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Path]]:
    gusto_mod = pytest.importorskip("gd_sandbox.gusto")
    with gusto_mod.GustoSandbox(port=0, seed="demo", today=SANDBOX_TODAY) as gusto:
        path = tmp_path / "vault.enc"
        monkeypatch.setenv("GUSTO_DYNAMICS_VAULT_KEY", generate_key().decode())
        monkeypatch.delenv("GUSTO_DYNAMICS_VAULT_KEY_FILE", raising=False)
        vault = Vault.open(path)
        companies = {
            c: {
                "company_uuid": c,
                "company_name": gusto.company(c).name,
                "refresh_token": gusto.mint_refresh_token(c),
                "api_url": gusto.url,
            }
            for c in gusto.company_uuids
        }
        vault.update(
            lambda data: {
                "gusto": {
                    "app": {
                        "client_id": gusto.client_id,
                        "client_secret": gusto.client_secret,
                        "api_url": gusto.url,
                    },
                    "companies": companies,
                }
            }
        )
        yield gusto, path


def expected_check_dates(gusto: Any, company_uuid: str, days: int) -> list[str]:
    today = gusto.today
    return sorted(
        {
            p.check_date.isoformat()
            for p in gusto.company(company_uuid).payrolls
            if not p.off_cycle and today <= p.check_date <= today + timedelta(days=days)
        }
    )


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(args)
    return code, capsys.readouterr().out


def test_calendar_json_shows_the_sandbox_upcoming_check_dates(
    sandbox_vault: tuple[Any, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    gusto, path = sandbox_vault
    code, out = run_cli(
        ["--vault", str(path), "calendar", "--json", "--tz", "UTC", *AS_OF],
        capsys,
    )
    assert code == 0
    report = json.loads(out)
    by_company = {c["company_uuid"]: c for c in report["companies"]}
    assert set(by_company) == set(gusto.company_uuids)
    for company_uuid in gusto.company_uuids:
        entry = by_company[company_uuid]
        assert entry["error"] is None
        shown = sorted({p["check_date"] for p in entry["payrolls"]})
        assert shown == expected_check_dates(gusto, company_uuid, 45)
        assert shown, "the sandbox seeds upcoming payrolls ~3 months ahead"
        assert len(entry["runs"]) == 2 * len(shown)


def test_calendar_text_and_cron_against_the_sandbox(
    sandbox_vault: tuple[Any, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    gusto, path = sandbox_vault
    ridgeline = gusto.company_uuids[0]
    code, out = run_cli(
        ["--vault", str(path), "calendar", "--tz", "UTC", "--company", ridgeline, *AS_OF],
        capsys,
    )
    assert code == 0
    for check_date in expected_check_dates(gusto, ridgeline, 45):
        assert check_date in out
    assert gusto.company(ridgeline).name in out

    code, out = run_cli(
        ["--vault", str(path), "calendar", "--cron", "--company", ridgeline, *AS_OF],
        capsys,
    )
    assert code == 0
    assert f"TAP_GUSTO_COMPANY_IDS='[\"{ridgeline}\"]'" in out
    assert gusto.client_secret not in out


def test_calendar_reports_a_company_it_cannot_read(
    sandbox_vault: tuple[Any, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    gusto, path = sandbox_vault
    broken, fine = gusto.company_uuids[:2]

    def revoke(data: dict[str, Any]) -> None:
        data["gusto"]["companies"][broken]["refresh_token"] = "revoked-long-ago"

    Vault.open(path).update(revoke)
    code, out = run_cli(
        ["--vault", str(path), "calendar", "--json", "--tz", "UTC", *AS_OF],
        capsys,
    )
    assert code == 0  # the other company still got its calendar
    by_company = {c["company_uuid"]: c for c in json.loads(out)["companies"]}
    assert "gusto-dynamics connect gusto" in by_company[broken]["error"]
    assert "revoked-long-ago" not in out
    assert by_company[fine]["error"] is None
    assert by_company[fine]["payrolls"]
