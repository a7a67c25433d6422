"""The payroll fingerprint the tap keeps to notice an amended payroll without reading it."""

from __future__ import annotations

import json
from decimal import Decimal

from tap_gusto.streams import fingerprint as _fingerprint
from tap_gusto.streams import fingerprint_entry as _fingerprint_entry


def test_amount_spellings_agree_and_any_amount_change_shows() -> None:
    base = {"totals": {"gross_pay": "100.00", "net_pay": "80.0"}, "calculated_at": "t"}
    same = {"totals": {"net_pay": Decimal("80.00"), "gross_pay": 100}, "calculated_at": "t"}
    assert _fingerprint(base) == _fingerprint(same)
    amended = {"totals": {"gross_pay": "100.01", "net_pay": "80.0"}, "calculated_at": "t"}
    assert _fingerprint(amended) != _fingerprint(base)
    recalculated = {**base, "calculated_at": "u"}
    assert _fingerprint(recalculated) != _fingerprint(base)
    # No totals (a list without include=totals) is a fingerprint too, never a crash.
    assert _fingerprint({}) == _fingerprint({"totals": None})


def test_state_entry_is_plain_strings() -> None:
    entry = _fingerprint_entry({"check_date": "2026-11-20", "totals": {"gross_pay": 1.5}})
    assert entry["check_date"] == "2026-11-20"
    assert all(isinstance(v, str) for v in entry.values())
    # Bookmarks stay JSON strings: no float reaches the state.
    assert json.loads(json.dumps(entry)) == entry
