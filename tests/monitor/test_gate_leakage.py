"""Suspected leakage fails the release gate (DESIGN.md, "Run outcomes")."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from imblearn.over_sampling import SMOTE as ImblearnSMOTE

from smote_monitor import Monitor

from .cli_helpers import run_cli
from .test_records import VALID

GOOD = {"f1": 0.90, "recall": 0.85, "precision": 0.75}


def _data(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(int)
    X = rng.normal(size=(n, 4)) + y[:, None]
    return X, y


def test_validation_rows_equal_to_synthetic_rows_fail_the_gate(
    sqlite_url: str, tmp_path: Path
) -> None:
    monitor = Monitor.from_url(sqlite_url, spool_dir=tmp_path / "spool")
    X, y = _data()
    X_clean, y_clean = _data(n=300, seed=9)
    with monitor.track_run(dataset="fraud", run_key="leaky") as run:
        X_res, y_res = run.resample(ImblearnSMOTE(sampling_strategy=0.5, random_state=0), X, y)
        # 127 synthetic rows slipped into an otherwise clean validation split
        X_val = np.vstack([X_clean, X_res[len(y) : len(y) + 127]])
        y_val = np.concatenate([y_clean, y_res[len(y) : len(y) + 127]])
        run.log_validation(train={"f1": 0.9}, validation=GOOD, X_val=X_val, y_val=y_val)
    record = run.record
    assert record is not None and record.gate is not None and record.leakage is not None
    assert record.leakage.evidence["validation_rows_equal_to_synthetic"] == 127
    assert not record.gate.passed
    [reason] = record.gate.reasons
    assert reason.startswith("leakage suspected: 127 validation rows equal synthetic rows")
    assert record.outcome == "gate_failed"

    listed = run_cli("--database-url", sqlite_url, "runs", "list", "--json", cwd=tmp_path)
    assert [r["computed"]["outcome"] for r in json.loads(listed.stdout)] == ["gate_failed"]
    table = run_cli("--database-url", sqlite_url, "runs", "list", cwd=tmp_path)
    assert "gate_failed" in table.stdout


def test_a_run_without_validation_data_is_not_failed_for_leakage(sqlite_url: str) -> None:
    record = Monitor.from_url(sqlite_url).record(VALID)
    assert record is not None
    monitor = Monitor.from_url(sqlite_url)
    with monitor.track_run(dataset="fraud", run_key="no-val") as run:
        run.resample(ImblearnSMOTE(sampling_strategy=0.5, random_state=0), *_data())
        run.log_validation(train={"f1": 0.9}, validation=GOOD)
    assert run.record is not None and run.record.gate is not None
    [check] = [c for c in run.record.gate.checks if c.check == "leakage"]
    assert check.passed and check.value is None
    assert check.message == (
        "leakage not checked: no validation data (X_val, y_val) was given to track_run or "
        "observe_run"
    )
    assert run.record.gate.passed, run.record.gate.reasons
