"""Profiles of many features at once, built in one go or fed batch by batch.

A :class:`WindowAccumulator` holds one :class:`FeatureProfile` per feature. Its memory is
bounded by the profile settings (exact cap, sketch bins), not by the rows fed, and two
accumulators merge associatively, so windows can be split across processes or partitions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from smote_monitor.drift.columns import ColumnKind, resolve_kinds
from smote_monitor.drift.profile import FeatureProfile, ProfileSettings, profile_values
from smote_monitor.errors import InvalidInputError

#: Threads profiling features in parallel (numpy releases the GIL while sorting).
DEFAULT_WORKERS = min(4, os.cpu_count() or 1)


class WindowAccumulator:
    """Mergeable per-feature profiles of a stream of row batches.

    Parameters
    ----------
    kinds : mapping of str to ColumnKind
        The features to profile and their kinds.
    settings : ProfileSettings, optional
    grid : mapping of str to int, optional
        Sketch grid exponent per numeric feature. :meth:`for_reference` sets it from the
        reference so that the window's summary does not depend on its batching.
    workers : int, optional
        Threads profiling features in parallel; default ``min(4, cpu_count)``.

    Examples
    --------
    >>> import pandas as pd
    >>> acc = WindowAccumulator({"x": ColumnKind.NUMERIC})
    >>> acc.update(pd.DataFrame({"x": [1.0, 2.0]})).update(pd.DataFrame({"x": [float("nan")]}))
    WindowAccumulator(features=1, rows=3)
    >>> acc.profiles["x"].n, acc.profiles["x"].n_missing
    (2, 1)
    """

    def __init__(
        self,
        kinds: Mapping[str, ColumnKind],
        settings: ProfileSettings | None = None,
        grid: Mapping[str, int | None] | None = None,
        workers: int | None = None,
    ) -> None:
        self.settings = settings or ProfileSettings()
        self.workers = workers if workers is not None else DEFAULT_WORKERS
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise InvalidInputError("workers", workers, "an int >= 1")
        self.rows = 0
        self._profiles: dict[str, FeatureProfile] = {
            name: profile_values(name, [], kind, self.settings, (grid or {}).get(name))
            for name, kind in kinds.items()
        }

    @classmethod
    def for_reference(
        cls,
        reference: Mapping[str, FeatureProfile],
        workers: int | None = None,
        settings: ProfileSettings | None = None,
    ) -> WindowAccumulator:
        """An empty window over the reference's features, kinds and sketch grids.

        ``settings`` bound the window's memory (e.g. the dataset's configured ones); default
        the reference's.
        """
        if not reference:
            raise InvalidInputError("reference", {}, "at least one feature profile")
        chosen = settings or next(iter(reference.values())).settings
        acc = cls({}, chosen, workers=workers)
        acc._profiles = {name: p.empty_like(chosen) for name, p in reference.items()}
        return acc

    @property
    def profiles(self) -> dict[str, FeatureProfile]:
        """The current profile of every feature (immutable values; safe to keep)."""
        return dict(self._profiles)

    def update(self, batch: Mapping[str, Any]) -> WindowAccumulator:
        """Add a batch of rows (a DataFrame or a mapping of column to values); returns ``self``.

        Raises
        ------
        InvalidInputError
            The batch lacks a profiled feature; a numeric feature holds non-numbers. The
            accumulator is unchanged then.
        """
        for name in self._profiles:
            if name not in batch:
                raise InvalidInputError(
                    f"batch.{name}", None, "a column for every profiled feature"
                )

        # Profile every column before touching state, so a bad column leaves nothing half-added.
        def step(item: tuple[str, FeatureProfile]) -> FeatureProfile:
            name, p = item
            # Once past the cap, a batch's exact values would be dropped at the merge anyway.
            fresh = profile_values(
                name, batch[name], p.kind, self.settings, p.grid_exponent, p.sketch is not None
            )
            return p.merge(fresh)

        if self.workers == 1:  # no pool to start and join per batch (e.g. on a Dask worker)
            merged = [step(item) for item in self._profiles.items()]
        else:
            # numpy's sorts release the GIL, so features profile in parallel on threads.
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                merged = list(pool.map(step, self._profiles.items()))
        self._profiles = dict(zip(self._profiles, merged, strict=True))
        self.rows += len(batch[next(iter(self._profiles))]) if self._profiles else 0
        return self

    def without(self, names: set[str]) -> WindowAccumulator:
        """A new accumulator of the same rows that no longer profiles ``names`` (features a
        window lost: :func:`~smote_monitor.drift.engine.compute_drift` can flag them)."""
        out = WindowAccumulator({}, self.settings, workers=self.workers)
        out._profiles = {n: p for n, p in self._profiles.items() if n not in names}
        out.rows = self.rows
        return out

    def merge(self, other: WindowAccumulator) -> WindowAccumulator:
        """A new accumulator holding the rows of both."""
        if set(other._profiles) != set(self._profiles):
            missing = sorted(set(self._profiles) ^ set(other._profiles))
            raise InvalidInputError(
                "accumulator.features", missing, "the same features on both sides"
            )
        out = WindowAccumulator({}, self.settings, workers=self.workers)
        out._profiles = {name: p.merge(other._profiles[name]) for name, p in self._profiles.items()}
        out.rows = self.rows + other.rows
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able state (what the daemon persists between evaluations)."""
        return {"rows": self.rows, "profiles": {n: p.to_dict() for n, p in self._profiles.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WindowAccumulator:
        """Inverse of :meth:`to_dict`."""
        profiles = {n: FeatureProfile.from_dict(d) for n, d in data["profiles"].items()}
        acc = cls({}, next(iter(profiles.values())).settings if profiles else None)
        acc._profiles = profiles
        acc.rows = int(data["rows"])
        return acc

    def __repr__(self) -> str:
        return f"WindowAccumulator(features={len(self._profiles)}, rows={self.rows})"


def build_profiles(
    frame: Mapping[str, Any],
    features: list[str] | None = None,
    categorical: list[str] | None = None,
    numeric: list[str] | None = None,
    settings: ProfileSettings | None = None,
    workers: int | None = None,
) -> dict[str, FeatureProfile]:
    """Reference profiles of a training frame (real or augmented rows).

    Column kinds follow ``categorical`` / ``numeric`` when given, else Evidently's inference.

    Raises
    ------
    InvalidInputError
        An unknown feature; a column empty after dropping NaN and ±inf.
    """
    kinds = resolve_kinds(frame, features, categorical, numeric)
    profiles = WindowAccumulator(kinds, settings, workers=workers).update(frame).profiles
    for name, profile in profiles.items():
        if profile.n == 0:
            raise InvalidInputError(
                f"features.{name}",
                f"{profile.n_missing} rows, all NaN/inf/missing",
                "at least one value after dropping NaN and ±inf",
            )
    return profiles
