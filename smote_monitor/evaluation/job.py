"""One evaluation cycle of a dataset — what the daemon's scheduler runs every ``evaluate_every``.

1. read what is new in the dataset's production source (SQL table or files) since its
   watermark and push it through the same path as the HTTP push;
2. fold the staged rows of every push into their time buckets' drift profiles;
3. compute each configured window — drift against the reference run and SLIs per slice, from
   the buckets it covers — and store it as an evaluation;
4. drop what has aged out: buckets older than the largest window, join rows older than the
   label lookback, evaluations older than the history kept.

Each step commits on its own, and each is idempotent (a pushed id is accepted once, a staged
batch is folded and deleted in one transaction), so a cycle interrupted anywhere — SIGTERM, a
crash, a store outage — is completed by the next one with nothing lost and nothing doubled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete

from smote_monitor.config import DatasetConfig, Settings, duration_seconds
from smote_monitor.evaluation.buckets import SliceLabeler, bucket_start, merge_counts
from smote_monitor.evaluation.push import TS, configured, read_staged
from smote_monitor.evaluation.reference import Reference, current_reference
from smote_monitor.records import utcnow
from smote_monitor.store import Store, slice_state
from smote_monitor.store import buckets as bucket_rows
from smote_monitor.store.database import rows_affected
from smote_monitor.store.datasets import dataset_row, find_dataset
from smote_monitor.store.evaluations import PRODUCTION, add_evaluation
from smote_monitor.store.models import Evaluation

log = logging.getLogger(__name__)

BUCKET_EXACT_CAP = 2_000
"""Distinct values a bucket's profile keeps exactly per feature (beyond: the mergeable
histogram on the reference's grid), so a bucket's size is bounded by features × bins."""
FOLD_ROWS = 100_000
"""Staged rows folded per transaction (at least one batch): bounds the cycle's memory."""
EVALUATION_HISTORY = timedelta(days=7)
"""How long window evaluations are kept (the latest of each window is the current state)."""


@dataclass
class CycleResult:
    dataset: str
    source_rows: int = 0
    folded_rows: int = 0
    windows: dict[str, int] = field(default_factory=dict)  # window -> evaluation id
    expired: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


Reader = Callable[[Store, Settings, str, datetime], int]
"""A production source: pushes what is new since its watermark, returns the rows read."""


def _source_reader(config: DatasetConfig) -> Reader | None:
    kind = config.production.kind
    if kind == "sql":
        from smote_monitor.sources.sql import read_new_rows

        return read_new_rows
    if kind == "files":
        from smote_monitor.sources.files import read_new_files

        return read_new_files
    return None  # push: rows arrive over HTTP


def evaluate_dataset(
    store: Store, settings: Settings, dataset: str, *, now: datetime | None = None
) -> CycleResult:
    """Run one evaluation cycle of ``dataset`` (see the module docstring)."""
    clock = now or utcnow()
    config = configured(settings, dataset)
    result = CycleResult(dataset)
    reader = _source_reader(config)
    if reader is not None:
        result.source_rows = reader(store, settings, dataset, clock)
    reference = current_reference(store, config, dataset)
    result.folded_rows = fold_staged(store, config, dataset, reference, clock)
    for window in config.windows:
        result.windows[window] = evaluate_window(store, config, dataset, reference, window, clock)
    result.expired = expire(store, config, dataset, clock)
    log.info(
        "evaluated %s: %d new source rows, %d rows folded, windows %s",
        dataset,
        result.source_rows,
        result.folded_rows,
        ", ".join(config.windows),
    )
    return result


def _bucket_settings(config: DatasetConfig) -> Any:
    from smote_monitor.drift import ProfileSettings

    chosen = config.drift.profile_settings()
    return ProfileSettings(
        exact_cap=min(chosen.exact_cap, BUCKET_EXACT_CAP),
        resolution=chosen.resolution,
        max_bins=chosen.max_bins,
    )


