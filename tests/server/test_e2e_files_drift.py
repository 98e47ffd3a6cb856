"""A files source with drift and a degraded slice: /metrics and the status route, per window.

The reference run has the features ``amount`` and ``hour``; ``region`` is a categorical slice.
Into the drop folder go one Parquet file as served (the reference's distribution, every
prediction right), a corrupt file, and one with ``amount`` shifted by 5 standard deviations in
which every ``region=us`` prediction misses its positive label. After an evaluation: ``amount``
has drifted and ``hour`` has not; ``region=us`` recall is low with its Wilson upper bound under
0.8 (below the SLO) in every window, the other regions meet it; the status route says the same
as /metrics; the corrupt file is quarantined and the others are read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from smote_monitor import conventions as c
from smote_monitor.server.service import EXIT_OK
from tests.server.e2e import evaluated_after, key, record_reference, scrape, wait_for
from tests.server.helpers import ServerProcess, write_config

pytestmark = pytest.mark.slow

WINDOWS = ["1h", "24h"]
REGIONS = ["eu", "us", "asia"]
ROWS = 3000
MEAN, STD = 100.0, 20.0
RECALL_SLO = 0.8


def _dataset(drop: Path) -> dict[str, Any]:
    return {
        "target": "is_fraud",
        "prediction": "predicted_label",
        "id_column": "event_id",
        "timestamp_column": "ts",
        "slices": ["region"],
        "categorical": ["region"],
        "features": ["amount", "hour"],
        "evaluate_every": "1s",
        "windows": WINDOWS,
        "slo": {"minority_recall": RECALL_SLO, "min_slice_support": 30},
        "production": {"kind": "files", "path": str(drop / "*.parquet")},
    }


def _production(
    rng: np.random.Generator, first_id: int, *, shift: float, us_all_wrong: bool
) -> pd.DataFrame:
    region = np.array(REGIONS)[np.arange(ROWS) % len(REGIONS)]
    label = (rng.random(ROWS) < 0.25).astype(int)
    prediction = label.copy()
    if us_all_wrong:
        us = region == "us"
        label[us], prediction[us] = 1, 0  # every us positive missed
    now = datetime.now(UTC)
    return pd.DataFrame(
        {
            "event_id": np.arange(first_id, first_id + ROWS),
            "ts": pd.Timestamp(now) - pd.to_timedelta(rng.uniform(1, 20, ROWS), unit="min"),
            "amount": rng.normal(MEAN + shift * STD, STD, ROWS),
            "hour": rng.integers(0, 24, ROWS),
            "region": region,
            "is_fraud": label,
            "predicted_label": prediction,
        }
    )


def test_drift_and_a_degraded_slice_show_per_window_and_a_corrupt_file_is_quarantined(
    tmp_path: Path,
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    config = write_config(
        tmp_path, f"sqlite:///{tmp_path}/store.db", datasets={"fraud": _dataset(drop)}
    )
    rng = np.random.default_rng(3)
    y = (rng.random(ROWS) < 0.1).astype(int)
    reference = pd.DataFrame(
        {"amount": rng.normal(MEAN, STD, ROWS), "hour": rng.integers(0, 24, ROWS)}
    )
    record_reference(config, reference, y)

    _production(rng, 0, shift=0, us_all_wrong=False).to_parquet(drop / "a-served.parquet")
    corrupt = drop / "b-corrupt.parquet"
    corrupt.write_bytes(b"PAR1 this is not a parquet file" + bytes(range(256)))
    shifted = _production(rng, ROWS, shift=5, us_all_wrong=True)
    shifted.to_parquet(drop / "c-shifted.parquet")
    us_missed = int((shifted["region"] == "us").sum())
    assert us_missed >= 900  # support enough for a tight Wilson interval

    with ServerProcess(config) as server, server.client() as http:
        server.wait_ready()
        wait_for(
            lambda: scrape(http).get(key(c.PRODUCTION_ROWS, dataset="fraud")) == 2 * ROWS,
            "both good files read",
        )
        state = evaluated_after(http, datetime.now(UTC))
        samples = scrape(http)
        assert server.terminate() == EXIT_OK, server.log
        log = server.log

    # The corrupt file is quarantined, named in the status route and the log; the others read.
    quarantined = state["quarantined_files"]
    assert [q["path"] for q in quarantined] == [str(corrupt)], quarantined
    assert quarantined[0]["size"] == corrupt.stat().st_size and quarantined[0]["reason"]
    assert log.count(f"quarantined {corrupt}") == 1, log  # not tried again every cycle

    def gauge(spec: c.MetricSpec, **labels: str) -> float:
        return samples[key(spec, dataset="fraud", **labels)]

    # Drift: /metrics reports the first configured window; the status route every window.
    assert gauge(c.FEATURE_DRIFT_DETECTED, feature="amount") == 1
    assert gauge(c.FEATURE_DRIFT_DETECTED, feature="hour") == 0
    assert gauge(c.DATASET_DRIFT_SHARE) == 0.5
    for window in WINDOWS:
        current = state["windows"][window]
        assert current["rows"] == 2 * ROWS, window
        drifted = {f["feature"]: f["drifted"] for f in current["drift"]["features"]}
        assert drifted == {"amount": True, "hour": False}, (window, current["drift"])
        if window == WINDOWS[0]:
            scores = {
                f["feature"]: gauge(c.FEATURE_DRIFT_SCORE, feature=f["feature"], method=f["method"])
                for f in current["drift"]["features"]
            }
            assert scores == {f["feature"]: f["value"] for f in current["drift"]["features"]}

        slices = {s["slice"]: s for s in current["slices"]}
        us = slices["region=us"]
        assert us["recall"] < 0.3 and us["recall_upper"] < RECALL_SLO, (window, us)
        assert us["support"] >= us_missed and us["recall_slo"] == "below_slo", (window, us)
        for region in ("eu", "asia"):
            fine = slices[f"region={region}"]
            assert fine["recall"] == 1.0 and fine["recall_lower"] >= RECALL_SLO, (window, fine)
            assert fine["recall_slo"] == "meets_slo", (window, fine)
        # /metrics shows the same SLIs per slice and window as the status route.
        for label, row in slices.items():
            for spec, field in (
                (c.SLICE_RECALL, "recall"),
                (c.SLICE_RECALL_UPPER, "recall_upper"),
                (c.SLICE_RECALL_LOWER, "recall_lower"),
                (c.SLICE_SUPPORT, "support"),
            ):
                assert gauge(spec, slice=label, window=window) == pytest.approx(row[field]), (
                    spec.name,
                    label,
                    window,
                )
