"""Run tracking: the API training pipelines call, and everything a run's record is made of
(resampling description, release gate, leakage check, spool, the one persisting transaction)."""

from smote_monitor.tracking.monitor import Monitor
from smote_monitor.tracking.run import TrackedRun

__all__ = ["Monitor", "TrackedRun"]
