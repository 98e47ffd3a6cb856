"""ADASYN: more synthetic rows where a class is harder to learn."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from ._neighbors import kneighbors
from ._smote import (
    NEAR_DUPLICATE_THRESHOLD,
    OVER_SAMPLING_STRATEGY,
    BaseOverSampler,
    Plan,
    check_class_size,
    check_total_size,
    class_plan,
    concat_plans,
)
from ._validation import RANDOM_STATE, Constraint, Interval

__all__ = ["ADASYN"]


class ADASYN(BaseOverSampler):
    r"""Adaptive Synthetic sampling (He et al., 2008).

    For a class c to grow by G rows, each row i of c gets the weight
    :math:`r_i = \Delta_i / K` where :math:`\Delta_i` counts rows of other classes among its
    ``K = n_neighbors`` nearest rows over the whole data set; weights are normalised to sum to
    1 and row i parents ``round(r_i · G)`` synthetic rows (so the total may differ slightly
    from G, as in imbalanced-learn). Each moves towards one of the parent's K nearest rows of c
    with ``gap ~ U[0, 1)``.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        As in :class:`SMOTE`.
    random_state : int, numpy.random.Generator or None, default=None
        Source of all randomness; the same int gives the same output.
    n_neighbors : int, default=5
        K, for both the weights and the interpolation.
    near_duplicate_threshold : float or None, default=None
        As in :class:`SMOTE`.

    Attributes
    ----------
    sampling_strategy_ : dict
        Label -> rows requested for it (before rounding).
    classes_ : ndarray of shape (n_classes,)
    provenance_ : Provenance
    report_ : ResampleReport

    Examples
    --------
    >>> import numpy as np
    >>> from smote_core import ADASYN
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (200, 2)), rng.normal(1, 1, (40, 2))])
    >>> y = np.array([0] * 200 + [1] * 40)
    >>> X_res, y_res = ADASYN(random_state=0).fit_resample(X, y)
    >>> abs(int(np.bincount(y_res)[1]) - 200) <= 40
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "sampling_strategy": OVER_SAMPLING_STRATEGY,
        "random_state": [RANDOM_STATE],
        "n_neighbors": [Interval("int", 1, None, closed="left")],
        "near_duplicate_threshold": NEAR_DUPLICATE_THRESHOLD,
    }

    def __init__(
        self,
        *,
        sampling_strategy: float | str | dict[Any, int] | Any = "auto",
        random_state: int | np.random.Generator | None = None,
        n_neighbors: int = 5,
        near_duplicate_threshold: float | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.n_neighbors = n_neighbors
        self.near_duplicate_threshold = near_duplicate_threshold

    def _plan(
        self,
        X: NDArray[Any],
        codes: NDArray[np.intp],
        classes: NDArray[Any],
        rng: np.random.Generator,
    ) -> Plan:
        K = self.n_neighbors
        parts: list[Plan] = []
        for code, label, n_gen in self._targets(classes):
            idx = np.flatnonzero(codes == code)
            check_total_size("ADASYN", "n_neighbors", K, X.shape[0])
            check_class_size("ADASYN", "n_neighbors", K, label, idx.shape[0])
            _, nn_all = kneighbors(X, K, query_index=idx)
            ratio = np.sum(codes[nn_all] != code, axis=1) / K
            total = np.sum(ratio)
            if not total:
                raise ValueError(
                    f"ADASYN found no row of class {label!r} with a neighbour of another class "
                    f"among its {K} nearest rows, so every weight is 0. ADASYN does not suit "
                    "this data; use SMOTE instead."
                )
            ratio /= total
            per_row = np.rint(ratio * n_gen).astype(np.intp)
            n_new = int(per_row.sum())
            if n_new == 0:
                raise ValueError(
                    f"ADASYN would generate no row for class {label!r}: {n_gen} requested rows "
                    "round to 0 per parent. Ask for more rows in sampling_strategy."
                )
            dist, nn = kneighbors(X[idx], K)
            rows = np.repeat(np.arange(idx.shape[0]), per_row)
            cols = rng.integers(0, K, size=n_new)
            gap = rng.random(n_new)
            parts.append(class_plan(idx, nn, dist, rows, cols, gap, code))
        return concat_plans(parts)
