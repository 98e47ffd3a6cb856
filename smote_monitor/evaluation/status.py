"""A dataset's current state, as the status route and the status page show it: per window the
SLIs of every slice against the SLO, drift per feature, the last evaluation, quarantined files
and the predictions still waiting for their labels."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from smote_monitor.config import Settings
from smote_monitor.evaluation.push import listed
from smote_monitor.records import utcnow
from smote_monitor.store import Store, quarantine, slice_state
from smote_monitor.store.datasets import find_dataset
from smote_monitor.store.evaluations import PRODUCTION, EvaluationView, latest_evaluations
from smote_monitor.store.runs import latest_succeeded_run


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _slice(row: dict[str, Any], recall_target: float, precision_target: float) -> dict[str, Any]:
    upper, lower = row.get("recall_upper"), row.get("recall_lower")
    if not row["sufficient"]:
        verdict = "insufficient_support"
    elif upper is not None and upper < recall_target:
        verdict = "below_slo"
    elif lower is not None and lower >= recall_target:
        verdict = "meets_slo"
    else:
        verdict = "inconclusive"
    precision = row.get("precision")
    return {
        **{k: _finite(v) for k, v in row.items()},
        "recall_slo": verdict,
        "precision_below_slo": bool(
            row["sufficient"] and precision is not None and precision < precision_target
        ),
    }


def window_status(view: EvaluationView, recall: float, precision: float) -> dict[str, Any]:
    """One stored window evaluation as the status route shows it: drift per feature and each
    slice's SLIs with its verdict against the recall objective (``recall_slo``), and where it
    was folded (``engine`` local or dask, with its ``partitions``)."""
    return {
        "evaluation_id": view.id,
        "evaluated_at": view.evaluated_at.isoformat(),
        "reference_run_id": view.reference_run_id,
        "rows": view.n_rows,
        "labelled_rows": view.n_labeled,
        "engine": view.engine,
        "partitions": view.partitions,
        "drift": {
            "share": view.drift_share,
            "drifted": view.dataset_drift,
            "features": [{k: _finite(v) for k, v in f.items()} for f in view.drift],
        },
        "slices": [_slice(s, recall, precision) for s in view.slices],
    }


def dataset_status(
    store: Store, settings: Settings, dataset: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """The dataset's status (JSON-able); a dataset not in the config is an error."""
    config = listed(settings, dataset)
    slo = config.slo
    windows: dict[str, Any] = {}
    with store.read() as session:
        row = find_dataset(session, dataset)
        run = latest_succeeded_run(session, dataset)
        for window in config.windows:
            latest = latest_evaluations(session, dataset, kind=PRODUCTION, window=window)
            windows[window] = (
                window_status(latest[0], slo.minority_recall, slo.minority_precision)
                if latest
                else None
            )
        files = quarantine.quarantined_files(session, row.id) if row else []
        pending = slice_state.pending_counts(session, row.id) if row else {}
    evaluated = [w["evaluated_at"] for w in windows.values() if w]
    return {
        "dataset": dataset,
        "now": (now or utcnow()).isoformat(),
        "reference_run": None
        if run is None
        else {"id": run.id, "run_key": run.run_key, "finished_at": _iso(run.finished_at)},
        "slo": slo.model_dump(),
        "last_evaluation": max(evaluated) if evaluated else None,
        "windows": windows,
        "quarantined_files": files,
        "pending_labels": pending,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
