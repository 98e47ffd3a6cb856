"""JSON as smote-monitor writes it: standard JSON only, so every reader can parse it.

Python's ``json`` writes ``NaN`` and ``Infinity`` by default, which no JSON parser but Python's
accepts (PostgreSQL refuses them, SQLite stores them as text). Everything smote-monitor writes —
the store's JSON columns, spool files, ``--json`` output — goes through :func:`dumps`, which
raises instead.
"""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` that raises ``ValueError`` on NaN or ±inf instead of writing them."""
    return json.dumps(value, allow_nan=False, **kwargs)
