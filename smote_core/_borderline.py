"""Borderline-SMOTE: over-sample only the rows on the border with other classes."""

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
    concat_plans,
)
from ._validation import RANDOM_STATE, Constraint, Interval, Options

__all__ = ["BorderlineSMOTE", "danger_mask"]


def danger_mask(
    X: NDArray[Any], codes: NDArray[np.intp], idx: NDArray[np.intp], code: int, m: int
) -> NDArray[np.bool_]:
    """Return which rows ``idx`` (of class ``code``) are in danger.

    A row is in danger when at least half, but not all, of its ``m`` nearest rows (over the
    whole data set, itself excluded) belong to another class; with all ``m`` it is noise.
    """
    _, nn = kneighbors(X, m, query_index=idx)
    n_other = np.count_nonzero(codes[nn] != code, axis=1)
    return (2 * n_other >= m) & (n_other < m)


class BorderlineSMOTE(BaseOverSampler):
    r"""Borderline-SMOTE (Han et al., 2005).

    For each class c that grows, the rows of c "in danger" are found with the ``m_neighbors``
    nearest rows over the whole data set: a row is in danger when ``m/2 <= n_other < m`` of
    them belong to another class (``n_other = m`` is noise). Only danger rows are parents; a
    class without danger rows is left unchanged.

    - ``kind="borderline-1"``: the neighbour is one of the parent's ``k_neighbors`` nearest rows
      of c, ``x_new = x + gap · (x_nn − x)`` with ``gap ~ U[0, 1)``.
    - ``kind="borderline-2"``: the neighbour is one of the parent's ``k_neighbors`` nearest rows
      of any class; towards another class the step is further scaled by ``U[0, 0.5)``, so the
      new row stays on c's side.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        As in :class:`SMOTE`.
    random_state : int, numpy.random.Generator or None, default=None
        Source of all randomness; the same int gives the same output.
    k_neighbors : int, default=5
        Neighbours a synthetic row may move towards.
    m_neighbors : int, default=10
        Neighbours (over all classes) that decide whether a row is in danger.
    kind : {"borderline-1", "borderline-2"}, default="borderline-1"
    near_duplicate_threshold : float or None, default=None
        As in :class:`SMOTE`.

    Attributes
    ----------
    sampling_strategy_ : dict
        Label -> rows requested for it (a class without danger rows gets none).
    in_danger_indices_ : dict
        Label -> input rows found in danger.
    classes_ : ndarray of shape (n_classes,)
    provenance_ : Provenance
    report_ : ResampleReport

    Examples
    --------
    >>> import numpy as np
    >>> from smote_core import BorderlineSMOTE
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (200, 2)), rng.normal(1, 1, (40, 2))])
    >>> y = np.array([0] * 200 + [1] * 40)
    >>> X_res, y_res = BorderlineSMOTE(random_state=0).fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [200, 200]
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "sampling_strategy": OVER_SAMPLING_STRATEGY,
        "random_state": [RANDOM_STATE],
        "k_neighbors": [Interval("int", 1, None, closed="left")],
        "m_neighbors": [Interval("int", 1, None, closed="left")],
        "kind": [Options(frozenset({"borderline-1", "borderline-2"}))],
        "near_duplicate_threshold": NEAR_DUPLICATE_THRESHOLD,
    }

    def __init__(
        self,
        *,
        sampling_strategy: float | str | dict[Any, int] | Any = "auto",
        random_state: int | np.random.Generator | None = None,
        k_neighbors: int = 5,
        m_neighbors: int = 10,
        kind: str = "borderline-1",
        near_duplicate_threshold: float | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.m_neighbors = m_neighbors
        self.kind = kind
        self.near_duplicate_threshold = near_duplicate_threshold

    def _plan(
        self,
        X: NDArray[Any],
        codes: NDArray[np.intp],
        classes: NDArray[Any],
        rng: np.random.Generator,
    ) -> Plan:
        k, m = self.k_neighbors, self.m_neighbors
        name = type(self).__name__
        parts: list[Plan] = []
        self.in_danger_indices_: dict[Any, NDArray[np.intp]] = {}
        for code, label, n_gen in self._targets(classes):
            idx = np.flatnonzero(codes == code)
            check_total_size(name, "m_neighbors", m, X.shape[0])
            if self.kind == "borderline-1":
                # Checked before the danger search: a class too small for k is a setting error
                # even when, on this data, none of its rows happens to be in danger.
                check_class_size(name, "k_neighbors", k, label, idx.shape[0])
            danger = idx[danger_mask(X, codes, idx, code, m)]
            if danger.size == 0:
                continue
            self.in_danger_indices_[label] = danger
            if self.kind == "borderline-1":
                local = np.searchsorted(idx, danger)
                dist, nn_local = kneighbors(X[idx], k, query_index=local)
                nn = idx[nn_local]
            else:
                check_total_size(name, "k_neighbors", k, X.shape[0])
                dist, nn = kneighbors(X, k, query_index=danger)
            rows = rng.integers(0, danger.shape[0], size=n_gen)
            cols = rng.integers(0, k, size=n_gen)
            gap = rng.random(n_gen)
            neighbor = nn[rows, cols]
            if self.kind == "borderline-2":
                other = codes[neighbor] != code
                gap[other] *= rng.uniform(0.0, 0.5, size=int(other.sum()))
            parts.append(
                (danger[rows], neighbor, gap, dist[rows, cols], np.full(n_gen, code, dtype=np.intp))
            )
        return concat_plans(parts)
