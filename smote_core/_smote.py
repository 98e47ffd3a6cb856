"""SMOTE, and the base every over-sampler shares."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from ._base import BaseSampler, Result, copy_rows, fill_synthetic
from ._input import InputInfo
from ._neighbors import kneighbors, n_threads
from ._report import Provenance
from ._strategy import resolve_over_sampling
from ._validation import (
    CALLABLE,
    DICT,
    NONE,
    RANDOM_STATE,
    Constraint,
    Interval,
    Options,
    check_random_state,
)

__all__ = ["SMOTE", "BaseOverSampler", "Plan", "check_class_size", "check_total_size"]

OVER_SAMPLING_STRATEGY: list[Constraint] = [
    Interval("real", 0, 1, closed="right"),
    Options(frozenset({"auto", "minority", "not minority", "not majority", "all"})),
    DICT,
    CALLABLE,
]
NEAR_DUPLICATE_THRESHOLD: list[Constraint] = [Interval("real", 0, None, closed="left"), NONE]

Plan = tuple[
    NDArray[np.intp], NDArray[np.intp], NDArray[np.float64], NDArray[np.float64], NDArray[np.intp]
]


def check_class_size(estimator: str, param: str, k: int, label: Any, n_rows: int) -> None:
    """Raise when class ``label`` has too few rows for ``k`` neighbours (self excluded)."""
    if n_rows < 2:
        # No neighbour count helps here (and 0 is refused): say what the class lacks.
        raise ValueError(
            f"{estimator} cannot interpolate class {label!r}: it has {n_rows} row"
            f"{'s' if n_rows != 1 else ''}, and a synthetic row lies between two rows of its "
            f"class, so a class needs at least 2 rows. Add rows of class {label!r} or leave it "
            "out of sampling_strategy."
        )
    if k >= n_rows:
        raise ValueError(
            f"{estimator} needs more rows than {param}={k} in every class it over-samples; "
            f"class {label!r} has {n_rows} row{'s' if n_rows != 1 else ''}. Lower {param} to "
            f"at most {n_rows - 1} or leave class {label!r} out of sampling_strategy."
        )


def check_total_size(estimator: str, param: str, k: int, n_rows: int) -> None:
    """Raise when X has too few rows for ``k`` neighbours over all classes (self excluded)."""
    if k >= n_rows:
        raise ValueError(
            f"{estimator} needs more rows in X than {param}={k}; X has {n_rows} rows. Lower "
            f"{param} to at most {n_rows - 1}."
        )


def class_plan(
    idx: NDArray[np.intp],
    nn: NDArray[np.intp],
    dist: NDArray[np.float64],
    rows: NDArray[np.intp],
    cols: NDArray[np.intp],
    gap: NDArray[np.float64],
    code: int,
) -> Plan:
    """One class's plan: parent ``idx[rows]`` moves towards its neighbour ``idx[nn[rows, cols]]``.

    ``idx`` are the class's rows in X, ``nn``/``dist`` their within-class neighbours (positions
    in ``idx``) and distances.
    """
    return (
        idx[rows],
        idx[nn[rows, cols]],
        gap,
        dist[rows, cols],
        np.full(rows.shape[0], code, dtype=np.intp),
    )


def concat_plans(parts: list[Plan]) -> Plan:
    """Join per-class plans (sorted-label order) into one."""
    if not parts:
        i = np.empty(0, dtype=np.intp)
        f = np.empty(0, dtype=np.float64)
        return i, i.copy(), f, f.copy(), i.copy()
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        np.concatenate([p[3] for p in parts]),
        np.concatenate([p[4] for p in parts]),
    )


class BaseOverSampler(BaseSampler):
    """Over-samplers: a plan of (parent, neighbour, gap) per synthetic row, then the output.

    Subclasses write ``_plan(X, codes, classes, rng)`` returning parents, neighbours, gaps,
    pair distances and class codes of the synthetic rows, in sorted-label order.
    """

    sampling_strategy: Any
    random_state: Any

    def _resample(
        self,
        X: NDArray[Any],
        codes: NDArray[np.intp],
        classes: NDArray[Any],
        counts: NDArray[np.intp],
        labels: NDArray[Any],
        info: InputInfo,
    ) -> Result:
        self.sampling_strategy_ = resolve_over_sampling(
            self.sampling_strategy, labels, classes, counts
        )
        rng = check_random_state(self.random_state)
        parent, neighbor, gap, distance, syn_codes = self._plan(X, codes, classes, rng)
        n, n_syn = X.shape[0], parent.shape[0]
        out = self._allocate(X, n + n_syn)
        copy_rows(out, X, n_threads())
        self._fill(out, n, X, parent, neighbor, gap, syn_codes, codes, rng)
        prov = Provenance(np.arange(n, n + n_syn), parent, neighbor, gap, distance)
        return Result(out, None, syn_codes, prov)

    def _allocate(self, X: NDArray[Any], n_rows: int) -> NDArray[Any]:
        return np.empty((n_rows, X.shape[1]), dtype=X.dtype)

    def _fill(
        self,
        out: NDArray[Any],
        start: int,
        X: NDArray[Any],
        parent: NDArray[np.intp],
        neighbor: NDArray[np.intp],
        gap: NDArray[np.float64],
        syn_codes: NDArray[np.intp],
        codes: NDArray[np.intp],
        rng: np.random.Generator,
    ) -> None:
        fill_synthetic(out, start, X, parent, neighbor, gap, n_threads())

    def _targets(self, classes: NDArray[Any]) -> list[tuple[int, Any, int]]:
        """Return ``(code, label, rows to generate)`` of classes that grow, sorted by label."""
        out = []
        for code, label in enumerate(classes):
            key = label.item() if hasattr(label, "item") else label
            n_gen = int(self.sampling_strategy_.get(key, 0))
            if n_gen > 0:
                out.append((code, key, n_gen))
        return out

    @abstractmethod
    def _plan(
        self,
        X: NDArray[Any],
        codes: NDArray[np.intp],
        classes: NDArray[Any],
        rng: np.random.Generator,
    ) -> Plan:
        """Each concrete subclass says how."""


class SMOTE(BaseOverSampler):
    r"""Synthetic Minority Over-sampling TEchnique.

    Each synthetic row of class c starts from a row ``x`` of c drawn uniformly (with
    replacement), picks ``x_nn`` uniformly among the ``k_neighbors`` nearest other rows of c
    (Euclidean) and draws ``gap ~ U[0, 1)``:

    .. math:: x_{new} = x + gap \cdot (x_{nn} - x)

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        Which classes grow, and to how many rows: a float α (binary only) grows the minority
        to ``int(α · n_majority)``; "auto" / "not majority" grow every class but the majority
        to the majority count; "minority", "not minority", "all" as named; a dict maps labels
        to desired totals; a callable of y returns such a dict.
    random_state : int, numpy.random.Generator or None, default=None
        Source of all randomness; the same int gives the same output.
    k_neighbors : int, default=5
        Same-class neighbours a synthetic row may move towards.
    near_duplicate_threshold : float or None, default=None
        Distance below which (inclusive) a synthetic row counts as a near duplicate of a real
        row in ``report_``; None uses 1 % of the median parent–neighbour distance.

    Attributes
    ----------
    sampling_strategy_ : dict
        Label -> number of rows generated for it.
    classes_ : ndarray of shape (n_classes,)
        Sorted labels.
    provenance_ : Provenance
        Row, parent, neighbour, gap and pair distance of every synthetic row.
    report_ : ResampleReport
        What the run did.

    Examples
    --------
    >>> import numpy as np
    >>> from smote_core import SMOTE
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2))
    >>> y = np.array([0] * 90 + [1] * 10)
    >>> X_res, y_res = SMOTE(random_state=0).fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [90, 90]
    >>> bool((X_res[:100] == X).all())
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "sampling_strategy": OVER_SAMPLING_STRATEGY,
        "random_state": [RANDOM_STATE],
        "k_neighbors": [Interval("int", 1, None, closed="left")],
        "near_duplicate_threshold": NEAR_DUPLICATE_THRESHOLD,
    }

    def __init__(
        self,
        *,
        sampling_strategy: float | str | dict[Any, int] | Any = "auto",
        random_state: int | np.random.Generator | None = None,
        k_neighbors: int = 5,
        near_duplicate_threshold: float | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.near_duplicate_threshold = near_duplicate_threshold

    def _plan(
        self,
        X: NDArray[Any],
        codes: NDArray[np.intp],
        classes: NDArray[Any],
        rng: np.random.Generator,
    ) -> Plan:
        k = self.k_neighbors
        parts: list[Plan] = []
        for code, label, n_gen in self._targets(classes):
            idx = np.flatnonzero(codes == code)
            check_class_size(type(self).__name__, "k_neighbors", k, label, idx.shape[0])
            dist, nn = kneighbors(X[idx], k)
            rows = rng.integers(0, idx.shape[0], size=n_gen)
            cols = rng.integers(0, k, size=n_gen)
            gap = rng.random(n_gen)
            parts.append(class_plan(idx, nn, dist, rows, cols, gap, code))
        return concat_plans(parts)
