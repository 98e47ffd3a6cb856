"""No counter ever decreases across a restart, and the counts are exactly what was pushed.

A real ``serve`` process takes predictions and labels (a label pushed twice, corrected labels,
a label that arrives before its prediction), is stopped with SIGTERM and replaced by a new
process on the same store, which takes more. Every counter sample of /metrics after the restart
is at least what it was before; the slice counters equal a brute-force recount of the pushes (a
corrected label counted under both outcomes), and the windows' slice counts of the status route
equal the recount of the final label of each id (a corrected label once, under its new outcome).
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from smote_monitor import conventions as c
from smote_monitor.server.service import EXIT_OK
from tests.server.e2e import (
    Confusion,
    evaluated_after,
    key,
    monotonic_samples,
    record_reference,
    scrape,
    slice_confusion,
    window_counts,
)
from tests.server.helpers import ServerProcess, write_config

pytestmark = pytest.mark.slow

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
WINDOWS = DATASET["windows"]
PREDICTIONS = "/api/v1/datasets/fraud/predictions"
LABELS = "/api/v1/datasets/fraud/labels"


def _outcome(label: int, prediction: int) -> str:
    if label == 1:
        return "tp" if prediction == 1 else "fn"
    return "fp" if prediction == 1 else "tn"


class Pushed:
    """Brute-force model of what the server was told: predictions, the final label of each id,
    every outcome ever counted, and what each push should answer."""

    def __init__(self) -> None:
        self.predictions: dict[int, tuple[str, int]] = {}  # id -> (region, prediction)
        self.labels: dict[int, int] = {}  # id -> current label (joined)
        self.early: dict[int, int] = {}  # labels waiting for their prediction
        self.counted: Tally[tuple[str, str]] = Tally()  # (slice, outcome) -> times counted

    def _count(self, event_id: int, label: int) -> None:
        region, prediction = self.predictions[event_id]
        outcome = _outcome(label, prediction)
        for label_ in (c.SLICE_ALL, f"region={region}"):
            self.counted[(label_, outcome)] += 1
        self.labels[event_id] = label

    def predict(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        accepted = duplicates = joined = 0
        for row in rows:
            event_id = row["event_id"]
            if event_id in self.predictions:
                duplicates += 1
                continue
            accepted += 1
            self.predictions[event_id] = (row["region"], row["predicted_label"])
            if event_id in self.early:
                self._count(event_id, self.early.pop(event_id))
                joined += 1
        return {"accepted": accepted, "duplicates": duplicates, "labels_joined": joined}

    def label(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        accepted = duplicates = joined = 0
        for row in rows:
            event_id, label = row["event_id"], row["is_fraud"]
            if event_id not in self.predictions:
                self.early[event_id] = label
                accepted += 1
            elif self.labels.get(event_id) == label:
                duplicates += 1
            else:
                self._count(event_id, label)
                accepted += 1
                joined += 1
        return {"accepted": accepted, "duplicates": duplicates, "labels_joined": joined}

    def window_counts(self) -> dict[str, Confusion]:
        """Slice counts of the final label of each id (every prediction is in both windows)."""
        per: dict[str, Tally[str]] = {}
        for event_id, label in self.labels.items():
            region, prediction = self.predictions[event_id]
            for label_ in (c.SLICE_ALL, f"region={region}"):
                per.setdefault(label_, Tally())[_outcome(label, prediction)] += 1
        return {s: (t["tp"], t["fp"], t["tn"], t["fn"]) for s, t in per.items()}

    def slice_counters(self) -> dict[str, dict[str, int]]:
        slices = {label_ for label_, _ in self.counted}
        return {s: {o: self.counted[(s, o)] for o in c.CONFUSION_OUTCOMES} for s in sorted(slices)}


NOW = datetime.now(UTC).replace(microsecond=0)
RNG = np.random.default_rng(7)


def _predictions(ids: range | list[int]) -> list[dict[str, Any]]:
    return [
        {
            "event_id": i,
            "ts": (NOW - timedelta(minutes=5)).isoformat(),
            "predicted_label": int(RNG.random() < 0.4),
            "region": "eu" if i % 2 else "us",
            "amount": float(RNG.normal()),
        }
        for i in ids
    ]


def _labels(ids: range | list[int], pushed: Pushed, *, flip: bool = False) -> list[dict[str, Any]]:
    """Labels of ``ids``: new ones at random; with ``flip``, the opposite of the current one."""
    rows = []
    for i in ids:
        if flip:
            label = 1 - pushed.labels[i]
        elif i in pushed.labels:
            label = pushed.labels[i]  # the same label again: a duplicate
        else:
            label = int(RNG.random() < 0.3)
        rows.append({"event_id": i, "is_fraud": label})
    return rows


def _push(http: httpx.Client, path: str, rows: list[dict[str, Any]], expected: Any) -> None:
    answer = http.post(path, json={"rows": rows})
    assert answer.status_code == 200, answer.text
    assert answer.json() == expected, (path, rows)


def _check(http: httpx.Client, pushed: Pushed, since: datetime) -> dict[Any, float]:
    """Wait for an evaluation of every push so far; the counters and windows equal the
    brute-force recount. The monotonic samples of the scrape."""
    state = evaluated_after(http, since)
    for window in WINDOWS:
        assert window_counts(state, window) == pushed.window_counts(), window
    samples = scrape(http)
    assert slice_confusion(samples) == pushed.slice_counters()
    assert samples[key(c.PRODUCTION_ROWS, dataset="fraud")] == len(pushed.predictions)
    assert samples[key(c.PRODUCTION_LABELED_ROWS, dataset="fraud")] == len(pushed.labels)
    assert samples[key(c.MONITOR_STORE_UP)] == 1
    return monotonic_samples(samples)


@pytest.fixture
def config(store_url: str, tmp_path: Path) -> Iterator[Path]:
    path = write_config(tmp_path, store_url, datasets={"fraud": DATASET})
    rng = np.random.default_rng(0)
    y = (rng.random(600) < 0.15).astype(int)
    record_reference(path, pd.DataFrame({"amount": rng.normal(size=600) + y}), y)
    yield path


def test_no_counter_decreases_across_a_restart(config: Path) -> None:
    pushed = Pushed()
    with ServerProcess(config) as first, first.client() as http:
        first.wait_ready()
        _push(http, PREDICTIONS, rows := _predictions(range(60)), pushed.predict(rows))
        _push(http, PREDICTIONS, rows := _predictions(range(50, 65)), pushed.predict(rows))
        _push(http, LABELS, rows := _labels(range(40), pushed), pushed.label(rows))
        _push(http, LABELS, rows := _labels(range(10), pushed), pushed.label(rows))  # again
        _push(http, LABELS, rows := _labels(range(10, 15), pushed, flip=True), pushed.label(rows))
        _push(http, LABELS, rows := _labels(range(200, 205), pushed), pushed.label(rows))  # early
        assert pushed.early and any(pushed.counted[(s, o)] for s, o in pushed.counted)
        before = _check(http, pushed, datetime.now(UTC))
        assert first.terminate() == EXIT_OK, first.log

    with ServerProcess(config) as second, second.client() as http:
        second.wait_ready()
        restarted = scrape(http)
        _assert_not_decreased(before, monotonic_samples(restarted), "right after the restart")
        _push(http, PREDICTIONS, rows := _predictions([*range(60, 100), *range(200, 205)]),
              pushed.predict(rows))  # fmt: skip
        _push(http, LABELS, rows := _labels(range(60, 90), pushed), pushed.label(rows))
        _push(http, LABELS, rows := _labels(range(15, 18), pushed, flip=True), pushed.label(rows))
        _push(http, LABELS, rows := _labels([10], pushed, flip=True), pushed.label(rows))  # back
        _push(http, LABELS, rows := _labels([20, 61], pushed), pushed.label(rows))  # again
        assert not pushed.early
        after = _check(http, pushed, datetime.now(UTC))
        assert second.terminate() == EXIT_OK, second.log
    _assert_not_decreased(before, after, "after more pushes")
    # A corrected label is counted under both outcomes: the counters exceed the labelled rows.
    total = sum(pushed.slice_counters()[c.SLICE_ALL].values())
    assert total == len(pushed.labels) + 9  # 5 + 3 + 1 corrections


def _assert_not_decreased(before: dict[Any, float], after: dict[Any, float], when: str) -> None:
    assert before, "no counter sample scraped"
    gone = sorted(set(before) - set(after))
    assert not gone, f"{when}: counter samples gone: {gone}"
    lower = {k: (v, after[k]) for k, v in before.items() if after[k] < v}
    assert not lower, f"{when}: counters decreased (before, after): {lower}"
