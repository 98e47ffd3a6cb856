"""Pushed predictions and labels: the late-label join in SQL, against a brute-force recount."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from smote_core import SMOTE
from smote_monitor import InvalidInputError, Monitor
from smote_monitor.evaluation.job import evaluate_dataset
from smote_monitor.evaluation.push import push_labels, push_predictions
from smote_monitor.store import counters
from smote_monitor.store.datasets import find_dataset
from smote_monitor.store.evaluations import latest_evaluations
from smote_monitor.store.models import Counter as CounterRow
from smote_monitor.store.models import PendingPrediction, StagedBatch

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
    label_lookback: 1d
    windows: [1h, 24h]
    window_bucket: 5m
    slo: {{min_slice_support: 5}}
"""

T0 = datetime(2026, 11, 28, 12, tzinfo=UTC)


@pytest.fixture
def monitor(store_url: str, tmp_path: Path) -> Monitor:
    path = tmp_path / "smote-monitor.yaml"
    path.write_text(CONFIG.format(url=store_url, spool=tmp_path / "spool"))
    mon = Monitor.from_config(path)
    rng = np.random.default_rng(0)
    n = 1000
    y = (rng.random(n) < 0.1).astype(int)
    X = pd.DataFrame({"amount": rng.normal(size=n) + y, "hour": rng.integers(0, 24, n) * 1.0})
    with mon.track_run(dataset="fraud", run_key="train-1") as run:
        run.resample(SMOTE(random_state=0), X, y)
    return mon


def _predictions(ids: list[int], minutes: list[int], **columns: list[object]) -> pd.DataFrame:
    n = len(ids)
    rng = np.random.default_rng(sum(ids))
    frame = pd.DataFrame(
        {
            "event_id": ids,
            "ts": [(T0 + timedelta(minutes=m)).isoformat() for m in minutes],
            "predicted": columns.pop("predicted", [1] * n),
            "region": columns.pop("region", ["eu"] * n),
            "amount": rng.normal(size=n),
            "hour": rng.integers(0, 24, n) * 1.0,
        }
    )
    return frame.assign(**columns)


def _labels(ids: list[object], labels: list[int], minutes: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": ids,
            "is_fraud": labels,
            "ts": [(T0 + timedelta(minutes=minutes)).isoformat()] * len(ids),
        }
    )


def _counter_values(monitor: Monitor) -> dict[tuple[str, str, str], int]:
    with monitor.store.read() as session:
        dataset = find_dataset(session, "fraud")
        assert dataset is not None
        return counters.counters_of(session, dataset.id)


def _window_counts(monitor: Monitor, window: str) -> dict[str, dict[str, int]]:
    with monitor.store.read() as session:
        view = latest_evaluations(session, "fraud", window=window)[0]
    return {s["slice"]: {o: s[o] for o in ("tp", "fp", "tn", "fn")} for s in view.slices}


def test_labels_before_after_twice_and_corrected_match_a_brute_force_recount(
    monitor: Monitor,
) -> None:
    settings, store = monitor.settings, monitor.store
    # Label 3 arrives before its prediction; 1 and 2 after; 1 twice; 2 corrected; 4 never.
    early = push_labels(store, settings, "fraud", _labels([3], [1], 1), now=T0)
    assert early.to_dict() == {"accepted": 1, "duplicates": 0, "labels_joined": 0}
    preds = _predictions(
        [1, 2, 3, 4], [0, 1, 2, 3], predicted=[1, 0, 1, 0], region=["eu", "eu", "us", "us"]
    )
    first = push_predictions(store, settings, "fraud", preds, now=T0)
    assert first.to_dict() == {"accepted": 4, "duplicates": 0, "labels_joined": 1}
    later = push_labels(store, settings, "fraud", _labels([1, "2"], [1, 1], 30), now=T0)
    assert later.labels_joined == 2
    again = push_labels(store, settings, "fraud", _labels([1.0], [1], 31), now=T0)
    assert again.to_dict() == {"accepted": 0, "duplicates": 1, "labels_joined": 0}
    corrected = push_labels(store, settings, "fraud", _labels([2], [0], 40), now=T0)
    assert corrected.labels_joined == 1

    # Brute force: the final label of each id against its prediction.
    final = {1: (1, 1, "eu"), 2: (0, 0, "eu"), 3: (1, 1, "us")}  # id: (label, prediction, region)
    expected: dict[str, Counter[str]] = {
        "all": Counter(),
        "region=eu": Counter(),
        "region=us": Counter(),
    }
    for label, prediction, region in final.values():
        outcome = ("tp" if prediction else "fn") if label else ("fp" if prediction else "tn")
        expected["all"][outcome] += 1
        expected[f"region={region}"][outcome] += 1
    evaluate_dataset(store, settings, "fraud", now=T0 + timedelta(minutes=50))
    window = _window_counts(monitor, "24h")
    for label, tally in expected.items():
        assert window[label] == {o: tally[o] for o in ("tp", "fp", "tn", "fn")}, label

    # Counters only add: id 2 was counted fn, then corrected to tn; both stay, plus a correction.
    values = _counter_values(monitor)
    assert values[(counters.SLICE_PREDICTIONS, "all", "tp")] == 2
    assert values[(counters.SLICE_PREDICTIONS, "all", "fn")] == 1
    assert values[(counters.SLICE_PREDICTIONS, "all", "tn")] == 1
    assert values[(counters.LABEL_CORRECTIONS, "", "")] == 1
    assert values[(counters.PRODUCTION_ROWS, "", "")] == 4
    assert values[(counters.PRODUCTION_LABELED_ROWS, "", "")] == 3


