"""Production windows against the reference run: drift, slice SLIs, late labels — stored."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from smote_core import SMOTE
from smote_monitor import InvalidInputError, Monitor
from smote_monitor.conventions import DRIFT_EMPTY, DRIFT_MISSING
from smote_monitor.drift import build_profiles, compute_drift
from smote_monitor.drift.reference import AUGMENTED, REAL
from smote_monitor.evaluation.job import evaluate_dataset
from smote_monitor.evaluation.push import push_labels, push_predictions
from smote_monitor.evaluation.status import dataset_status
from smote_monitor.evaluation.window import (
    SlicesNotScoredError,
    evaluate_batches,
    evaluate_frame,
)
from smote_monitor.sources.files import production_batches
from smote_monitor.store.evaluations import latest_evaluations, shift_of_run
from smote_monitor.store.models import Evaluation
from smote_monitor.store.profiles import load_profiles
from smote_monitor.store.runs import find_run
from tests.store_access import read

from .cli_helpers import run_cli

CONFIG = """
database_url: {url}
spool_dir: {spool}
datasets:
  fraud:
    target: is_fraud
    prediction: predicted
    positive_class: 1
    id_column: event_id
    timestamp_column: ts
    slices: [region]
    categorical: [region]
    label_lookback: 1d
    slo: {{min_slice_support: 5}}
"""


def _evaluate_cli(tmp_path: Path, production: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``smote-monitor evaluate -d fraud -p PRODUCTION ARGS`` with the test's config."""
    config = str(tmp_path / "smote-monitor.yaml")
    return run_cli(
        "--config", config, "evaluate", "-d", "fraud", "-p", production, *args, cwd=tmp_path
    )


def _training(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.08).astype(int)
    frame = pd.DataFrame(
        {
            "amount": rng.lognormal(3, 1, n) + 20 * y,
            "hour": rng.integers(0, 24, n).astype(float),
            "region": rng.choice(["eu", "us", "apac"], n),
        }
    )
    return frame, y


def _production(n: int, shift: float, seed: int) -> pd.DataFrame:
    frame, y = _training(n, seed)
    frame["amount"] = frame["amount"] + shift
    frame["is_fraud"] = y
    frame["predicted"] = np.where(np.random.default_rng(seed + 1).random(n) < 0.8, y, 1 - y)
    frame["event_id"] = np.arange(n)
    return frame


@pytest.fixture
def monitor(store_url: str, tmp_path: Path) -> Monitor:
    path = tmp_path / "smote-monitor.yaml"
    path.write_text(CONFIG.format(url=store_url, spool=tmp_path / "spool"))
    mon = Monitor.from_config(path)
    X, y = _training()
    numeric = X[["amount", "hour"]]
    with mon.track_run(dataset="fraud", run_key="train-1") as run:
        run.resample(SMOTE(random_state=0), numeric, y)
        run.log_validation(
            train={"f1": 0.9}, validation={"f1": 0.88, "recall": 0.85, "precision": 0.75}
        )
    return mon


def test_a_run_stores_profiles_of_both_splits_and_the_synthetic_shift(monitor: Monitor) -> None:
    run = read(monitor.store, find_run, "fraud", "train-1")
    assert run is not None
    real = read(monitor.store, load_profiles, run.id, REAL)
    augmented = read(monitor.store, load_profiles, run.id, AUGMENTED)
    assert list(real) == list(augmented) == ["amount", "hour"]
    X, _y = _training()
    assert real["amount"].n == len(X)
    assert augmented["amount"].n == sum(run.class_counts_after.values())
    shift = read(monitor.store, shift_of_run, run.id)
    assert shift is not None
    expected = compute_drift(real, augmented)
    assert [(d["feature"], d["method"]) for d in shift.drift] == [
        (r.feature, r.method) for r in expected.features
    ]
    assert [d["value"] for d in shift.drift] == pytest.approx([r.value for r in expected.features])
    # SMOTE doubled the minority, whose amounts are larger: the amount distribution moved.
    assert shift.drift[0]["drifted"] is True


