"""Reference profiles of a run's training data: the real (pre-SMOTE) rows and the augmented set."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from smote_monitor.config import DatasetConfig
from smote_monitor.errors import InvalidInputError
from smote_monitor.records import TEXT_MAX

if TYPE_CHECKING:  # the drift engine pulls in scipy.stats: imported when a run is profiled
    from smote_monitor.drift.profile import FeatureProfile

log = logging.getLogger(__name__)

REAL = "real"
AUGMENTED = "augmented"
"""The two profile sets of a run: its real (pre-SMOTE) training rows and the augmented set."""

Profiles = dict[str, dict[str, "FeatureProfile"]]
ProfileBuilder = Callable[..., dict[str, "FeatureProfile"]]
"""Profiles one frame, as :func:`~smote_monitor.drift.build_profiles` does (same keywords)."""


def as_frame(X: Any, names: list[str]) -> Any:
    """A DataFrame view of X; arrays get the names of the run's feature schema."""
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        return X
    return pd.DataFrame(X, columns=names)


def training_profiles(
    X_real: Any,
    X_augmented: Any,
    schema: list[dict[str, str]],
    config: DatasetConfig,
    *,
    build: ProfileBuilder | None = None,
) -> tuple[Profiles | None, str | None]:
    """Profiles of both splits with the same column kinds, or ``(None, why)`` when they can't be
    built.

    Monitoring must not fail a training job, so a problem here is logged and the run is stored
    without profiles but with the reason (``profile_error``): evaluating against it then says
    why instead of silently comparing with an older run.

    ``build`` profiles each split: :func:`~smote_monitor.drift.build_profiles` in this process
    by default; given (``profiles_on_dask`` for Dask DataFrames, see
    :mod:`smote_monitor.tracking.on_dask`), the splits are handed to it as they are, so both
    paths make the same choices of features and kinds.
    """
    from smote_monitor.drift import ColumnKind, build_profiles

    names = [column["name"] for column in schema]
    frame_of = as_frame if build is None else _as_given
    build = build or build_profiles
    try:
        real_frame = frame_of(X_real, names)
        features = config.features
        if features is not None and not set(features) <= set(real_frame.columns):
            missing = sorted(set(features) - set(real_frame.columns))
            raise InvalidInputError(
                f"features.{missing[0]}", missing[0], "a column of the training data"
            )
        categorical = [c for c in config.categorical if c in real_frame.columns]
        settings = config.drift.profile_settings()
        real = build(real_frame, features=features, categorical=categorical, settings=settings)
        kinds = {name: profile.kind for name, profile in real.items()}
        augmented = build(
            frame_of(X_augmented, names),
            features=list(real),
            categorical=[n for n, k in kinds.items() if k is ColumnKind.CATEGORICAL],
            numeric=[n for n, k in kinds.items() if k is ColumnKind.NUMERIC],
            settings=settings,
        )
    except (InvalidInputError, ValueError, TypeError) as exc:
        log.warning(
            "training profiles not recorded (drift cannot use this run as reference): %s", exc
        )
        return None, str(exc)[:TEXT_MAX]
    return {REAL: real, AUGMENTED: augmented}, None


def _as_given(X: Any, names: list[str]) -> Any:
    return X


def profiles_to_dict(profiles: Profiles) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        split: {n: p.to_dict() for n, p in features.items()} for split, features in profiles.items()
    }


def profiles_from_dict(data: dict[str, Any]) -> Profiles:
    from smote_monitor.drift import FeatureProfile

    try:
        return {
            split: {n: FeatureProfile.from_dict(p) for n, p in features.items()}
            for split, features in data.items()
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError(
            "profiles", "…", f"profiles as FeatureProfile.to_dict() ({exc})"
        ) from exc
