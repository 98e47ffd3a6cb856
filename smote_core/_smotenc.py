"""SMOTE-NC: SMOTE for data with both continuous and categorical features."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from ._input import InputInfo, is_pandas
from ._neighbors import CategoricalTerm, kneighbors
from ._report import Provenance
from ._smote import (
    NEAR_DUPLICATE_THRESHOLD,
    OVER_SAMPLING_STRATEGY,
    BaseOverSampler,
    Plan,
    check_class_size,
    class_plan,
    concat_plans,
)
from ._validation import RANDOM_STATE, Constraint, Interval, Options, TypeConstraint, check_finite

__all__ = ["SMOTENC"]

# Synthetic rows whose categories are voted per chunk (bounds the k x k comparison arrays).
VOTE_CHUNK = 65536


@dataclass
class _Mixed:
    """X split into continuous values and integer category codes."""

    raw: Any
    continuous: list[int]
    categorical: list[int]
    codes: NDArray[np.intp]
    categories: list[NDArray[Any]]
    synthetic_codes: NDArray[np.intp] | None = None


def _is_categorical_dtype(dtype: Any) -> bool:
    return getattr(dtype, "kind", "O") not in "iuf"


class SMOTENC(BaseOverSampler):
    r"""SMOTE for Nominal and Continuous features (Chawla et al., 2002).

    Neighbours are searched within each class with the distance

    .. math:: d(a, b)^2 = \lVert a_c - b_c \rVert^2 + m^2 \cdot \#\{j : a_j \ne b_j\}

    where :math:`a_c` are the continuous features, the count runs over categorical features
    and m is the median of the class's per-feature standard deviations of the continuous
    features (1 when that median is 0). Categories are compared directly, never one-hot
    encoded, so memory does not grow with the number of categories. A synthetic row
    interpolates the continuous features as :class:`SMOTE` does; each categorical feature takes
    the most frequent category among the parent's ``k_neighbors`` neighbours, ties broken at
    random.

    Parameters
    ----------
    categorical_features : "auto" or array-like
        Column indices, column names (DataFrame) or a boolean mask; "auto" takes every
        DataFrame column whose dtype is not numeric (object, category, string, bool).
    sampling_strategy : float, str, dict or callable, default="auto"
        As in :class:`SMOTE`.
    random_state : int, numpy.random.Generator or None, default=None
        Source of all randomness; the same int gives the same output.
    k_neighbors : int, default=5
    near_duplicate_threshold : float or None, default=None
        As in :class:`SMOTE`; distances for the report use the continuous features only.

    Attributes
    ----------
    categorical_features_ : ndarray
        Indices of the categorical columns.
    median_std_ : dict
        Label -> m used for that class.
    sampling_strategy_ : dict
    classes_ : ndarray of shape (n_classes,)
    provenance_ : Provenance
        ``distance`` includes the categorical term.
    report_ : ResampleReport

    Examples
    --------
    >>> import numpy as np
    >>> from smote_core import SMOTENC
    >>> rng = np.random.default_rng(0)
    >>> X = np.empty((60, 2), dtype=object)
    >>> X[:, 0] = rng.normal(size=60)
    >>> X[:, 1] = rng.choice(["a", "b"], size=60)
    >>> y = np.array([0] * 50 + [1] * 10)
    >>> X_res, y_res = SMOTENC([1], random_state=0).fit_resample(X, y)
    >>> np.bincount(y_res).tolist(), sorted(set(X_res[:, 1]))
    ([50, 50], ['a', 'b'])
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "categorical_features": [
            Options(frozenset({"auto"})),
            TypeConstraint(
                lambda v: isinstance(v, list | tuple | np.ndarray) or is_pandas(v),
                "an array-like of column indices, column names or a boolean mask",
            ),
        ],
        "sampling_strategy": OVER_SAMPLING_STRATEGY,
        "random_state": [RANDOM_STATE],
        "k_neighbors": [Interval("int", 1, None, closed="left")],
        "near_duplicate_threshold": NEAR_DUPLICATE_THRESHOLD,
    }

    def __init__(
        self,
        categorical_features: Any,
        *,
        sampling_strategy: float | str | dict[Any, int] | Any = "auto",
        random_state: int | np.random.Generator | None = None,
        k_neighbors: int = 5,
        near_duplicate_threshold: float | None = None,
    ) -> None:
        self.categorical_features = categorical_features
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.near_duplicate_threshold = near_duplicate_threshold

    # -- input ------------------------------------------------------------------------------
    def _check_X(self, X: Any, info: InputInfo) -> NDArray[np.floating]:
        if is_pandas(X) and hasattr(X, "columns"):
            info.x_kind = "pandas"
            info.columns = list(X.columns)
            info.pandas_dtypes = list(X.dtypes)
            info.feature_names = [str(c) for c in X.columns]
            info.feature_dtypes = [str(d) for d in X.dtypes]
            columns = [X.iloc[:, j].to_numpy() for j in range(X.shape[1])]
            raw: Any = X
        else:
            info.x_kind = "list" if isinstance(X, list | tuple) else "numpy"
            raw = np.asarray(X) if not isinstance(X, list | tuple) else np.asarray(X, dtype=object)
            if raw.ndim != 2:
                raise ValueError(
                    f"Expected a 2-dimensional X of shape (n_samples, n_features); got an array "
                    f"of shape {raw.shape} instead."
                )
            info.feature_names = [f"x{j}" for j in range(raw.shape[1])]
            info.feature_dtypes = [str(raw.dtype)] * raw.shape[1]
            columns = [raw[:, j] for j in range(raw.shape[1])]
        categorical = self._categorical_indices(X, len(columns), info)
        continuous = [j for j in range(len(columns)) if j not in set(categorical)]
        if not continuous:
            raise ValueError(
                f"SMOTENC needs at least one continuous feature; all {len(columns)} features "
                "are categorical."
            )
        self.categorical_features_ = np.asarray(categorical, dtype=np.intp)
        codes = np.empty((len(columns[0]) if columns else 0, len(categorical)), dtype=np.intp)
        categories = []
        for i, j in enumerate(categorical):
            col = columns[j]
            missing = _missing(col)
            if missing.any():
                raise ValueError(
                    f"Input X contains missing values in categorical feature "
                    f"{info.feature_names[j]!r} (first at row {int(np.argmax(missing))}); "
                    "encode them as their own category first."
                )
            try:
                cats, inv = np.unique(col, return_inverse=True)
            except TypeError:
                cats, inv = np.unique(col.astype(str), return_inverse=True)
                cats = np.array([col[np.argmax(inv == c)] for c in range(len(cats))], dtype=object)
            codes[:, i] = inv.ravel()
            categories.append(cats)
        cont = []
        for j in continuous:
            try:
                cont.append(np.asarray(columns[j], dtype=np.float64))
            except (TypeError, ValueError):
                raise ValueError(
                    f"Input X of SMOTENC has non-numeric values in feature "
                    f"{info.feature_names[j]!r}, which is not listed in categorical_features."
                ) from None
        all32 = all(getattr(columns[j], "dtype", None) == np.float32 for j in continuous)
        X_cont = np.ascontiguousarray(
            np.column_stack(cont).astype(np.float32 if all32 else np.float64, copy=False)
        )
        check_finite(X_cont)
        self._mixed = _Mixed(raw, continuous, categorical, codes, categories)
        return X_cont

    def _categorical_indices(self, X: Any, n_features: int, info: InputInfo) -> list[int]:
        spec = self.categorical_features
        if isinstance(spec, str):
            if info.x_kind != "pandas":
                raise ValueError(
                    "categorical_features='auto' needs a pandas DataFrame to read dtypes from; "
                    "pass column indices or a boolean mask for arrays."
                )
            found = [j for j, d in enumerate(X.dtypes) if _is_categorical_dtype(d)]
        else:
            values = list(np.asarray(spec).ravel()) if len(spec) else []
            if values and all(isinstance(v, bool | np.bool_) for v in values):
                if len(values) != n_features:
                    raise ValueError(
                        f"categorical_features as a boolean mask must have one entry per "
                        f"feature ({n_features}); got {len(values)}."
                    )
                found = [j for j, v in enumerate(values) if v]
            elif values and all(isinstance(v, str | np.str_) for v in values):
                names = [str(c) for c in (info.columns or [])]
                unknown = [str(v) for v in values if v not in names]
                if unknown:
                    raise ValueError(
                        f"categorical_features names {unknown}, which are not columns of X."
                    )
                found = sorted(names.index(str(v)) for v in values)
            else:
                found = []
                for v in values:
                    if isinstance(v, bool | np.bool_) or not isinstance(v, int | np.integer):
                        raise ValueError(
                            "categorical_features must hold column indices, column names or "
                            f"booleans; got {v!r}."
                        )
                    if not -n_features <= int(v) < n_features:
                        raise ValueError(
                            f"categorical_features has index {int(v)} but X has {n_features} "
                            "features."
                        )
                    found.append(int(v) % n_features)
                found = sorted(set(found))
        if not found:
            raise ValueError(
                "SMOTENC needs at least one categorical feature; none was found. Use SMOTE "
                "when every feature is continuous."
            )
        return found

    # -- sampling ---------------------------------------------------------------------------
    def _own_distance(self, prov: Provenance) -> None:
        # Near duplicates are measured on the continuous features, while the pair distance
        # includes the category term: it would overstate how far a row is from its parent.
        return None

    def _plan(
        self,
        X: NDArray[Any],
        codes: NDArray[np.intp],
        classes: NDArray[Any],
        rng: np.random.Generator,
    ) -> Plan:
        k = self.k_neighbors
        mixed = self._mixed
        parts: list[Plan] = []
        syn_cats: list[NDArray[np.intp]] = []
        self.median_std_: dict[Any, float] = {}
        for code, label, n_gen in self._targets(classes):
            idx = np.flatnonzero(codes == code)
            check_class_size("SMOTENC", "k_neighbors", k, label, idx.shape[0])
            X_class = X[idx]
            med = float(np.median(X_class.std(axis=0, dtype=np.float64)))
            self.median_std_[label] = med
            cat_class = mixed.codes[idx]
            term = CategoricalTerm(cat_class, cat_class, med**2 if med > 0 else 1.0)
            dist, nn = kneighbors(X_class, k, categorical=term)
            rows = rng.integers(0, idx.shape[0], size=n_gen)
            cols = rng.integers(0, k, size=n_gen)
            gap = rng.random(n_gen)
            syn_cats.append(_vote(cat_class, nn, rows, rng))
            parts.append(class_plan(idx, nn, dist, rows, cols, gap, code))
        n_cat = mixed.codes.shape[1]
        mixed.synthetic_codes = (
            np.concatenate(syn_cats) if syn_cats else np.empty((0, n_cat), dtype=np.intp)
        )
        return concat_plans(parts)

    # -- output -----------------------------------------------------------------------------
    def _wrap_X(self, X_out: NDArray[Any], info: InputInfo) -> Any:
        mixed = self._mixed
        del self._mixed
        syn = mixed.synthetic_codes
        assert syn is not None
        n_syn = syn.shape[0]
        n = X_out.shape[0] - n_syn
        cat_pos = {j: i for i, j in enumerate(mixed.categorical)}
        cont_pos = {j: i for i, j in enumerate(mixed.continuous)}
        n_features = len(mixed.categorical) + len(mixed.continuous)
        if info.x_kind == "pandas":
            import pandas as pd

            data = {}
            for j in range(n_features):
                col = mixed.raw.iloc[:, j]
                if j in cat_pos:
                    new = mixed.categories[cat_pos[j]][syn[:, cat_pos[j]]]
                    values = np.concatenate([col.to_numpy(dtype=object), new.astype(object)])
                    data[j] = pd.Series(values, dtype=object).astype(col.dtype)
                else:
                    values = X_out[:, cont_pos[j]]
                    if col.dtype.kind in "iub":
                        values = np.rint(values)
                    data[j] = pd.Series(values).astype(col.dtype)
            frame = pd.DataFrame(data)
            frame.columns = pd.Index(info.columns)
            return frame
        raw = mixed.raw
        out = np.empty((n + n_syn, n_features), dtype=raw.dtype)
        out[:n] = raw
        for j in range(n_features):
            if j in cat_pos:
                out[n:, j] = mixed.categories[cat_pos[j]][syn[:, cat_pos[j]]]
            else:
                out[n:, j] = X_out[n:, cont_pos[j]]
        return out


