"""Production sources read only what is new since their watermark: files and SQL tables."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, func, select

from smote_core import SMOTE
from smote_monitor import Monitor
from smote_monitor.evaluation.job import evaluate_dataset
from smote_monitor.store import counters
from smote_monitor.store.datasets import find_dataset
from smote_monitor.store.models import PendingPrediction, QuarantinedFile

T0 = datetime(2026, 11, 28, 12, tzinfo=UTC)

CONFIG = """
database_url: {url}
spool_dir: {spool}
datasets:
  fraud:
    target: is_fraud
    prediction: predicted
    id_column: event_id
    timestamp_column: ts
    slices: [region]
    windows: [1h]
    production: {production}
"""


def _monitor(store_url: str, tmp_path: Path, production: str) -> Monitor:
    path = tmp_path / "smote-monitor.yaml"
    path.write_text(CONFIG.format(url=store_url, spool=tmp_path / "spool", production=production))
    mon = Monitor.from_config(path)
    rng = np.random.default_rng(0)
    y = (rng.random(800) < 0.1).astype(int)
    X = pd.DataFrame({"amount": rng.normal(size=800) + y})
    with mon.track_run(dataset="fraud", run_key="train") as run:
        run.resample(SMOTE(random_state=0), X, y)
    return mon


def _rows(ids: range, minute: int = 0) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {
            "event_id": list(ids),
            "ts": [T0 + timedelta(minutes=minute)] * n,
            "predicted": [1] * n,
            "is_fraud": [1] * n,
            "region": ["eu"] * n,
            "amount": np.linspace(0, 1, n),
        }
    )


def _tp(mon: Monitor) -> int:
    with mon.store.read() as session:
        dataset = find_dataset(session, "fraud")
        assert dataset is not None
        values = counters.counters_of(session, dataset.id)
    return values.get((counters.SLICE_PREDICTIONS, "all", "tp"), 0)


def test_each_file_is_read_once_a_changed_file_is_noticed_and_a_corrupt_one_quarantined(
    store_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    mon = _monitor(store_url, tmp_path, f'{{kind: files, path: "{drop}/*.parquet"}}')
    _rows(range(0, 10)).to_parquet(drop / "a.parquet")
    (drop / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    now = T0 + timedelta(minutes=5)
    first = evaluate_dataset(mon.store, mon.settings, "fraud", now=now)
    assert first.source_rows == 10 and _tp(mon) == 10
    again = evaluate_dataset(mon.store, mon.settings, "fraud", now=now)
    assert again.source_rows == 0  # nothing new: a.parquet is not read again
    with mon.store.read() as session:
        held = session.scalars(select(QuarantinedFile)).one()
    assert held.path.endswith("broken.parquet") and "readable" in held.reason

    # a.parquet grows after it was read: noticed, read again, old ids not counted twice.
    pd.concat([_rows(range(0, 10)), _rows(range(10, 15))]).to_parquet(drop / "a.parquet")
    _rows(range(15, 20)).to_parquet(drop / "b.parquet")
    with caplog.at_level(logging.WARNING):
        third = evaluate_dataset(mon.store, mon.settings, "fraud", now=now)
    assert "changed after it was read" in caplog.text
    assert third.source_rows == 20 and _tp(mon) == 20


def test_a_file_missing_a_required_column_is_quarantined_and_the_rest_goes_on(
    store_url: str, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    mon = _monitor(store_url, tmp_path, f'{{kind: files, path: "{drop}"}}')
    _rows(range(5)).drop(columns=["region"]).to_csv(drop / "no-slice.csv", index=False)
    _rows(range(5, 9)).to_csv(drop / "ok.csv", index=False)
    result = evaluate_dataset(mon.store, mon.settings, "fraud", now=T0 + timedelta(minutes=5))
    assert result.source_rows == 4 and _tp(mon) == 4
    with mon.store.read() as session:
        held = session.scalars(select(QuarantinedFile)).one()
    assert held.path.endswith("no-slice.csv") and "production.region" in held.reason


def test_an_sql_table_is_read_by_timestamp_with_ties_and_late_commits(
    store_url: str, tmp_path: Path
) -> None:
    source_url = f"sqlite:///{tmp_path}/serving.db"
    mon = _monitor(store_url, tmp_path, f'{{kind: sql, url: "{source_url}", table: inference_log}}')
    engine = create_engine(source_url)
    _rows(range(0, 10), minute=1).to_sql("inference_log", engine, index=False)
    now = T0 + timedelta(minutes=10)
    assert evaluate_dataset(mon.store, mon.settings, "fraud", now=now).source_rows == 10
    # Rows tying with the watermark and a row committed late with an older timestamp.
    pd.concat([_rows(range(10, 13), minute=1), _rows(range(13, 14), minute=0)]).to_sql(
        "inference_log", engine, index=False, if_exists="append"
    )
    evaluate_dataset(mon.store, mon.settings, "fraud", now=now)
    assert _tp(mon) == 14
    with mon.store.read() as session:
        assert session.scalar(select(func.count()).select_from(PendingPrediction)) == 14
    engine.dispose()
