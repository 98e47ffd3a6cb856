"""Predictions and labels pushed as they come (the push API): joined by id over the dataset's
``label_lookback``; the join state and the cumulative counts are written in one transaction, so
a label that arrives late or twice keeps the counts right.

Slices fold by the same rule as a window's: a slice column the reference run profiled as
categorical keeps its ``max_slice_values`` most common training values, fixed when the counts
start. When the config's ``slices`` change, the stored counts follow (``all`` and the columns
kept carry over, new columns start empty) and the change is logged once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from smote_monitor.config import DatasetConfig, Settings, duration_seconds
from smote_monitor.drift.reference import REAL
from smote_monitor.errors import InvalidInputError
from smote_monitor.evaluation.reference import classes_of, reference_slice_values
from smote_monitor.slices import JoinState, Label, Prediction, SliceCounts, join_labels
from smote_monitor.store import Store
from smote_monitor.store.datasets import dataset_row
from smote_monitor.store.models import Run
from smote_monitor.store.profiles import load_profiles
from smote_monitor.store.runs import latest_succeeded_run
from smote_monitor.store.slice_state import save_slice_state, slice_state_for_update

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    newly_counted: int
    corrected: int
    duplicates: int
    pending: int
    counts: SliceCounts


def _timestamps(frame: Any, column: str | None, now: float) -> list[float]:
    import pandas as pd

    if column is None or column not in frame.columns:
        return [now] * len(frame)
    stamps = pd.to_datetime(frame[column], utc=True, errors="coerce")
    if stamps.isna().any():
        bad = frame[column][stamps.isna()].iloc[0]
        raise InvalidInputError(column, bad, "a timestamp (ISO 8601 or datetime)")
    return [t.timestamp() for t in stamps]


def _reference(store: Store, dataset: str, config: DatasetConfig) -> tuple[Run | None, Any]:
    """The reference run and the slice values it fixes (none before a run with profiles)."""
    with store.read() as session:
        run = latest_succeeded_run(session, dataset)
        profiles = load_profiles(session, run.id, REAL) if run is not None else {}
    return run, reference_slice_values(config, profiles)


def _stored_counts(
    dataset: str, config: DatasetConfig, stored: dict[str, Any] | None, known: Any
) -> SliceCounts:
    if stored is None:
        return SliceCounts(config.slices, max_values=config.max_slice_values, known_values=known)
    counts = SliceCounts.from_dict(stored)
    if list(counts.columns) != list(config.slices):
        log.warning(
            "dataset %s: slices changed from %s to %s; counts of the columns kept and of 'all' "
            "carry over, new columns start empty",
            dataset,
            list(counts.columns),
            list(config.slices),
        )
        counts = counts.resliced(config.slices, known)
    return counts


def ingest(
    store: Store,
    settings: Settings,
    dataset: str,
    *,
    predictions: Any = None,
    labels: Any = None,
    now: datetime | None = None,
) -> IngestResult:
    """Join pushed predictions and labels by id into the dataset's stored counts.

    ``predictions`` need the id, prediction and slice columns (and the timestamp column when
    configured); ``labels`` the id and target columns. State and counts change in one
    transaction.
    """
    config = settings.dataset(dataset)
    if config.id_column is None:
        raise InvalidInputError(
            f"datasets.{dataset}.id_column", None, "the id column that joins labels to predictions"
        )
    clock = (now or datetime.now(UTC)).timestamp()
    reference_run, known = _reference(store, dataset, config)
    class_keys = list(reference_run.class_counts_before) if reference_run else []
    positive, negative = classes_of(config, class_keys)
    preds: list[Prediction] = []
    if predictions is not None:
        for column in (config.id_column, config.prediction, *config.slices):
            if column not in predictions.columns:
                raise InvalidInputError(f"predictions.{column}", None, "a column of the batch")
        stamps = _timestamps(predictions, config.timestamp_column, clock)
        preds = [
            Prediction(row[0], row[1], tuple(zip(config.slices, row[2:], strict=True)), ts)
            for row, ts in zip(
                predictions[[config.id_column, config.prediction, *config.slices]].itertuples(
                    index=False, name=None
                ),
                stamps,
                strict=True,
            )
        ]
    labs: list[Label] = []
    if labels is not None:
        for column in (config.id_column, config.target):
            if column not in labels.columns:
                raise InvalidInputError(f"labels.{column}", None, "a column of the batch")
        stamps = _timestamps(labels, config.timestamp_column, clock)
        labs = [
            Label(i, y, ts)
            for (i, y), ts in zip(
                labels[[config.id_column, config.target]].itertuples(index=False, name=None),
                stamps,
                strict=True,
            )
        ]
    with store.write() as session:
        dataset_id = dataset_row(session, dataset).id
        row = slice_state_for_update(session, dataset_id)
        state = JoinState.from_dict(row.join_state) if row else JoinState()
        counts = _stored_counts(dataset, config, row.counts if row else None, known)
        new_state, deltas, stats = join_labels(
            state,
            preds,
            labs,
            slice_columns=config.slices,
            positive_class=positive,
            negative_class=negative,
            now=clock,
            lookback=duration_seconds(config.label_lookback),
            label_column=config.target,
            prediction_column=config.prediction,
        )
        # A prediction joined before a slice column was configured lacks it: it counts in
        # `all` and the columns it has.
        counts.apply(deltas, require_all=False)
        save_slice_state(
            session,
            dataset_id,
            row,
            join_state=new_state.to_dict(),
            counts=counts.to_dict(),
            new_predictions=len(preds),
            new_labeled=stats.newly_counted,
            updated_at=datetime.fromtimestamp(clock, UTC),
        )
    return IngestResult(
        stats.newly_counted, stats.corrected, stats.duplicates, len(new_state.pending), counts
    )
