"""smote-monitor: run tracking, drift and per-slice SLIs for models trained with SMOTE."""

from smote_monitor._version import __version__

__all__ = ["__version__"]
