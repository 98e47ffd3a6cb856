"""Drift engine: reference profiles, window accumulators and Evidently-compatible drift methods.

Evidently is never imported here; it is only a test and benchmark anchor. The engine pulls in
scipy.stats, so its names load on first use: importing :mod:`smote_monitor.drift.reference`
(which every run-tracking door does) keeps the CLI's start-up light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smote_monitor.drift.accumulator import WindowAccumulator, build_profiles
    from smote_monitor.drift.columns import ColumnKind, infer_kind, resolve_kinds
    from smote_monitor.drift.engine import DatasetDrift, DriftResult, compute_drift, feature_drift
    from smote_monitor.drift.profile import FeatureProfile, ProfileSettings, profile_values
    from smote_monitor.drift.shift import synthetic_shift
    from smote_monitor.drift.sketch import DyadicHistogram
    from smote_monitor.drift.stattests import METHODS, Method, choose_method

_HOME = {
    "WindowAccumulator": "accumulator",
    "build_profiles": "accumulator",
    "ColumnKind": "columns",
    "infer_kind": "columns",
    "resolve_kinds": "columns",
    "DatasetDrift": "engine",
    "DriftResult": "engine",
    "compute_drift": "engine",
    "feature_drift": "engine",
    "FeatureProfile": "profile",
    "ProfileSettings": "profile",
    "profile_values": "profile",
    "synthetic_shift": "shift",
    "DyadicHistogram": "sketch",
    "METHODS": "stattests",
    "Method": "stattests",
    "choose_method": "stattests",
}

__all__ = [
    "METHODS",
    "ColumnKind",
    "DatasetDrift",
    "DriftResult",
    "DyadicHistogram",
    "FeatureProfile",
    "Method",
    "ProfileSettings",
    "WindowAccumulator",
    "build_profiles",
    "choose_method",
    "compute_drift",
    "feature_drift",
    "infer_kind",
    "profile_values",
    "resolve_kinds",
    "synthetic_shift",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