def _missing(col: NDArray[Any]) -> NDArray[np.bool_]:
    if col.dtype.kind == "f":
        return np.isnan(col)
    if col.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and v != v) for v in col], dtype=bool)
    return np.zeros(col.shape[0], dtype=bool)


def _vote(
    cat_class: NDArray[np.intp],
    nn: NDArray[np.intp],
    rows: NDArray[np.intp],
    rng: np.random.Generator,
) -> NDArray[np.intp]:
    """Most frequent category among each parent's neighbours, ties broken uniformly."""
    n_gen, k = rows.shape[0], nn.shape[1]
    n_cat = cat_class.shape[1]
    out = np.empty((n_gen, n_cat), dtype=np.intp)
    for lo in range(0, n_gen, VOTE_CHUNK):
        hi = min(lo + VOTE_CHUNK, n_gen)
        neigh = cat_class[nn[rows[lo:hi]]]  # (chunk, k, n_cat)
        # Every position of a category holding the top count has the same count, so the
        # largest of count + U[0, 1) picks uniformly among tied categories.
        votes = (neigh[:, :, None, :] == neigh[:, None, :, :]).sum(axis=2)
        score = votes + rng.random((hi - lo, k, n_cat))
        pick = np.argmax(score, axis=1)  # (chunk, n_cat)
        out[lo:hi] = np.take_along_axis(neigh, pick[:, None, :], axis=1)[:, 0, :]
    return out
