"""Feature profiles: everything later drift computations need about one column of one dataset.

A profile is mergeable (``a.merge(b)`` summarises the rows of both), so the same type serves as
the reference profile of a training run and as the accumulator of a production window.

Numeric columns keep their exact distinct values with counts while there are at most
``exact_cap`` of them; beyond that they keep a :class:`DyadicHistogram` (see
:mod:`smote_monitor.drift.sketch` for its error bound) plus exact count, min, max, mean and
sum of squared deviations. Categorical columns always keep exact category counts.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from smote_monitor.drift.columns import ColumnKind, as_float_array
from smote_monitor.drift.sketch import DyadicHistogram, exponent_for
from smote_monitor.errors import InvalidInputError

Mode = Literal["exact", "sketch"]

#: Default number of distinct numeric values kept exactly per feature.
DEFAULT_EXACT_CAP = 100_000
#: Default sketch resolution: bins are at most ``std / resolution`` wide.
DEFAULT_RESOLUTION = 1000
#: Default bound on occupied sketch bins per feature (16 bytes each).
DEFAULT_MAX_BINS = 1 << 15
# Below this the automatic choice depends on the exact distinct count and on row counts
# around 1000, so the exact representation must cover it.
_MIN_EXACT_CAP = 1000


@dataclass(frozen=True)
class ProfileSettings:
    """Memory bounds of a profile.

    Parameters
    ----------
    exact_cap : int, default 100_000
        Distinct numeric values kept exactly; more switch the feature to the sketch.
    resolution : int, default 1000
        Sketch bins are at most ``std / resolution`` wide (std of the data that chose the grid).
    max_bins : int, default 32768
        Occupied sketch bins per feature; more coarsen the grid by powers of two.
    """

    exact_cap: int = DEFAULT_EXACT_CAP
    resolution: int = DEFAULT_RESOLUTION
    max_bins: int = DEFAULT_MAX_BINS

    def __post_init__(self) -> None:
        for name, low in (("exact_cap", _MIN_EXACT_CAP), ("resolution", 1), ("max_bins", 16)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidInputError(f"settings.{name}", value, f"an int >= {low}")


@dataclass(frozen=True)
class FeatureProfile:
    """Summary of one feature's cleaned values (±inf and NaN dropped and counted in ``n_missing``).

    Build with :func:`profile_values`; combine with :meth:`merge`; store with :meth:`to_dict`.

    Attributes
    ----------
    name : str
    kind : ColumnKind
    n : int
        Rows with a usable value.
    n_missing : int
        Rows dropped by cleaning (NaN, None, ±inf).
    integer : bool
        Every value came from an integer column (numpy then floors Sturges bin widths at 1).
    integral : bool
        Every value is a whole number (lets a sketch count distinct values exactly).
    minimum, maximum, mean, m2 : float
        Numeric moments (``m2`` is the sum of squared deviations from the mean); NaN when
        ``n == 0`` or the feature is categorical.
    values, counts : ndarray or None
        Exact distinct numeric values (sorted) and their counts, or ``None`` in sketch mode.
    sketch : DyadicHistogram or None
        The numeric summary beyond ``settings.exact_cap``.
    categories : tuple
        Categorical values (aligned with ``counts``).
    grid_exponent : int or None
        Sketch grid to use when this profile leaves exact mode; fixed for an accumulator made
        from a reference so the result does not depend on how the window was batched.
    settings : ProfileSettings
    """

    name: str
    kind: ColumnKind
    n: int
    n_missing: int = 0
    integer: bool = False
    integral: bool = False
    minimum: float = math.nan
    maximum: float = math.nan
    mean: float = math.nan
    m2: float = math.nan
    values: np.ndarray | None = None
    counts: np.ndarray | None = None
    sketch: DyadicHistogram | None = None
    categories: tuple[Any, ...] = ()
    grid_exponent: int | None = None
    settings: ProfileSettings = field(default_factory=ProfileSettings)

    @property
    def mode(self) -> Mode:
        """``'sketch'`` when a numeric feature went past the exact cap, else ``'exact'``."""
        return "sketch" if self.sketch is not None else "exact"

    @property
    def n_unique(self) -> int | None:
        """Distinct values, or ``None`` when only a sketch is kept (then it exceeds the cap)."""
        if self.kind is ColumnKind.CATEGORICAL:
            return len(self.categories)
        return None if self.values is None else int(self.values.size)

    def most_common(self, k: int) -> list[Any]:
        """The ``k`` most frequent categories, most frequent first (ties by their text).

        Examples
        --------
        >>> p = profile_values("r", ["us", "eu", "eu", "apac", "us", "eu"], ColumnKind.CATEGORICAL)
        >>> p.most_common(2)
        ['eu', 'us']
        """
        if self.kind is not ColumnKind.CATEGORICAL:
            raise InvalidInputError(f"profile.{self.name}", self.kind.value, "a categorical")
        ranked = sorted(
            zip(self.categories, _ints(self.counts), strict=True),
            key=lambda item: (-item[1], str(item[0])),
        )
        return [category for category, _ in ranked[:k]]

    @cached_property
    def std(self) -> float:
        """Population standard deviation (``ddof=0``, as ``numpy.std``)."""
        if self.n == 0:
            return math.nan
        if self.values is not None and self.counts is not None:
            mean = float(np.dot(self.values, self.counts)) / self.n
            return math.sqrt(float(np.dot(self.counts, (self.values - mean) ** 2)) / self.n)
        return math.sqrt(self.m2 / self.n)

    def empty_like(self, settings: ProfileSettings | None = None) -> FeatureProfile:
        """An empty profile of the same feature whose sketch grid is this profile's.

        Use it to start a production window against this reference: both then share one grid.
        ``settings`` default this profile's.
        """
        settings = settings or self.settings
        exponent = self.grid_exponent
        if self.sketch is not None:
            exponent = self.sketch.exponent
        elif exponent is None and self.kind is ColumnKind.NUMERIC:
            exponent = exponent_for(self.std, settings.resolution)
        return FeatureProfile(
            name=self.name,
            kind=self.kind,
            n=0,
            integer=self.integer,
            values=np.empty(0) if self.kind is ColumnKind.NUMERIC else None,
            counts=np.empty(0, np.int64),
            grid_exponent=exponent,
            settings=settings,
        )

    def merge(self, other: FeatureProfile) -> FeatureProfile:
        """Profile of the rows of both ``self`` and ``other`` (associative and commutative)."""
        if other.name != self.name or other.kind is not self.kind:
            raise InvalidInputError(
                "profile",
                f"{other.name} ({other.kind.value})",
                f"a profile of {self.name} ({self.kind.value})",
            )
        if self.kind is ColumnKind.CATEGORICAL:
            return self._merge_categorical(other)
        return self._merge_numeric(other)

    def _merge_categorical(self, other: FeatureProfile) -> FeatureProfile:
        merged: dict[Any, int] = dict(zip(self.categories, _ints(self.counts), strict=True))
        for key, count in zip(other.categories, _ints(other.counts), strict=True):
            merged[key] = merged.get(key, 0) + count
        return replace(
            self,
            n=self.n + other.n,
            n_missing=self.n_missing + other.n_missing,
            integer=self.integer and other.integer,
            categories=tuple(merged),
            counts=np.fromiter(merged.values(), dtype=np.int64, count=len(merged)),
        )

    def _merge_numeric(self, other: FeatureProfile) -> FeatureProfile:
        if other.n == 0:
            return replace(self, n_missing=self.n_missing + other.n_missing)
        if self.n == 0:
            return replace(
                other,
                n_missing=self.n_missing + other.n_missing,
                grid_exponent=_first(self.grid_exponent, other.grid_exponent),
            )
        n = self.n + other.n
        delta = other.mean - self.mean
        # Chan et al.'s pairwise update keeps the variance accurate across many merges.
        mean = self.mean + delta * other.n / n
        m2 = self.m2 + other.m2 + delta * delta * self.n * other.n / n
        grid = _first(self.grid_exponent, other.grid_exponent)
        base = replace(
            self,
            n=n,
            n_missing=self.n_missing + other.n_missing,
            integer=self.integer and other.integer,
            integral=self.integral and other.integral,
            minimum=min(self.minimum, other.minimum),
            maximum=max(self.maximum, other.maximum),
            mean=mean,
            m2=m2,
            grid_exponent=grid,
        )
        cap, max_bins = self.settings.exact_cap, self.settings.max_bins
        if self.sketch is None and other.sketch is None:
            mine, theirs = _arr(self.values), _arr(other.values)
            values = np.concatenate([mine, theirs])
            weights = np.concatenate([_arr(self.counts), _arr(other.counts)])
            # Both sides are sorted and distinct: a stable sort (timsort) merges the two runs
            # in linear time, where np.unique(..., return_inverse=True) argsorts them afresh —
            # 8× slower, paid by every partition of a window folded on Dask workers.
            ordered = np.sort(values, kind="stable")
            first = np.empty(ordered.size, dtype=bool)
            first[:1] = True
            np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
            if int(np.count_nonzero(first)) <= cap:
                uniq = ordered[first]
                counts = np.zeros(uniq.size, dtype=np.int64)
                counts[np.searchsorted(uniq, mine)] += _arr(self.counts).astype(np.int64)
                counts[np.searchsorted(uniq, theirs)] += _arr(other.counts).astype(np.int64)
                return replace(base, values=uniq, counts=counts)
            exponent = (
                grid
                if grid is not None
                else exponent_for(math.sqrt(m2 / n), self.settings.resolution)
            )
            # A histogram of the values with their counts is the histogram of their union.
            return replace(
                base,
                values=None,
                counts=None,
                sketch=DyadicHistogram.from_values(values, exponent, max_bins, weights=weights),
            )
        hist_a = self._as_sketch(other)
        hist_b = other._as_sketch(self)
        return replace(base, values=None, counts=None, sketch=hist_a.merge(hist_b, max_bins))

    def _as_sketch(self, partner: FeatureProfile) -> DyadicHistogram:
        if self.sketch is not None:
            return self.sketch
        exponent = partner.sketch.exponent if partner.sketch is not None else 0
        return DyadicHistogram.from_values(
            _arr(self.values), exponent, self.settings.max_bins, _arr(self.counts)
        )

    def histogram(self, exponent: int | None = None) -> DyadicHistogram:
        """This numeric feature as a dyadic histogram (exact values are binned at ``exponent``)."""
        if self.sketch is not None:
            return (
                self.sketch
                if exponent is None
                else self.sketch.coarsen(max(exponent, self.sketch.exponent))
            )
        if exponent is None:
            exponent = (
                self.grid_exponent
                if self.grid_exponent is not None
                else exponent_for(self.std, self.settings.resolution)
            )
        return DyadicHistogram.from_values(_arr(self.values), exponent, 1 << 62, _arr(self.counts))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form: numbers, strings, lists; numeric arrays as base64 little-endian."""
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind.value,
            "n": self.n,
            "n_missing": self.n_missing,
            "integer": self.integer,
            "integral": self.integral,
            "mode": self.mode,
            "grid_exponent": self.grid_exponent,
            "settings": {
                "exact_cap": self.settings.exact_cap,
                "resolution": self.settings.resolution,
                "max_bins": self.settings.max_bins,
            },
        }
        if self.kind is ColumnKind.CATEGORICAL:
            data["categories"] = [
                [_plain(k), int(c)]
                for k, c in zip(self.categories, _ints(self.counts), strict=True)
            ]
            return data
        data.update(
            minimum=_float_or_none(self.minimum),
            maximum=_float_or_none(self.maximum),
            mean=_float_or_none(self.mean),
            m2=_float_or_none(self.m2),
        )
        if self.sketch is not None:
            data["sketch"] = self.sketch.to_dict()
        else:
            data["values"] = _b64(_arr(self.values).astype("<f8"))
            data["counts"] = _b64(_arr(self.counts).astype("<i8"))
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureProfile:
        """Inverse of :meth:`to_dict`."""
        settings = ProfileSettings(**data["settings"])
        kind = ColumnKind(data["kind"])
        common: dict[str, Any] = {
            "name": data["name"],
            "kind": kind,
            "n": int(data["n"]),
            "n_missing": int(data["n_missing"]),
            "integer": bool(data["integer"]),
            "integral": bool(data.get("integral", False)),
            "grid_exponent": data["grid_exponent"],
            "settings": settings,
        }
        if kind is ColumnKind.CATEGORICAL:
            pairs = data["categories"]
            return cls(
                **common,
                categories=tuple(k for k, _ in pairs),
                counts=np.asarray([c for _, c in pairs], dtype=np.int64),
            )
        moments: dict[str, Any] = {
            k: math.nan if data[k] is None else float(data[k])
            for k in ("minimum", "maximum", "mean", "m2")
        }
        if "sketch" in data:
            return cls(**common, **moments, sketch=DyadicHistogram.from_dict(data["sketch"]))
        return cls(
            **common,
            **moments,
            values=_unb64(data["values"], "<f8"),
            counts=_unb64(data["counts"], "<i8"),
        )


