"""When the employees stream reads Gusto again (setting ``employees_refresh``).

Reading every employee is most of an incremental run's requests (50 of 60 at 5,000 employees),
and employees change rarely next to how often a pipeline runs. With ``daily`` (the default) a
company's employees are read:

* on its first run (nothing in the state says when they were last read);
* at most once per Gusto day: the day of Gusto's ``Date`` header, never this machine's clock,
  compared with the day kept in the state at the last complete read;
* before the first payroll a run emits for the company, whatever the day: a payroll can name
  an employee hired since the last read, or one moved to another department, and its journal
  is built from the employees the target knows (docs/extraction.md).

``always`` reads them on every run, as before. The day is kept only once every page was read,
so a failed or interrupted read is done again by the next run.
"""

from __future__ import annotations

import datetime as dt
import typing as t

#: Key of the employees partition state: Gusto's day of the last complete read (ISO date).
READ_ON_KEY = "employees_read_on"
DAILY = "daily"
ALWAYS = "always"
MODES = (DAILY, ALWAYS)


def read_due(
    mode: str, state: t.Mapping[str, t.Any], gusto_today: dt.date, *, payroll_ahead: bool
) -> str | None:
    """Why the employees must be read now (for the log), or None when the last read stands."""
    if mode == ALWAYS:
        return "employees_refresh is always"
    if payroll_ahead:
        return "a payroll is about to be emitted"
    last = state.get(READ_ON_KEY)
    if not last:
        return "first run for this company"
    try:
        last_day = dt.date.fromisoformat(str(last)[:10])
    except ValueError:
        return f"the state's {READ_ON_KEY} {last!r} is not a date"
    if last_day != gusto_today:
        return f"last read on {last_day.isoformat()}, Gusto's today is {gusto_today.isoformat()}"
    return None
