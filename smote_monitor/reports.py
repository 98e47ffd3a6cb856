"""Evidently HTML drift reports rebuilt from stored profiles.

The store keeps profiles, never raw training rows, so a report's training side is rebuilt from
them: :func:`profiles_to_frame` turns each feature's profile back into a column with the same
marginal distribution, and :func:`run_report` hands both sides to Evidently's
``DataDriftPreset``. Only per-feature marginals are meaningful in such a frame (rows are not
real rows), which is all the preset compares.

Evidently takes seconds to import, so it is imported inside :func:`run_report` only.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smote_monitor.drift import ColumnKind, FeatureProfile
from smote_monitor.errors import InvalidInputError, SmoteMonitorError, path_error

#: Most rows a rebuilt column may hold; larger profiles are scaled down proportionally.
DEFAULT_MAX_ROWS = 1_000_000


@dataclass(frozen=True)
class ReportSummary:
    """What a rendered report found.

    Attributes
    ----------
    path : Path
        The HTML file written.
    drift_share : float
        Share of the compared columns Evidently found drifted.
    n_drifted : int
        Number of drifted columns.
    """

    path: Path
    drift_share: float
    n_drifted: int


def profiles_to_frame(
    profiles: Mapping[str, FeatureProfile], *, max_rows: int = DEFAULT_MAX_ROWS
) -> pd.DataFrame:
    """Rebuild each feature's marginal distribution from its profile.

    Exact profiles give every distinct value (or category) repeated by its count, so the
    column's value counts equal the profiled ones. Sketch profiles give each occupied bin's
    centre repeated by the bin's count: an approximation in which every value moves by at most
    half the bin width (``2**sketch.exponent``), so the k-th smallest rebuilt value is within
    half a bin of the k-th smallest profiled one. Missing rows (``n_missing``) become NaN
    (numeric) or None (categorical), and shorter columns are padded with missing values to the
    longest.

    A profile of more than ``max_rows`` rows (``n + n_missing``) has its counts, missing
    included, scaled by ``max_rows / rows`` and rounded by largest remainder, so the column
    has exactly ``max_rows`` rows and shares move by less than ``1 / max_rows``; a value whose
    scaled count rounds to zero disappears. Memory is then bounded by ``max_rows`` per feature.

    Parameters
    ----------
    profiles : mapping of str to FeatureProfile
    max_rows : int, default 1_000_000

    Returns
    -------
    pandas.DataFrame of shape (n_rows, n_features)
        Numeric columns are float64, categorical columns object. Row order carries no meaning.

    Examples
    --------
    >>> from smote_monitor.drift import ColumnKind, profile_values
    >>> p = profile_values("x", [1.0, 1.0, 2.0, float("nan")], ColumnKind.NUMERIC)
    >>> profiles_to_frame({"x": p})["x"].tolist()
    [1.0, 1.0, 2.0, nan]
    """
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
        raise InvalidInputError("max_rows", max_rows, "an int >= 1")
    columns = {name: _column(profile, max_rows) for name, profile in profiles.items()}
    length = max((len(c) for c in columns.values()), default=0)
    return pd.DataFrame({name: _pad(c, length) for name, c in columns.items()})


def _column(profile: FeatureProfile, max_rows: int) -> np.ndarray:
    if profile.kind is ColumnKind.CATEGORICAL:
        values: np.ndarray = np.empty(len(profile.categories), dtype=object)
        values[:] = profile.categories
        counts = _counts(profile.counts)
        missing: Any = None
    elif profile.sketch is not None:
        sketch = profile.sketch
        values = (sketch.index.astype(np.float64) + 0.5) * sketch.width
        counts = _counts(sketch.counts)
        missing = math.nan
    else:
        values = np.asarray(profile.values if profile.values is not None else [], np.float64)
        counts = _counts(profile.counts)
        missing = math.nan
    counts = np.append(counts, profile.n_missing)
    if int(counts.sum()) > max_rows:
        counts = _scale(counts, max_rows)
    out = np.repeat(np.append(values, np.array([missing], dtype=values.dtype)), counts)
    return out


def _counts(counts: np.ndarray | None) -> np.ndarray:
    return np.empty(0, np.int64) if counts is None else np.asarray(counts, np.int64)


def _scale(counts: np.ndarray, total: int) -> np.ndarray:
    """Counts proportional to ``counts`` that sum to ``total`` (largest-remainder rounding)."""
    exact = counts.astype(np.float64) * (total / float(counts.sum()))
    scaled = np.floor(exact).astype(np.int64)
    short = total - int(scaled.sum())
    if short > 0:
        # Stable sort keeps ties in profile order, so the result is deterministic.
        order = np.argsort(-(exact - scaled), kind="stable")
        scaled[order[:short]] += 1
    return scaled


def _pad(column: np.ndarray, length: int) -> np.ndarray:
    if column.size == length:
        return column
    fill: Any = None if column.dtype == object else math.nan
    return np.append(column, np.full(length - column.size, fill, dtype=column.dtype))


def column_kinds(profiles: Mapping[str, FeatureProfile]) -> tuple[list[str], list[str]]:
    """The profiled features split into (numerical, categorical), in profile order."""
    numerical = [n for n, p in profiles.items() if p.kind is ColumnKind.NUMERIC]
    categorical = [n for n, p in profiles.items() if p.kind is ColumnKind.CATEGORICAL]
    return numerical, categorical


def run_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    numerical: Sequence[str],
    categorical: Sequence[str],
    title: str,
    output: Path,
) -> ReportSummary:
    """Write Evidently's ``DataDriftPreset`` HTML report and return what it found.

    Parameters
    ----------
    reference, current : pandas.DataFrame
        Both hold every column of ``numerical`` and ``categorical``.
    numerical, categorical : sequence of str
        Column kinds, passed to Evidently as its data definition (no inference).
    title : str
        Name of the report inside Evidently's snapshot.
    output : Path
        HTML file to write; its parent directory must exist.

    Returns
    -------
    ReportSummary
    """
    columns = [*numerical, *categorical]
    for side, frame in (("reference", reference), ("current", current)):
        for name in columns:
            if name not in frame.columns:
                raise InvalidInputError(f"{side}.{name}", None, "a column of the data")
            if frame[name].notna().sum() == 0:
                raise InvalidInputError(
                    f"{side}.{name}", f"{len(frame)} rows, all missing", "at least one value"
                )
    if not output.parent.is_dir():
        raise InvalidInputError("output", str(output), "a file in an existing directory")
    _check_writable(output)

    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=list(numerical), categorical_columns=list(categorical)
    )
    with warnings.catch_warnings():
        # scipy's chi-square divides by zero on categories one side lacks (Evidently's verdict,
        # p = 0, is the intended one), and Evidently's own pandas calls raise FutureWarnings:
        # neither is something the user of this report can act on.
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"scipy\.")
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"evidently\.")
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(current[columns], data_definition=definition),
            Dataset.from_pandas(reference[columns], data_definition=definition),
            name=title,
        )
        try:
            snapshot.save_html(str(output))
        except OSError as exc:
            raise path_error(exc, str(output), "write the report") from exc
    share, count = _drifted_columns(snapshot.dict())
    return ReportSummary(path=output, drift_share=share, n_drifted=count)


def _check_writable(output: Path) -> None:
    """Fail before the seconds Evidently takes when the report could not be written anyway."""
    try:
        with tempfile.TemporaryFile(dir=output.parent):
            pass
    except OSError as exc:
        raise path_error(exc, str(output), "write the report") from exc


def _drifted_columns(result: Mapping[str, Any]) -> tuple[float, int]:
    for metric in result.get("metrics", []):
        if str(metric.get("config", {}).get("type", "")).endswith(":DriftedColumnsCount"):
            value = metric["value"]
            return float(value["share"]), int(value["count"])
    names = [m.get("metric_name") for m in result.get("metrics", [])]
    raise SmoteMonitorError(f"Evidently's result has no DriftedColumnsCount metric: {names}")
