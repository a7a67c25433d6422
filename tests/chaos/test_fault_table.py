"""scripts/fault_table.py: renders the log and touches only what is between the README markers."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "fault_table", ROOT / "scripts" / "fault_table.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _log(tmp_path: Path) -> Path:
    path = tmp_path / "resilience.json"
    path.write_text(
        json.dumps(
            {
                "cases": [
                    {
                        "kind": "bad_input",
                        "name": "pipe | in name",
                        "injected": "x",
                        "expected": "refused",
                        "observed": "refused",
                        "passed": True,
                        "at": "T2",
                    },
                    {
                        "kind": "kill",
                        "name": "kill at tap.state.before:1",
                        "injected": "k",
                        "expected": "converges",
                        "observed": "dup",
                        "passed": False,
                        "at": "T1",
                    },
                ]
            }
        )
    )
    return path


def test_only_the_text_between_the_markers_changes(tmp_path: Path) -> None:
    fault_table = _script()
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\nintro\n{fault_table.START}\nold\n{fault_table.END}\ntail\n")
    assert fault_table.main(["--log", str(_log(tmp_path)), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# Title\nintro\n" + fault_table.START + "\n")
    assert text.endswith(fault_table.END + "\ntail\n")
    assert "old" not in text
    assert "1 of 2 cases held" in text
    assert "pipe \\| in name" in text and "**NO**" in text
    # kills sort before bad inputs
    assert text.index("kill at tap.state.before:1") < text.index("pipe \\| in name")
    # a second run with the same log changes nothing
    assert fault_table.main(["--log", str(_log(tmp_path)), "--readme", str(readme)]) == 0
    assert readme.read_text() == text


def test_without_markers_the_readme_is_left_alone(tmp_path: Path) -> None:
    fault_table = _script()
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n")
    assert fault_table.main(["--log", str(_log(tmp_path)), "--readme", str(readme)]) == 1
    assert readme.read_text() == "# Title\n"
