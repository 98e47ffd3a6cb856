"""Push and status routes end to end. They need the evaluation layer (evaluation/push.py's
push_predictions/push_labels, evaluation/status.py): skipped until it is merged, then they run.
TODO(lead): after the merge, extend with the join (labels_joined), duplicates and status."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc
import pytest

from tests.server.helpers import ServerProcess, write_config

pytestmark = pytest.mark.slow

push = pytest.importorskip("smote_monitor.evaluation.push", exc_type=ImportError)
if not hasattr(push, "push_predictions"):
    pytest.skip("evaluation.push has no push_predictions yet", allow_module_level=True)
status_module = pytest.importorskip("smote_monitor.evaluation.status", exc_type=ImportError)

DATASET = {
    "target": "is_fraud",
    "prediction": "predicted_label",
    "id_column": "event_id",
    "timestamp_column": "ts",
    "slices": ["region"],
    "evaluate_every": "1h",
}


@pytest.fixture(scope="module")
def server(module_store_url: str, module_dir: Path) -> Iterator[ServerProcess]:
    config = write_config(module_dir, module_store_url, datasets={"fraud": DATASET})
    with ServerProcess(config) as process:
        process.wait_ready()
        yield process


def test_json_predictions_then_labels(server: ServerProcess) -> None:
    rows = [
        {"event_id": i, "ts": "2026-11-28T10:00:00Z", "predicted_label": i % 2, "region": "eu"}
        for i in range(4)
    ]
    with server.client() as http:
        pushed = http.post("/api/v1/datasets/fraud/predictions", json={"rows": rows})
        assert pushed.status_code == 200, pushed.text
        assert pushed.json()["accepted"] == 4
        labels = [{"event_id": i, "is_fraud": i % 2} for i in range(4)]
        joined = http.post("/api/v1/datasets/fraud/labels", json={"rows": labels})
        assert joined.status_code == 200, joined.text
        assert set(joined.json()) == {"accepted", "duplicates", "labels_joined"}
        assert http.get("/api/v1/datasets/fraud/status").status_code == 200


def test_arrow_predictions(server: ServerProcess) -> None:
    table = pa.table(
        {
            "event_id": [100, 101],
            "ts": ["2026-11-28T11:00:00Z"] * 2,
            "predicted_label": [0, 1],
            "region": ["us", "eu"],
        }
    )
    sink = io.BytesIO()
    with pyarrow.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    with server.client() as http:
        pushed = http.post(
            "/api/v1/datasets/fraud/predictions",
            content=sink.getvalue(),
            headers={"Content-Type": "application/vnd.apache.arrow.stream"},
        )
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["accepted"] == 2