def test_a_dataset_without_an_id_column_has_a_status_but_takes_no_pushes(
    store_url: str, tmp_path: Path
) -> None:
    # Labels inside the production files need no id: `evaluate` serves such a dataset, and its
    # status (route, page, CLI) must show what it stored rather than ask for an id column.
    path = tmp_path / "smote-monitor.yaml"
    path.write_text(
        f"database_url: {store_url}\n"
        "datasets:\n"
        "  batch: {target: is_fraud, prediction: predicted, positive_class: 1, slices: [region],"
        " categorical: [region]}\n"
    )
    mon = Monitor.from_config(path)
    X, y = _training()
    with mon.track_run(dataset="batch", run_key="train-1") as run:
        run.resample(SMOTE(random_state=0), X[["amount", "hour"]], y)
    window = _production(1000, shift=0.0, seed=3)
    evaluate_frame(mon.store, mon.settings, "batch", window, window="1h")

    status = dataset_status(mon.store, mon.settings, "batch")
    assert status["windows"]["1h"]["rows"] == 1000
    assert status["reference_run"]["run_key"] == "train-1"
    assert set(status["pending_labels"].values()) == {0}
    with pytest.raises(InvalidInputError, match=r"datasets\.batch\.id_column"):
        push_predictions(mon.store, mon.settings, "batch", window)


def test_a_shifted_window_drifts_and_slices_are_scored(monitor: Monitor) -> None:
    window = _production(3000, shift=30.0, seed=5)
    result = evaluate_frame(monitor.store, monitor.settings, "fraud", window, window="1h")
    by_feature = {r.feature: r for r in result.drift.features}
    assert by_feature["amount"].drifted and not by_feature["hour"].drifted
    expected = compute_drift(
        read(monitor.store, load_profiles, result.reference_run_id, REAL),
        build_profiles(window, features=["amount", "hour"]),
    )
    assert [r.value for r in result.drift.features] == pytest.approx(
        [r.value for r in expected.features], rel=1e-9
    )

    by_slice = {m.slice: m for m in result.slices}
    assert set(by_slice) == {"all", "region=apac", "region=eu", "region=us"}
    truth, pred = window["is_fraud"].to_numpy(), window["predicted"].to_numpy()
    tp = int(((truth == 1) & (pred == 1)).sum())
    fn = int(((truth == 1) & (pred == 0)).sum())
    assert (by_slice["all"].tp, by_slice["all"].fn) == (tp, fn)
    assert by_slice["all"].recall.value == pytest.approx(tp / (tp + fn))
    eu = window[window["region"] == "eu"]
    assert by_slice["region=eu"].support == int((eu["is_fraud"] == 1).sum())

    stored = read(monitor.store, latest_evaluations, "fraud")[0]
    assert stored.id == result.evaluation_id and stored.window == "1h"
    assert stored.n_rows == 3000 and stored.n_labeled == 3000
    assert len(stored.drift) == 2 and len(stored.slices) == 4


def _comparable(view: object) -> dict[str, object]:
    data = dict(view.to_dict())  # type: ignore[attr-defined]
    return {k: v for k, v in data.items() if k not in ("id", "window", "evaluated_at")}


