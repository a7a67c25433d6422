"""Date windows for Gusto list endpoints.

Gusto's payroll and pay-period lists select by **pay period, contained in the window**: a
payroll is listed only when its whole period lies inside ``start_date``..``end_date``. A window
may span at most one year and end at most three months after Gusto's today. Back-to-back
windows therefore miss every payroll whose period straddles an edge. ``period_windows`` makes
consecutive windows overlap by ``LONGEST_PAY_PERIOD_DAYS``, so any period no longer than that
lies wholly inside at least one window, and ``period_listing_start`` starts the listing early
enough that a payroll with a check date on the floor still has its whole period in range.
Why this and not ``date_filter_by=check_date``: Gusto allows that filter only for processed
*regular* payrolls, and off-cycle payrolls must be caught too (docs/extraction.md).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator

# Gusto rejects start/end more than one year apart; 364 days keeps leap years safe.
MAX_WINDOW_DAYS = 364
# Gusto's pay schedule frequencies run from weekly to quarterly (92 days at most). A longer
# period (an annual schedule) cannot fit in any window; the completeness check reports it.
LONGEST_PAY_PERIOD_DAYS = 92
# How far a check date may fall after the end of its pay period (paid in arrears).
LONGEST_CHECK_DATE_LAG_DAYS = 31


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def horizon(today: dt.date) -> dt.date:
    """Latest end date Gusto accepts for payroll and pay-period lists.

    ``today`` is Gusto's own date (from its ``Date`` header); one day less keeps a window legal
    when Gusto's calendar day (US time) is still the day before the UTC one.
    """
    return add_months(today - dt.timedelta(days=1), 3)


def windows(start: dt.date, end: dt.date) -> Iterator[tuple[dt.date, dt.date]]:
    """Consecutive, non-overlapping inclusive windows covering ``start``..``end``.

    Only for lists that select by a single date (contractor payments by payment date), where
    every item falls in exactly one window.
    """
    return period_windows(start, end, overlap_days=0)


def period_windows(
    start: dt.date, end: dt.date, overlap_days: int = LONGEST_PAY_PERIOD_DAYS
) -> Iterator[tuple[dt.date, dt.date]]:
    """Inclusive windows covering ``start``..``end``, each beginning ``overlap_days`` before the
    previous one ended.

    Every span of at most ``overlap_days`` days within ``start``..``end`` lies wholly inside at
    least one window: take the last window that starts on or before the span; the next one
    starts after the span does, so this one ends at least ``overlap_days`` after that start.
    """
    if not 0 <= overlap_days <= MAX_WINDOW_DAYS:
        raise ValueError(f"overlap_days must be between 0 and {MAX_WINDOW_DAYS}")
    current = start
    while current <= end:
        last = min(current + dt.timedelta(days=MAX_WINDOW_DAYS), end)
        yield current, last
        if last >= end:
            return
        current = last + dt.timedelta(days=1 - overlap_days)


def period_listing_start(check_date_floor: dt.date) -> dt.date:
    """Earliest window start that still lists every payroll with a check date on the floor."""
    return check_date_floor - dt.timedelta(
        days=LONGEST_PAY_PERIOD_DAYS + LONGEST_CHECK_DATE_LAG_DAYS
    )


def parse_date(value: str, setting: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise ValueError(f"{setting} must be a date like 2026-01-31, got {value!r}.") from None