def test_a_prediction_pushed_twice_is_one_prediction(monitor: Monitor) -> None:
    preds = _predictions([1, 2, 2], [0, 1, 1])
    first = push_predictions(monitor.store, monitor.settings, "fraud", preds, now=T0)
    assert first.to_dict() == {"accepted": 2, "duplicates": 1, "labels_joined": 0}
    again = push_predictions(monitor.store, monitor.settings, "fraud", preds, now=T0)
    assert again.to_dict() == {"accepted": 0, "duplicates": 3, "labels_joined": 0}
    with monitor.store.read() as session:
        assert session.scalar(select(func.count()).select_from(PendingPrediction)) == 2
        staged = session.scalars(select(StagedBatch)).all()
        assert sum(b.n_rows for b in staged) == 2


def test_a_label_later_than_the_lookback_is_not_counted(monitor: Monitor) -> None:
    push_predictions(monitor.store, monitor.settings, "fraud", _predictions([1], [0]), now=T0)
    late = push_labels(monitor.store, monitor.settings, "fraud", _labels([1], [1], 60 * 25), now=T0)
    assert late.labels_joined == 0
    assert (counters.SLICE_PREDICTIONS, "all", "tp") not in _counter_values(monitor)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (
            _predictions([1], [0]).drop(columns=["region"]),
            r"^rows\.region: got None; expected a column",
        ),
        (_predictions([1], [0], extra=[1]), r"^rows\.extra: got 'extra'; expected a known column"),
        (
            _predictions([1], [0], predicted=[7]),
            r"^rows\.0\.predicted: got 7; expected one of the classes",
        ),
        (
            _predictions([1], [0]).assign(ts=["yesterday"]),
            r"^rows\.0\.ts: got 'yesterday'; expected a timestamp",
        ),
        (
            _predictions([1], [0]).assign(amount=["lots"]),
            r"^rows\.amount: got \['lots'\]; expected numeric",
        ),
        (
            _predictions([1], [0]).assign(event_id=[None]),
            r"^rows\.0\.event_id: got None; expected a value",
        ),
    ],
)
def test_a_bad_batch_is_refused_by_field_and_nothing_is_stored(
    monitor: Monitor, frame: pd.DataFrame, match: str
) -> None:
    with pytest.raises(InvalidInputError, match=match):
        push_predictions(monitor.store, monitor.settings, "fraud", frame, now=T0)
    with monitor.store.read() as session:
        assert session.scalar(select(func.count()).select_from(PendingPrediction)) == 0
        assert session.scalar(select(func.count()).select_from(CounterRow)) == 0


def test_an_unknown_dataset_names_the_configured_ones(monitor: Monitor) -> None:
    with pytest.raises(
        InvalidInputError,
        match=r"^dataset: got 'churn'; expected a dataset of the config \(fraud\)",
    ):
        push_predictions(monitor.store, monitor.settings, "churn", _predictions([1], [0]), now=T0)


def test_windows_merge_their_buckets_and_drop_what_aged_out(monitor: Monitor) -> None:
    settings, store = monitor.settings, monitor.store
    # 30 predictions a minute apart, all labelled positive and predicted right.
    preds = _predictions(list(range(30)), list(range(30)), is_fraud=[1] * 30)
    assert push_predictions(store, settings, "fraud", preds, now=T0).labels_joined == 30
    result = evaluate_dataset(store, settings, "fraud", now=T0 + timedelta(minutes=30))
    assert result.folded_rows == 30
    assert _window_counts(monitor, "1h")["all"]["tp"] == 30
    # Two hours later the 1h window no longer covers them; the 24h window still does.
    evaluate_dataset(store, settings, "fraud", now=T0 + timedelta(hours=2))
    assert _window_counts(monitor, "1h")["all"]["tp"] == 0
    assert _window_counts(monitor, "24h")["all"]["tp"] == 30
    with store.read() as session:
        view = latest_evaluations(session, "fraud", window="24h")[0]
    assert view.n_rows == 30 and view.drift_share is not None
    # After a day and more, the buckets are dropped: the windows are empty, counters stay.
    expired = evaluate_dataset(store, settings, "fraud", now=T0 + timedelta(days=2)).expired
    assert expired["buckets"] > 0 and expired["predictions"] == 30
    assert _window_counts(monitor, "24h")["all"]["tp"] == 0
    assert _counter_values(monitor)[(counters.SLICE_PREDICTIONS, "all", "tp")] == 30