def test_labels_join_by_id_whatever_the_id_dtype_of_either_file(
    monitor: Monitor, tmp_path: Path
) -> None:
    window = _production(400, shift=0.0, seed=13)
    # Integer ids in the production CSV; text ids ("5") in the labels, and float ids (5.0, as
    # pandas reads an int column with a gap) in a second labels file.
    window.drop(columns=["is_fraud"]).to_csv(tmp_path / "predictions.csv", index=False)
    labels = window[["event_id", "is_fraud"]]
    labels.astype({"event_id": str}).iloc[:200].to_parquet(tmp_path / "labels-1.parquet")
    labels.astype({"event_id": float}).iloc[200:].to_parquet(tmp_path / "labels-2.parquet")
    done = _evaluate_cli(
        tmp_path,
        str(tmp_path / "predictions.csv"),
        "--labels",
        str(tmp_path / "labels-*.parquet"),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["n_labeled"] == 400
    assert out["slices"][0]["tp"] + out["slices"][0]["fn"] == int(window["is_fraud"].sum())


def test_a_multi_file_window_fed_in_small_batches_stores_what_one_frame_does(
    monitor: Monitor, tmp_path: Path
) -> None:
    window = _production(3000, shift=5.0, seed=11)
    folder = tmp_path / "window"
    folder.mkdir()
    window.iloc[:1100].to_csv(folder / "part-1.csv", index=False)
    window.iloc[1100:2000].to_parquet(folder / "part-2.parquet", row_group_size=300)
    window.iloc[2000:].to_csv(folder / "part-3.csv", index=False)

    sizes = [len(batch) for batch in production_batches(folder, batch_rows=257)]
    assert sum(sizes) == 3000 and max(sizes) <= 257 and len(sizes) >= 3000 // 257

    evaluate_frame(monitor.store, monitor.settings, "fraud", window, window="one")
    one = read(monitor.store, latest_evaluations, "fraud")[0]
    result = evaluate_batches(
        monitor.store,
        monitor.settings,
        "fraud",
        production_batches(folder, batch_rows=257),
        window="batched",
    )
    batched = read(monitor.store, latest_evaluations, "fraud")[0]
    assert batched.id == result.evaluation_id != one.id
    assert _comparable(batched) == _comparable(one)
    assert batched.n_rows == 3000 and batched.n_labeled == 3000


def test_a_later_file_missing_a_feature_stores_it_flagged_missing_naming_the_file(
    monitor: Monitor, tmp_path: Path
) -> None:
    window = _production(600, shift=0.0, seed=12)
    window.iloc[:300].to_csv(tmp_path / "a.csv", index=False)
    window.iloc[300:].drop(columns=["hour"]).to_csv(tmp_path / "b.csv", index=False)
    result = evaluate_batches(
        monitor.store,
        monitor.settings,
        "fraud",
        production_batches(tmp_path / "*.csv", batch_rows=100),
    )
    hour = {r.feature: r for r in result.drift.features}["hour"]
    assert (hour.method, hour.drifted, hour.n_current) == (DRIFT_MISSING, True, 0)
    assert result.missing_features == {"hour": str(tmp_path / "b.csv")}
    assert result.problems() == [
        f"feature hour: column missing from production ({tmp_path / 'b.csv'}) — flagged as drifted"
    ]
    stored = read(monitor.store, latest_evaluations, "fraud")[0]
    assert stored.id == result.evaluation_id and stored.n_rows == 600
    assert {d["feature"]: d["method"] for d in stored.drift}["hour"] == DRIFT_MISSING


@pytest.mark.parametrize(
    ("mutate", "method", "problem"),
    [
        (
            lambda f: f.drop(columns=["hour"]),
            DRIFT_MISSING,
            "feature hour: column missing from production — flagged as drifted",
        ),
        (
            lambda f: f.assign(hour=np.nan),
            DRIFT_EMPTY,
            "feature hour: no finite value in 3,000 production rows (all NaN/inf/missing) — "
            "flagged as drifted",
        ),
    ],
)
def test_a_broken_feature_is_stored_flagged_drifted_and_counted_in_the_share(
    monitor: Monitor, mutate: object, method: str, problem: str
) -> None:
    window = mutate(_production(3000, 0.0, seed=3))  # type: ignore[operator]
    result = evaluate_frame(monitor.store, monitor.settings, "fraud", window)
    by_feature = {r.feature: r for r in result.drift.features}
    assert (by_feature["hour"].method, by_feature["hour"].drifted) == (method, True)
    assert not by_feature["amount"].drifted
    assert result.drift.share == 0.5 and result.drift.drifted
    assert result.problems() == [problem]
    assert {m.slice for m in result.slices} == {"all", "region=apac", "region=eu", "region=us"}
    stored = read(monitor.store, latest_evaluations, "fraud")[0]
    assert stored.id == result.evaluation_id and stored.drift_share == 0.5
    hour = {d["feature"]: d for d in stored.drift}["hour"]
    assert (hour["method"], hour["drifted"], hour["value"], hour["threshold"]) == (
        method,
        True,
        None,
        None,
    )
    assert result.to_dict()["problems"] == [problem]


def test_evaluate_cli_says_a_feature_is_missing_and_exits_0(
    monitor: Monitor, tmp_path: Path
) -> None:
    _production(500, 0.0, seed=3).drop(columns=["hour"]).to_csv(tmp_path / "w.csv", index=False)
    done = _evaluate_cli(tmp_path, str(tmp_path / "w.csv"))
    assert done.returncode == 0, done.stderr
    assert (
        f"feature hour: column missing from production ({tmp_path / 'w.csv'}) — flagged as drifted"
        in done.stdout.replace("\n", "")
    )
    assert "missing" in done.stdout.split("feature drift")[1]


@pytest.mark.parametrize(
    ("mutate", "column"),
    [
        (lambda f: f.drop(columns=["region"]), "region"),
        (lambda f: f.drop(columns=["region", "is_fraud"]), "region"),
    ],
)
def test_a_missing_slice_column_stores_drift_and_is_an_error_saying_so(
    monitor: Monitor, mutate: object, column: str
) -> None:
    window = mutate(_production(3000, 0.0, seed=3))  # type: ignore[operator]
    with pytest.raises(
        SlicesNotScoredError,
        match=rf"^production\.{column}: got None; expected a column of every production file "
        rf"\(a slice column of dataset fraud\); drift was stored as evaluation \d+, slice SLIs "
        "were not",
    ) as caught:
        evaluate_frame(monitor.store, monitor.settings, "fraud", window)
    result = caught.value.result
    stored = read(monitor.store, latest_evaluations, "fraud")[0]
    assert stored.id == result.evaluation_id and stored.n_rows == 3000
    assert len(stored.drift) == 2 and stored.slices == [] and result.slices == []


def test_evaluate_cli_prints_drift_then_exits_2_naming_the_missing_slice_column(
    monitor: Monitor, tmp_path: Path
) -> None:
    _production(500, 0.0, seed=3).drop(columns=["region"]).to_csv(tmp_path / "w.csv", index=False)
    done = _evaluate_cli(tmp_path, str(tmp_path / "w.csv"))
    assert done.returncode == 2
    assert "feature drift" in done.stdout
    assert f"production.region: got '{tmp_path / 'w.csv'}'" in done.stderr
    assert "(a slice column of dataset fraud); drift was stored as evaluation" in done.stderr
    with monitor.store.read() as session:
        assert session.scalars(select(Evaluation.kind)).all() == ["synthetic_shift", "production"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.assign(is_fraud=f["is_fraud"].replace(1, 7)), r"^is_fraud: got \[7"),
        (lambda f: f.iloc[:0], r"^production: got '0 rows'"),
    ],
)
def test_bad_production_data_is_named_and_nothing_is_stored(
    monitor: Monitor, mutate: object, message: str
) -> None:
    window = mutate(_production(3000, 0.0, seed=3))  # type: ignore[operator]
    with pytest.raises(InvalidInputError, match=message):
        evaluate_frame(monitor.store, monitor.settings, "fraud", window)
    with monitor.store.read() as session:
        kinds = session.scalars(select(Evaluation.kind)).all()
    assert kinds == ["synthetic_shift"]


