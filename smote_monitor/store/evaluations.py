"""The evaluations table and its rows: drift per feature and SLIs per slice of a window."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smote_monitor.store.datasets import dataset_row
from smote_monitor.store.models import Dataset, DriftResultRow, Evaluation, SliceResultRow

if TYPE_CHECKING:  # the drift engine pulls in scipy.stats: keep it off the CLI's start-up path
    from smote_monitor.drift import DatasetDrift
    from smote_monitor.slices import SliceMetrics

PRODUCTION = "production"
SYNTHETIC_SHIFT = "synthetic_shift"
"""Kinds of evaluation: a production window against the reference, or a run's augmented data
against its real training data."""
LOCAL = "local"
DASK = "dask"
"""Engines an evaluation was folded by: one process, or partitions on a Dask cluster merged."""


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def add_evaluation(
    session: Session,
    *,
    dataset: str,
    kind: str,
    window: str,
    evaluated_at: datetime,
    reference_run_id: int | None,
    drift: DatasetDrift | None,
    kinds: Mapping[str, str],
    slices: Sequence[SliceMetrics] = (),
    n_rows: int = 0,
    n_labeled: int = 0,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    partitions: int | None = None,
) -> Evaluation:
    """One evaluation with its per-feature drift and per-slice results, in the caller's
    transaction. ``partitions``: how many Dask partitions were folded and merged (engine
    ``dask``); ``None`` for a window folded in this process (engine ``local``)."""
    evaluation = Evaluation(
        dataset=dataset_row(session, dataset),
        kind=kind,
        window=window,
        evaluated_at=evaluated_at,
        reference_run_id=reference_run_id,
        n_rows=n_rows,
        n_labeled=n_labeled,
        window_start=window_start,
        window_end=window_end,
        drift_share=drift.share if drift is not None else None,
        dataset_drift=drift.drifted if drift is not None else None,
        engine=LOCAL if partitions is None else DASK,
        partitions=partitions,
    )
    if drift is not None:
        evaluation.drift = [
            DriftResultRow(
                feature=r.feature,
                column_type=kinds.get(r.feature, "numeric"),
                method=r.method,
                value=_finite(r.value),
                threshold=_finite(r.threshold),
                drifted=r.drifted,
                mode=r.mode,
                n_reference=r.n_reference,
                n_current=r.n_current,
            )
            for r in drift.features
        ]
    evaluation.slices = [_slice_row(m) for m in slices]
    session.add(evaluation)
    session.flush()
    return evaluation


def _slice_row(m: SliceMetrics) -> SliceResultRow:
    rates: dict[str, Any] = {}
    for name in RATES:
        rate = getattr(m, name)
        rates[name] = _finite(rate.value)
        rates[f"{name}_lower"] = _finite(rate.lower)
        rates[f"{name}_upper"] = _finite(rate.upper)
    return SliceResultRow(
        slice=m.slice,
        tp=m.tp,
        fp=m.fp,
        tn=m.tn,
        fn=m.fn,
        support=m.support,
        sufficient=m.sufficient,
        **rates,
    )


@dataclass(frozen=True)
class EvaluationView:
    id: int
    dataset: str
    kind: str
    window: str
    evaluated_at: datetime
    reference_run_id: int | None
    n_rows: int
    n_labeled: int
    drift_share: float | None
    dataset_drift: bool | None
    drift: list[dict[str, Any]]
    slices: list[dict[str, Any]]
    engine: str = LOCAL
    """``local`` or ``dask`` (:data:`LOCAL`, :data:`DASK`)."""
    partitions: int | None = None
    """Dask partitions merged; ``None`` for ``local``."""

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "evaluated_at": self.evaluated_at.isoformat()}


_DRIFT_FIELDS = (
    "feature",
    "column_type",
    "method",
    "value",
    "threshold",
    "drifted",
    "mode",
    "n_reference",
    "n_current",
)
RATES = ("recall", "precision", "f1", "false_positive_rate")
_SLICE_FIELDS = (
    "slice",
    "tp",
    "fp",
    "tn",
    "fn",
    "support",
    "sufficient",
    *(f"{name}{suffix}" for name in RATES for suffix in ("", "_lower", "_upper")),
)


def view(evaluation: Evaluation) -> EvaluationView:
    return EvaluationView(
        id=evaluation.id,
        dataset=evaluation.dataset.name,
        kind=evaluation.kind,
        window=evaluation.window,
        evaluated_at=evaluation.evaluated_at,
        reference_run_id=evaluation.reference_run_id,
        n_rows=evaluation.n_rows,
        n_labeled=evaluation.n_labeled,
        drift_share=evaluation.drift_share,
        dataset_drift=evaluation.dataset_drift,
        drift=[{f: getattr(r, f) for f in _DRIFT_FIELDS} for r in evaluation.drift],
        slices=[{f: getattr(r, f) for f in _SLICE_FIELDS} for r in evaluation.slices],
        engine=evaluation.engine,
        partitions=evaluation.partitions,
    )


def on_dask(partitions: int | None) -> str:
    """``on Dask, N partitions``: how the CLI and the status page say a window was folded."""
    return f"on Dask, {partitions} partition{'' if partitions == 1 else 's'}"


def latest_evaluations(
    session: Session,
    dataset: str,
    *,
    kind: str = PRODUCTION,
    window: str | None = None,
    limit: int = 1,
) -> list[EvaluationView]:
    """Newest first; only those of ``window`` when given."""
    query = (
        select(Evaluation)
        .join(Evaluation.dataset)
        .where(Dataset.name == dataset, Evaluation.kind == kind)
        .order_by(Evaluation.evaluated_at.desc(), Evaluation.id.desc())
        .limit(limit)
    )
    if window is not None:
        query = query.where(Evaluation.window == window)
    return [view(e) for e in session.scalars(query)]


def shift_of_run(session: Session, run_id: int) -> EvaluationView | None:
    query = select(Evaluation).where(
        Evaluation.kind == SYNTHETIC_SHIFT, Evaluation.reference_run_id == run_id
    )
    found = session.scalars(query).one_or_none()
    return view(found) if found is not None else None


def delete_shift_of_run(session: Session, run_id: int) -> None:
    """Drop the run's synthetic-shift evaluation (a retried run gets its own, once)."""
    for evaluation in session.scalars(
        select(Evaluation).where(
            Evaluation.kind == SYNTHETIC_SHIFT, Evaluation.reference_run_id == run_id
        )
    ):
        session.delete(evaluation)
