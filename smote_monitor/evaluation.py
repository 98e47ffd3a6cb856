"""Evaluating production data: drift against the reference run, and per-slice SLIs.

Two doors in:

- :func:`evaluate_batches` — one window of production rows (files, a query result) now, fed in
  batches so memory does not grow with the window (:func:`evaluate_frame` for a DataFrame):
  drift of its features against the reference run's real training profiles and, for the rows
  that carry a label, confusion counts and SLIs per slice. Stored as one evaluation.
- :func:`ingest` — predictions and labels arriving separately and late (the push API): joined by
  id over the dataset's ``label_lookback``; the join state and the cumulative counts are written
  in one transaction, so a label that arrives late or twice keeps the counts right.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from smote_monitor.config import DatasetConfig, Settings, duration_seconds
from smote_monitor.drift import (
    ColumnKind,
    DatasetDrift,
    FeatureProfile,
    WindowAccumulator,
    compute_drift,
)
from smote_monitor.errors import InvalidInputError
from smote_monitor.records import utcnow
from smote_monitor.slices import (
    JoinState,
    Label,
    Prediction,
    SliceCounts,
    SliceMetrics,
    count_batch,
    join_labels,
    slice_metrics,
)
from smote_monitor.sources import SOURCE
from smote_monitor.store import Store
from smote_monitor.store.evaluations import (
    PRODUCTION,
    REAL,
    add_evaluation,
    latest_reference_run,
    reference_profiles,
)
from smote_monitor.store.models import Run, SliceState
from smote_monitor.store.runs import dataset_row

log = logging.getLogger(__name__)

BATCH_ROWS = 250_000
"""Rows of an in-memory frame that :func:`evaluate_frame` feeds at once (views, not copies)."""


@dataclass(frozen=True)
class WindowResult:
    evaluation_id: int
    dataset: str
    window: str
    reference_run_id: int
    n_rows: int
    n_labeled: int
    drift: DatasetDrift
    slices: list[SliceMetrics]
    folded_rows: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "evaluation_id": self.evaluation_id,
            "dataset": self.dataset,
            "window": self.window,
            "reference_run_id": self.reference_run_id,
            "n_rows": self.n_rows,
            "n_labeled": self.n_labeled,
            "drift": _clean(self.drift.to_dict()),
            "slices": [_clean(m.to_dict()) for m in self.slices],
            "folded_rows": self.folded_rows,
        }


def _clean(value: Any) -> Any:
    """NaN → None, so the JSON output is valid JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _classes(config: DatasetConfig, class_keys: list[str]) -> tuple[Any, Any]:
    """The positive (minority) class and the other one, typed like ``positive_class``."""
    positive = config.positive_class
    others = [key for key in class_keys if key != str(positive)]
    if str(positive) not in class_keys or len(others) != 1:
        raise InvalidInputError(
            "positive_class",
            positive,
            f"one of the two classes of the reference run (it has {sorted(class_keys)})",
        )
    negative: Any = others[0]
    if isinstance(positive, int):
        with contextlib.suppress(ValueError):
            negative = int(negative)
    return positive, negative


def _batches(frame: Any, rows: int = BATCH_ROWS) -> Iterator[Any]:
    for start in range(0, len(frame), rows):
        yield frame.iloc[start : start + rows]


def _reference_slice_values(
    config: DatasetConfig, reference: dict[str, FeatureProfile]
) -> dict[str, list[Any]]:
    """The own slices of each slice column the reference profiled as categorical: its
    ``max_slice_values`` most common training values.

    Every window then reports the same slices (stable Prometheus series), and rare values fold
    into ``other`` whatever order rows arrive in. Slice columns that are not profiled
    categorical features fall back to first come, first served.
    """
    return {
        column: reference[column].most_common(config.max_slice_values)
        for column in config.slices
        if column in reference and reference[column].kind is ColumnKind.CATEGORICAL
    }


class _Window:
    """What an evaluation keeps of a window while its batches stream by: fixed-size
    accumulators (feature profiles, confusion counts per slice) and row counts."""

    def __init__(
        self, dataset: str, config: DatasetConfig, run: Run, reference: dict[str, FeatureProfile]
    ) -> None:
        self.dataset = dataset
        self.config = config
        self.run = run
        self.reference = reference
        self.profiles = WindowAccumulator.for_reference(
            reference, settings=config.drift.profile_settings()
        )
        self.counts = SliceCounts(
            config.slices,
            max_values=config.max_slice_values,
            known_values=_reference_slice_values(config, reference),
        )
        self.classes: tuple[Any, Any] | None = None
        self.n_rows = 0
        self.n_labeled = 0

    def add(self, batch: Any) -> None:
        """Check one batch and fold it into the accumulators."""
        for name in self.reference:
            if name not in batch.columns:
                raise InvalidInputError(
                    f"production.{name}",
                    batch.attrs.get(SOURCE),
                    f"a column of every production file (reference run {self.run.id} "
                    f"profiled {len(self.reference)} features)",
                )
        # Slices are part of the dataset's contract, labelled or not: a window lacking one
        # would otherwise pass until its first label arrives.
        for name in self.config.slices:
            if name not in batch.columns:
                raise InvalidInputError(
                    f"production.{name}",
                    batch.attrs.get(SOURCE),
                    f"a column of every production file (a slice column of dataset {self.dataset})",
                )
        # Feeding the batch itself (not batch[features]) spares a copy of every feature column.
        self.profiles.update(batch)
        self.n_rows += len(batch)
        config = self.config
        if config.target not in batch.columns:
            return
        labelled = batch[config.target].notna()
        if not labelled.any():
            return
        if config.prediction not in batch.columns:
            raise InvalidInputError(
                "prediction",
                config.prediction,
                "a column of the production data (labelled "
                "rows need the model's prediction to be scored)",
            )
        if self.classes is None:
            self.classes = _classes(config, list(self.run.class_counts_before))
        rows = batch if labelled.all() else batch[labelled]
        self.counts.apply(
            count_batch(rows, config.slices, config.target, config.prediction, *self.classes)
        )
        self.n_labeled += len(rows)