def fold_staged(
    store: Store, config: DatasetConfig, dataset: str, reference: Reference, now: datetime
) -> int:
    """Fold every staged batch into the drift profiles of its rows' buckets, and delete it.

    Rows older than the largest window are dropped unprofiled: their bucket is past every
    window (their labels still count, in the counters and the join)."""
    import numpy as np
    import pandas as pd

    from smote_monitor.drift import WindowAccumulator

    width = duration_seconds(config.window_bucket)
    horizon = now.timestamp() - max(duration_seconds(w) for w in config.windows) - width
    settings = _bucket_settings(config)
    features = list(reference.profiles)
    folded = 0
    while True:
        with store.write() as session:
            dataset_id = dataset_row(session, dataset).id
            staged = bucket_rows.staged_batches(session, dataset_id, FOLD_ROWS)
            if not staged:
                return folded
            frame = pd.concat([read_staged(b.payload) for b in staged], ignore_index=True)
            frame = frame[frame[TS] >= horizon]
            starts = np.floor(frame[TS].to_numpy() / width) * width
            rows = bucket_rows.buckets_for_update(session, dataset_id, sorted(set(starts.tolist())))
            for start, group in frame.groupby(starts, sort=True):
                bucket = rows.get(float(start)) or bucket_rows.new_bucket(
                    session, dataset_id, float(start), width
                )
                current = bucket.profiles if bucket.reference_run_id == reference.run_id else None
                acc = (
                    WindowAccumulator.from_dict(current)
                    if current
                    else WindowAccumulator.for_reference(reference.profiles, settings=settings)
                )
                missing = [name for name in features if name not in group.columns]
                batch = group.assign(**dict.fromkeys(missing, np.nan)) if missing else group
                bucket.profiles = acc.update(batch[features]).to_dict()
                bucket.reference_run_id = reference.run_id
                bucket.n_rows = (bucket.n_rows or 0) + len(group)
            bucket_rows.delete_staged(session, [b.id for b in staged])
            folded += sum(b.n_rows for b in staged)


def evaluate_window(
    store: Store,
    config: DatasetConfig,
    dataset: str,
    reference: Reference,
    window: str,
    now: datetime,
) -> int:
    """Merge the buckets ``window`` covers into drift and slice SLIs; store the evaluation."""
    from smote_monitor.drift import WindowAccumulator, compute_drift
    from smote_monitor.slices.counts import Confusion, SliceCounts
    from smote_monitor.slices.metrics import slice_metrics

    width = duration_seconds(config.window_bucket)
    end = bucket_start(now.timestamp(), width) + width
    start = end - duration_seconds(window)
    with store.read() as session:
        found = find_dataset(session, dataset)
        buckets = bucket_rows.buckets_since(session, found.id, start) if found else []
    profiled = [b for b in buckets if b.profiles and b.reference_run_id == reference.run_id]
    drift = None
    n_rows = sum(b.n_rows for b in buckets)
    if profiled:
        merged = WindowAccumulator.from_dict(profiled[0].profiles or {})
        for bucket in profiled[1:]:
            merged = merged.merge(WindowAccumulator.from_dict(bucket.profiles or {}))
        # A feature broken upstream (absent, or all NaN) is reported as drifted, not fatal.
        drift = compute_drift(reference.profiles, merged.profiles, flag_unusable=True)
    counts = merge_counts(b.slice_counts for b in buckets)
    for label in SliceLabeler(config, reference.slice_values, {}).known_labels():
        counts.setdefault(label, Confusion())
    tally = SliceCounts(config.slices, max_values=config.max_slice_values, counts=counts)
    slices = slice_metrics(tally, config.slo.min_slice_support)
    with store.write() as session:
        evaluation = add_evaluation(
            session,
            dataset=dataset,
            kind=PRODUCTION,
            window=window,
            evaluated_at=now,
            reference_run_id=reference.run_id,
            drift=drift,
            kinds={name: p.kind.value for name, p in reference.profiles.items()},
            slices=slices,
            n_rows=n_rows,
            n_labeled=sum(b.n_labeled for b in buckets),
            window_start=datetime.fromtimestamp(start, UTC),
            window_end=datetime.fromtimestamp(end, UTC),
        )
        return evaluation.id


def expire(store: Store, config: DatasetConfig, dataset: str, now: datetime) -> dict[str, int]:
    """Drop buckets older than the largest window, join rows older than the lookback, and
    window evaluations older than :data:`EVALUATION_HISTORY`."""
    width = duration_seconds(config.window_bucket)
    largest = max(duration_seconds(w) for w in config.windows)
    clock = now.timestamp()
    with store.write() as session:
        dataset_id = dataset_row(session, dataset).id
        buckets = bucket_rows.drop_buckets_before(
            session, dataset_id, bucket_start(clock, width) - largest
        )
        predictions, labels = slice_state.expire(
            session, dataset_id, clock - duration_seconds(config.label_lookback)
        )
        evaluations = rows_affected(
            session.execute(
                delete(Evaluation).where(
                    Evaluation.dataset_id == dataset_id,
                    Evaluation.kind == PRODUCTION,
                    Evaluation.window.in_(config.windows),
                    Evaluation.evaluated_at < now - EVALUATION_HISTORY,
                )
            )
        )
    return {
        "buckets": buckets,
        "predictions": predictions,
        "early_labels": labels,
        "evaluations": evaluations,
    }


__all__ = ["CycleResult", "evaluate_dataset", "evaluate_window", "expire", "fold_staged"]
