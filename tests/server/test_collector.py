"""The /metrics collector against real stores: every family, its labels and values."""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric

from smote_monitor import Monitor, conventions
from smote_monitor.config import Settings
from smote_monitor.conventions import (
    CATALOG,
    CONFUSION_OUTCOMES,
    DEFAULT_MAX_SERIES,
    JOB_DURATION_BUCKETS,
    REASON_SERIES_CAP,
    RUN_OUTCOMES,
    SLICE_ALL,
    MetricSpec,
)
from smote_monitor.drift.engine import DatasetDrift, DriftResult
from smote_monitor.records import parse_run_record
from smote_monitor.server import collector as collector_module
from smote_monitor.server.collector import StoreCollector
from smote_monitor.slices.counts import Confusion
from smote_monitor.slices.metrics import metrics_of
from smote_monitor.store import Store
from smote_monitor.store.datasets import dataset_row
from smote_monitor.store.evaluations import PRODUCTION, add_evaluation, shift_of_run
from smote_monitor.store.models import Counter, JobStat
from smote_monitor.store.runs import find_run
from smote_monitor.tracking.persist import open_run, persist_run
from tests.conftest import UNREACHABLE_URL
from tests.store_access import read

T0 = datetime(2020, 3, 1, tzinfo=UTC)
RECORD = {
    "dataset": "fraud",
    "variant": "SMOTE",
    "params": {"k_neighbors": 5, "random_state": 0},
    "seed": 0,
    "class_counts_before": {"0": 900, "1": 100},
    "class_counts_after": {"0": 900, "1": 900},
    "n_synthetic": 800,
    "metrics": {
        "train": {"f1": 0.95},
        "validation": {"f1": 0.92, "recall": 0.85, "precision": 0.75},
    },
}
GATE_FAILING = {
    "train": {"f1": 0.99},
    "validation": {"f1": 0.92, "recall": 0.85, "precision": 0.75},
}
SETTINGS = Settings(datasets={"fraud": {"windows": ["1h", "24h"]}, "churn": {"windows": ["6h"]}})


def _at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


def _record(monitor: Monitor, run_key: str, hour: float, **fields: Any) -> None:
    data = {**RECORD, "run_key": run_key, "started_at": _at(hour), "finished_at": _at(hour + 0.5)}
    monitor.record({**data, **fields})


def _failure(store: Store, run_key: str, hour: float) -> None:
    record = {"dataset": "fraud", "run_key": run_key, "status": "failed", "error": "OSError: disk"}
    persist_run(store, parse_run_record({**record, "started_at": _at(hour)}))


def _data(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(int)
    return rng.normal(size=(n, 4)) + y[:, None], y


def _scrape(store: Store, settings: Settings = SETTINGS, **kwargs: Any) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(StoreCollector(store, settings, **kwargs))
    return registry


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect()
        for s in family.samples
    }


def _value(registry: CollectorRegistry, spec: MetricSpec, **labels: str) -> float | None:
    assert set(labels) == set(spec.labels), f"{spec.name} takes {spec.labels}"
    return registry.get_sample_value(spec.sample_name, labels)


def _series_of(registry: CollectorRegistry, spec: MetricSpec) -> list[dict[str, str]]:
    return [
        s.labels
        for family in registry.collect()
        if family.name == spec.name
        for s in family.samples
    ]


def _drift(values: dict[str, tuple[float, bool]], method: str = "ks") -> DatasetDrift:
    features = [
        DriftResult(f, method, value, 0.05, drifted, "exact", 100, 50)
        for f, (value, drifted) in values.items()
    ]
    share = sum(d for _, d in values.values()) / len(values)
    return DatasetDrift(features, share, 0.5, share >= 0.5)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = Store(store_url)
    yield store
    store.dispose()


@pytest.fixture
def monitor(store: Store, tmp_path: Path) -> Monitor:
    settings = SETTINGS.model_copy(update={"spool_dir": tmp_path / "spool", "strict": True})
    return Monitor(settings, store=store)


