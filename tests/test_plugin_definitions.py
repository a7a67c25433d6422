"""The Meltano Hub definitions of both plugins are current, complete, and what meltano.yml uses."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = {"tap-gusto": "extractors", "target-dynamics-fo": "loaders"}


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "plugin_definitions", ROOT / "scripts" / "plugin_definitions.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["plugin_definitions"] = module
    spec.loader.exec_module(module)
    return module


def definition(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / name / f"{name}.yml").read_text())
    return loaded


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_definition_file_is_generated_from_the_plugin(name: str) -> None:
    current = generator().render(name)
    assert (ROOT / name / f"{name}.yml").read_text() == current, (
        "run .venv/bin/python scripts/plugin_definitions.py"
    )


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_definition_has_the_hub_fields(name: str) -> None:
    body = definition(name)
    for key in ("name", "namespace", "pip_url", "executable", "capabilities", "settings"):
        assert body.get(key), key
    assert body["name"] == name
    assert f"#subdirectory={name}" in body["pip_url"]
    assert "#subdirectory=vault" in body["pip_url"]
    for setting in body["settings"]:
        assert setting["kind"] and setting["description"], setting["name"]
    sensitive = {s["name"] for s in body["settings"] if s.get("sensitive")}
    assert {"client_id", "client_secret"} <= sensitive


def test_tap_definition_lists_state_and_catalog_and_the_plain_settings() -> None:
    body = definition("tap-gusto")
    assert {"state", "catalog", "discover"} <= set(body["capabilities"])
    assert "batch" not in body["capabilities"]
    names = {s["name"] for s in body["settings"]}
    assert {"refresh_token", "refresh_token_path", "status_file", "company_ids"} <= names
    assert next(s for s in body["settings"] if s["name"] == "refresh_token")["sensitive"]


def test_target_definition_drops_settings_that_do_not_apply() -> None:
    names = {s["name"] for s in definition("target-dynamics-fo")["settings"]}
    assert "stream_names" in names
    assert not names & {"load_method", "add_record_metadata", "batch_size_rows"}


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_meltano_yml_uses_the_definition(name: str) -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (entry,) = [p for p in project["plugins"][PLUGINS[name]] if p["name"] == name]
    body = definition(name)
    for key in ("namespace", "executable", "capabilities", "settings"):
        assert entry[key] == body[key], key
    # This checkout's editable packages; the definition's git+ URL is for other projects.
    assert entry["pip_url"] == f"-e ./vault -e ./{name}"
