"""The audit CLI's reports piped into a reader that stops early (`... | head -1`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from target_dynamics_fo.audit import AuditStore

BIN = Path(sys.executable).parent


def test_a_report_cut_short_by_its_reader_ends_without_a_traceback(tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite"
    with AuditStore(db) as store:
        for n in range(3000):
            store.record_outcome(f"payroll-{n:05d}", "refused", reason="x" * 60, fix="y" * 60)
    cli = BIN / "target-dynamics-fo-audit"
    err = tmp_path / "stderr.txt"
    # The shell's own pipe: `head` exits after one line and the report's writes then fail.
    done = subprocess.run(
        ["bash", "-c", f'"{cli}" --audit-db "{db}" failures 2>"{err}" | head -n 1; '
         'echo "status ${PIPESTATUS[0]}"'],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )  # fmt: skip
    first, status = done.stdout.splitlines()
    assert first.strip(), "the report printed nothing"
    stderr = err.read_text()
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert status == "status 1"
