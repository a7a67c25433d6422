"""Unit-test helpers for target-dynamics-fo (the sandboxes' fixtures live in the root tests/)."""

from __future__ import annotations

import sys
from pathlib import Path

# Tests import their helpers (tdfo_fakes) by name under --import-mode=importlib.
sys.path.insert(0, str(Path(__file__).parent))