@pytest.fixture
def populated(store: Store, monitor: Monitor) -> dict[str, Any]:
    """Runs of every outcome, evaluations of two windows, counters and a job."""
    from smote_core import SMOTE

    _record(monitor, "a", 1)  # passed
    _record(monitor, "b", 2, metrics=GATE_FAILING)  # gate_failed: gap 0.07
    _failure(store, "c", 3)
    _record(monitor, "c", 4)  # the failed run retried to success: attempts 2
    _failure(store, "d", 5)  # never retried
    # The latest succeeded run, tracked for real: smote_core's report, profiles, leakage check.
    X, y = _data()
    with monitor.track_run(dataset="fraud", run_key="e") as run:
        X_res, y_res = run.resample(SMOTE(random_state=0), X, y)
        rows = np.random.default_rng(1).choice(len(y_res), size=200, replace=False)
        run.log_validation(
            **GATE_FAILING,  # gap 0.07
            X_val=X_res[rows],  # "SMOTE before the split": leakage suspected
            y_val=y_res[rows],
        )
    with pytest.raises(RuntimeError), monitor.track_run(dataset="fraud", run_key="f"):
        raise RuntimeError("CUDA OOM")  # an error after it leaves the run gauges alone
    open_run(store, "churn", "open", T0)  # churn: only a run in progress

    now = datetime.now(UTC)
    with store.write() as session:
        fraud = dataset_row(session, "fraud")

        def evaluation(window: str, at: datetime, drift: DatasetDrift, slices: list[Any]) -> None:
            add_evaluation(
                session,
                dataset="fraud",
                kind=PRODUCTION,
                window=window,
                evaluated_at=at,
                reference_run_id=None,
                drift=drift,
                kinds={},
                slices=slices,
            )

        old = [metrics_of(SLICE_ALL, Confusion(tp=1, fp=1, tn=1, fn=1), 1)]
        evaluation("1h", now - timedelta(hours=2), _drift({"amount": (0.9, False)}), old)
        evaluation(
            "1h",
            now - timedelta(minutes=5),
            _drift({"amount": (0.001, True), "hour": (0.5, False), "empty": (math.nan, True)}),
            [
                metrics_of(SLICE_ALL, Confusion(tp=8, fp=2, tn=80, fn=2), 5),
                metrics_of("region=eu", Confusion(tp=0, fp=3, tn=10, fn=0), 5),  # no minority
            ],
        )
        evaluation(
            "24h",
            now - timedelta(minutes=1),
            _drift({"amount": (0.2, False)}, method="psi"),
            [metrics_of(SLICE_ALL, Confusion(tp=30, fp=10, tn=900, fn=10), 5)],
        )
        evaluation("7d", now, _drift({"amount": (0.3, False)}), old)  # not configured
        counters = {
            ("slice_predictions", SLICE_ALL, "tp"): 40,
            ("slice_predictions", SLICE_ALL, "fn"): 12,
            ("slice_predictions", SLICE_ALL, "fp"): 13,
            ("slice_predictions", SLICE_ALL, "tn"): 990,
            ("slice_predictions", "region=eu", "fp"): 3,
            ("production_rows", "", ""): 1500,
            ("production_labeled_rows", "", ""): 1055,
            ("label_corrections", "", ""): 4,
        }
        for (name, label, outcome), value in counters.items():
            session.add(
                Counter(dataset_id=fraud.id, name=name, slice=label, outcome=outcome, value=value)
            )
        session.add(
            JobStat(
                job="evaluate",
                runs=3,
                failures=1,
                last_success_at=T0,
                last_failure_at=T0 + timedelta(hours=1),
                last_error="boom",
                duration_sum=4.5,
                duration_buckets=[0, 1, 2, 2, 3, 3, 3, 3, 3, 3],
            )
        )
    latest = read(store, find_run, "fraud", "e")
    assert latest is not None
    return {"latest": latest, "now": now}


