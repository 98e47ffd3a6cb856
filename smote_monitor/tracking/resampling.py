"""What a resampling did, derived from its inputs and outputs (and the sampler's report_)."""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any

import numpy as np

from smote_core import Measure, jsonable, schema_hash
from smote_monitor.errors import InvalidInputError
from smote_monitor.records import KNOWN_VARIANTS

AUDIT_SAMPLE_MAX = 200
"""Provenance rows kept with a run for audit; the full arrays stay on the sampler."""


def row_hashes(X: Any) -> np.ndarray:
    """One 64-bit hash per row, equal for rows with equal values whatever the container.

    Numeric columns are compared as float64 so ``3`` and ``3.0`` match; columns are compared by
    position, so a numpy validation array matches a DataFrame training set.
    """
    import pandas as pd  # imported here: the CLI and the daemon start without pandas

    frame = pd.DataFrame(X).copy() if not isinstance(X, pd.DataFrame) else X.copy()
    frame.columns = pd.RangeIndex(frame.shape[1])
    for column in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(
            frame[column]
        ):
            frame[column] = frame[column].astype("float64")
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def class_counts(y: Any) -> dict[str, int]:
    """Counts per class, keys as text (labels of any type must survive JSON)."""
    values = np.asarray(y, dtype=object).ravel()
    counts = Counter(str(label) for label in values.tolist())
    return dict(sorted(counts.items()))


def feature_schema(X: Any) -> list[dict[str, str]]:
    columns = getattr(X, "columns", None)
    dtypes = getattr(X, "dtypes", None)
    if columns is not None and dtypes is not None:
        return [{"name": str(c), "dtype": str(d)} for c, d in zip(columns, dtypes, strict=True)]
    array = np.asarray(X)
    width = array.shape[1] if array.ndim == 2 else 1
    return [{"name": f"x{i}", "dtype": str(array.dtype)} for i in range(width)]


def sampler_params(sampler: Any) -> dict[str, Any]:
    get_params = getattr(sampler, "get_params", None)
    raw = get_params(deep=False) if callable(get_params) else dict(vars(sampler))
    return {str(k): jsonable(v) for k, v in raw.items() if not str(k).endswith("_")}


def variant_of(sampler: Any) -> str:
    name = type(sampler).__name__
    return name if name in KNOWN_VARIANTS else "custom"


def seed_of(params: dict[str, Any]) -> int | None:
    seed = params.get("random_state")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def is_dask(value: Any) -> bool:
    """Whether ``value`` is a Dask collection; never imports Dask (a process that has not
    imported it holds no Dask collection)."""
    return "dask" in sys.modules and type(value).__module__.split(".")[0] in ("dask", "dask_expr")


def dask_inputs(**inputs: Any) -> bool:
    """Whether a resampling's inputs are Dask collections (then the run is described on Dask,
    :mod:`smote_monitor.tracking.on_dask`): all of them or none.

    Raises
    ------
    InvalidInputError
        Some are Dask collections and others are not: names the first that is not.
    """
    lazy = [name for name, value in inputs.items() if is_dask(value)]
    if not lazy or len(lazy) == len(inputs):
        return bool(lazy)
    name = next(name for name in inputs if name not in lazy)
    kind = "dask.dataframe.DataFrame" if name.startswith("X") else "dask.dataframe.Series"
    value = inputs[name]
    raise InvalidInputError(
        name,
        f"a {type(value).__module__}.{type(value).__qualname__}",
        f"a {kind}, as {lazy[0]} is a Dask collection ({', '.join(inputs)}: all on Dask or none)",
    )


def check_xy(name_x: str, X: Any, name_y: str, y: Any) -> None:
    n_x = len(X) if hasattr(X, "__len__") else None
    n_y = len(y) if hasattr(y, "__len__") else None
    if n_x is None:
        raise InvalidInputError(name_x, X, "an array-like of shape (n_samples, n_features)")
    if n_y is None:
        raise InvalidInputError(name_y, y, "an array-like of shape (n_samples,)")
    if n_x != n_y:
        raise InvalidInputError(name_y, f"{n_y} labels", f"{n_x} labels, one per row of {name_x}")


def describe_resampling(
    *,
    X_before: Any,
    y_before: Any,
    X_after: Any,
    y_after: Any,
    params: dict[str, Any],
    variant: str,
    report: dict[str, Any] | None = None,
    measurement: Measure | None = None,
) -> dict[str, Any]:
    """The run-record fields of one resampling.

    The sampler's report (smote_core's ``report_.to_dict()``) is preferred where it has a value;
    otherwise counts come from the labels and the synthetic rows are the output rows beyond the
    input's, or those absent from the input when a cleaner also removed rows.
    """
    check_xy("X_before", X_before, "y_before", y_before)
    check_xy("X_after", X_after, "y_after", y_after)
    report = report or {}
    if report.get("n_synthetic") is not None:
        n_synthetic = int(report["n_synthetic"])
    else:
        unseen = int(np.isin(row_hashes(X_after), row_hashes(X_before), invert=True).sum())
        n_synthetic = synthetic_count(len(y_before), len(y_after), unseen)
    return resampling_fields(
        variant=variant,
        params=params,
        class_counts_before=class_counts(y_before),
        class_counts_after=class_counts(y_after),
        n_synthetic=n_synthetic,
        schema=report.get("feature_schema") or feature_schema(X_before),
        report=report,
        measurement=measurement,
    )


def synthetic_count(n_before: int, n_after: int, unseen: int) -> int:
    """Synthetic rows of a resampling: the rows it added, or the output rows absent from its
    input (by row hash) when a cleaner also removed rows, whichever is more."""
    return max(n_after - n_before, 0, unseen)


def resampling_fields(
    *,
    variant: str,
    params: dict[str, Any],
    class_counts_before: dict[str, int],
    class_counts_after: dict[str, int],
    n_synthetic: int,
    schema: list[dict[str, str]],
    report: dict[str, Any] | None = None,
    measurement: Measure | None = None,
) -> dict[str, Any]:
    """The run-record fields of one resampling from what was counted of its data, wherever it
    was counted (in this process, or on Dask workers by
    :mod:`smote_monitor.tracking.on_dask`); the report's values win where it has them."""
    report = report or {}
    fields: dict[str, Any] = {
        "variant": variant,
        "params": report.get("params") or params,
        "seed": report.get("seed", seed_of(params)),
        "class_counts_before": class_counts_before,
        "class_counts_after": class_counts_after,
        "n_synthetic": n_synthetic,
        "feature_schema": schema,
        "feature_schema_hash": report.get("feature_schema_hash") or schema_hash(schema),
        "near_duplicate_ratio": report.get("near_duplicate_ratio"),
        "neighbor_distance_quantiles": report.get("neighbor_distance_quantiles") or {},
        "duration_seconds": report.get("duration_seconds"),
        "peak_memory_bytes": report.get("peak_memory_bytes"),
        "audit_sample": list(report.get("provenance_sample") or [])[:AUDIT_SAMPLE_MAX],
        "report": report or None,
    }
    if measurement is not None:
        if fields["duration_seconds"] is None:
            fields["duration_seconds"] = measurement.duration
        if fields["peak_memory_bytes"] is None:
            fields["peak_memory_bytes"] = measurement.peak
    return fields
