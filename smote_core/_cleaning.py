"""Cleaning under-samplers: Tomek links and Edited Nearest Neighbours."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from ._base import BaseSampler, Result
from ._input import InputInfo
from ._neighbors import kneighbors
from ._report import Provenance
from ._strategy import resolve_cleaning
from ._validation import CALLABLE, LIST, Constraint, Interval, Options

__all__ = ["BaseCleaner", "EditedNearestNeighbours", "TomekLinks"]

CLEANING_STRATEGY: list[Constraint] = [
    Options(frozenset({"auto", "majority", "not minority", "not majority", "all"})),
    LIST,
    CALLABLE,
]


class BaseCleaner(BaseSampler):
    """Cleaners: decide which rows to remove; the rest keep their order.

    Subclasses write ``_remove(X, codes, targets)`` returning a boolean mask of removed rows,
    where ``targets`` marks the class codes that may lose rows.
    """

    sampling_strategy: Any

    def _targets(
        self,
        codes: NDArray[np.intp],
        classes: NDArray[Any],
        counts: NDArray[np.intp],
        labels: NDArray[Any],
    ) -> NDArray[np.bool_]:
        chosen = resolve_cleaning(self.sampling_strategy, labels, classes, counts)
        keys = [c.item() if hasattr(c, "item") else c for c in classes]
        return np.array([k in chosen for k in keys], dtype=bool)

    def _resample(
        self,
        X: NDArray[Any],
        codes: NDArray[np.intp],
        classes: NDArray[Any],
        counts: NDArray[np.intp],
        labels: NDArray[Any],
        info: InputInfo,
    ) -> Result:
        targets = self._targets(codes, classes, counts, labels)
        removed = self._remove(X, codes, targets)
        keep = np.flatnonzero(~removed)
        self.sample_indices_ = keep
        self.sampling_strategy_ = {
            (c.item() if hasattr(c, "item") else c): int(np.count_nonzero(removed & (codes == i)))
            for i, c in enumerate(classes)
            if targets[i]
        }
        return Result(
            X[keep], keep, np.empty(0, dtype=np.intp), Provenance.empty(), int(removed.sum())
        )

    @abstractmethod
    def _remove(
        self, X: NDArray[Any], codes: NDArray[np.intp], targets: NDArray[np.bool_]
    ) -> NDArray[np.bool_]:
        """Each concrete subclass says how."""


class TomekLinks(BaseCleaner):
    """Remove rows that form Tomek links.

    Rows i and j form a Tomek link when they belong to different classes and each is the
    other's nearest row (Euclidean). The rows of a link whose class ``sampling_strategy``
    targets are removed; with ``"all"`` both rows go.

    Parameters
    ----------
    sampling_strategy : str, list or callable, default="auto"
        Classes that may lose rows: "auto" / "not minority" (every class but the minority),
        "majority", "not majority", "all", a list of labels, or a callable of y returning one.

    Attributes
    ----------
    sampling_strategy_ : dict
        Targeted label -> rows removed from it.
    sample_indices_ : ndarray of shape (n_kept,)
        Input rows kept, in order.
    classes_ : ndarray of shape (n_classes,)
    provenance_ : Provenance
        Empty: cleaners create no rows.
    report_ : ResampleReport

    Examples
    --------
    >>> import numpy as np
    >>> from smote_core import TomekLinks
    >>> X = np.array([[0.0], [1.0], [1.1], [5.0], [6.0]])
    >>> y = np.array([0, 0, 1, 1, 1])
    >>> X_res, y_res = TomekLinks(sampling_strategy="all").fit_resample(X, y)
    >>> X_res.ravel().tolist()
    [0.0, 5.0, 6.0]
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "sampling_strategy": CLEANING_STRATEGY,
    }

    def __init__(self, *, sampling_strategy: str | list[Any] | Any = "auto") -> None:
        self.sampling_strategy = sampling_strategy

    def _remove(
        self, X: NDArray[Any], codes: NDArray[np.intp], targets: NDArray[np.bool_]
    ) -> NDArray[np.bool_]:
        _, nn = kneighbors(X, 1)
        nearest = nn[:, 0]
        mutual = nearest[nearest] == np.arange(X.shape[0])
        cross = codes[nearest] != codes
        return mutual & cross & targets[codes]


class EditedNearestNeighbours(BaseCleaner):
    """Remove rows that disagree with their nearest neighbours (Wilson's editing).

    For each row of a targeted class, its ``n_neighbors`` nearest rows over the whole data set
    (itself excluded) are found; with ``kind_sel="all"`` the row is removed unless all of them
    share its class, with ``kind_sel="mode"`` unless its class is their most common one
    (ties: the smallest label).

    Parameters
    ----------
    sampling_strategy : str, list or callable, default="auto"
        As in :class:`TomekLinks`.
    n_neighbors : int, default=3
    kind_sel : {"all", "mode"}, default="all"

    Attributes
    ----------
    sampling_strategy_ : dict
        Targeted label -> rows removed from it.
    sample_indices_ : ndarray of shape (n_kept,)
        Input rows kept, in order (imbalanced-learn groups them by class; here they keep the
        input order).
    classes_ : ndarray of shape (n_classes,)
    provenance_ : Provenance
    report_ : ResampleReport

    Examples
    --------
    >>> import numpy as np
    >>> from smote_core import EditedNearestNeighbours
    >>> X = np.array([[0.0], [0.1], [0.2], [0.3], [0.4], [5.0], [5.1], [5.2], [5.3]])
    >>> y = np.array([0, 0, 1, 0, 0, 1, 1, 1, 1])
    >>> enn = EditedNearestNeighbours(sampling_strategy="all", kind_sel="mode")
    >>> X_res, y_res = enn.fit_resample(X, y)
    >>> X_res.ravel().tolist()
    [0.0, 0.1, 0.3, 0.4, 5.0, 5.1, 5.2, 5.3]
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "sampling_strategy": CLEANING_STRATEGY,
        "n_neighbors": [Interval("int", 1, None, closed="left")],
        "kind_sel": [Options(frozenset({"all", "mode"}))],
    }

    def __init__(
        self,
        *,
        sampling_strategy: str | list[Any] | Any = "auto",
        n_neighbors: int = 3,
        kind_sel: str = "all",
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.n_neighbors = n_neighbors
        self.kind_sel = kind_sel

    def _remove(
        self, X: NDArray[Any], codes: NDArray[np.intp], targets: NDArray[np.bool_]
    ) -> NDArray[np.bool_]:
        n = X.shape[0]
        if self.n_neighbors >= n:
            raise ValueError(
                f"EditedNearestNeighbours needs more rows in X than n_neighbors="
                f"{self.n_neighbors}; X has {n} rows. Lower n_neighbors to at most {n - 1}."
            )
        rows = np.flatnonzero(targets[codes])
        removed = np.zeros(n, dtype=bool)
        if rows.size == 0:
            return removed
        _, nn = kneighbors(X, self.n_neighbors, query_index=rows)
        neigh = codes[nn]
        own = codes[rows]
        if self.kind_sel == "all":
            removed[rows] = ~(neigh == own[:, None]).all(axis=1)
        else:
            votes = (neigh[:, :, None] == neigh[:, None, :]).sum(axis=2)
            best = votes.max(axis=1)
            # Most common label; ties go to the smallest code, i.e. the smallest label.
            masked = np.where(votes == best[:, None], neigh, np.iinfo(np.intp).max)
            removed[rows] = masked.min(axis=1) != own
        return removed
