"""The sandbox's data tables (JSON files shipped as package data next to the modules)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def load(package: str, name: str) -> dict[str, Any]:
    """The JSON object in ``name``, a data file of ``package``."""
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