def test_run_gauges_describe_the_latest_succeeded_run(
    store: Store, populated: dict[str, Any]
) -> None:
    registry = _scrape(store)
    run = populated["latest"]
    assert run.leakage_suspected and run.gate_passed is False  # what the scenario set up
    expected = {
        conventions.RUN_SYNTHETIC_RATIO: run.synthetic_ratio,
        conventions.RUN_SAMPLES_GENERATED: run.n_synthetic,
        conventions.RUN_VALIDATION_GAP: pytest.approx(0.07),
        conventions.RUN_GATE_PASSED: 0,
        conventions.RUN_DURATION_SECONDS: run.duration_seconds,
        conventions.RUN_PEAK_MEMORY_BYTES: run.peak_memory_bytes,
        conventions.RUN_LAST_TIMESTAMP_SECONDS: run.finished_at.timestamp(),
        conventions.RUN_SYNTHETIC_NEAR_DUPLICATE_RATIO: run.near_duplicate_ratio,
        conventions.RUN_LEAKAGE_SUSPECTED: 1,
    }
    for spec, value in expected.items():
        assert value is not None
        assert _value(registry, spec, dataset="fraud") == value, spec.name
    assert run.n_synthetic > 0 and run.duration_seconds > 0 and run.peak_memory_bytes > 0
    assert _series_of(registry, conventions.RUN_INFO) == [
        {"dataset": "fraud", "run_id": str(run.id), "variant": "SMOTE"}
    ]
    assert (
        _value(registry, conventions.RUN_INFO, dataset="fraud", run_id=str(run.id), variant="SMOTE")
        == 1
    )
    quantiles = run.neighbor_distance_quantiles
    assert len(quantiles) == 6
    for quantile, value in quantiles.items():
        assert (
            _value(registry, conventions.RUN_NEIGHBOR_DISTANCE, dataset="fraud", quantile=quantile)
            == value
        )
    assert len(_series_of(registry, conventions.RUN_NEIGHBOR_DISTANCE)) == len(quantiles)
    metrics = {
        (s["split"], s["metric"]) for s in _series_of(registry, conventions.RUN_VALIDATION_METRIC)
    }
    assert metrics == {
        ("train", "f1"),
        ("validation", "f1"),
        ("validation", "recall"),
        ("validation", "precision"),
    }
    assert (
        _value(
            registry,
            conventions.RUN_VALIDATION_METRIC,
            dataset="fraud",
            split="validation",
            metric="recall",
        )
        == 0.85
    )
    # churn has only a run in progress: no finished-run gauges
    assert _value(registry, conventions.RUN_SYNTHETIC_RATIO, dataset="churn") is None


def test_in_progress_and_runs_total_by_outcome(store: Store, populated: dict[str, Any]) -> None:
    registry = _scrape(store)
    assert _value(registry, conventions.RUN_IN_PROGRESS, dataset="fraud") == 0
    assert _value(registry, conventions.RUN_IN_PROGRESS, dataset="churn") == 1
    # passed: a, c (retried); gate_failed: b, e; error: c's first attempt, d, f
    totals = {
        o: _value(registry, conventions.RUNS, dataset="fraud", outcome=o) for o in RUN_OUTCOMES
    }
    assert totals == {"passed": 2, "gate_failed": 2, "error": 3}
    churn = {
        o: _value(registry, conventions.RUNS, dataset="churn", outcome=o) for o in RUN_OUTCOMES
    }
    assert churn == dict.fromkeys(RUN_OUTCOMES, 0)


def test_runs_total_never_decreases_as_failed_runs_are_retried(
    store: Store, monitor: Monitor
) -> None:
    def totals() -> dict[str, float | None]:
        registry = _scrape(store)
        return {
            o: _value(registry, conventions.RUNS, dataset="fraud", outcome=o) for o in RUN_OUTCOMES
        }

    _failure(store, "k", 1)
    assert totals() == {"passed": 0, "gate_failed": 0, "error": 1}
    _failure(store, "k", 2)  # failed again: a second attempt
    assert totals() == {"passed": 0, "gate_failed": 0, "error": 2}
    _record(monitor, "k", 3)  # then it succeeds: its failures stay counted
    assert totals() == {"passed": 1, "gate_failed": 0, "error": 2}
    _record(monitor, "k", 3)  # the same run again is one run
    assert totals() == {"passed": 1, "gate_failed": 0, "error": 2}


