"""The rendered dashboards, loaded once for every test of the package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dashboards import render

ROOT = Path(__file__).resolve().parents[2]
JSON_DIR = ROOT / "dashboards" / "json"
PROVISIONING_DIR = ROOT / "dashboards" / "provisioning"


@pytest.fixture(scope="session")
def boards() -> dict[str, dict[str, Any]]:
    """uid → the dashboard as rendered now (not as committed: another test compares those)."""
    loaded = {}
    for text in render.dashboards().values():
        data = json.loads(text)
        loaded[data["uid"]] = data
    return loaded
