"""smote-monitor: run tracking, drift and per-slice SLIs for models trained with SMOTE."""

from smote_monitor._version import __version__
from smote_monitor.errors import (
    InvalidInputError,
    RunConflictError,
    SmoteMonitorError,
    StoreUnavailableError,
)
from smote_monitor.records import RunRecord
from smote_monitor.tracking import Monitor, TrackedRun

__all__ = [
    "InvalidInputError",
    "Monitor",
    "RunConflictError",
    "RunRecord",
    "SmoteMonitorError",
    "StoreUnavailableError",
    "TrackedRun",
    "__version__",
]