def test_drift_gauges_come_from_the_first_configured_window(
    store: Store, populated: dict[str, Any]
) -> None:
    registry = _scrape(store)
    drift = conventions.FEATURE_DRIFT_SCORE
    assert _value(registry, drift, dataset="fraud", feature="amount", method="ks") == 0.001
    assert _value(registry, drift, dataset="fraud", feature="hour", method="ks") == 0.5
    # a NaN score (stored NULL) is left out; its verdict is still exported
    assert {s["feature"] for s in _series_of(registry, drift)} == {"amount", "hour"}
    detected = conventions.FEATURE_DRIFT_DETECTED
    assert _value(registry, detected, dataset="fraud", feature="amount") == 1
    assert _value(registry, detected, dataset="fraud", feature="hour") == 0
    assert _value(registry, detected, dataset="fraud", feature="empty") == 1
    assert _value(registry, conventions.DATASET_DRIFT_SHARE, dataset="fraud") == pytest.approx(
        2 / 3
    )
    # the latest evaluation of any window
    last = _value(registry, conventions.DRIFT_LAST_EVALUATION_TIMESTAMP_SECONDS, dataset="fraud")
    assert last == pytest.approx(populated["now"].timestamp())


def test_synthetic_shift_of_the_latest_run(store: Store, populated: dict[str, Any]) -> None:
    registry = _scrape(store)
    shift = read(store, shift_of_run, populated["latest"].id)
    assert shift is not None and len(shift.drift) == 4
    exported = {
        (s.labels["feature"], s.labels["method"]): s.value
        for family in registry.collect()
        if family.name == conventions.SYNTHETIC_SHIFT_SCORE.name
        for s in family.samples
    }
    assert exported == {(r["feature"], r["method"]): r["value"] for r in shift.drift}


def test_slice_gauges_per_configured_window_without_nan(
    store: Store, populated: dict[str, Any]
) -> None:
    registry = _scrape(store)

    def slice_value(spec: MetricSpec, label: str, window: str) -> float | None:
        return _value(registry, spec, dataset="fraud", slice=label, window=window)

    c = conventions
    expected_1h = metrics_of(SLICE_ALL, Confusion(tp=8, fp=2, tn=80, fn=2), 5)
    assert slice_value(c.SLICE_RECALL, SLICE_ALL, "1h") == pytest.approx(0.8)
    assert slice_value(c.SLICE_PRECISION, SLICE_ALL, "1h") == pytest.approx(0.8)
    assert slice_value(c.SLICE_F1, SLICE_ALL, "1h") == pytest.approx(0.8)
    assert slice_value(c.SLICE_FALSE_POSITIVE_RATE, SLICE_ALL, "1h") == pytest.approx(2 / 82)
    assert slice_value(c.SLICE_RECALL_LOWER, SLICE_ALL, "1h") == pytest.approx(
        expected_1h.recall.lower
    )
    assert slice_value(c.SLICE_RECALL_UPPER, SLICE_ALL, "1h") == pytest.approx(
        expected_1h.recall.upper
    )
    assert slice_value(c.SLICE_SUPPORT, SLICE_ALL, "1h") == 10
    assert slice_value(c.SLICE_RECALL, SLICE_ALL, "24h") == pytest.approx(0.75)
    assert slice_value(c.SLICE_SUPPORT, SLICE_ALL, "24h") == 40
    # region=eu had no minority rows: recall (0/0) is left out, not NaN; support is 0
    assert slice_value(c.SLICE_RECALL, "region=eu", "1h") is None
    assert slice_value(c.SLICE_RECALL_UPPER, "region=eu", "1h") is None
    assert slice_value(c.SLICE_PRECISION, "region=eu", "1h") == 0
    assert slice_value(c.SLICE_SUPPORT, "region=eu", "1h") == 0
    # the 7d window is not configured: not exported
    windows = {s["window"] for s in _series_of(registry, c.SLICE_SUPPORT)}
    assert windows == {"1h", "24h"}
    assert not any(math.isnan(v) for v in _samples(registry).values())


def test_store_counters(store: Store, populated: dict[str, Any]) -> None:
    registry = _scrape(store)
    c = conventions
    predictions = {
        (s["slice"], s["outcome"]): _value(registry, c.SLICE_PREDICTIONS, **s)
        for s in _series_of(registry, c.SLICE_PREDICTIONS)
    }
    assert predictions == {
        (SLICE_ALL, "tp"): 40,
        (SLICE_ALL, "fn"): 12,
        (SLICE_ALL, "fp"): 13,
        (SLICE_ALL, "tn"): 990,
        # every outcome of a slice, 0 until counted
        **{("region=eu", o): 0 for o in CONFUSION_OUTCOMES},
        ("region=eu", "fp"): 3,
    }
    assert _value(registry, c.PRODUCTION_ROWS, dataset="fraud") == 1500
    assert _value(registry, c.PRODUCTION_LABELED_ROWS, dataset="fraud") == 1055
    # A corrected label: counted again under its new outcome, and once as a correction.
    assert _value(registry, c.SLICE_LABEL_CORRECTIONS, dataset="fraud") == 4


