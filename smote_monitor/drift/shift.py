"""Synthetic shift: how far SMOTE moved each feature between a run's real and augmented rows."""

from __future__ import annotations

from collections.abc import Mapping

from smote_monitor.drift.engine import DatasetDrift, compute_drift
from smote_monitor.drift.profile import FeatureProfile


def synthetic_shift(
    real: Mapping[str, FeatureProfile],
    augmented: Mapping[str, FeatureProfile],
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> DatasetDrift:
    """Drift of the augmented training set against the real one (``smote_synthetic_shift_score``).

    The real (pre-SMOTE) rows are the reference, exactly as a production window would be
    compared against them, so a shift score and a drift score of the same feature are on
    the same scale and share Evidently's method choice and thresholds.

    Parameters
    ----------
    real, augmented : mapping of feature name to FeatureProfile
        Profiles of the run's real rows and of its augmented set (real + synthetic).
    methods, thresholds : mapping of feature name, optional
        Overrides, as in :func:`~smote_monitor.drift.engine.compute_drift`.

    Returns
    -------
    DatasetDrift
        One result per feature; ``value`` is the shift score.
    """
    return compute_drift(real, augmented, methods=methods, thresholds=thresholds)
