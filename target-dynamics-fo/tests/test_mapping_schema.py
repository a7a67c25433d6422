"""The JSON schema editors use for mapping files: current, referenced, and true to the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from target_dynamics_fo.mapping import MappingError, load_mapping
from target_dynamics_fo.mapping.schema import main, render

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "config" / "mapping.schema.json"
MAPPINGS = (ROOT / "config" / "mapping.yml", ROOT / "config" / "mapping.production.yml")
MODELINE = "# yaml-language-server: $schema=./mapping.schema.json"


def test_committed_schema_is_current() -> None:
    assert SCHEMA.read_text(encoding="utf-8") == render(), (
        "config/mapping.schema.json is out of date; run "
        "python -m target_dynamics_fo.mapping.schema config/mapping.schema.json"
    )


def test_check_flag_reports_a_stale_schema(tmp_path: Path) -> None:
    path = tmp_path / "mapping.schema.json"
    assert main([str(path), "--check"]) == 1
    assert main([str(path)]) == 0
    assert main([str(path), "--check"]) == 0


@pytest.mark.parametrize("mapping", MAPPINGS, ids=lambda p: p.name)
def test_shipped_mappings_point_at_the_schema_and_fit_it(mapping: Path) -> None:
    text = mapping.read_text(encoding="utf-8")
    assert text.splitlines()[0] == MODELINE
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(text)))
    assert errors == []


def _schema_errors(data: Any) -> list[str]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(data)]


def test_schema_and_target_both_refuse_a_misspelt_key(tmp_path: Path) -> None:
    data = yaml.safe_load(MAPPINGS[0].read_text(encoding="utf-8"))
    company = next(iter(data["companies"].values()))
    company["acounts"] = company.pop("accounts")
    assert _schema_errors(data)
    path = tmp_path / "mapping.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(MappingError, match=r"\.acounts: unknown key; allowed keys: accounts"):
        load_mapping(path)


def test_file_problems_name_their_line(tmp_path: Path) -> None:
    text = MAPPINGS[0].read_text(encoding="utf-8")
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip().startswith("net_pay:"))
    lines[index] = lines[index].replace("net_pay:", "net_pay: 6001.5 #")
    path = tmp_path / "mapping.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    assert any(
        p.endswith(
            f"accounts.net_pay: must be a string, got 6001.5; quote it in YAML (line {index + 1})"
        )
        for p in info.value.problems
    ), info.value.problems