def evaluate_batches(
    store: Store,
    settings: Settings,
    dataset: str,
    batches: Iterable[Any],
    *,
    window: str = "adhoc",
    now: datetime | None = None,
) -> WindowResult:
    """Drift and slice SLIs of one window of production rows fed in batches, stored as one
    evaluation.

    Memory does not grow with the window: each batch (a DataFrame, e.g. from
    :func:`smote_monitor.sources.production_batches`) is checked and folded into fixed-size
    accumulators, then dropped. The store is written once, after the last batch.

    Raises
    ------
    InvalidInputError
        No succeeded run, or the newest one has no profiles; a reference feature or a configured
        slice column (labelled rows or not) missing from a batch (naming its file when it came
        from one); a label or prediction outside the two classes; no rows; a feature empty after
        dropping NaN/inf. Nothing is stored then.
    """
    config = settings.dataset(dataset)
    reference_run, reference = reference_profiles(store, dataset, REAL)
    scored = _Window(dataset, config, reference_run, reference)
    for batch in batches:
        scored.add(batch)
    if scored.n_rows == 0:
        raise InvalidInputError("production", "0 rows", "at least one production row")
    drift = compute_drift(reference, scored.profiles.profiles)
    counts = scored.counts
    slices = slice_metrics(counts, config.slo.min_slice_support) if scored.n_labeled else []
    evaluated_at = now or utcnow()
    with store.write() as session:
        evaluation = add_evaluation(
            session,
            dataset=dataset,
            kind=PRODUCTION,
            window=window,
            evaluated_at=evaluated_at,
            reference_run_id=reference_run.id,
            drift=drift,
            kinds={name: profile.kind.value for name, profile in reference.items()},
            slices=slices,
            n_rows=scored.n_rows,
            n_labeled=scored.n_labeled,
        )
        evaluation_id = evaluation.id
    log.info(
        "evaluated %s window %s: %d rows, drift share %.2f, %d labelled",
        dataset,
        window,
        scored.n_rows,
        drift.share,
        scored.n_labeled,
    )
    return WindowResult(
        evaluation_id,
        dataset,
        window,
        reference_run.id,
        scored.n_rows,
        scored.n_labeled,
        drift,
        slices,
        dict(counts.folded_rows),
    )


def evaluate_frame(
    store: Store,
    settings: Settings,
    dataset: str,
    frame: Any,
    *,
    window: str = "adhoc",
    now: datetime | None = None,
) -> WindowResult:
    """:func:`evaluate_batches` of a window already in memory (a DataFrame)."""
    return evaluate_batches(store, settings, dataset, _batches(frame), window=window, now=now)


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


def ingest(
    store: Store,
    settings: Settings,
    dataset: str,
    *,
    predictions: Any = None,
    labels: Any = None,
    now: datetime | None = None,
    class_keys: list[str] | None = None,
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
    if class_keys is None:
        reference_run = latest_reference_run(store, dataset)
        class_keys = list(reference_run.class_counts_before) if reference_run else []
    positive, negative = _classes(config, class_keys)
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
        query = select(SliceState).where(SliceState.dataset_id == dataset_id)
        if store.backend == "postgresql":
            query = query.with_for_update()
        row = session.scalars(query).one_or_none()
        state = JoinState.from_dict(row.join_state) if row else JoinState()
        counts = (
            SliceCounts.from_dict(row.counts)
            if row
            else SliceCounts(config.slices, max_values=config.max_slice_values)
        )
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
        counts.apply(deltas)
        if row is None:
            row = SliceState(dataset_id=dataset_id, n_predictions=0, n_labeled=0)
            session.add(row)
        row.join_state = new_state.to_dict()
        row.counts = counts.to_dict()
        row.n_predictions = (row.n_predictions or 0) + len(preds)
        row.n_labeled = (row.n_labeled or 0) + stats.newly_counted
        row.updated_at = datetime.fromtimestamp(clock, UTC)
    return IngestResult(
        stats.newly_counted, stats.corrected, stats.duplicates, len(new_state.pending), counts
    )
