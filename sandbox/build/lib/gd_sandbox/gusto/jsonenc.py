"""JSON serialisation that writes `Decimal` as a JSON number with its exact digits.

`json.dumps` cannot emit a Decimal as a number without going through float, which would defeat the
point of a sandbox meant to catch float drift in clients. The C encoder writes each Decimal as a
marked string; the marks are then replaced by the bare digits. The mark is a NUL character plus a
random per-process token, so data cannot produce it by accident (or on purpose, without the token).
"""

from __future__ import annotations

import json
import re
import secrets
from decimal import Decimal
from typing import Any

_TOKEN = secrets.token_hex(8)
_MARK = f"\x00{_TOKEN}:"
_MARKED = re.compile(r'"\\u0000' + _TOKEN + r':(-?[0-9]+(?:\.[0-9]+)?)"')


def _default(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot encode non-finite Decimal {value!r} as JSON")
        return _MARK + format(value, "f")
    raise TypeError(f"cannot encode {type(value).__name__} as JSON: {value!r}")


def dumps(value: Any) -> str:
    text = json.dumps(value, default=_default, separators=(",", ":"))
    return _MARKED.sub(r"\1", text)
