"""The input reader's message for a line that is not JSON: where, what, and the fix."""

from __future__ import annotations

import pytest
from singer_sdk.singerlib.exceptions import InvalidInputLine
from target_dynamics_fo.reader import PayrollInputReader


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"type": "RECORD", "stream": "employ\n', "Invalid control character at column 37"),
        ('{"type": "RECORD", "stream": "payrolls"', "Expecting ',' delimiter at column 40"),
        ('{"type": "STATE"} trailing', "Extra data at column 19"),
    ],
)
def test_a_broken_line_is_named_with_the_reason_and_the_fix(line: str, reason: str) -> None:
    reader = PayrollInputReader()
    reader.line_number = 4
    with pytest.raises(InvalidInputLine) as refused:
        reader.deserialize_json(line)
    text = str(refused.value)
    assert text.startswith(f"Input line 4 is not a Singer message (invalid JSON: {reason};")
    assert "rerun the pipeline" in text
