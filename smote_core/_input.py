"""Turning user inputs (numpy, pandas, lists) into arrays, and results back into their kind.

pandas is imported only when the input already is a pandas object, so ``import smote_core``
stays light.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._validation import check_finite

__all__ = ["InputInfo", "check_X", "check_y", "is_pandas", "wrap_X", "wrap_y"]


def is_pandas(obj: object) -> bool:
    """Return whether ``obj`` is a pandas object, without importing pandas."""
    return type(obj).__module__.split(".")[0] == "pandas"


@dataclass
class InputInfo:
    """What the caller passed, so results go back in the same kind.

    Attributes
    ----------
    x_kind, y_kind : {"numpy", "pandas", "list"}
    columns : list or None
        DataFrame column labels.
    pandas_dtypes : list
        DataFrame column dtypes, restored on output.
    feature_names, feature_dtypes : list of str
        The schema reported in ``ResampleReport`` (``x0, x1, …`` for arrays).
    y_name : object
        Name of a y Series.
    y_dtype : object
        dtype of y (numpy or pandas), restored on output.
    """

    x_kind: str = "numpy"
    y_kind: str = "numpy"
    columns: list[Any] | None = None
    pandas_dtypes: list[Any] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)
    feature_dtypes: list[str] = field(default_factory=list)
    y_name: Any = None
    y_dtype: Any = None


def check_X(X: Any, info: InputInfo, estimator: str) -> NDArray[np.floating]:
    """Return ``X`` as a 2-D float32/float64 array (no copy when it already is one).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        numpy array, pandas DataFrame or nested list of numbers.
    info : InputInfo
        Filled with what is needed to give the result back in the same kind.
    estimator : str
        Name used in error messages.

    Returns
    -------
    ndarray of shape (n_samples, n_features)
        float32 when the input is float32, float64 otherwise.
    """
    if is_pandas(X) and hasattr(X, "columns"):
        arr = _frame_to_array(X, info, estimator)
    else:
        info.x_kind = "list" if isinstance(X, list | tuple) else "numpy"
        raw = np.asarray(X)
        if raw.ndim != 2:
            raise ValueError(
                f"Expected a 2-dimensional X of shape (n_samples, n_features); got an array of "
                f"shape {raw.shape} instead. Reshape a single feature with X.reshape(-1, 1)."
            )
        if raw.dtype.kind not in "biuf":
            try:
                raw = raw.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"Input X of {estimator} must be numeric; got dtype {raw.dtype} with "
                    f"non-numeric values. Use SMOTENC for categorical features."
                ) from None
        arr = raw if raw.dtype in (np.float32, np.float64) else raw.astype(np.float64)
        arr = np.ascontiguousarray(arr)
        info.feature_names = [f"x{i}" for i in range(arr.shape[1])]
        info.feature_dtypes = [str(arr.dtype)] * arr.shape[1]
    check_finite(arr)
    return arr


def _frame_to_array(X: Any, info: InputInfo, estimator: str) -> NDArray[np.floating]:
    info.x_kind = "pandas"
    info.columns = list(X.columns)
    info.pandas_dtypes = list(X.dtypes)
    info.feature_names = [str(c) for c in X.columns]
    info.feature_dtypes = [str(d) for d in X.dtypes]
    bad = [str(c) for c, d in zip(X.columns, X.dtypes, strict=True) if d.kind not in "biuf"]
    if bad:
        raise ValueError(
            f"Input X of {estimator} must be numeric; column(s) {bad} are not. "
            "Use SMOTENC for categorical features."
        )
    all32 = all(str(d) in ("float32", "Float32") for d in X.dtypes)
    dtype = np.float32 if all32 and X.shape[1] else np.float64
    return np.ascontiguousarray(X.to_numpy(dtype=dtype, na_value=np.nan))


def check_y(
    y: Any, n_rows: int, info: InputInfo
) -> tuple[NDArray[np.intp], NDArray[Any], NDArray[Any]]:
    """Return ``(codes, classes, labels)``: each row's position in the sorted class labels.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels: ints, strings, bools or pandas (nullable) types.
    n_rows : int
        Rows of X, for the length check.
    info : InputInfo
        Filled with y's kind, name and dtype.

    Returns
    -------
    codes : ndarray of shape (n_samples,)
    classes : ndarray of shape (n_classes,)
        Sorted labels.
    labels : ndarray of shape (n_samples,)
        y as a numpy array (pandas nullable types as their numpy counterpart).
    """
    if is_pandas(y):
        info.y_kind = "pandas"
        info.y_name = getattr(y, "name", None)
        info.y_dtype = y.dtype
        if y.isna().any():
            raise ValueError(
                f"Input y contains missing values ({int(y.isna().sum())} rows); every row "
                "needs a class label."
            )
        kind = getattr(y.dtype, "kind", "O")
        target = {"i": np.int64, "u": np.uint64, "b": np.bool_, "f": np.float64}.get(kind, object)
        arr = y.to_numpy(dtype=target)
    else:
        info.y_kind = "list" if isinstance(y, list | tuple) else "numpy"
        arr = np.asarray(y)
        info.y_dtype = arr.dtype
    if arr.ndim != 1:
        arr = arr.ravel() if arr.ndim == 2 and arr.shape[1] == 1 else arr
        if arr.ndim != 1:
            raise ValueError(f"Expected a 1-dimensional y; got shape {arr.shape} instead.")
    if arr.shape[0] != n_rows:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: X has {n_rows} rows "
            f"but y has {arr.shape[0]}."
        )
    if arr.dtype.kind == "f" and (
        not np.isfinite(arr).all() or not np.array_equal(arr, np.round(arr))
    ):
        raise ValueError(
            "Unknown label type: y holds continuous values; a sampler needs class labels "
            "(ints, strings or bools)."
        )
    codes, classes = _encode(arr)
    if classes.shape[0] < 2:
        raise ValueError(
            f"The target 'y' needs to have more than 1 class. Got {classes.shape[0]} class instead."
        )
    return codes, classes, arr


def _encode(arr: NDArray[Any]) -> tuple[NDArray[np.intp], NDArray[Any]]:
    if arr.dtype.kind in "iu" and arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo < 1 << 20:
            # Small integer labels: a lookup table beats sorting a million rows.
            counts = np.bincount(arr - lo if lo else arr, minlength=hi - lo + 1)
            present = np.flatnonzero(counts)
            table = np.zeros(hi - lo + 1, dtype=np.intp)
            table[present] = np.arange(present.size)
            codes = table[arr - lo if lo else arr]
            return codes, (present + lo).astype(arr.dtype)
    try:
        classes, codes = np.unique(arr, return_inverse=True)
    except TypeError:
        raise ValueError(
            "Input y mixes label types that cannot be ordered (e.g. ints and strings); use "
            "one type."
        ) from None
    return codes.astype(np.intp).ravel(), classes


def wrap_X(X_out: NDArray[Any], info: InputInfo) -> Any:
    """Give ``X_out`` back in the kind the caller passed (DataFrame: same columns, dtypes)."""
    if info.x_kind != "pandas":
        return X_out
    import pandas as pd

    frame = pd.DataFrame(X_out, columns=info.columns, copy=False)
    casts = {}
    for i, (col, dtype) in enumerate(zip(info.columns or [], info.pandas_dtypes, strict=True)):
        if str(frame.dtypes.iloc[i]) == str(dtype):
            continue
        if getattr(dtype, "kind", "f") in "iub":
            # Synthetic values of integer/bool features are rounded, not truncated.
            frame.isetitem(i, np.rint(frame.iloc[:, i].to_numpy(dtype=np.float64)))
        casts[col] = dtype
    return frame.astype(casts) if casts else frame


def wrap_y(y_out: NDArray[Any], info: InputInfo) -> Any:
    """Give ``y_out`` back in the kind the caller passed (Series: same name and dtype)."""
    if info.y_kind != "pandas":
        return y_out
    import pandas as pd

    return pd.Series(y_out, name=info.y_name).astype(info.y_dtype)
