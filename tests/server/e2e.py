"""Shared pieces of the end-to-end daemon tests (``test_e2e_*.py``): a reference run recorded
before the server starts, /metrics scraped into comparable samples, the status route's slice
counts, and bounded polling."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pandas as pd

from smote_core import SMOTE
from smote_monitor import Monitor
from smote_monitor import conventions as c

T = TypeVar("T")
Labels = tuple[tuple[str, str], ...]
SampleKey = tuple[str, Labels]
Samples = dict[SampleKey, float]
Confusion = tuple[int, int, int, int]
"""(tp, fp, tn, fn)."""

STATUS = "/api/v1/datasets/{dataset}/status"


def record_reference(config: Path, X: pd.DataFrame, y: Any, dataset: str = "fraud") -> None:
    """The reference run the evaluator compares production with (recorded before serving)."""
    monitor = Monitor.from_config(config)
    try:
        with monitor.track_run(dataset=dataset, run_key="train") as run:
            run.resample(SMOTE(random_state=0), X, y)
    finally:
        monitor.close()


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after
    ``timeout`` seconds (with the last value seen)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")


def scrape(http: httpx.Client) -> Samples:
    """Every sample of /metrics: (sample name, sorted labels) -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    answer = http.get("/metrics")
    assert answer.status_code == 200, answer.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def key(spec: c.MetricSpec, **labels: str) -> SampleKey:
    return (spec.sample_name, tuple(sorted(labels.items())))


def monotonic_samples(samples: Mapping[SampleKey, float]) -> Samples:
    """The samples that must never decrease: every counter family of the catalog (``*_total``),
    and the stored job histograms' cumulative buckets, count and sum."""
    names = {spec.sample_name for spec in c.CATALOG if spec.type is c.MetricType.COUNTER}
    for spec in c.CATALOG:
        if spec.type is c.MetricType.HISTOGRAM:
            names |= {f"{spec.name}_bucket", f"{spec.name}_count", f"{spec.name}_sum"}
    return {k: v for k, v in samples.items() if k[0] in names}


def slice_confusion(
    samples: Mapping[SampleKey, float], dataset: str = "fraud"
) -> dict[str, dict[str, int]]:
    """smote_slice_predictions_total as {slice: {outcome: value}}."""
    out: dict[str, dict[str, int]] = {}
    for (name, labels), value in samples.items():
        if name != c.SLICE_PREDICTIONS.sample_name:
            continue
        found = dict(labels)
        if found[c.LABEL_DATASET] == dataset:
            out.setdefault(found[c.LABEL_SLICE], {})[found[c.LABEL_OUTCOME]] = int(value)
    return out


def status(http: httpx.Client, dataset: str = "fraud") -> dict[str, Any]:
    answer = http.get(STATUS.format(dataset=dataset))
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def window_counts(state: Mapping[str, Any], window: str) -> dict[str, Confusion]:
    """The status route's slice counts of ``window``: {slice: (tp, fp, tn, fn)}, slices with no
    labelled row left out (the route lists every known slice, zeros included)."""
    current = state["windows"].get(window)
    assert current is not None, f"no evaluation of window {window} yet"
    counts = {s["slice"]: (s["tp"], s["fp"], s["tn"], s["fn"]) for s in current["slices"]}
    return {label: confusion for label, confusion in counts.items() if any(confusion)}


def evaluated_after(http: httpx.Client, moment: datetime, dataset: str = "fraud") -> Any:
    """Wait for an evaluation of every window stamped after ``moment``; the status then."""

    def check() -> dict[str, Any] | None:
        state = status(http, dataset)
        windows = state["windows"].values()
        if windows and all(
            w is not None and datetime.fromisoformat(w["evaluated_at"]) > moment for w in windows
        ):
            return state
        return None

    return wait_for(check, f"an evaluation after {moment.isoformat()}")