def test_job_metrics(store: Store, populated: dict[str, Any]) -> None:
    registry = _scrape(store)
    name = conventions.MONITOR_JOB_DURATION_SECONDS.name
    assert registry.get_sample_value(f"{name}_bucket", {"job": "evaluate", "le": "0.1"}) == 0
    assert registry.get_sample_value(f"{name}_bucket", {"job": "evaluate", "le": "0.5"}) == 1
    assert registry.get_sample_value(f"{name}_bucket", {"job": "evaluate", "le": "300.0"}) == 3
    assert registry.get_sample_value(f"{name}_bucket", {"job": "evaluate", "le": "+Inf"}) == 3
    assert registry.get_sample_value(f"{name}_count", {"job": "evaluate"}) == 3
    assert registry.get_sample_value(f"{name}_sum", {"job": "evaluate"}) == 4.5
    buckets = [
        s.labels["le"]
        for family in registry.collect()
        if family.name == name
        for s in family.samples
        if s.name.endswith("_bucket")
    ]
    assert len(buckets) == len(JOB_DURATION_BUCKETS) + 1
    assert _value(registry, conventions.MONITOR_JOB_FAILURES, job="evaluate") == 1
    last = _value(registry, conventions.MONITOR_JOB_LAST_SUCCESS_TIMESTAMP_SECONDS, job="evaluate")
    assert last == T0.timestamp()


def test_build_info_store_up_and_every_family_is_yielded(
    store: Store, populated: dict[str, Any]
) -> None:
    registry = _scrape(store, version="9.9.9")
    assert _value(registry, conventions.MONITOR_BUILD_INFO, version="9.9.9") == 1
    assert _value(registry, conventions.MONITOR_STORE_UP) == 1
    assert _value(registry, conventions.MONITOR_SERIES_DROPPED, reason=REASON_SERIES_CAP) == 0
    assert [f.name for f in registry.collect()] == [spec.name for spec in CATALOG]


def test_an_empty_store_yields_every_family(store: Store) -> None:
    registry = _scrape(store)
    families = list(registry.collect())
    assert [f.name for f in families] == [spec.name for spec in CATALOG]
    with_samples = {f.name for f in families if f.samples}
    assert with_samples == {
        conventions.MONITOR_BUILD_INFO.name,
        conventions.MONITOR_STORE_UP.name,
        conventions.MONITOR_SERIES_DROPPED.name,
    }
    assert _value(registry, conventions.MONITOR_STORE_UP) == 1


