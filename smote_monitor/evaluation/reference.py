"""A dataset's reference: its newest succeeded run, that run's training profiles and classes.

Both doors of evaluation — a window evaluated now, predictions and labels pushed as they come —
compare production with the same reference and read its classes and slice values the same way.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smote_monitor.config import DatasetConfig
from smote_monitor.drift.reference import REAL
from smote_monitor.errors import InvalidInputError
from smote_monitor.store import Store
from smote_monitor.store.models import Run
from smote_monitor.store.profiles import load_profiles
from smote_monitor.store.runs import count_runs, latest_succeeded_run

if TYPE_CHECKING:
    from smote_monitor.drift import FeatureProfile


def latest_reference_run(store: Store, dataset: str) -> Run | None:
    """The dataset's reference: its newest succeeded run (whether or not it has profiles).

    A newer run whose profiling failed is still the model in production, so drift must not
    quietly fall back to an older run's profiles: :func:`reference_profiles` refuses instead.
    """
    with store.read() as session:
        return latest_succeeded_run(session, dataset)


def reference_profiles(
    store: Store, dataset: str, split: str = REAL
) -> tuple[Run, dict[str, FeatureProfile]]:
    """The reference run of the dataset and its profiles of ``split``.

    Raises
    ------
    InvalidInputError
        The dataset has no succeeded run (saying whether it has any run at all), or its newest
        succeeded run has no profiles (saying why: its profiling error, or no training data).
    """
    with store.read() as session:
        run = latest_succeeded_run(session, dataset)
        if run is None:
            n_runs = count_runs(session, dataset)
            state = (
                "it has no runs yet"
                if n_runs == 0
                else f"none of its {n_runs} runs succeeded (see `smote-monitor runs list`)"
            )
            raise InvalidInputError(
                "dataset",
                dataset,
                f"a dataset with a succeeded run to compare with ({state}: record one with "
                "Monitor.track_run and run.resample first)",
            )
        profiles = load_profiles(session, run.id, split)
    if not profiles:
        why = (
            f"profiling failed: {run.profile_error}"
            if run.profile_error
            else "it was recorded without training data (e.g. by `smote-monitor record`, or "
            "before profiles existed); record a run with Monitor.track_run and run.resample"
        )
        raise InvalidInputError(
            "reference_run",
            run.id,
            f"the newest succeeded run of {dataset} ({run.run_key!r}) with training profiles; "
            f"it has none: {why}",
        )
    return run, profiles


def classes_of(config: DatasetConfig, class_keys: list[str]) -> tuple[Any, Any]:
    """The positive (minority) class and the other one, typed like ``positive_class``."""
    positive = config.positive_class
    others = [key for key in class_keys if key != str(positive)]
    if str(positive) not in class_keys or len(others) != 1:
        raise InvalidInputError(
            "positive_class",
            positive,
            f"one of the two classes of the reference run (it has {sorted(class_keys)})",
        )
    negative: Any = others[0]
    if isinstance(positive, int):
        with contextlib.suppress(ValueError):
            negative = int(negative)
    return positive, negative


def reference_slice_values(
    config: DatasetConfig, reference: dict[str, FeatureProfile]
) -> dict[str, list[Any]]:
    """The own slices of each slice column the reference profiled as categorical: its
    ``max_slice_values`` most common training values.

    Every window then reports the same slices (stable Prometheus series), and rare values fold
    into the fold bucket whatever order rows arrive in. Slice columns that are not profiled
    categorical features fall back to first come, first served.
    """
    from smote_monitor.drift import ColumnKind

    return {
        column: reference[column].most_common(config.max_slice_values)
        for column in config.slices
        if column in reference and reference[column].kind is ColumnKind.CATEGORICAL
    }


@dataclass(frozen=True)
class Reference:
    """What the push path needs of a dataset's reference run, loaded once per run."""

    run_id: int
    positive: Any
    negative: Any
    profiles: dict[str, FeatureProfile]
    slice_values: dict[str, list[Any]]

    @property
    def class_texts(self) -> tuple[str, str]:
        return str(self.positive), str(self.negative)


_CACHE: dict[tuple[Any, ...], Reference] = {}
_CACHE_MAX = 64


def current_reference(store: Store, config: DatasetConfig, dataset: str) -> Reference:
    """The dataset's reference (:func:`reference_profiles`), parsed once per reference run.

    Profiles are immutable once stored, so the cache is keyed by (store, run id); a newer run
    becomes the reference on the next call.
    """
    run = latest_reference_run(store, dataset)
    settings = (tuple(config.slices), config.max_slice_values, repr(config.positive_class))
    cached = _CACHE.get((store.url, run.id, *settings)) if run is not None else None
    if cached is not None:
        return cached
    run, profiles = reference_profiles(store, dataset)
    positive, negative = classes_of(config, list(run.class_counts_before))
    reference = Reference(
        run.id, positive, negative, profiles, reference_slice_values(config, profiles)
    )
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[(store.url, run.id, *settings)] = reference
    return reference