def profile_values(
    name: str,
    values: Any,
    kind: ColumnKind,
    settings: ProfileSettings | None = None,
    grid_exponent: int | None = None,
    sketch_only: bool = False,
) -> FeatureProfile:
    """Profile one column's values (cleaning ±inf and NaN first).

    Parameters
    ----------
    name : str
        Feature name.
    values : array-like or pandas.Series of shape (n_rows,)
    kind : ColumnKind
    settings : ProfileSettings, optional
    grid_exponent : int, optional
        Sketch grid to use if the values exceed the exact cap (default: chosen from their std).
    sketch_only : bool, default False
        Summarise numeric values as a sketch whatever their distinct count: an accumulator
        already past the cap would drop exact values at the merge anyway.

    Returns
    -------
    FeatureProfile
        Possibly with ``n == 0``; drift computations reject empty profiles.
    """
    settings = settings or ProfileSettings()
    if kind is ColumnKind.CATEGORICAL:
        series = values if isinstance(values, pd.Series) else pd.Series(values)
        vc = series.value_counts(sort=False, dropna=True)
        # Evidently turns ±inf into NaN before dropping; filtering the few distinct keys is
        # far cheaper than scanning the rows.
        keep = [not _is_inf(k) for k in vc.index]
        vc = vc[keep]
        counts = vc.to_numpy(dtype=np.int64)
        n = int(counts.sum())
        return FeatureProfile(
            name=name,
            kind=kind,
            n=n,
            n_missing=int(series.size - n),
            integer=pd.api.types.is_integer_dtype(series.dtype),
            categories=tuple(_plain(k) for k in vc.index),
            counts=counts,
            grid_exponent=grid_exponent,
            settings=settings,
        )
    raw = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    integer = np.issubdtype(raw.dtype, np.integer)
    arr = as_float_array(raw, name)
    finite = arr
    if not integer:
        mask = np.isfinite(arr)
        # Skip the copy in the common all-finite case: a million-row column is 8 MB.
        finite = arr if mask.all() else arr[mask]
    empty = FeatureProfile(
        name=name,
        kind=kind,
        n=0,
        n_missing=int(arr.size),
        integer=bool(integer),
        integral=bool(integer),
        values=np.empty(0),
        counts=np.empty(0, np.int64),
        grid_exponent=grid_exponent,
        settings=settings,
    )
    if finite.size == 0:
        return empty
    cap = settings.exact_cap
    if sketch_only or (finite.size > cap and np.unique(finite[: 2 * cap]).size > cap):
        # A prefix already holds more distinct values than the cap: the column is sketched,
        # so skip the full sort and histogram it in one linear pass.
        return _sketch_unsorted(
            empty, finite, int(arr.size), bool(integer), grid_exponent, settings
        )
    # One sort serves the exact values, the distinct count and the sketch; the distinct values
    # are only materialised when they are kept (a million of them would be 16 MB per column).
    ordered = np.sort(finite)
    first = np.empty(ordered.size, dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    n_unique = int(np.count_nonzero(first))
    mean = float(np.mean(ordered))
    common: dict[str, Any] = {
        "n": int(ordered.size),
        "n_missing": int(arr.size - ordered.size),
        "minimum": float(ordered[0]),
        "maximum": float(ordered[-1]),
        "mean": mean,
    }
    if n_unique <= settings.exact_cap:
        starts = np.flatnonzero(first)
        uniq = ordered[starts]
        counts = np.diff(np.append(starts, ordered.size)).astype(np.int64)
        return replace(
            empty,
            **common,
            integral=bool(integer) or bool(np.all(uniq == np.floor(uniq))),
            m2=float(np.dot(counts, (uniq - mean) ** 2)),
            values=uniq,
            counts=counts,
        )
    del first
    deviation = ordered - mean
    m2 = float(np.dot(deviation, deviation))
    del deviation
    integral = bool(integer) or bool(np.all(np.floor(ordered) == ordered))
    exponent = (
        grid_exponent
        if grid_exponent is not None
        else exponent_for(math.sqrt(m2 / ordered.size), settings.resolution)
    )
    hist = DyadicHistogram.from_values(ordered, exponent, settings.max_bins)
    profile = replace(empty, **common, integral=integral, m2=m2)
    return replace(profile, values=None, counts=None, sketch=hist)


def _sketch_unsorted(
    empty: FeatureProfile,
    finite: np.ndarray,
    n_rows: int,
    integer: bool,
    grid_exponent: int | None,
    settings: ProfileSettings,
) -> FeatureProfile:
    mean = float(np.mean(finite))
    deviation = finite - mean
    m2 = float(np.dot(deviation, deviation))
    del deviation
    exponent = (
        grid_exponent
        if grid_exponent is not None
        else exponent_for(math.sqrt(m2 / finite.size), settings.resolution)
    )
    return replace(
        empty,
        n=int(finite.size),
        n_missing=n_rows - int(finite.size),
        minimum=float(np.min(finite)),
        maximum=float(np.max(finite)),
        mean=mean,
        m2=m2,
        integral=integer or bool(np.all(np.floor(finite) == finite)),
        values=None,
        counts=None,
        sketch=DyadicHistogram.from_values(finite, exponent, settings.max_bins),
    )


def _is_inf(value: Any) -> bool:
    return isinstance(value, float | np.floating) and math.isinf(value)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _first(a: int | None, b: int | None) -> int | None:
    return a if a is not None else b


def _arr(a: np.ndarray | None) -> np.ndarray:
    return np.empty(0) if a is None else a


def _ints(a: np.ndarray | None) -> list[int]:
    return [] if a is None else [int(x) for x in a]


def _float_or_none(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def _unb64(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype).astype(dtype[1:])