def test_a_store_that_is_down_answers_build_info_and_store_up_0(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Store(UNREACHABLE_URL)
    registry = _scrape(store, version="1.2.3")
    b, up, dropped = (
        conventions.MONITOR_BUILD_INFO,
        conventions.MONITOR_STORE_UP,
        conventions.MONITOR_SERIES_DROPPED,
    )
    # nothing read from the store; the process's own dropped-series counter is not stale
    assert _samples(registry) == {
        (b.sample_name, (("version", "1.2.3"),)): 1,
        (up.sample_name, ()): 0,
        (dropped.sample_name, (("reason", REASON_SERIES_CAP),)): 0,
    }
    assert "store could not be read" in caplog.text
    assert [f.name for f in registry.collect()] == [spec.name for spec in CATALOG]


def test_the_store_coming_back_is_seen_by_the_next_scrape(
    store: Store,
    populated: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger=collector_module.__name__)
    registry = _scrape(store)
    assert _value(registry, conventions.MONITOR_STORE_UP) == 1
    real = collector_module.read_samples

    def down(*args: Any) -> Any:
        from sqlalchemy.exc import OperationalError

        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(collector_module, "read_samples", down)
    assert _value(registry, conventions.MONITOR_STORE_UP) == 0
    assert _value(registry, conventions.RUNS, dataset="fraud", outcome="passed") is None
    monkeypatch.setattr(collector_module, "read_samples", real)
    assert _value(registry, conventions.MONITOR_STORE_UP) == 1
    assert _value(registry, conventions.RUNS, dataset="fraud", outcome="passed") == 2
    # two scrapes failed, one warning; the recovery is said once too
    messages = [
        (r.levelname, r.getMessage()) for r in caplog.records if r.name == collector_module.__name__
    ]
    assert [level for level, _ in messages] == ["WARNING", "INFO"]
    assert "server closed the connection" in messages[0][1]


def _count(registry: CollectorRegistry) -> int:
    return sum(len(f.samples) for f in registry.collect())


def test_the_series_cap_drops_feature_series_first_and_counts_them(
    store: Store, populated: dict[str, Any]
) -> None:
    c = conventions
    dropped_key = (c.MONITOR_SERIES_DROPPED.sample_name, (("reason", REASON_SERIES_CAP),))
    full = _samples(_scrape(store))
    registry = _scrape(store, max_series=len(full) - 1)
    capped = _samples(registry)  # each read of a registry is a scrape: read it once
    dropped = capped[dropped_key]
    assert dropped >= 1 and len(capped) == len(full) - dropped
    gone = set(full) - set(capped)
    assert len(gone) == dropped
    # one feature's series (score, verdict, shift) go, together; nothing else does
    assert len({dict(labels)["feature"] for _, labels in gone}) == 1
    assert {name for name, _ in gone} <= {
        c.FEATURE_DRIFT_SCORE.name,
        c.FEATURE_DRIFT_DETECTED.name,
        c.SYNTHETIC_SHIFT_SCORE.name,
    }
    # the counter only grows, scrape after scrape
    assert _samples(registry)[dropped_key] == 2 * dropped


def test_a_small_cap_keeps_the_monitors_series_and_dataset_level_ones_last(
    store: Store, populated: dict[str, Any]
) -> None:
    c = conventions
    collector = StoreCollector(store, SETTINGS, max_series=40)
    registry = CollectorRegistry()
    registry.register(collector)
    seen = []
    for _ in range(3):
        samples = _samples(registry)
        assert len(samples) <= 40
        seen.append(
            samples[(c.MONITOR_SERIES_DROPPED.sample_name, (("reason", REASON_SERIES_CAP),))]
        )
    assert seen[0] > 0 and seen == [seen[0], 2 * seen[0], 3 * seen[0]]
    families = {name for name, _ in samples}
    # the monitor's own series are never dropped; feature and slice series go before run series
    assert {c.MONITOR_STORE_UP.name, c.MONITOR_BUILD_INFO.name} <= families
    assert f"{c.MONITOR_JOB_DURATION_SECONDS.name}_count" in families
    assert c.FEATURE_DRIFT_SCORE.name not in families
    assert c.SLICE_RECALL.name not in families


def test_the_cap_keeps_each_datasets_all_slice_first(store: Store) -> None:
    """Datasets take turns: a dataset with many slices cannot crowd another's out."""
    now = datetime.now(UTC)
    settings = Settings(datasets={"big": {}, "small": {}})
    with store.write() as session:
        for dataset, n in (("big", 30), ("small", 1)):
            labels = [SLICE_ALL, *(f"region=r{i:02d}" for i in range(n))]
            add_evaluation(
                session,
                dataset=dataset,
                kind=PRODUCTION,
                window="1h",
                evaluated_at=now,
                reference_run_id=None,
                drift=None,
                kinds={},
                slices=[
                    metrics_of(label, Confusion(tp=5, fp=1, tn=5, fn=1), 1) for label in labels
                ],
            )
    total = _count(_scrape(store, settings))
    per_slice = 7
    registry = _scrape(store, settings, max_series=total - 20 * per_slice)
    kept = {(s["dataset"], s["slice"]) for s in _series_of(registry, conventions.SLICE_RECALL)}
    assert ("small", SLICE_ALL) in kept and ("small", "region=r00") in kept
    assert ("big", SLICE_ALL) in kept
    assert len(kept) == 33 - 20
    # whole slices: all seven gauges of a kept slice are there
    for spec in (conventions.SLICE_SUPPORT, conventions.SLICE_RECALL_UPPER):
        assert {(s["dataset"], s["slice"]) for s in _series_of(registry, spec)} == kept


def test_promtool_finds_the_exposition_clean(store: Store, populated: dict[str, Any]) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    text = generate_latest(_scrape(store))
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, check=False
    )
    problems = (result.stdout + result.stderr).decode().splitlines()
    # The one lint the catalog carries on purpose: DESIGN.md names the neighbour-distance label
    # "quantile" although the family is a gauge (dashboards and alerts use it). Exit code 3 is
    # "lint problems"; a malformed exposition would exit 1 with other messages.
    known = (
        f'{conventions.RUN_NEIGHBOR_DISTANCE.name} non-summary metrics should not have "quantile"'
    )
    assert [p for p in problems if not p.startswith(known)] == []
    assert result.returncode == (3 if problems else 0)