def test_a_small_configured_exact_cap_makes_drift_come_from_the_sketch(
    store_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "smote-monitor.yaml"
    path.write_text(
        CONFIG.format(url=store_url, spool=tmp_path / "spool")
        + "    drift: {exact_cap: 1000, resolution: 500}\n"
    )
    mon = Monitor.from_config(path)
    X, y = _training()
    with mon.track_run(dataset="fraud", run_key="train-capped") as run:
        run.resample(SMOTE(random_state=0), X[["amount", "hour"]], y)
    reference = read(
        mon.store, load_profiles, read(mon.store, find_run, "fraud", "train-capped").id, REAL
    )
    assert reference["amount"].mode == "sketch"  # 2,000 distinct amounts > exact_cap 1,000
    assert reference["amount"].settings.resolution == 500
    assert reference["hour"].mode == "exact"  # 24 distinct hours

    result = evaluate_frame(mon.store, mon.settings, "fraud", _production(3000, 0.0, seed=4))
    modes = {r.feature: r.mode for r in result.drift.features}
    assert modes == {"amount": "sketch", "hour": "exact"}


def test_slices_kept_are_the_most_common_reference_values_not_the_first_to_arrive(
    store_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "smote-monitor.yaml"
    path.write_text(
        CONFIG.format(url=store_url, spool=tmp_path / "spool") + "    max_slice_values: 2\n"
    )
    mon = Monitor.from_config(path)
    X, y = _training()
    rng = np.random.default_rng(21)
    X = X.assign(region=rng.choice(["eu", "us", "apac"], len(X), p=[0.6, 0.3, 0.1]))
    mon.observe_run(dataset="fraud", run_key="sliced", X_before=X, y_before=y, X_after=X, y_after=y)

    window = _production(900, 0.0, seed=22)
    # The rarest training value arrives first: first-come admission would keep apac and us.
    window = window.sort_values("region", key=lambda r: r.map({"apac": 0, "us": 1, "eu": 2}))
    result = evaluate_frame(mon.store, mon.settings, "fraud", window)
    labels = {m.slice for m in result.slices}
    assert labels == {"all", "region=eu", "region=us", "region=(other)"}
    apac = int((window["region"] == "apac").sum())
    assert result.folded_rows == {"region": apac}
    by_slice = {m.slice: m for m in result.slices}
    assert by_slice["region=(other)"].tp + by_slice["region=(other)"].fn == int(
        window.loc[window["region"] == "apac", "is_fraud"].sum()
    )

    # The slice set is the reference's, so a window without eu still reports it (support 0).
    no_eu = evaluate_frame(mon.store, mon.settings, "fraud", window[window["region"] != "eu"])
    assert {m.slice for m in no_eu.slices} == labels


def test_a_dataset_without_any_run_is_a_clear_error(monitor: Monitor) -> None:
    with pytest.raises(
        InvalidInputError,
        match=r"^dataset: got 'churn'; expected a dataset with a succeeded run to compare "
        r"with \(it has no runs yet: record one with Monitor\.track_run",
    ):
        evaluate_frame(monitor.store, monitor.settings, "churn", _production(10, 0, 1))


def _observe_unprofilable_run(mon: Monitor, run_key: str) -> None:
    X, y = _training()
    # An hour column lost upstream: the run is recorded, but that feature cannot be profiled.
    X = X[["amount", "hour"]].assign(hour=np.nan)
    mon.observe_run(dataset="fraud", run_key=run_key, X_before=X, y_before=y, X_after=X, y_after=y)


def test_a_newest_run_whose_profiling_failed_is_refused_not_replaced_by_an_older_one(
    monitor: Monitor,
) -> None:
    _observe_unprofilable_run(monitor, "train-2")
    newest = read(monitor.store, find_run, "fraud", "train-2")
    assert newest is not None and newest.status == "succeeded"
    assert newest.profile_error is not None and "features.hour" in newest.profile_error
    with pytest.raises(
        InvalidInputError,
        match=rf"^reference_run: got {newest.id}; expected the newest succeeded run of fraud "
        r"\('train-2'\) with training profiles; it has none: profiling failed: features\.hour",
    ):
        evaluate_frame(monitor.store, monitor.settings, "fraud", _production(100, 0, 1))
    with monitor.store.read() as session:
        assert session.scalars(select(Evaluation.kind)).all() == ["synthetic_shift"]


def test_a_newest_run_recorded_without_training_data_is_refused(monitor: Monitor) -> None:
    stored = monitor.record(
        {
            "dataset": "fraud",
            "run_key": "from-json",
            "variant": "SMOTE",
            "class_counts_before": {"0": 1840, "1": 160},
            "class_counts_after": {"0": 1840, "1": 1840},
            "finished_at": "2099-01-01T00:00:00Z",
            "started_at": "2099-01-01T00:00:00Z",
        }
    )
    assert stored is not None
    with pytest.raises(
        InvalidInputError,
        match=rf"^reference_run: got {stored.run_id}; .* it has none: it was recorded without "
        r"training data",
    ):
        evaluate_frame(monitor.store, monitor.settings, "fraud", _production(100, 0, 1))


def test_evaluate_cli_prints_json_and_joins_separate_labels(
    monitor: Monitor, tmp_path: Path
) -> None:
    window = _production(1500, shift=0.0, seed=8)
    window.drop(columns=["is_fraud"]).to_csv(tmp_path / "predictions.csv", index=False)
    labels = window[["event_id", "is_fraud"]]
    pd.concat([labels, labels.iloc[:10]]).to_parquet(tmp_path / "labels.parquet")
    done = _evaluate_cli(
        tmp_path,
        str(tmp_path / "predictions.csv"),
        "--labels",
        str(tmp_path / "labels.parquet"),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["n_rows"] == 1500 and out["n_labeled"] == 1500
    assert out["drift"]["drifted"] is False
    assert out["slices"][0]["slice"] == "all"
    assert out["slices"][0]["tp"] + out["slices"][0]["fn"] == int(window["is_fraud"].sum())
    table = _evaluate_cli(tmp_path, str(tmp_path / "predictions.csv"))
    assert table.returncode == 0 and "feature drift" in table.stdout
    missing = _evaluate_cli(tmp_path, str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "production: got" in missing.stderr
    # Both runs were stored as printed: the JSON one with its labels, the table one without.
    newest, joined = read(monitor.store, latest_evaluations, "fraud", limit=2)
    assert joined.id == out["evaluation_id"] and (joined.n_rows, joined.n_labeled) == (1500, 1500)
    assert f"evaluation {newest.id}" in table.stdout and newest.n_labeled == 0
    assert {s["slice"]: s["tp"] for s in joined.slices} == {
        s["slice"]: s["tp"] for s in out["slices"]
    }


def _sliced_monitor(store_url: str, tmp_path: Path, extra: str = "") -> Monitor:
    """A monitor whose reference run profiled region (eu 60 %, us 30 %, apac 10 %)."""
    path = tmp_path / "smote-monitor.yaml"
    path.write_text(
        CONFIG.format(url=store_url, spool=tmp_path / "spool") + "    max_slice_values: 2\n" + extra
    )
    mon = Monitor.from_config(path)
    X, y = _training()
    rng = np.random.default_rng(21)
    X = X.assign(region=rng.choice(["eu", "us", "apac"], len(X), p=[0.6, 0.3, 0.1]))
    mon.observe_run(dataset="fraud", run_key="sliced", X_before=X, y_before=y, X_after=X, y_after=y)
    return mon


def _push(mon: Monitor, regions: list[str], t0: datetime, first_id: int = 0) -> object:
    """Labelled predictions pushed (the label known at once)."""
    ids = list(range(first_id, first_id + len(regions)))
    stamp = [t0.isoformat()] * len(regions)
    preds = pd.DataFrame(
        {"event_id": ids, "predicted": 1, "region": regions, "ts": stamp, "is_fraud": 1}
    )
    return push_predictions(mon.store, mon.settings, "fraud", preds, now=t0)


def _window_tp(mon: Monitor, now: datetime) -> dict[str, int]:
    """True positives per slice of the pushed rows' 24h window, evaluated at ``now``."""
    evaluate_dataset(mon.store, mon.settings, "fraud", now=now)
    with mon.store.read() as session:
        view = latest_evaluations(session, "fraud", window="24h")[0]
    return {s["slice"]: s["tp"] for s in view.slices}


def test_push_folds_slices_by_the_reference_most_common_values_like_a_window(
    store_url: str, tmp_path: Path
) -> None:
    mon = _sliced_monitor(store_url, tmp_path, "    windows: [1h, 24h]\n")
    t0 = datetime(2026, 11, 28, 12, tzinfo=UTC)
    # The rarest training value arrives first: first-come admission would keep apac and us.
    _push(mon, ["apac", "apac", "us", "eu"], t0)
    pushed = _window_tp(mon, t0 + timedelta(minutes=1))
    assert pushed == {"all": 4, "region=eu": 1, "region=us": 1, "region=(other)": 2}
    window = pd.DataFrame(
        {
            "amount": [1.0] * 4,
            "hour": [1.0] * 4,
            "region": ["apac", "apac", "us", "eu"],
            "is_fraud": 1,
            "predicted": 1,
            "event_id": range(4),
        }
    )
    evaluated = evaluate_frame(mon.store, mon.settings, "fraud", window)
    assert {m.slice: m.tp for m in evaluated.slices} == pushed


def test_push_after_a_change_of_slices_starts_the_new_columns_and_keeps_totals(
    store_url: str, tmp_path: Path
) -> None:
    mon = _sliced_monitor(store_url, tmp_path, "    windows: [1h, 24h]\n")
    t0 = datetime(2026, 11, 28, 12, tzinfo=UTC)
    _push(mon, ["eu", "us"], t0)
    pending = pd.DataFrame(
        {"event_id": [100], "predicted": 1, "region": ["eu"], "ts": [t0.isoformat()]}
    )
    push_predictions(mon.store, mon.settings, "fraud", pending, now=t0)
    config = tmp_path / "smote-monitor.yaml"
    config.write_text(config.read_text().replace("slices: [region]", "slices: [region, device]"))
    changed = Monitor.from_config(config)
    preds = pd.DataFrame(
        {
            "event_id": [10],
            "predicted": 1,
            "region": ["eu"],
            "device": ["ios"],
            "ts": [t0.isoformat()],
        }
    )
    push_predictions(changed.store, changed.settings, "fraud", preds, now=t0)
    late = pd.DataFrame({"event_id": [10, 100], "is_fraud": 1, "ts": [t0.isoformat()] * 2})
    assert push_labels(changed.store, changed.settings, "fraud", late, now=t0).labels_joined == 2
    counts = _window_tp(changed, t0 + timedelta(minutes=1))
    assert counts["all"] == 4 and counts["region=eu"] == 3
    assert counts["device=ios"] == 1  # id 100 was predicted before device was a slice


def test_push_joins_ids_typed_differently_as_a_labels_file_does(monitor: Monitor) -> None:
    t0 = datetime(2026, 11, 28, 12, tzinfo=UTC)
    preds = pd.DataFrame(
        {
            "event_id": [5, 6],
            "predicted": [1, 0],
            "region": ["eu", "us"],
            "ts": [t0.isoformat()] * 2,
        }
    )
    push_predictions(monitor.store, monitor.settings, "fraud", preds, now=t0)
    labels = pd.DataFrame({"event_id": ["5", 6.0], "is_fraud": [1, 1], "ts": [t0.isoformat()] * 2})
    result = push_labels(monitor.store, monitor.settings, "fraud", labels, now=t0)
    assert result.labels_joined == 2


def test_evaluate_help_says_labels_join_by_id_without_a_lookback(tmp_path: Path) -> None:
    done = run_cli("evaluate", "--help", cwd=tmp_path)
    text = " ".join(done.stdout.replace("│", " ").split())
    assert done.returncode == 0
    assert "joined by the dataset's id_column without label_lookback" in text
