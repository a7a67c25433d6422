"""Render the resilience log of the test run as a Markdown table and put it in the README.

The chaos tests and the bad-input catalogue write every case they ran (what was injected, what
was expected, what was observed) to ``output/resilience.json``. This script prints that as a
table and replaces whatever is between the README markers

    <!-- resilience-table:start -->
    <!-- resilience-table:end -->

leaving the rest of the README untouched. Without the markers it only prints the table and
says so; it never guesses where the table should go.

    python scripts/fault_table.py [--log output/resilience.json ...] [--readme README.md]
                                  [--print-only]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
START = "<!-- resilience-table:start -->"
END = "<!-- resilience-table:end -->"
KIND_ORDER = {"fault": 0, "kill": 1, "bad_input": 2}
KIND_LABEL = {"fault": "fault", "kill": "kill", "bad_input": "bad input"}
CELL_LIMIT = 160


def load_cases(paths: list[Path]) -> list[dict[str, Any]]:
    """Cases from every log; a later log's case wins over an earlier one of the same name."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except ValueError as exc:
            raise SystemExit(
                f"{path} is not valid JSON ({exc}); rerun the tests to rewrite it"
            ) from exc
        for case in data.get("cases", []):
            merged[(str(case.get("kind")), str(case.get("name")))] = case
    return sorted(
        merged.values(),
        key=lambda c: (KIND_ORDER.get(str(c.get("kind")), 9), str(c.get("name"))),
    )


def cell(value: Any) -> str:
    text = " ".join(str(value if value is not None else "").split())
    if len(text) > CELL_LIMIT:
        text = text[: CELL_LIMIT - 1] + "…"
    return text.replace("|", "\\|")


def render(cases: list[dict[str, Any]]) -> str:
    if not cases:
        return "_No resilience cases recorded yet: run `make test` (and `make chaos`)._\n"
    passed = sum(1 for c in cases if c.get("passed"))
    latest = max(str(c.get("at") or "") for c in cases)
    lines = [
        f"{passed} of {len(cases)} cases held (last recorded {latest}).",
        "",
        "| kind | case | injected | expected | observed | held |",
        "|---|---|---|---|---|---|",
    ]
    for case in cases:
        kind = str(case.get("kind"))
        lines.append(
            "| "
            + " | ".join(
                [
                    KIND_LABEL.get(kind, cell(kind)),
                    cell(case.get("name")),
                    cell(case.get("injected")),
                    cell(case.get("expected")),
                    cell(case.get("observed")),
                    "yes" if case.get("passed") else "**NO**",
                ]
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def replace_between_markers(readme: str, table: str) -> str | None:
    """The README with the table between the markers, or None if the markers are missing."""
    start = readme.find(START)
    end = readme.find(END, start + len(START)) if start >= 0 else -1
    if start < 0 or end < 0:
        return None
    return readme[: start + len(START)] + "\n" + table + readme[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--log",
        action="append",
        type=Path,
        help="resilience log(s) to merge (default output/resilience.json)",
    )
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--print-only", action="store_true", help="do not touch the README")
    args = parser.parse_args(argv)
    table = render(load_cases(args.log or [ROOT / "output" / "resilience.json"]))
    sys.stdout.write(table)
    if args.print_only:
        return 0
    try:
        readme = args.readme.read_text(encoding="utf-8")
    except FileNotFoundError:
        sys.stderr.write(f"{args.readme} does not exist; the table was only printed.\n")
        return 1
    updated = replace_between_markers(readme, table)
    if updated is None:
        sys.stderr.write(
            f"{args.readme} has no {START} ... {END} markers; add them where the table "
            "belongs. The table was only printed.\n"
        )
        return 1
    if updated != readme:
        args.readme.write_text(updated, encoding="utf-8")
        sys.stderr.write(f"updated the resilience table in {args.readme}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
