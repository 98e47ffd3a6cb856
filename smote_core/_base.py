"""The estimator shape every sampler shares: ``fit_resample``, parameters, the report."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from ._input import InputInfo, check_X, check_y, wrap_X, wrap_y
from ._report import (
    NEAR_DUPLICATE_SHARE,
    Measure,
    Provenance,
    ResampleReport,
    distance_quantiles,
    jsonable,
    near_duplicates,
    provenance_sample,
    schema_hash,
)
from ._validation import Constraint, validate_params

__all__ = ["BaseSampler", "Result", "copy_rows", "fill_synthetic"]

# Rows filled per task when writing synthetic rows into the preallocated output.
FILL_CHUNK = 32768


@dataclass
class Result:
    """Resampled arrays before they go back to the caller's kind.

    Attributes
    ----------
    X : ndarray of shape (n_out, n_features)
        Output rows: kept originals first, in input order, then synthetic rows.
    original_rows : ndarray of shape (n_kept,) or None
        Input rows kept, in order; None when all are kept.
    synthetic_codes : ndarray of shape (n_synthetic,)
        Class code of each synthetic row.
    provenance : Provenance
    n_removed : int
        Rows removed by cleaning.
    """

    X: NDArray[Any]
    original_rows: NDArray[np.intp] | None
    synthetic_codes: NDArray[np.intp]
    provenance: Provenance
    n_removed: int = 0


class BaseSampler(ABC):
    """Shared ``fit_resample``: validate, convert, resample, report, convert back.

    Subclasses declare ``_parameter_constraints`` (one entry per ``__init__`` argument) and
    write ``_resample(X, codes, classes, counts, labels, info)`` returning a :class:`Result`.
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {}

    @classmethod
    def _param_names(cls) -> list[str]:
        return list(_init_params(cls.__init__))

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """Return the parameters given to ``__init__``.

        Parameters
        ----------
        deep : bool, default=False
            Accepted for scikit-learn compatibility; nested samplers are returned as objects.

        Returns
        -------
        dict
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> BaseSampler:
        """Set parameters (checked at the next ``fit_resample``) and return ``self``."""
        names = set(self._param_names())
        for key, value in params.items():
            if key not in names:
                raise ValueError(
                    f"Invalid parameter {key!r} for {type(self).__name__}; valid parameters "
                    f"are {sorted(names)}."
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _check_X(self, X: Any, info: InputInfo) -> Any:
        return check_X(X, info, type(self).__name__)

    def _wrap_X(self, X_out: Any, info: InputInfo) -> Any:
        return wrap_X(X_out, info)

    def fit_resample(self, X: Any, y: Any) -> tuple[Any, Any]:
        """Resample ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Features; a DataFrame comes back as a DataFrame with the same columns and dtypes
            (index reset), float32 stays float32.
        y : array-like or Series of shape (n_samples,)
            Class labels; a Series comes back as a Series with the same name and dtype.

        Returns
        -------
        X_resampled : {ndarray, DataFrame} of shape (n_samples_new, n_features)
            Original rows first, unchanged and in order (minus rows a cleaner removed), then
            synthetic rows, one block per class in sorted-label order.
        y_resampled : {ndarray, Series} of shape (n_samples_new,)
        """
        validate_params(self)
        info = InputInfo()
        with Measure() as measure:
            X_arr = self._check_X(X, info)
            codes, classes, labels = check_y(y, X_arr.shape[0], info)
            counts = np.bincount(codes, minlength=classes.shape[0])
            result = self._resample(X_arr, codes, classes, counts, labels, info)
            kept = labels if result.original_rows is None else labels[result.original_rows]
            y_out = np.concatenate([kept, classes[result.synthetic_codes].astype(kept.dtype)])
        measure.holds(result.X, y_out)
        self.provenance_ = result.provenance
        self.classes_ = classes
        out_counts = np.bincount(result.synthetic_codes, minlength=classes.shape[0])
        kept_codes = codes if result.original_rows is None else codes[result.original_rows]
        out_counts += np.bincount(kept_codes, minlength=classes.shape[0])
        self.report_ = self._make_report(X_arr, classes, counts, out_counts, result, info, measure)
        return self._wrap_X(result.X, info), wrap_y(y_out, info)

    def _make_report(
        self,
        X: NDArray[Any],
        classes: NDArray[Any],
        counts: NDArray[np.intp],
        out_counts: NDArray[np.intp],
        result: Result,
        info: InputInfo,
        measure: Measure,
    ) -> ResampleReport:
        prov = result.provenance
        n_out = result.X.shape[0]
        n_syn = len(prov)
        quantiles = distance_quantiles(prov.distance)
        threshold = getattr(self, "near_duplicate_threshold", None)
        ratio: float | None = None
        sample_size = 0
        if n_syn:
            if threshold is None:
                threshold = NEAR_DUPLICATE_SHARE * quantiles["0.5"]
            real = self._real_features(X)
            synthetic = self._real_features(result.X[-n_syn:])
            ratio, sample_size = near_duplicates(
                real, synthetic, float(threshold), self._own_distance(prov)
            )
        schema = [
            {"name": n, "dtype": d}
            for n, d in zip(info.feature_names, info.feature_dtypes, strict=True)
        ]
        seed = self.get_params().get("random_state")
        return ResampleReport(
            variant=type(self).__name__,
            params=jsonable(self.get_params()),
            seed=int(seed) if isinstance(seed, int | np.integer) else None,
            class_counts_before={str(c): int(n) for c, n in zip(classes, counts, strict=True)},
            class_counts_after={str(c): int(n) for c, n in zip(classes, out_counts, strict=True)},
            n_samples_before=int(X.shape[0]),
            n_samples_after=int(n_out),
            n_synthetic=n_syn,
            n_removed=int(result.n_removed),
            synthetic_ratio=float(n_syn / n_out) if n_out else 0.0,
            neighbor_distance_quantiles=quantiles,
            near_duplicate_ratio=ratio,
            near_duplicate_threshold=None if threshold is None else float(threshold),
            near_duplicate_sample_size=sample_size,
            duration_seconds=float(measure.duration),
            peak_memory_bytes=int(measure.peak),
            feature_schema=schema,
            feature_schema_hash=schema_hash(schema),
            provenance_sample=provenance_sample(prov),
        )

    def _real_features(self, X: NDArray[Any]) -> NDArray[np.floating]:
        """Return the features the near-duplicate distance is measured on."""
        return X

    def _own_distance(self, prov: Provenance) -> NDArray[np.float64] | None:
        """Each synthetic row's distance to the nearer of its parent and neighbour.

        A row on the segment is ``gap·d`` from its parent and ``(1 − gap)·d`` from its
        neighbour (d the pair distance): no pass over the data. None where the pair distance is
        not measured in the near-duplicate check's feature space (SMOTENC).
        """
        return np.minimum(prov.gap, 1.0 - prov.gap) * prov.distance

    @abstractmethod
    def _resample(
        self,
        X: NDArray[Any],
        codes: NDArray[np.intp],
        classes: NDArray[Any],
        counts: NDArray[np.intp],
        labels: NDArray[Any],
        info: InputInfo,
    ) -> Result:
        """Each concrete subclass says how."""


@cache
def _init_params(init: Any) -> tuple[str, ...]:
    # inspect.signature costs ~0.1 ms, and a fit asks twice (params and seed of the report).
    return tuple(p for p in inspect.signature(init).parameters if p != "self")


def copy_rows(out: NDArray[Any], X: NDArray[Any], workers: int) -> None:
    """Copy ``X`` into ``out[:len(X)]`` in chunks over ``workers`` threads.

    The output is freshly allocated, so the copy is mostly first-touch page faults, which
    proceed in parallel on several cores.
    """

    def copy(lo: int) -> None:
        hi = min(lo + 4 * FILL_CHUNK, X.shape[0])
        out[lo:hi] = X[lo:hi]

    chunks = range(0, X.shape[0], 4 * FILL_CHUNK)
    if workers > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(copy, chunks))
    else:
        out[: X.shape[0]] = X


def fill_synthetic(
    out: NDArray[Any],
    start: int,
    X: NDArray[Any],
    parent: NDArray[np.intp],
    neighbor: NDArray[np.intp],
    gap: NDArray[np.float64],
    workers: int,
) -> None:
    """Write ``X[parent] + gap · (X[neighbor] − X[parent])`` into ``out[start:]`` in chunks.

    Chunks go to ``workers`` threads (numpy releases the GIL in gathers and arithmetic); the
    only temporaries are one chunk per thread, so memory stays at the preallocated output.
    """

    def fill(lo: int) -> None:
        hi = min(lo + FILL_CHUNK, parent.shape[0])
        base = X[parent[lo:hi]]
        step = X[neighbor[lo:hi]]
        step -= base
        step *= gap[lo:hi, None].astype(X.dtype, copy=False)
        step += base
        out[start + lo : start + hi] = step

    chunks = range(0, parent.shape[0], FILL_CHUNK)
    if workers > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(fill, chunks))
    else:
        for lo in chunks:
            fill(lo)
