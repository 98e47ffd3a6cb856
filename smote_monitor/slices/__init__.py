"""Per-slice minority-class SLIs: confusion counts, Wilson intervals, the late-label join."""

from smote_monitor.slices.counts import (
    ALL,
    OTHER,
    Confusion,
    OutcomeDelta,
    SliceCounts,
    count_batch,
    outcomes,
    slice_label,
)
from smote_monitor.slices.join import Counted, JoinState, JoinStats, Label, Prediction, join_labels
from smote_monitor.slices.metrics import (
    DEFAULT_MIN_SLICE_SUPPORT,
    Rate,
    SliceMetrics,
    metrics_of,
    slice_metrics,
)
from smote_monitor.slices.wilson import Z_95, wilson_interval

__all__ = [
    "ALL",
    "DEFAULT_MIN_SLICE_SUPPORT",
    "OTHER",
    "Z_95",
    "Confusion",
    "Counted",
    "JoinState",
    "JoinStats",
    "Label",
    "OutcomeDelta",
    "Prediction",
    "Rate",
    "SliceCounts",
    "SliceMetrics",
    "count_batch",
    "join_labels",
    "metrics_of",
    "outcomes",
    "slice_label",
    "slice_metrics",
    "wilson_interval",
]
