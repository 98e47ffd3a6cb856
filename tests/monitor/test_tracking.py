"""The run-tracking API as a training pipeline uses it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE as ImblearnSMOTE

from smote_monitor import InvalidInputError, Monitor, RunConflictError
from smote_monitor.config import load_settings
from smote_monitor.store.runs import find_run, list_runs, run_to_record
from tests.store_access import read

GOOD = {"f1": 0.90, "recall": 0.85, "precision": 0.75}


def _data(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(int)
    X = rng.normal(size=(n, 4)) + y[:, None]
    return X, y


class DuplicatingSampler:
    """Not a SMOTE at all: any object with fit_resample can be tracked."""

    def fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        minority = y == 1
        return np.vstack([X, X[minority] + 0.01]), np.concatenate([y, y[minority]])


@pytest.fixture
def monitor(store_url: str, tmp_path: Path) -> Monitor:
    return Monitor.from_url(store_url, spool_dir=tmp_path / "spool")


def test_track_run_records_counts_ratio_gap_and_gate(monitor: Monitor) -> None:
    X, y = _data()
    with monitor.track_run(dataset="fraud", run_key="2026-11-28") as run:
        X_res, y_res = run.resample(ImblearnSMOTE(random_state=0), X, y)
        run.log_validation(train={"f1": 0.96}, validation=GOOD)
    stored = read(monitor.store, find_run, "fraud", "2026-11-28")
    assert stored is not None
    record = run_to_record(stored)
    n_min, n_maj = int(y.sum()), int((y == 0).sum())
    assert record.status == "succeeded"
    assert record.variant == "SMOTE" and record.seed == 0
    assert record.params["k_neighbors"] == 5
    assert record.class_counts_before == {"0": n_maj, "1": n_min}
    assert record.class_counts_after == {"0": n_maj, "1": n_maj}
    assert record.n_synthetic == n_maj - n_min == len(y_res) - len(y)
    assert record.synthetic_ratio == pytest.approx((n_maj - n_min) / (2 * n_maj))
    assert record.validation_gap == pytest.approx(0.06)
    assert record.duration_seconds is not None and record.duration_seconds > 0
    # imblearn has no report_: the monitor measures, counting at least the output it returned.
    assert record.peak_memory_bytes is not None
    assert record.peak_memory_bytes >= X_res.nbytes + y_res.nbytes
    assert record.gate is not None
    assert not record.gate.passed
    assert record.gate.reasons == ["train F1 − validation F1 (minority) 0.06 exceeds 0.05 by 0.01"]


def test_gate_passes_when_every_target_is_met(monitor: Monitor) -> None:
    X, y = _data()
    with monitor.track_run(dataset="fraud") as run:
        run.resample(ImblearnSMOTE(sampling_strategy=0.5, random_state=1), X, y)
        run.log_validation(train={"f1": 0.92}, validation=GOOD)
    assert run.record is not None and run.record.gate is not None
    assert run.record.gate.passed, run.record.gate.reasons


def test_gate_reasons_say_which_target_failed_and_by_how_much(monitor: Monitor) -> None:
    X, y = _data()
    with monitor.track_run(dataset="fraud") as run:
        run.resample(ImblearnSMOTE(random_state=0), X, y)
        run.log_validation(
            train={"f1": 0.99}, validation={"f1": 0.80, "recall": 0.70, "precision": 0.75}
        )
    assert run.record is not None and run.record.gate is not None
    reasons = run.record.gate.reasons
    assert "train F1 − validation F1 (minority) 0.19 exceeds 0.05 by 0.14" in reasons
    assert "validation minority recall 0.7 is below 0.8 by 0.1" in reasons
    assert len(reasons) == 2


def test_gate_reads_the_datasets_slo_from_config(store_url: str, tmp_path: Path) -> None:
    config = tmp_path / "smote-monitor.yaml"
    config.write_text(
        f"database_url: {store_url}\nspool_dir: {tmp_path / 'spool'}\n"
        "datasets:\n  fraud:\n    slo: {minority_recall: 0.9, synthetic_ratio: [0.0, 0.9]}\n"
    )
    monitor = Monitor.from_config(config)
    X, y = _data()
    with monitor.track_run(dataset="fraud") as run:
        run.resample(ImblearnSMOTE(random_state=0), X, y)
        run.log_validation(train={"f1": 0.92}, validation=GOOD)
    assert run.record is not None and run.record.gate is not None
    assert run.record.gate.reasons == ["validation minority recall 0.85 is below 0.9 by 0.05"]


def test_missing_validation_metrics_fail_the_gate(monitor: Monitor) -> None:
    X, y = _data()
    with monitor.track_run(dataset="fraud") as run:
        run.resample(ImblearnSMOTE(random_state=0), X, y)
    assert run.record is not None and run.record.gate is not None
    assert not run.record.gate.passed
    assert "validation minority recall was not logged (target >= 0.8)" in run.record.gate.reasons


def test_an_exception_marks_the_run_failed_and_is_reraised(monitor: Monitor) -> None:
    X, y = _data()
    with (
        pytest.raises(ZeroDivisionError),
        monitor.track_run(dataset="fraud", run_key="boom") as run,
    ):
        run.resample(ImblearnSMOTE(random_state=0), X, y)
        _ = 1 / 0
    stored = read(monitor.store, find_run, "fraud", "boom")
    assert stored is not None
    assert stored.status == "failed"
    assert stored.error == "ZeroDivisionError: division by zero"
    assert stored.finished_at is not None


def test_the_blocks_exception_propagates_even_when_storing_the_failure_fails(
    monitor: Monitor, caplog: pytest.LogCaptureFixture
) -> None:
    X, y = _data()
    with monitor.track_run(dataset="fraud", run_key="done") as run:
        run.resample(DuplicatingSampler(), X, y)
    # A rerun under the succeeded key: its failure conflicts with the stored run.
    with (
        pytest.raises(MemoryError, match="out of memory"),
        monitor.track_run(dataset="fraud", run_key="done") as run,
    ):
        run.resample(DuplicatingSampler(), X, y)
        raise MemoryError("out of memory")
    assert "could not be stored" in caplog.text and "already stored" in caplog.text
    stored = read(monitor.store, find_run, "fraud", "done")
    assert stored is not None and stored.status == "succeeded"


def test_the_run_is_running_while_the_block_is_open(monitor: Monitor) -> None:
    with monitor.track_run(dataset="fraud", run_key="open") as run:
        stored = read(monitor.store, find_run, "fraud", "open")
        assert stored is not None and stored.status == "running"
        run.resample(DuplicatingSampler(), *_data())
    stored = read(monitor.store, find_run, "fraud", "open")
    assert stored is not None and stored.status == "succeeded"


def test_any_object_with_fit_resample_is_tracked_by_counts(monitor: Monitor) -> None:
    X, y = _data()
    with monitor.track_run(dataset="fraud") as run:
        _X_res, _ = run.resample(DuplicatingSampler(), pd.DataFrame(X, columns=list("abcd")), y)
    assert run.record is not None
    assert run.record.variant == "custom"
    assert run.record.params["sampler_class"] == "DuplicatingSampler"
    assert run.record.n_synthetic == int(y.sum())
    assert [f.name for f in run.record.feature_schema or []] == ["a", "b", "c", "d"]


def test_same_run_key_twice_is_one_run_and_other_content_conflicts(monitor: Monitor) -> None:
    X, y = _data()
    for _ in range(2):
        with monitor.track_run(dataset="fraud", run_key="daily") as run:
            run.resample(ImblearnSMOTE(random_state=0), X, y)
            run.log_validation(train={"f1": 0.92}, validation=GOOD)
    assert len(read(monitor.store, list_runs)) == 1
    with (
        pytest.raises(RunConflictError, match="already stored"),
        monitor.track_run(dataset="fraud", run_key="daily") as run,
    ):
        run.resample(ImblearnSMOTE(random_state=5), X, y)
    assert len(read(monitor.store, list_runs)) == 1


def test_validation_rows_equal_to_synthetic_rows_are_flagged(monitor: Monitor) -> None:
    X, y = _data()
    with monitor.track_run(dataset="fraud") as run:
        X_res, y_res = run.resample(ImblearnSMOTE(random_state=0), X, y)
        # "SMOTE before the split": validation drawn from the augmented set.
        rng = np.random.default_rng(1)
        rows = rng.choice(len(y_res), size=200, replace=False)
        run.log_validation(train={"f1": 0.9}, validation=GOOD, X_val=X_res[rows], y_val=y_res[rows])
    assert run.record is not None and run.record.leakage is not None
    evidence = run.record.leakage.evidence
    assert run.record.leakage.suspected
    assert evidence["validation_rows_equal_to_synthetic"] == int((rows >= len(y)).sum()) > 0
    assert evidence["validation_balance_matches_augmented"] is True


def test_a_clean_validation_split_is_not_flagged(monitor: Monitor) -> None:
    X, y = _data(seed=0)
    X_val, y_val = _data(n=300, seed=9)
    with monitor.track_run(dataset="fraud") as run:
        run.resample(ImblearnSMOTE(random_state=0), X, y)
        run.log_validation(train={"f1": 0.9}, validation=GOOD, X_val=X_val, y_val=y_val)
    assert run.record is not None and run.record.leakage is not None
    assert not run.record.leakage.suspected
    assert run.record.leakage.evidence["validation_rows_equal_to_synthetic"] == 0


def test_observe_run_records_a_resampling_done_elsewhere(monitor: Monitor) -> None:
    X, y = _data()
    X_res, y_res = ImblearnSMOTE(random_state=3).fit_resample(X, y)
    record = monitor.observe_run(
        dataset="churn",
        X_before=X,
        y_before=y,
        X_after=X_res,
        y_after=y_res,
        params={"k_neighbors": 5, "random_state": 3},
        run_key="imblearn-1",
        train={"f1": 0.9},
        validation=GOOD,
    )
    assert record.seed == 3
    assert record.n_synthetic == len(y_res) - len(y)
    assert read(monitor.store, find_run, "churn", "imblearn-1") is not None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"variant": "imblearn.SMOTE"}, r"^variant: got 'imblearn.SMOTE'; expected one of SMOTE"),
        ({"y_after": np.zeros(3)}, r"^y_after: got '3 labels'; expected \d+ labels"),
        ({"params": {"k": float("nan")}}, r"^params.k: got nan; expected a finite number"),
        ({"validation": {"f1": 2.0}}, r"^metrics.validation.f1: got 2.0"),
        ({"X_val": np.zeros((2, 4))}, r"^y_val: got None; expected X_val and y_val given together"),
        ({"dataset": "no good"}, r"^dataset: got 'no good'"),
    ],
)
def test_observe_run_with_bad_input_writes_nothing(
    monitor: Monitor, change: dict[str, Any], message: str
) -> None:
    X, y = _data()
    X_res, y_res = ImblearnSMOTE(random_state=3).fit_resample(X, y)
    arguments: dict[str, Any] = {
        "dataset": "churn",
        "X_before": X,
        "y_before": y,
        "X_after": X_res,
        "y_after": y_res,
        "run_key": "observed",
        "train": {"f1": 0.9},
        "validation": GOOD,
    }
    with pytest.raises(InvalidInputError, match=message):
        monitor.observe_run(**{**arguments, **change})
    assert read(monitor.store, list_runs) == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.track_run(dataset="bad name"), r"^dataset: got 'bad name'"),
        (lambda m: m.track_run(dataset="ok", run_key=""), r"^run_key: got ''"),
    ],
)
def test_bad_arguments_fail_before_training(monitor: Monitor, call: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        call(monitor)
    assert read(monitor.store, list_runs) == []


def test_bad_metrics_and_samplers_are_named(monitor: Monitor) -> None:
    X, y = _data()
    with (
        pytest.raises(
            InvalidInputError,
            match=r"^metrics.validation.recall: got 1.3; expected "
            r"less than or equal to 1",
        ),
        monitor.track_run(dataset="fraud", run_key="m") as run,
    ):
        run.log_validation(validation={"recall": 1.3})
    with (
        pytest.raises(
            InvalidInputError,
            match=r"^sampler: got 'SMOTE'; expected an object with a "
            r"fit_resample",
        ),
        monitor.track_run(dataset="fraud", run_key="s") as run,
    ):
        run.resample("SMOTE", X, y)
    with (
        pytest.raises(InvalidInputError, match=r"^y_val: got '3 labels'; expected 2 labels"),
        monitor.track_run(dataset="fraud", run_key="v") as run,
    ):
        run.log_validation(X_val=X[:2], y_val=y[:3])
    statuses = {run.run_key: run.status for run in read(monitor.store, list_runs)}
    assert statuses == {"m": "failed", "s": "failed", "v": "failed"}


@pytest.mark.parametrize("value", [True, "0.9"])
def test_log_validation_refuses_a_metric_that_is_not_a_number(
    monitor: Monitor, value: object
) -> None:
    with (
        pytest.raises(
            InvalidInputError,
            match=rf"^metrics.validation.f1: got {value!r}; expected a valid number",
        ),
        monitor.track_run(dataset="fraud", run_key="typed") as run,
    ):
        run.log_validation(validation={"f1": value})  # type: ignore[dict-item]


class NaNWeightSampler(DuplicatingSampler):
    """A sampler whose parameters cannot be stored: a NaN nested in a list."""

    def __init__(self) -> None:
        self.class_weights = [1.0, float("nan")]


def test_an_unstorable_sampler_is_refused_by_resample_not_when_the_block_ends(
    monitor: Monitor,
) -> None:
    X, y = _data()
    with monitor.track_run(dataset="fraud", run_key="nan-params") as run:
        with pytest.raises(
            InvalidInputError, match=r"^params.class_weights.1: got nan; expected a finite number"
        ):
            run.resample(NaNWeightSampler(), X, y)
        with pytest.raises(InvalidInputError, match=r"^metrics.validation: got 'mmmm"):
            run.log_validation(validation={"m" * 65: 0.5})
        run.resample(DuplicatingSampler(), X, y)  # the pipeline goes on with a storable sampler
        run.log_validation(validation=GOOD)
    stored = read(monitor.store, find_run, "fraud", "nan-params")
    assert stored is not None and stored.status == "succeeded"
    assert run_to_record(stored).metrics == {"validation": GOOD}


def test_a_clock_stepping_back_during_training_does_not_fail_the_run(
    monitor: Monitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    import smote_monitor.tracking.run as tracking

    X, y = _data()
    with monitor.track_run(dataset="fraud", run_key="clock") as run:
        run.resample(DuplicatingSampler(), X, y)
        started = read(monitor.store, find_run, "fraud", "clock")
        assert started is not None
        monkeypatch.setattr(tracking, "utcnow", lambda: started.started_at - timedelta(hours=1))
    stored = read(monitor.store, find_run, "fraud", "clock")
    assert stored is not None and stored.status == "succeeded"
    assert stored.finished_at is not None and stored.finished_at >= stored.started_at


def test_a_record_found_invalid_as_the_block_ends_is_stored_failed_not_raised(
    monitor: Monitor, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Every value is checked where it is passed; should the finished record still be invalid
    # (here a leakage check gone wrong), the trained model must not be lost to an exception.
    import smote_monitor.tracking.run as tracking
    from smote_monitor.records import LeakageResult

    broken = LeakageResult.model_construct(suspected=False, evidence={"share": float("nan")})
    monkeypatch.setattr(tracking, "check_leakage", lambda *args: broken)
    X, y = _data()
    with monitor.track_run(dataset="fraud", run_key="late") as run:
        run.resample(DuplicatingSampler(), X, y)
        run.log_validation(validation=GOOD, X_val=X[:50], y_val=y[:50])
    stored = read(monitor.store, find_run, "fraud", "late")
    assert stored is not None and stored.status == "failed"
    assert stored.error == (
        "the run record could not be validated: leakage.evidence.share: got nan; "
        "expected a finite number"
    )
    assert "could not be validated" in caplog.text


def test_from_config_reports_bad_keys(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("datasets:\n  fraud:\n    slo: {minority_recall: 1.5}\n")
    with pytest.raises(
        ValueError,
        match=r"datasets\.fraud\.slo\.minority_recall: got 1\.5; "
        r"expected less than or equal to 1",
    ):
        load_settings(config)


def test_smote_core_reports_are_recorded_with_nested_params_and_provenance(
    monitor: Monitor,
) -> None:
    from smote_core import SMOTE, SMOTETomek

    X, y = _data()
    with monitor.track_run(dataset="fraud", run_key="tomek") as run:
        sampler = SMOTETomek(smote=SMOTE(k_neighbors=3, random_state=0))
        _X_res, y_res = run.resample(sampler, X, y)
        run.log_validation(train={"f1": 0.9}, validation=GOOD)
    stored = read(monitor.store, find_run, "fraud", "tomek")
    assert stored is not None
    record = run_to_record(stored)
    report = sampler.report_
    assert record.variant == "SMOTETomek"
    # the inner sampler, as the report has it
    assert record.params["smote"] == {
        "variant": "SMOTE",
        "params": {**record.params["smote"]["params"], "k_neighbors": 3, "random_state": 0},
    }
    assert record.n_synthetic == report.n_synthetic
    assert record.synthetic_ratio == pytest.approx(report.synthetic_ratio)
    assert record.near_duplicate_ratio == report.near_duplicate_ratio
    assert record.neighbor_distance_quantiles == report.neighbor_distance_quantiles
    assert record.feature_schema_hash == report.feature_schema_hash
    assert len(record.audit_sample) == len(report.provenance_sample) > 0
    first = record.audit_sample[0]
    assert (first.parent, first.neighbor, first.row) == (
        report.provenance_sample[0]["parent"],
        report.provenance_sample[0]["neighbor"],
        report.provenance_sample[0]["row"],
    )
    assert record.class_counts_after == {
        str(k): int(v) for k, v in zip(*np.unique(y_res, return_counts=True), strict=True)
    }
