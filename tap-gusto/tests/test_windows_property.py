"""Property tests of the list windows under Gusto's strict rule (whole pay period inside)."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from tap_gusto.dates import (
    LONGEST_CHECK_DATE_LAG_DAYS,
    LONGEST_PAY_PERIOD_DAYS,
    MAX_WINDOW_DAYS,
    add_months,
    horizon,
    period_listing_start,
    period_windows,
    windows,
)

DAYS = st.dates(min_value=dt.date(2015, 1, 1), max_value=dt.date(2035, 12, 31))


def listed(start: dt.date, end: dt.date, first: dt.date, last: dt.date) -> bool:
    """Would Gusto list a payroll with pay period first..last in some window?"""
    return any(s <= first and last <= e for s, e in period_windows(start, end))


@given(start=DAYS, length=st.integers(0, 3000), overlap=st.integers(0, MAX_WINDOW_DAYS))
def test_windows_are_legal_ordered_and_cover_the_range(
    start: dt.date, length: int, overlap: int
) -> None:
    end = start + dt.timedelta(days=length)
    spans = list(period_windows(start, end, overlap))
    assert spans[0][0] == start and spans[-1][1] == end
    for (s, e), (next_s, _) in itertools.pairwise(spans):
        assert next_s > s  # always progresses
        assert (e - next_s).days + 1 == overlap  # consecutive windows share `overlap` days
    for s, e in spans:
        assert s <= e and e <= add_months(s, 12)  # Gusto: at most one year apart
        assert (e - s).days <= MAX_WINDOW_DAYS


@given(start=DAYS, length=st.integers(0, 2000), data=st.data())
def test_every_period_up_to_the_longest_lies_inside_one_window(
    start: dt.date, length: int, data: st.DataObject
) -> None:
    end = start + dt.timedelta(days=length)
    period_days = data.draw(st.integers(1, min(LONGEST_PAY_PERIOD_DAYS, length + 1)))
    offset = data.draw(st.integers(0, length + 1 - period_days))
    first = start + dt.timedelta(days=offset)
    last = first + dt.timedelta(days=period_days - 1)
    assert listed(start, end, first, last)


@given(start=DAYS, length=st.integers(0, 2000))
def test_single_date_windows_never_overlap(start: dt.date, length: int) -> None:
    end = start + dt.timedelta(days=length)
    days = [d for s, e in windows(start, end) for d in range((e - s).days + 1)]
    assert len(days) == length + 1


@settings(max_examples=300)
@given(
    today=DAYS,
    period_days=st.integers(1, LONGEST_PAY_PERIOD_DAYS),
    check_lag=st.integers(-LONGEST_PAY_PERIOD_DAYS, LONGEST_CHECK_DATE_LAG_DAYS),
    floor_back=st.integers(0, 700),
    bookmark_back=st.one_of(st.none(), st.integers(0, 400)),
    lookback=st.integers(0, 120),
    data=st.data(),
)
def test_every_payroll_paid_on_or_after_the_floor_is_listed(
    today: dt.date,
    period_days: int,
    check_lag: int,
    floor_back: int,
    bookmark_back: int | None,
    lookback: int,
    data: st.DataObject,
) -> None:
    """The listing PayrollsStream makes finds any payroll it must emit, wherever edges fall.

    ``check_lag`` is the check date's distance from the period's end: negative when paid before
    the period ends (current pay), positive when paid in arrears.
    """
    start_date = today - dt.timedelta(days=floor_back)
    cutoff = today - dt.timedelta(days=bookmark_back + lookback) if bookmark_back else None
    needed_from = max(start_date, cutoff) if cutoff else start_date
    list_from, list_to = period_listing_start(needed_from), horizon(today)
    # A processed payroll is paid on or after needed_from and no later than its period allows.
    check = needed_from + dt.timedelta(days=data.draw(st.integers(0, 400)))
    last = check - dt.timedelta(days=check_lag)
    first = last - dt.timedelta(days=period_days - 1)
    if last > list_to:
        return  # a period ending beyond Gusto's three-month horizon is not processed yet
    assert listed(list_from, list_to, first, last)