def test_describe_is_empty_so_registering_queries_nothing() -> None:
    collector = StoreCollector(Store(UNREACHABLE_URL), SETTINGS)
    assert collector.describe() == []
    CollectorRegistry().register(collector)  # would raise if it needed the store


def test_no_metric_objects_at_module_level_or_in_the_global_registry() -> None:
    for name, value in vars(collector_module).items():
        # a metric object or a registered-style collector instance (classes are fine)
        assert not isinstance(value, Metric | MetricWrapperBase | StoreCollector), name
    assert not any(name.startswith("smote_") for name in REGISTRY._names_to_collectors)


def test_max_series_defaults_to_the_setting() -> None:
    store = Store(UNREACHABLE_URL)
    assert StoreCollector(store, Settings()).max_series == DEFAULT_MAX_SERIES
    assert StoreCollector(store, Settings(max_series=50)).max_series == 50
    with pytest.raises(ValueError, match="max_series: got 0; expected an int >= 1"):
        StoreCollector(store, Settings(), max_series=0)


def test_a_dataset_not_evaluated_lately_still_exports_its_latest_evaluation(store: Store) -> None:
    """The scrape ranks recent evaluations only, and the whole history of stale datasets."""
    now = datetime.now(UTC)
    settings = Settings(datasets={"fresh": {"windows": ["1h"]}, "stale": {"windows": ["1h"]}})
    with store.write() as session:
        for dataset, ages in (("fresh", (60 * 24, 5)), ("stale", (60 * 24 * 9, 60 * 24 * 3))):
            for minutes in ages:
                add_evaluation(
                    session,
                    dataset=dataset,
                    kind=PRODUCTION,
                    window="1h",
                    evaluated_at=now - timedelta(minutes=minutes),
                    reference_run_id=None,
                    drift=_drift({"amount": (minutes / 1e5, False)}),
                    kinds={},
                    slices=[metrics_of(SLICE_ALL, Confusion(tp=minutes, fn=1), 1)],
                )
    registry = _scrape(store, settings)
    c = conventions
    for dataset, minutes in (("fresh", 5), ("stale", 60 * 24 * 3)):
        score = _value(
            registry, c.FEATURE_DRIFT_SCORE, dataset=dataset, feature="amount", method="ks"
        )
        assert score == minutes / 1e5
        support = _value(registry, c.SLICE_SUPPORT, dataset=dataset, slice=SLICE_ALL, window="1h")
        assert support == minutes + 1
        last = _value(registry, c.DRIFT_LAST_EVALUATION_TIMESTAMP_SECONDS, dataset=dataset)
        assert last == pytest.approx((now - timedelta(minutes=minutes)).timestamp())


def test_a_shift_stamped_after_its_run_is_still_found(
    store: Store, populated: dict[str, Any]
) -> None:
    from sqlalchemy import update

    from smote_monitor.store.evaluations import SYNTHETIC_SHIFT
    from smote_monitor.store.models import Evaluation

    before = _samples(_scrape(store))
    with store.write() as session:
        session.execute(
            update(Evaluation)
            .where(Evaluation.kind == SYNTHETIC_SHIFT)
            .values(evaluated_at=populated["now"] + timedelta(hours=1))
        )
    after = _samples(_scrape(store))
    shift = conventions.SYNTHETIC_SHIFT_SCORE.name
    assert {k: v for k, v in after.items() if k[0] == shift} == {
        k: v for k, v in before.items() if k[0] == shift
    }
    assert sum(k[0] == shift for k in after) == 4
