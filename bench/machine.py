"""How fast this machine is at the moment: the CPU of a fixed workload, printed with the figures.

The same code's CPU seconds drift 15-20 % within an hour on a shared machine (docs/CONTRACTS.md
section 7), more than most changes worth measuring. A fixed workload that uses only the standard
library (JSON with Decimals, dicts, text: what the plugins spend their time on), run in a fresh
process of the same interpreter just before the measured processes, shows how fast the machine
was then: figures of runs made at different times compare after dividing each by its reference.
"""

from __future__ import annotations

import statistics
import subprocess
from pathlib import Path

WORKLOAD = """
import json, resource
from decimal import Decimal
rows = [
    {"name": f"item {i % 40}", "amount": Decimal(i * 7919 % 100000) / 100,
     "hours": Decimal(i % 97) / 1000, "uuid": "%032x" % (i * 2654435761), "paid": i % 3 == 0}
    for i in range(20000)
]
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
start = cpu()
for _ in range(10):
    text = json.dumps(rows, default=str, sort_keys=True)
    back = json.loads(text, parse_float=Decimal)
    total = sum((Decimal(row["amount"]) for row in back), Decimal(0))
    names = sorted({row["name"] for row in back})
print(cpu() - start)
"""


def reference_cpu(python: Path, runs: int = 3) -> float:
    """Median CPU seconds of the fixed workload in ``runs`` fresh processes of ``python``."""
    seconds = [
        float(
            subprocess.run(
                [str(python), "-c", WORKLOAD], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]
    return statistics.median(seconds)


def reference_line(python: Path) -> str:
    return (
        f"machine reference: {reference_cpu(python):.2f} s CPU for a fixed standard-library "
        "workload (bench/machine.py), just before these runs; divide figures of runs made at "
        "other times by their own reference to compare them"
    )
