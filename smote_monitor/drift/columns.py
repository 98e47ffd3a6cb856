"""Column kinds: what the dataset config says, else the inference users know from Evidently."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from smote_monitor.errors import InvalidInputError

# Evidently treats an integer column with at most this many distinct values as categorical.
INT_CATEGORICAL_MAX_UNIQUE = 10


class ColumnKind(StrEnum):
    """How a feature is compared: as numbers (distances, binning) or as categories (counts)."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


def infer_kind(values: Any) -> ColumnKind:
    """Infer a column's kind the way Evidently does.

    Parameters
    ----------
    values : array-like or pandas.Series
        The reference values of one column.

    Returns
    -------
    ColumnKind
        ``NUMERIC`` for floats and for integers with more than 10 distinct values,
        ``CATEGORICAL`` otherwise (strings, booleans, objects, low-cardinality integers).

    Examples
    --------
    >>> infer_kind([0.5, 1.5]).value
    'numeric'
    >>> infer_kind([1, 2, 2]).value
    'categorical'
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return ColumnKind.CATEGORICAL
    if pd.api.types.is_float_dtype(dtype):
        return ColumnKind.NUMERIC
    if pd.api.types.is_integer_dtype(dtype):
        if series.nunique() <= INT_CATEGORICAL_MAX_UNIQUE:
            return ColumnKind.CATEGORICAL
        return ColumnKind.NUMERIC
    return ColumnKind.CATEGORICAL


def resolve_kinds(
    frame: Mapping[str, Any],
    features: Collection[str] | None = None,
    categorical: Collection[str] | None = None,
    numeric: Collection[str] | None = None,
) -> dict[str, ColumnKind]:
    """Decide the kind of every feature: configured lists first, inference for the rest.

    Parameters
    ----------
    frame : pandas.DataFrame or mapping of column name to array-like
        Reference data.
    features : collection of str, optional
        Columns to profile; default every column of ``frame``.
    categorical, numeric : collection of str, optional
        Columns the dataset config declares categorical / numeric.

    Returns
    -------
    dict of str to ColumnKind

    Raises
    ------
    InvalidInputError
        A feature, or a configured column, that ``frame`` lacks; a column declared both ways.
    """
    columns = list(frame.keys())
    chosen = list(columns if features is None else features)
    cat = set(categorical or ())
    num = set(numeric or ())
    for field, names in (("features", chosen), ("categorical", cat), ("numeric", num)):
        for name in sorted(names):
            if name not in frame:
                raise InvalidInputError(
                    f"{field}.{name}", name, f"a column of the data ({len(columns)} columns)"
                )
    both = cat & num
    if both:
        name = sorted(both)[0]
        raise InvalidInputError(
            f"categorical.{name}", name, "a column declared either categorical or numeric, not both"
        )
    kinds: dict[str, ColumnKind] = {}
    for name in chosen:
        if name in cat:
            kinds[name] = ColumnKind.CATEGORICAL
        elif name in num:
            kinds[name] = ColumnKind.NUMERIC
        else:
            kinds[name] = infer_kind(frame[name])
    return kinds


def as_float_array(values: Any, field: str) -> np.ndarray:
    """Numeric values as float64, or an error naming the column when they are not numbers."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(field, _sample(values), "numeric values (int or float)") from exc


def _sample(values: Any) -> Any:
    try:
        return list(values[:3])
    except Exception:
        return values
