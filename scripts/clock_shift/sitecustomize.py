"""Move every Python process of a run to another calendar date: ``GD_CLOCK_SHIFT_TO=2027-01-01``.

With this folder on ``PYTHONPATH``, each Python process that starts (pytest, the sandboxes, the
tap, the target, Meltano) sees the real clock shifted by one common offset, so they agree with
each other while believing it is that date. It proves that no test depends on the real date
(docs/extraction.md). It exists because libfaketime breaks Python 3.11's absolute-deadline
sleeps and lock waits (EINVAL, hangs) even at today's date. Only Python's view of the clock
moves: OpenSSL still checks certificates against the real one.
"""

from __future__ import annotations

import datetime as _dt
import os as _os
import time as _time

_TARGET = _os.environ.get("GD_CLOCK_SHIFT_TO")
if _TARGET:
    import time_machine

    # The first process fixes the origin; its children inherit it, so the offset is common.
    _origin = float(_os.environ.setdefault("GD_CLOCK_SHIFT_ORIGIN", repr(_time.time())))
    _when = _dt.datetime.fromisoformat(_TARGET)
    if _when.tzinfo is None:
        _when = _when.replace(tzinfo=_dt.UTC)
    _offset = _when.timestamp() - _origin
    time_machine.travel(_time.time() + _offset, tick=True).start()
