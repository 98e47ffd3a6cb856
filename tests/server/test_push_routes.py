"""Push and status routes of a real ``serve`` process: JSON rows and Arrow streams in, the join
and the rolling windows out, bad requests refused with nothing stored."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc
import pytest

from smote_core import SMOTE
from smote_monitor import Monitor
from tests.server.helpers import ServerProcess, write_config

pytestmark = pytest.mark.slow

ARROW = "application/vnd.apache.arrow.stream"
DATASET = {
    "target": "is_fraud",
    "prediction": "predicted_label",
    "id_column": "event_id",
    "timestamp_column": "ts",
    "slices": ["region"],
    "evaluate_every": "1s",
    "windows": ["1h", "24h"],
    "slo": {"min_slice_support": 5},
}
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def server(module_store_url: str, module_dir: Path) -> Iterator[ServerProcess]:
    config = write_config(module_dir, module_store_url, datasets={"fraud": DATASET})
    monitor = Monitor.from_config(config)
    rng = np.random.default_rng(0)
    y = (rng.random(1000) < 0.1).astype(int)
    X = pd.DataFrame({"amount": rng.normal(size=1000) + y})
    with monitor.track_run(dataset="fraud", run_key="train") as run:
        run.resample(SMOTE(random_state=0), X, y)
    monitor.close()
    with ServerProcess(config) as process:
        process.wait_ready()
        yield process


def _rows(
    ids: range, *, region: str = "eu", predicted: int = 1, amount: float = 0.0
) -> list[dict[str, Any]]:
    return [
        {
            "event_id": i,
            "ts": (NOW - timedelta(minutes=5)).isoformat(),
            "predicted_label": predicted,
            "region": region,
            "amount": amount + i / 1000,
        }
        for i in ids
    ]


def _arrow(frame: pd.DataFrame) -> bytes:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = io.BytesIO()
    with pyarrow.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _window(
    http: Any, window: str, slice_: str, predicate: Any, timeout: float = 30
) -> dict[str, Any]:
    """Poll the status route until ``predicate(window, slice)`` holds (the scheduled evaluation
    runs every second)."""
    deadline = time.monotonic() + timeout
    row: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        status = http.get("/api/v1/datasets/fraud/status").json()
        current = status["windows"].get(window)
        if current:
            row = next((s for s in current["slices"] if s["slice"] == slice_), None)
            if row is not None and predicate(current, row):
                return status
        time.sleep(0.5)
    raise AssertionError(f"window {window} slice {slice_} never matched; last {row}")


def test_json_predictions_then_labels_join_and_show_in_the_status(server: ServerProcess) -> None:
    with server.client() as http:
        pushed = http.post("/api/v1/datasets/fraud/predictions", json={"rows": _rows(range(20))})
        assert pushed.status_code == 200, pushed.text
        assert pushed.json() == {"accepted": 20, "duplicates": 0, "labels_joined": 0}
        again = http.post("/api/v1/datasets/fraud/predictions", json={"rows": _rows(range(15, 25))})
        assert again.json() == {"accepted": 5, "duplicates": 5, "labels_joined": 0}
        labels = [{"event_id": i, "is_fraud": 1 if i < 10 else 0} for i in range(25)]
        joined = http.post("/api/v1/datasets/fraud/labels", json={"rows": labels})
        assert joined.json() == {"accepted": 25, "duplicates": 0, "labels_joined": 25}
        status = _window(
            http, "1h", "region=eu", lambda w, s: w["rows"] >= 25 and (s["tp"], s["fp"]) == (10, 15)
        )
    window = status["windows"]["1h"]
    assert window["rows"] >= 25
    assert {f["feature"] for f in window["drift"]["features"]} == {"amount"}
    assert status["pending_labels"]["predictions_waiting_for_label"] == 0


def test_an_arrow_stream_is_taken_like_json(server: ServerProcess) -> None:
    frame = pd.DataFrame(_rows(range(1000, 1100), region="us", predicted=0))
    frame["is_fraud"] = 1  # labels known at prediction time: joined at once, all missed
    with server.client() as http:
        pushed = http.post(
            "/api/v1/datasets/fraud/predictions",
            content=_arrow(frame),
            headers={"Content-Type": ARROW},
        )
        assert pushed.status_code == 200, pushed.text
        assert pushed.json() == {"accepted": 100, "duplicates": 0, "labels_joined": 100}
        status = _window(http, "24h", "region=us", lambda w, s: s["fn"] == 100)
    us = next(s for s in status["windows"]["24h"]["slices"] if s["slice"] == "region=us")
    assert us["recall_slo"] == "below_slo" and us["recall"] == 0


@pytest.mark.parametrize(
    ("body", "headers", "status", "field"),
    [
        (
            {"rows": [{"event_id": 1, "ts": "2026-11-28T00:00:00Z", "predicted_label": 1}]},
            {},
            422,
            "rows.region",
        ),
        ({"rows": [{**_rows(range(1))[0], "color": "red"}]}, {}, 422, "rows.color"),
        (
            {"rows": [{**_rows(range(1))[0], "predicted_label": 3}]},
            {},
            422,
            "rows.0.predicted_label",
        ),
        ({"rows": [{**_rows(range(1))[0], "amount": "lots"}]}, {}, 422, "rows.amount"),
        ({"rows": "no"}, {}, 422, "rows"),
        (b"\xff\xfe not arrow", {"Content-Type": ARROW}, 400, None),
    ],
)
def test_bad_pushes_are_refused_naming_the_field_and_store_nothing(
    server: ServerProcess, body: Any, headers: dict[str, str], status: int, field: str | None
) -> None:
    with server.client() as http:
        before = http.get("/api/v1/datasets/fraud/status").json()["pending_labels"]
        if isinstance(body, bytes):
            answer = http.post("/api/v1/datasets/fraud/predictions", content=body, headers=headers)
        else:
            answer = http.post("/api/v1/datasets/fraud/predictions", json=body, headers=headers)
        assert answer.status_code == status, answer.text
        error = answer.json()["error"]
        if field is not None:
            assert error["field"] == field, error
        after = http.get("/api/v1/datasets/fraud/status").json()["pending_labels"]
    assert after == before


def test_an_unknown_dataset_is_404(server: ServerProcess) -> None:
    with server.client() as http:
        answer = http.post("/api/v1/datasets/churn/predictions", json={"rows": _rows(range(1))})
    assert answer.status_code == 404 and answer.json()["error"]["field"] == "dataset"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_show_the_run_the_counters_and_the_windows(server: ServerProcess) -> None:
    from smote_monitor import conventions as c

    with server.client() as http:
        http.post("/api/v1/datasets/fraud/predictions", json={"rows": _rows(range(5000, 5010))})
        http.post(
            "/api/v1/datasets/fraud/labels",
            json={"rows": [{"event_id": i, "is_fraud": 1} for i in range(5000, 5010)]},
        )
        _window(http, "1h", "region=eu", lambda w, s: s["tp"] >= 20)
        samples = _samples(http.get("/metrics").text)
    tp = samples[
        (
            c.SLICE_PREDICTIONS.sample_name,
            (("dataset", "fraud"), ("outcome", "tp"), ("slice", "region=eu")),
        )
    ]
    assert tp >= 20
    assert samples[(c.RUN_SYNTHETIC_RATIO.name, (("dataset", "fraud"),))] > 0
    assert samples[(c.MONITOR_STORE_UP.name, ())] == 1
    recall = samples[
        (c.SLICE_RECALL.name, (("dataset", "fraud"), ("slice", "region=eu"), ("window", "1h")))
    ]
    assert recall == 1.0
    assert samples[(c.PRODUCTION_ROWS.sample_name, (("dataset", "fraud"),))] >= 35
