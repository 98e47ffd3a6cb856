"""Walking rendered dashboards: their panels, queries and the metric names those spell."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from smote_monitor.conventions import CATALOG, MetricType

HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")
BUILTIN_SERIES = frozenset({"ALERTS"})
"""Series Prometheus itself writes, which a dashboard may query."""

ALLOWED_SERIES = frozenset(
    {spec.sample_name for spec in CATALOG}
    | {
        spec.name + suffix
        for spec in CATALOG
        if spec.type is MetricType.HISTOGRAM
        for suffix in HISTOGRAM_SUFFIXES
    }
    | BUILTIN_SERIES
)

LABEL_VALUES = re.compile(r"^label_values\((?P<series>.+),\s*(?P<label>\w+)\)$")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![\w$.:])[A-Za-z_:][\w:]*\b(?!\s*\()")
_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel but rows, nested or not."""
    for panel in board.get("panels", []):
        if panel["type"] == "row":
            yield from (p for p in panel.get("panels", []) if p["type"] != "row")
        else:
            yield panel


def panel_exprs(board: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) of every panel target and annotation of the dashboard."""
    for panel in panels(board):
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r}", target["expr"]
    for annotation in board["annotations"]["list"]:
        if "expr" in annotation:
            yield f"annotation {annotation['name']!r}", annotation["expr"]


def variable_queries(board: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(variable name, series selector, label) of every label_values query variable."""
    for variable in board["templating"]["list"]:
        if variable["type"] != "query":
            continue
        query = variable["query"]
        text = query["query"] if isinstance(query, dict) else query
        match = LABEL_VALUES.match(text)
        assert match, f"variable {variable['name']}: expected label_values(...); got {text!r}"
        yield variable["name"], match.group("series"), match.group("label")


def all_exprs(board: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Every PromQL expression of the dashboard: targets, annotations, variables' selectors."""
    yield from panel_exprs(board)
    for name, series, _ in variable_queries(board):
        yield f"variable {name!r}", series


def series_names(expr: str) -> set[str]:
    """The series names a PromQL expression selects (not functions, labels or keywords)."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub("", text)
    return {token for token in _IDENT.findall(text) if token not in _KEYWORDS}


def thresholds(panel: dict[str, Any]) -> list[float]:
    steps = panel["fieldConfig"]["defaults"].get("thresholds", {}).get("steps", [])
    return [step["value"] for step in steps if step["value"] is not None]


def variables_referenced(text: str) -> set[str]:
    """Template variables a string uses ($name or ${name}), Grafana's own ($__…) excluded."""
    names = set(re.findall(r"\$\{?(\w+)", text))
    return {name for name in names if not name.startswith("__")}
