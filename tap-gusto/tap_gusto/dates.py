"""Date windows for Gusto list endpoints (at most one year apart, end at most 3 months ahead)."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator

# Gusto rejects start/end more than one year apart; 364 days keeps leap years safe.
MAX_WINDOW_DAYS = 364


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def horizon(today: dt.date) -> dt.date:
    """Latest end date Gusto accepts for payroll and pay-period lists."""
    return add_months(today, 3)


def windows(start: dt.date, end: dt.date) -> Iterator[tuple[dt.date, dt.date]]:
    """Consecutive, non-overlapping inclusive windows covering ``start``..``end``."""
    current = start
    while current <= end:
        last = min(current + dt.timedelta(days=MAX_WINDOW_DAYS), end)
        yield current, last
        current = last + dt.timedelta(days=1)


def parse_date(value: str, setting: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise ValueError(f"{setting} must be a date like 2026-01-31, got {value!r}.") from None
