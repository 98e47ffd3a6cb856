"""Per-slice minority-class SLIs: confusion counts and Wilson intervals (the late-label join
lives in SQL tables: :mod:`smote_monitor.evaluation.push`).

Names load on first use (the counts need pandas): the config imports the slice settings'
bounds from :mod:`smote_monitor.slices.limits` without paying for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smote_monitor.slices.counts import (
        Confusion,
        OutcomeDelta,
        SliceCounts,
        count_batch,
        outcomes,
        slice_label,
    )
    from smote_monitor.slices.limits import DEFAULT_MIN_SLICE_SUPPORT
    from smote_monitor.slices.metrics import Rate, SliceMetrics, metrics_of, slice_metrics
    from smote_monitor.slices.wilson import Z_95, wilson_interval

_HOME = {
    "Confusion": "counts",
    "OutcomeDelta": "counts",
    "SliceCounts": "counts",
    "count_batch": "counts",
    "outcomes": "counts",
    "slice_label": "counts",
    "Rate": "metrics",
    "SliceMetrics": "metrics",
    "metrics_of": "metrics",
    "slice_metrics": "metrics",
    "DEFAULT_MIN_SLICE_SUPPORT": "limits",
    "Z_95": "wilson",
    "wilson_interval": "wilson",
}

__all__ = [
    "DEFAULT_MIN_SLICE_SUPPORT",
    "Z_95",
    "Confusion",
    "OutcomeDelta",
    "Rate",
    "SliceCounts",
    "SliceMetrics",
    "count_batch",
    "metrics_of",
    "outcomes",
    "slice_label",
    "slice_metrics",
    "wilson_interval",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
