"""The mapping file's JSON schema, written from the model so editors check what the target checks.

    python -m target_dynamics_fo.mapping.schema [config/mapping.schema.json] [--check]

Mapping files point at it with a first line
`# yaml-language-server: $schema=./mapping.schema.json` (VS Code's YAML extension and other
yaml-language-server editors then complete keys and flag wrong ones as you type). Rules that
need the whole file (split percentages adding to 100, one owner per dimension) are the
target's alone: the schema catches shapes and types, the target still says the last word.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from target_dynamics_fo.mapping.model import MappingFile

DEFAULT_PATH = Path("config/mapping.schema.json")
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def mapping_schema() -> dict[str, Any]:
    schema = MappingFile.model_json_schema()
    return {"$schema": DIALECT, **schema, "title": "gusto-dynamics mapping file"}


def render() -> str:
    # Stable text (fixed key order from the model, trailing newline) so the committed file
    # can be compared byte for byte in a test.
    return json.dumps(mapping_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the file differs from the model"
    )
    args = parser.parse_args(argv)
    path: Path = args.path
    text = render()
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            sys.stderr.write(f"{path} is out of date; run python -m {__spec__.name} {path}\n")
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
