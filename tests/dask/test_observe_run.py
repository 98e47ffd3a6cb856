"""``observe_run`` of a training set held as Dask collections stores the run that the same rows
computed store: class counts, synthetic rows, feature schema, reference profiles, leakage."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from smote_monitor import Monitor
from smote_monitor.drift.reference import AUGMENTED, REAL
from smote_monitor.errors import DistributedJobError, InvalidInputError
from smote_monitor.store.evaluations import shift_of_run
from smote_monitor.store.profiles import load_profiles
from smote_monitor.store.runs import count_runs, find_run, run_to_record
from tests.store_access import read

CONFIG = """
database_url: {url}
spool_dir: {spool}
datasets:
  fraud:
    categorical: [device]
  sketched:
    categorical: [device]
    drift: {{exact_cap: 1000}}
  unprofiled:
    features: [amount, not_a_column]
"""
#: Timestamps differ between any two runs; everything else must not.
_WHEN = {"started_at", "finished_at"}


def _monitor(url: str, tmp_path: Path, name: str) -> Monitor:
    path = tmp_path / f"{name}.yaml"
    path.write_text(CONFIG.format(url=url, spool=tmp_path / f"spool-{name}"))
    return Monitor.from_config(path)


def _training(n: int = 2000, seed: int = 5) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    y = pd.Series((rng.random(n) < 0.15).astype(int), name="is_fraud")
    X = pd.DataFrame(
        {
            "amount": np.round(rng.lognormal(3, 1, n), 2) + 25 * y,
            "hour": rng.integers(0, 24, n).astype(float),
            "children": rng.integers(0, 4, n),  # few distinct ints: categorical, inferred
            "age": rng.integers(18, 90, n),  # many distinct ints: numeric, inferred
            "device": rng.choice(["ios", "android", "web"], n),
            "vip": rng.random(n) < 0.05,
        }
    )
    X.loc[rng.random(n) < 0.02, "amount"] = np.nan
    return X, y


def _synthetic(X: pd.DataFrame, y: pd.Series, n: int, seed: int = 9) -> pd.DataFrame:
    """New minority rows between pairs of minority rows (as SMOTE makes them): numeric values
    interpolated, so no real row equals one."""
    rng = np.random.default_rng(seed)
    minority = X[y == 1].reset_index(drop=True)
    a = minority.iloc[rng.integers(0, len(minority), n)].reset_index(drop=True)
    b = minority.iloc[rng.integers(0, len(minority), n)].reset_index(drop=True)
    gap = rng.random(n)
    rows = a.copy()
    rows["amount"] = a["amount"] + gap * (b["amount"] - a["amount"]) + 0.001
    rows["hour"] = a["hour"] + gap * (b["hour"] - a["hour"]) + 0.5
    return rows


def _resampled(
    removed: int = 0,
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    """Training rows before and after an oversampling (with ``removed`` majority rows dropped
    by a cleaner), and a validation set holding two of the synthetic rows."""
    X, y = _training()
    synthetic = _synthetic(X, y, 300)
    kept = X.index[~X.index.isin(X.index[y == 0][:removed])]
    X_after = pd.concat([X.loc[kept], synthetic], ignore_index=True)
    y_after = pd.concat([y.loc[kept], pd.Series(np.ones(len(synthetic), dtype=int))])
    y_after = y_after.reset_index(drop=True).rename("is_fraud")
    held_out, held_y = _training(60, seed=11)
    X_val = pd.concat([held_out, synthetic.iloc[[3, 7]]], ignore_index=True)
    y_val = pd.concat([held_y, pd.Series([1, 1])], ignore_index=True)
    return X, y, X_after, y_after, X_val, y_val


def _partitioned(data: pd.DataFrame | pd.Series, bounds: list[int]) -> Any:
    """Rows ``bounds[i]:bounds[i + 1]`` as partition i (an empty range: an empty partition)."""
    parts = [data.iloc[a:b] for a, b in itertools.pairwise(bounds)]
    return dd.concat([dd.from_pandas(part, npartitions=1, sort=False) for part in parts])


def _on_dask(
    data: tuple[Any, ...], before: list[int] | None, after: list[int] | None
) -> tuple[Any, ...]:
    """The training data as Dask collections, partitioned at ``before`` / ``after`` (None:
    ``from_pandas`` into 3 and 4 partitions)."""
    X, y, X_after, y_after = data[:4]
    if before is None or after is None:
        return tuple(
            dd.from_pandas(d, npartitions=n, sort=False)
            for d, n in ((X, 3), (y, 3), (X_after, 4), (y_after, 4))
        )
    return tuple(
        _partitioned(d, b)
        for d, b in ((X, before), (y, before), (X_after, after), (y_after, after))
    )


def _stored(monitor: Monitor, dataset: str, run_key: str) -> tuple[dict[str, Any], Any, Any]:
    run = read(monitor.store, find_run, dataset, run_key)
    assert run is not None
    record = run_to_record(run).model_dump(exclude=_WHEN)
    profiles = {
        split: read(monitor.store, load_profiles, run.id, split) for split in (REAL, AUGMENTED)
    }
    return record, profiles, read(monitor.store, shift_of_run, run.id)


def _comparable(profile: Any) -> dict[str, Any]:
    data = profile.to_dict()
    for key in ("mean", "m2"):  # merged pairwise: equal up to the last bits only
        data.pop(key, None)
    return data


def _assert_same_run(mine: tuple[Any, ...], theirs: tuple[Any, ...]) -> None:
    """The Dask run (``theirs``) stores what the in-memory one (``mine``) does."""
    (record, profiles, shift), (dask_record, dask_profiles, dask_shift) = mine, theirs
    assert dask_record == record
    for split in (REAL, AUGMENTED):
        assert list(dask_profiles[split]) == list(profiles[split])
        for name, profile in profiles[split].items():
            assert _comparable(dask_profiles[split][name]) == _comparable(profile), (split, name)
            assert dask_profiles[split][name].mean == pytest.approx(
                profile.mean, rel=1e-12, nan_ok=True
            )
    if shift is None:
        assert dask_shift is None
        return
    assert [(d["feature"], d["method"], d["drifted"]) for d in dask_shift.drift] == [
        (d["feature"], d["method"], d["drifted"]) for d in shift.drift
    ]
    for a, b in zip(dask_shift.drift, shift.drift, strict=True):
        assert a["value"] == pytest.approx(b["value"], rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(
    ("dataset", "before", "after"),
    [
        ("fraud", None, None),
        ("fraud", [0, 2000], [0, 2300]),
        ("fraud", [0, 700, 700, 1500, 2000], [0, 1000, 2300, 2300]),
        ("sketched", [0, 900, 2000], [0, 0, 1200, 2300]),
        ("unprofiled", None, None),
    ],
    ids=["from_pandas", "one partition", "empty partitions", "sketch mode", "profile error"],
)
def test_a_dask_run_stores_what_the_rows_in_memory_store(
    client: Any,
    sqlite_url: str,
    tmp_path: Path,
    dataset: str,
    before: list[int] | None,
    after: list[int] | None,
) -> None:
    data = _resampled()
    in_memory = _monitor(sqlite_url, tmp_path, "memory")
    on_dask = _monitor(f"sqlite:///{tmp_path / 'dask.db'}", tmp_path, "dask")
    X, y, X_after, y_after = _on_dask(data, before, after)
    if before is not None and after is not None:
        assert (X.npartitions, X_after.npartitions) == (len(before) - 1, len(after) - 1)
    X_val, y_val = data[4:]
    common: dict[str, Any] = {
        "dataset": dataset,
        "params": {"k_neighbors": 5, "random_state": 0},
        "run_key": "k1",
        "validation": {"f1": 0.8, "recall": 0.75, "precision": 0.7},
        "X_val": X_val,
        "y_val": y_val,
    }
    dask_record = on_dask.observe_run(
        X_before=X, y_before=y, X_after=X_after, y_after=y_after, client=client, **common
    )
    record = in_memory.observe_run(
        X_before=X.compute(),
        y_before=y.compute(),
        X_after=X_after.compute(),
        y_after=y_after.compute(),
        **common,
    )
    assert dask_record.model_dump(exclude=_WHEN) == record.model_dump(exclude=_WHEN)
    assert record.n_synthetic == 300
    minority = int((data[1] == 1).sum())
    assert record.class_counts_before == {"0": 2000 - minority, "1": minority}
    assert record.class_counts_after == {"0": 2000 - minority, "1": minority + 300}
    assert record.leakage is not None and record.leakage.suspected
    assert record.leakage.evidence["validation_rows_equal_to_synthetic"] == 2
    assert record.leakage.evidence["example_validation_rows"] == [60, 61]
    _assert_same_run(_stored(in_memory, dataset, "k1"), _stored(on_dask, dataset, "k1"))
    if dataset == "unprofiled":
        assert record.profile_error is not None and "not_a_column" in record.profile_error
    else:
        assert record.profile_error is None
        profiles = _stored(on_dask, dataset, "k1")[1]
        assert list(profiles[REAL]) == list(data[0].columns)
        assert {n: p.kind.value for n, p in profiles[REAL].items()} == {
            "amount": "numeric",
            "hour": "numeric",
            "children": "categorical",
            "age": "numeric",
            "device": "categorical",
            "vip": "categorical",
        }
        assert profiles[REAL]["amount"].mode == ("sketch" if dataset == "sketched" else "exact")


def test_a_cleaner_that_removed_rows_counts_synthetic_rows_as_in_memory(
    client: Any, sqlite_url: str, tmp_path: Path
) -> None:
    data = _resampled(removed=150)  # 150 rows fewer, 300 synthetic: 150 more rows in all
    X, y, X_after, y_after = _on_dask(data, [0, 1000, 2000], [0, 500, 500, 2150])
    on_dask = _monitor(f"sqlite:///{tmp_path / 'dask.db'}", tmp_path, "dask")
    in_memory = _monitor(sqlite_url, tmp_path, "memory")
    dask_record = on_dask.observe_run(
        dataset="fraud", X_before=X, y_before=y, X_after=X_after, y_after=y_after, client=client
    )
    record = in_memory.observe_run(
        dataset="fraud",
        X_before=X.compute(),
        y_before=y.compute(),
        X_after=X_after.compute(),
        y_after=y_after.compute(),
    )
    assert record.n_synthetic == 300 and dask_record.n_synthetic == 300
    assert dask_record.model_dump(exclude=_WHEN | {"run_key"}) == record.model_dump(
        exclude=_WHEN | {"run_key"}
    )


def _bad_inputs() -> list[tuple[str, Any, str]]:
    return [
        ("y_before", "short", r"y_before: got '1999 labels \(\d+ in partition \d\)'; expected "
         r"2000 labels, one per row of X_before \(\d+ in its partition \d\)"),
        ("y_after", "repartitioned short", r"y_after: got '2299 labels'; expected 2300 labels, "
         r"one per row of X_after$"),
        ("y_before", "pandas", r"y_before: got 'a pandas\.core\.series\.Series'; expected a "
         r"dask\.dataframe\.Series, as X_before is a Dask collection \(X_before, y_before, "
         r"X_after, y_after: all on Dask or none\)"),
        ("X_after", "pandas", r"X_after: got 'a pandas\.core\.frame\.DataFrame'; expected a "
         r"dask\.dataframe\.DataFrame, as X_before is a Dask collection"),
        ("X_before", "series", r"X_before: got '.*Series'; expected a dask\.dataframe\.DataFrame "
         r"of shape \(n_samples, n_features\)"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("field", "change", "message"),
    _bad_inputs(),
    ids=[f"{field} {change}" for field, change, _ in _bad_inputs()],
)
def test_bad_dask_inputs_are_refused_by_name_and_store_nothing(
    client: Any, sqlite_url: str, tmp_path: Path, field: str, change: str, message: str
) -> None:
    data = _resampled()
    inputs = dict(
        zip(("X_before", "y_before", "X_after", "y_after"), _on_dask(data, None, None), strict=True)
    )
    original = data[("X_before", "y_before", "X_after", "y_after").index(field)]
    inputs[field] = {
        "short": lambda: dd.from_pandas(original.iloc[:-1], npartitions=3, sort=False),
        "repartitioned short": lambda: dd.from_pandas(original.iloc[:-1], npartitions=2),
        "pandas": lambda: original,
        "series": lambda: dd.from_pandas(original["amount"], npartitions=3, sort=False),
    }[change]()
    monitor = _monitor(sqlite_url, tmp_path, "memory")
    with pytest.raises(InvalidInputError, match=message) as raised:
        monitor.observe_run(dataset="fraud", run_key="k1", client=client, **inputs)
    assert raised.value.field == field
    assert read(monitor.store, count_runs, "fraud") == 0
    assert not (tmp_path / "spool-memory").exists() or not any(
        (tmp_path / "spool-memory").iterdir()
    )


def _never(part: pd.DataFrame) -> pd.DataFrame:
    raise AssertionError("the cluster was asked to read the training data")


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"validation": {"recall": 1.5}}, "metrics.validation.recall"),
        ({"X_val": pd.DataFrame({"amount": [1.0]})}, "y_val"),
    ],
    ids=["a ratio above 1", "X_val without y_val"],
)
def test_bad_validation_is_refused_before_the_cluster_reads_the_training_data(
    client: Any, sqlite_url: str, tmp_path: Path, given: dict[str, Any], field: str
) -> None:
    data = _resampled()
    _, y, X_after, y_after = _on_dask(data, None, None)
    untouchable = dd.from_map(_never, [data[0]], meta=data[0].iloc[:0])
    monitor = _monitor(sqlite_url, tmp_path, "memory")
    with pytest.raises(InvalidInputError) as raised:
        monitor.observe_run(
            dataset="fraud",
            X_before=untouchable,
            y_before=y,
            X_after=X_after,
            y_after=y_after,
            client=client,
            **given,
        )
    assert raised.value.field == field
    assert read(monitor.store, count_runs, "fraud") == 0


def test_a_dask_run_is_stored_on_each_store(client: Any, store_url: str, tmp_path: Path) -> None:
    """Without ``client=``, the client running in this process (the fixture's) is used."""
    data = _resampled()
    monitor = _monitor(store_url, tmp_path, "store")
    X, y, X_after, y_after = _on_dask(data, [0, 1200, 2000], [0, 0, 2300])
    record = monitor.observe_run(
        dataset="fraud", run_key="k1", X_before=X, y_before=y, X_after=X_after, y_after=y_after,
        X_val=dd.from_pandas(data[4], npartitions=2), y_val=dd.from_pandas(data[5], npartitions=2),
    )  # fmt: skip
    stored, profiles, shift = _stored(monitor, "fraud", "k1")
    assert stored == record.model_dump(exclude=_WHEN)
    assert (record.n_synthetic, record.status.value) == (300, "succeeded")
    assert record.leakage is not None
    assert record.leakage.evidence["validation_rows_equal_to_synthetic"] == 2
    assert list(profiles[REAL]) == list(data[0].columns) == list(profiles[AUGMENTED])
    assert shift is not None


def test_dask_inputs_without_a_client_are_refused(tmp_path: Path) -> None:
    """In a process running no Dask client, and none given: an error naming ``client``."""
    code = f"""
import dask.dataframe as dd, pandas as pd
from smote_monitor import Monitor
from smote_monitor.errors import DistributedJobError, InvalidInputError
X = dd.from_pandas(pd.DataFrame({{"a": [1.0, 2.0, 3.0]}}), npartitions=2)
y = dd.from_pandas(pd.Series([0, 1, 1]), npartitions=2)
monitor = Monitor.from_url("sqlite:///{tmp_path / "s.db"}", spool_dir="{tmp_path / "spool"}")
try:
    monitor.observe_run(dataset="fraud", X_before=X, y_before=y, X_after=X, y_after=y)
except InvalidInputError as exc:
    print(exc)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == (
        "client: got None; expected a distributed.Client (or one running) for Dask inputs"
    )
    assert not (tmp_path / "s.db").exists()


def test_a_tracked_run_observes_dask_inputs(client: Any, sqlite_url: str, tmp_path: Path) -> None:
    """``track_run`` … ``run.observe(…, client=)`` and ``log_validation``: the run
    ``observe_run`` records."""
    data = _resampled()
    X, y, X_after, y_after = _on_dask(data, None, None)
    tracked = _monitor(sqlite_url, tmp_path, "tracked")
    with tracked.track_run(dataset="fraud", run_key="k1") as run:
        run.observe(X, y, X_after, y_after, params={}, variant="SMOTE", client=client)
        run.log_validation(validation={"recall": 0.7}, X_val=data[4], y_val=data[5])
    observed = _monitor(f"sqlite:///{tmp_path / 'observed.db'}", tmp_path, "observed")
    observed.observe_run(
        dataset="fraud", run_key="k1", X_before=X, y_before=y, X_after=X_after, y_after=y_after,
        validation={"recall": 0.7}, X_val=data[4], y_val=data[5], client=client,
    )  # fmt: skip
    mine, theirs = _stored(tracked, "fraud", "k1"), _stored(observed, "fraud", "k1")
    assert mine[0]["status"] == "succeeded"
    assert mine[0]["leakage"]["evidence"]["validation_rows_equal_to_synthetic"] == 2
    _assert_same_run(mine, theirs)


def _part_or_die(part: pd.DataFrame, die: bool) -> pd.DataFrame:
    if die:
        os.kill(os.getpid(), signal.SIGKILL)
    return part


@pytest.mark.slow
def test_workers_killed_on_every_try_fail_the_run_clearly_and_store_nothing(
    client: Any, sqlite_url: str, tmp_path: Path
) -> None:
    data = _resampled()
    _, y, X_after, y_after = _on_dask(data, None, None)
    parts = [(data[0].iloc[:1000], False), (data[0].iloc[1000:], True)]  # the second one dies
    dying = dd.from_map(lambda args: _part_or_die(*args), parts, meta=data[0].iloc[:0])
    monitor = _monitor(sqlite_url, tmp_path, "memory")
    with pytest.raises(DistributedJobError, match=r"workers kept dying.*nothing was stored"):
        monitor.observe_run(
            dataset="fraud", X_before=dying, y_before=y, X_after=X_after, y_after=y_after
        )
    assert read(monitor.store, count_runs, "fraud") == 0
    client.wait_for_workers(2)
