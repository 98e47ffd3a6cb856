"""A dataset with a recorded run and production rows written as Parquet files, partitioned in
several ways; and the comparison of two window results, value for value."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smote_monitor import Monitor
from smote_monitor.evaluation.window import WindowResult
from smote_monitor.store.models import Evaluation

CONFIG = """
database_url: {url}
spool_dir: {spool}
datasets:
  fraud:
    target: is_fraud
    prediction: predicted
    positive_class: 1
    id_column: event_id
    slices: [region, shop]
    categorical: [region, device]
    max_slice_values: 3
    slo: {{min_slice_support: 5}}
  sketched:
    target: is_fraud
    prediction: predicted
    positive_class: 1
    slices: [region, shop]
    categorical: [region, device]
    max_slice_values: 3
    drift: {{exact_cap: 1000}}
    slo: {{min_slice_support: 5}}
  bounded:
    target: is_fraud
    prediction: predicted
    positive_class: 1
    slices: [region, shop]
    categorical: [region, device]
    max_slice_values: 3
    drift: {{exact_cap: 1000, max_bins: 256}}
"""
DATASETS = ("fraud", "sketched", "bounded")


def training(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(int)
    frame = pd.DataFrame(
        {
            "amount": np.round(rng.lognormal(3, 1, n), 2) + 20 * y,
            "hour": rng.integers(0, 24, n).astype(float),
            "device": rng.choice(["ios", "android", "web"], n),
            "region": rng.choice(
                ["eu", "us", "apac", "mena", "sa"], n, p=[0.4, 0.3, 0.1, 0.1, 0.1]
            ),
        }
    )
    return frame, y


def record_runs(monitor: Monitor) -> None:
    """A succeeded run of each dataset, resampled elsewhere (minority rows repeated)."""
    X, y = training()
    X_after = pd.concat([X, X[y == 1]], ignore_index=True)
    y_after = np.concatenate([y, y[y == 1]])
    for dataset in DATASETS:
        monitor.observe_run(
            dataset=dataset, X_before=X, y_before=y, X_after=X_after, y_after=y_after, params={}
        )


def production(n: int = 12_000, seed: int = 7) -> pd.DataFrame:
    """Rows that drift, with NaN and ±inf, categories the reference never saw, unlabelled rows
    and a slice column (``shop``, not a feature) with more values than ``max_slice_values``;
    ``event_id`` numbers them from 0 (the id ``--labels`` join by)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.12).astype(float)
    amount = rng.lognormal(3.2, 1, n) + 20 * y
    amount[rng.random(n) < 0.02] = np.nan
    amount[rng.random(n) < 0.005] = np.inf
    amount[rng.random(n) < 0.005] = -np.inf
    y[rng.random(n) < 0.3] = np.nan  # not labelled yet
    predicted = np.where(rng.random(n) < 0.8, np.nan_to_num(y), 1 - np.nan_to_num(y))
    return pd.DataFrame(
        {
            "amount": amount,
            "hour": rng.integers(0, 24, n).astype(float),
            "device": rng.choice(["ios", "android", "web", "tablet"], n),  # tablet: unseen
            "region": rng.choice(["eu", "us", "apac", "latam"], n),  # latam: unseen
            "shop": rng.choice([f"shop{i}" for i in range(7)], n),
            "is_fraud": y,
            "predicted": predicted.astype(int),
            "event_id": np.arange(n),
        }
    )


def write_partitions(frame: pd.DataFrame, directory: Path, bounds: list[int]) -> str:
    """Rows ``bounds[i]:bounds[i + 1]`` as file ``part-i.parquet`` (an empty range: a file of
    no rows); returns the glob of the files."""
    directory.mkdir(parents=True)
    for index, (start, stop) in enumerate(itertools.pairwise(bounds)):
        part = frame.iloc[start:stop]
        part.to_parquet(directory / f"part-{index:03d}.parquet", index=False)
    return str(directory / "*.parquet")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def assert_identical(one: WindowResult, dask: WindowResult) -> None:
    """Every drift value, threshold and verdict, and every slice count and SLI, bit for bit."""
    assert dask.n_rows == one.n_rows and dask.n_labeled == one.n_labeled
    assert [r.feature for r in dask.drift.features] == [r.feature for r in one.drift.features]
    for mine, theirs in zip(one.drift.features, dask.drift.features, strict=True):
        for name in ("method", "value", "threshold", "drifted", "mode", "n_reference", "n_current"):
            assert _same(getattr(mine, name), getattr(theirs, name)), (mine.feature, name)
    assert dask.drift.share == one.drift.share and dask.drift.drifted == one.drift.drifted
    assert [m.to_dict() for m in dask.slices] == [m.to_dict() for m in one.slices]
    assert dask.folded_rows == one.folded_rows
    assert dask.missing_features == one.missing_features


_ROW_KEYS = {"_sa_instance_state", "id", "evaluation_id", "evaluation"}


def stored(evaluation: Evaluation) -> tuple[Any, ...]:
    """What the store holds of an evaluation, without its id and time, nor where it was folded
    (:func:`folded`): a window folded on Dask stores the values of one process."""
    return (
        evaluation.window,
        evaluation.reference_run_id,
        evaluation.n_rows,
        evaluation.n_labeled,
        evaluation.drift_share,
        evaluation.dataset_drift,
        [
            (
                r.feature,
                r.column_type,
                r.method,
                r.value,
                r.threshold,
                r.drifted,
                r.mode,
                r.n_reference,
                r.n_current,
            )
            for r in evaluation.drift
        ],
        {
            s.slice: sorted((k, v) for k, v in vars(s).items() if k not in _ROW_KEYS)
            for s in evaluation.slices
        },
    )


def folded(evaluation: Evaluation) -> tuple[str, int | None]:
    """Where the store says an evaluation was folded: engine and partitions."""
    return evaluation.engine, evaluation.partitions


def write_labels(frame: pd.DataFrame, path: Path, seed: int = 3) -> Path:
    """A labels file (CSV: ``event_id``, ``is_fraud``) for the frame's rows, as a label feed
    delivers them: about 60 % of the ids, in shuffled order, a few labelled twice (the last one
    wins), and ids the window does not hold."""
    rng = np.random.default_rng(seed)
    ids = frame["event_id"].to_numpy()
    chosen = rng.permutation(ids[rng.random(len(ids)) < 0.6])
    labels = pd.DataFrame(
        {"event_id": chosen, "is_fraud": (rng.random(len(chosen)) < 0.15).astype(int)}
    )
    again = labels.sample(frac=0.05, random_state=seed).assign(is_fraud=lambda f: 1 - f.is_fraud)
    strangers = pd.DataFrame({"event_id": ids.max() + 1 + np.arange(50), "is_fraud": 1})
    pd.concat([labels, again, strangers], ignore_index=True).to_csv(path, index=False)
    return path
