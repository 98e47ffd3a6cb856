"""Reference profiles of runs, and evaluations (drift and slice SLIs) of production windows."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smote_monitor.errors import InvalidInputError
from smote_monitor.store.database import Store
from smote_monitor.store.models import (
    Dataset,
    DriftResult,
    Evaluation,
    ReferenceProfile,
    Run,
    SliceResult,
)
from smote_monitor.store.runs import dataset_row

if TYPE_CHECKING:  # the drift engine pulls in scipy.stats: keep it off the CLI's start-up path
    from smote_monitor.drift import DatasetDrift, FeatureProfile
    from smote_monitor.slices import SliceMetrics

REAL = "real"
AUGMENTED = "augmented"
PROFILE_SPLITS = (REAL, AUGMENTED)

PRODUCTION = "production"
SYNTHETIC_SHIFT = "synthetic_shift"


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def add_profiles(
    session: Session, run: Run, profiles: Mapping[str, Mapping[str, FeatureProfile]]
) -> None:
    """Attach ``{split: {feature: profile}}`` to a run inside the caller's transaction."""
    existing = session.scalars(select(ReferenceProfile).where(ReferenceProfile.run_id == run.id))
    for row in existing:
        session.delete(row)
    session.flush()
    for split, features in profiles.items():
        for name, profile in features.items():
            session.add(
                ReferenceProfile(
                    run_id=run.id,
                    split=split,
                    feature=name,
                    column_type=profile.kind.value,
                    mode=profile.mode,
                    n=profile.n,
                    n_missing=profile.n_missing,
                    payload=profile.to_dict(),
                )
            )


def load_profiles(store: Store, run_id: int, split: str = REAL) -> dict[str, FeatureProfile]:
    """The run's profiles of one split, in the order they were recorded."""
    from smote_monitor.drift import FeatureProfile

    query = (
        select(ReferenceProfile)
        .where(ReferenceProfile.run_id == run_id, ReferenceProfile.split == split)
        .order_by(ReferenceProfile.id)
    )
    with store.read() as session:
        return {
            row.feature: FeatureProfile.from_dict(row.payload) for row in session.scalars(query)
        }


def latest_reference_run(store: Store, dataset: str) -> Run | None:
    """The dataset's reference: its newest succeeded run (whether or not it has profiles).

    A newer run whose profiling failed is still the model in production, so drift must not
    quietly fall back to an older run's profiles: :func:`reference_profiles` refuses instead.
    """
    query = (
        select(Run)
        .join(Run.dataset)
        .where(Dataset.name == dataset, Run.status == "succeeded")
        .order_by(Run.finished_at.desc(), Run.id.desc())
        .limit(1)
    )
    with store.read() as session:
        return session.scalars(query).one_or_none()


def reference_profiles(
    store: Store, dataset: str, split: str = REAL
) -> tuple[Run, dict[str, FeatureProfile]]:
    """The reference run of the dataset and its profiles of ``split``.

    Raises
    ------
    InvalidInputError
        The dataset has no succeeded run (saying whether it has any run at all), or its newest
        succeeded run has no profiles (saying why: its profiling error, or no training data).
    """
    run = latest_reference_run(store, dataset)
    if run is None:
        query = select(func.count(Run.id)).join(Run.dataset).where(Dataset.name == dataset)
        with store.read() as session:
            n_runs = session.scalar(query) or 0
        state = (
            "it has no runs yet"
            if n_runs == 0
            else f"none of its {n_runs} runs succeeded (see `smote-monitor runs list`)"
        )
        raise InvalidInputError(
            "dataset",
            dataset,
            f"a dataset with a succeeded run to compare with ({state}: record one with "
            "Monitor.track_run and run.resample first)",
        )
    profiles = load_profiles(store, run.id, split)
    if not profiles:
        why = (
            f"profiling failed: {run.profile_error}"
            if run.profile_error
            else "it was recorded without training data (e.g. by `smote-monitor record`, or "
            "before profiles existed); record a run with Monitor.track_run and run.resample"
        )
        raise InvalidInputError(
            "reference_run",
            run.id,
            f"the newest succeeded run of {dataset} ({run.run_key!r}) with training profiles; "
            f"it has none: {why}",
        )
    return run, profiles


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
) -> Evaluation:
    """One evaluation with its per-feature drift and per-slice results, in the caller's
    transaction."""
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
    )
    if drift is not None:
        evaluation.drift = [
            DriftResult(
                feature=r.feature,
                column_type=kinds.get(r.feature, "numeric"),
                method=r.method,
                value=_finite(r.value),
                threshold=r.threshold,
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


def _slice_row(m: SliceMetrics) -> SliceResult:
    rates: dict[str, Any] = {}
    for name in RATES:
        rate = getattr(m, name)
        rates[name] = _finite(rate.value)
        rates[f"{name}_lower"] = _finite(rate.lower)
        rates[f"{name}_upper"] = _finite(rate.upper)
    return SliceResult(
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
    )


def latest_evaluations(
    store: Store, dataset: str, *, kind: str = PRODUCTION, limit: int = 1
) -> list[EvaluationView]:
    query = (
        select(Evaluation)
        .join(Evaluation.dataset)
        .where(Dataset.name == dataset, Evaluation.kind == kind)
        .order_by(Evaluation.evaluated_at.desc(), Evaluation.id.desc())
        .limit(limit)
    )
    with store.read() as session:
        return [view(e) for e in session.scalars(query)]


def shift_of_run(store: Store, run_id: int) -> EvaluationView | None:
    query = select(Evaluation).where(
        Evaluation.kind == SYNTHETIC_SHIFT, Evaluation.reference_run_id == run_id
    )
    with store.read() as session:
        found = session.scalars(query).one_or_none()
        return view(found) if found is not None else None
