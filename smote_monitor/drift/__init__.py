"""Drift engine: reference profiles, window accumulators and Evidently-compatible drift methods.

Evidently is never imported here; it is only a test and benchmark anchor.
"""

from smote_monitor.drift.accumulator import WindowAccumulator, build_profiles
from smote_monitor.drift.columns import ColumnKind, infer_kind, resolve_kinds
from smote_monitor.drift.engine import DatasetDrift, DriftResult, compute_drift, feature_drift
from smote_monitor.drift.profile import FeatureProfile, ProfileSettings, profile_values
from smote_monitor.drift.shift import synthetic_shift
from smote_monitor.drift.sketch import DyadicHistogram
from smote_monitor.drift.stattests import METHODS, Method, choose_method

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