def test_ids_and_slice_values_join_in_any_type(monitor: Monitor) -> None:
    # An id pushed as 5.0 with the slice value 36.0 (an int column beside a gap) is the id "5"
    # of its label and the slice region=36, as in files.
    preds = _predictions([5], [0], region=[36.0]).assign(event_id=[5.0])
    push_predictions(monitor.store, monitor.settings, "fraud", preds, now=T0)
    joined = push_labels(monitor.store, monitor.settings, "fraud", _labels(["5"], [1], 1), now=T0)
    assert joined.labels_joined == 1
    evaluate_dataset(monitor.store, monitor.settings, "fraud", now=T0 + timedelta(minutes=5))
    assert _window_counts(monitor, "1h")["region=36"]["tp"] == 1


def test_evaluate_without_a_file_runs_one_cycle_of_the_configured_source(
    monitor: Monitor, tmp_path: Path
) -> None:
    import json

    from tests.monitor.cli_helpers import run_cli

    now = datetime.now(UTC)
    preds = _predictions([1, 2, 3], [0, 0, 0], is_fraud=[1, 1, 0]).assign(ts=[now.isoformat()] * 3)
    push_predictions(monitor.store, monitor.settings, "fraud", preds, now=now)
    config = str(tmp_path / "smote-monitor.yaml")
    done = run_cli("--config", config, "evaluate", "-d", "fraud", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["cycle"]["folded_rows"] == 3
    all_slice = next(s for s in out["status"]["windows"]["1h"]["slices"] if s["slice"] == "all")
    assert (all_slice["tp"], all_slice["fp"]) == (2, 1)
    table = run_cli("--config", config, "evaluate", "-d", "fraud", cwd=tmp_path)
    assert table.returncode == 0 and "window 1h: 3 rows, 3 labelled" in table.stdout


@pytest.mark.parametrize("as_float", [False, True])
def test_an_integer_categorical_feature_pushed_as_numbers_matches_its_reference(
    store_url: str, tmp_path: Path, as_float: bool
) -> None:
    # A low-cardinality integer column is profiled as categorical with integer categories; the
    # same distribution pushed (as ints, or as floats as JSON or Arrow may carry them) must not
    # look drifted: it used to be staged as the texts "0", "1", … that no category equals.
    path = tmp_path / "smote-monitor.yaml"
    path.write_text(
        CONFIG.format(url=store_url, spool=tmp_path / "spool").replace(
            "slices: [region]", "slices: [region]\n    categorical: [inquiries]"
        )
    )
    mon = Monitor.from_config(path)
    rng = np.random.default_rng(1)
    n = 1000
    y = (rng.random(n) < 0.1).astype(int)
    inquiries = rng.choice([0, 1, 2, 3], size=n, p=[0.6, 0.25, 0.1, 0.05])
    X = pd.DataFrame({"amount": rng.normal(size=n), "inquiries": inquiries})
    with mon.track_run(dataset="fraud", run_key="train-int") as run:
        run.resample(SMOTE(random_state=0), X, y)
    pushed = inquiries[:500].astype(float) if as_float else inquiries[:500]
    frame = _predictions(list(range(500)), [1] * 500).drop(columns=["hour"])
    push_predictions(mon.store, mon.settings, "fraud", frame.assign(inquiries=pushed))
    evaluate_dataset(mon.store, mon.settings, "fraud", now=T0 + timedelta(minutes=10))
    with mon.store.read() as session:
        (latest,) = latest_evaluations(session, "fraud", window="1h")
    drift = {f["feature"]: f for f in latest.drift}
    assert drift["inquiries"]["column_type"] == "categorical"
    assert drift["inquiries"]["drifted"] is False, drift["inquiries"]


def test_a_repeated_id_finds_the_inserted_rows_by_row_id_not_by_scanning_the_dataset(
    monitor: Monitor,
) -> None:
    """A push that repeats an id reads back what it inserted past the largest row id; by the
    (dataset_id, key) index SQLite would read every pending row of the dataset (2 s a push at
    10M pending)."""
    if monitor.store.engine.dialect.name != "sqlite":
        pytest.skip("the row-id read is SQLite's (PostgreSQL answers with RETURNING)")
    from smote_monitor.store.slice_state import INSERTED_KEYS_SQLITE

    push_predictions(monitor.store, monitor.settings, "fraud", _predictions([1, 2], [0, 1]), now=T0)
    mixed = push_predictions(
        monitor.store, monitor.settings, "fraud", _predictions([2, 3, 4], [1, 2, 3]), now=T0
    )
    assert mixed.to_dict() == {"accepted": 2, "duplicates": 1, "labels_joined": 0}
    with monitor.store.engine.connect() as connection:
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {INSERTED_KEYS_SQLITE}", (0, 1))
        details = " ".join(str(row[-1]) for row in plan)
    assert "INTEGER PRIMARY KEY (rowid>?)" in details, details
