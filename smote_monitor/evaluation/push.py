"""Predictions and labels as they arrive (HTTP push, and every production source): the
late-label join over the dataset's ``label_lookback``, in SQL tables.

A push costs O(batch), whatever the backlog: it inserts its own predictions (a prediction id
seen before is a duplicate and changes nothing), looks up only the ids it carries, adds the
count changes of the labels it joins to the buckets of their predictions and to the dataset's
counters, and stages the new rows' features for the evaluation job to fold into their buckets —
all in one transaction.

The label rule: a label counts for its prediction when its timestamp is at most
``label_lookback`` after the prediction's (one stamped earlier waits for its prediction up to
the lookback). The same label again is a duplicate. A different label for a counted prediction
is a correction: the bucket's counts move it from the old outcome to the new one, while the
Prometheus counters only ever add — the new outcome is counted and ``label_corrections`` goes
up — so no counter decreases.
"""

from __future__ import annotations

import io
from collections import Counter as Tally
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from smote_monitor.config import DatasetConfig, Settings, duration_seconds
from smote_monitor.errors import InvalidInputError
from smote_monitor.evaluation.buckets import (
    BucketCounts,
    SliceLabeler,
    add_counts,
    admitted_values,
    bucket_start,
)
from smote_monitor.evaluation.reference import Reference, current_reference
from smote_monitor.records import utcnow
from smote_monitor.slices.values import key_texts
from smote_monitor.store import Store, counters, slice_state
from smote_monitor.store import buckets as bucket_rows
from smote_monitor.store.datasets import dataset_row
from smote_monitor.store.models import ID_MAX, PAIR_SEPARATOR, SLICE_SEPARATOR, VALUE_MAX
from smote_monitor.store.watermarks import save_watermark

Watermark = tuple[str, dict[str, Any]]
"""(source name, state): a source's progress, stored in the push's own transaction."""

TS = "__ts"
"""Column of the staged Arrow batches holding each row's timestamp (Unix seconds)."""


@dataclass(frozen=True)
class PushResult:
    """What a push did: rows accepted, duplicates (by id) ignored, labels joined."""

    accepted: int
    duplicates: int
    labels_joined: int

    def to_dict(self) -> dict[str, int]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "labels_joined": self.labels_joined,
        }


def listed(settings: Settings, dataset: str) -> DatasetConfig:
    """The config of a dataset the config lists (the status of any evaluated dataset)."""
    config = settings.datasets.get(dataset)
    if config is None:
        known = ", ".join(sorted(settings.datasets)) or "none are configured"
        raise InvalidInputError("dataset", dataset, f"a dataset of the config ({known})")
    return config


def configured(settings: Settings, dataset: str) -> DatasetConfig:
    """The dataset's config; pushes need the dataset in the config and its id column."""
    config = listed(settings, dataset)
    if config.id_column is None:
        raise InvalidInputError(
            f"datasets.{dataset}.id_column", None, "the id column that joins labels to predictions"
        )
    return config


def _check_columns(frame: Any, required: list[str], known: set[str], what: str) -> None:
    """Every required column present, and no column the dataset does not know."""
    for column in required:
        if column not in frame.columns:
            raise InvalidInputError(f"rows.{column}", None, f"a column of every {what} row")
    unknown = [str(c) for c in frame.columns if c not in known]
    if unknown:
        raise InvalidInputError(
            f"rows.{unknown[0]}",
            unknown[0],
            f"a known column of {what} rows ({', '.join(sorted(known))})",
        )


def _texts(frame: Any, column: str, limit: int, *, required: bool = True) -> list[Any]:
    """The column in its one text form (:func:`~smote_monitor.slices.values.key_texts`;
    missing values are None), checked: no missing value when ``required``, at most ``limit``
    characters, none of the separators the join stores values with."""
    raw = frame[column]
    missing = raw.isna().to_numpy()
    if required and missing.any():
        index = int(missing.argmax())
        raise InvalidInputError(f"rows.{index}.{column}", None, "a value (not null)")
    values = key_texts(raw)
    present = values[~missing] if missing.any() else values
    bad = _bad_texts(present, limit)
    if bad.any():
        index = int(bad.argmax())
        raise InvalidInputError(
            f"rows.{present.index[index]}.{column}",
            present.iloc[index],
            f"text of at most {limit} characters without the control characters \\x1e, \\x1f",
        )
    out: list[Any] = values.tolist()
    if missing.any():
        for index in missing.nonzero()[0]:
            out[index] = None
    return out


def _bad_texts(texts: Any, limit: int) -> Any:
    """Mask of the texts (a Series of str) longer than ``limit`` characters or holding a
    separator, computed by Arrow in one pass per test (pandas' ``.str`` loops in Python)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(texts) == 0:
        return np.zeros(0, dtype=bool)
    array = pa.array(texts.to_numpy(), type=pa.string())
    bad = pc.or_(
        pc.greater(pc.utf8_length(array), limit),
        pc.or_(
            pc.match_substring(array, SLICE_SEPARATOR),
            pc.match_substring(array, PAIR_SEPARATOR),
        ),
    )
    return bad.to_numpy(zero_copy_only=False)


def _classes(frame: Any, column: str, values: list[Any], reference: Reference) -> None:
    import pandas as pd

    allowed = reference.class_texts
    unknown = ~pd.Series(values, dtype=object).isin([*allowed, None]).to_numpy()
    if not unknown.any():
        return
    for index in unknown.nonzero()[0]:
        value = values[index]
        if value is not None and value not in allowed:
            raise InvalidInputError(
                f"rows.{index}.{column}",
                frame[column].iloc[index],
                f"one of the classes {reference.positive!r} and {reference.negative!r}",
            )


def _timestamps(frame: Any, column: str | None, now: float) -> list[float]:
    import pandas as pd

    if column is None or column not in frame.columns:
        return [now] * len(frame)
    raw = frame[column]
    fast = _arrow_iso_stamps(raw)
    if fast is not None:
        return fast
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        stamps = pd.to_datetime(raw, unit="s", utc=True, errors="coerce")
    else:
        # ISO 8601 (what clients send) parses in C; only a batch that is not all ISO 8601
        # pays for the per-value guessing of format="mixed".
        stamps = pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601")
        if stamps.isna().any():
            stamps = pd.to_datetime(raw, utc=True, errors="coerce", format="mixed")
    if stamps.isna().any():
        index = int(stamps.isna().to_numpy().argmax())
        raise InvalidInputError(
            f"rows.{index}.{column}",
            raw.iloc[index],
            "a timestamp (ISO 8601 text, or Unix seconds)",
        )
    return (stamps.astype("int64") / 1e9).tolist()


def _arrow_iso_stamps(raw: Any) -> list[float] | None:
    """Unix seconds of a column of ISO 8601 texts with a zone (``…Z``, ``…+01:00``), parsed
    by Arrow (8x pandas); None when the column is anything else, for the general path."""
    import pandas as pd
    import pyarrow as pa

    if raw.dtype != object or pd.api.types.infer_dtype(raw, skipna=False) != "string":
        return None
    try:
        stamps = pa.array(raw.to_numpy(), type=pa.string()).cast(pa.timestamp("ns", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    nanos = stamps.cast(pa.int64()).to_numpy(zero_copy_only=False)
    result: list[float] = (nanos / 1e9).tolist()
    return result


def _outcome(label: str, prediction: str, positive: str) -> str:
    if label == positive:
        return "tp" if prediction == positive else "fn"
    return "fp" if prediction == positive else "tn"


class _Counting:
    """Count changes of one push: per bucket (may withdraw) and for the counters (only add)."""

    def __init__(self, labeler: SliceLabeler, width: int) -> None:
        self.labeler = labeler
        self.width = width
        self.buckets: dict[float, BucketCounts] = {}
        self.labelled: Tally[float] = Tally()
        self.totals: Tally[counters.CounterKey] = Tally()

    def count(
        self, ts: float, slices: Mapping[str, str], outcome: str, *, withdraw: str | None
    ) -> None:
        start = bucket_start(ts, self.width)
        counts = self.buckets.setdefault(start, {})
        for label in self.labeler.labels(slices):
            add_counts(counts, label, outcome, 1)
            if withdraw is not None:
                add_counts(counts, label, withdraw, -1)
            self.totals[(counters.SLICE_PREDICTIONS, label, outcome)] += 1
        if withdraw is None:
            self.labelled[start] += 1
            self.totals[(counters.PRODUCTION_LABELED_ROWS, "", "")] += 1
        else:
            self.totals[(counters.LABEL_CORRECTIONS, "", "")] += 1

    def write(self, session: Session, dataset_id: int) -> None:
        rows = bucket_rows.buckets_for_update(session, dataset_id, sorted(self.buckets))
        for start, changes in self.buckets.items():
            bucket = rows.get(start) or bucket_rows.new_bucket(
                session, dataset_id, start, self.width
            )
            merged: BucketCounts = {k: dict(v) for k, v in (bucket.slice_counts or {}).items()}
            for label, confusion in changes.items():
                for outcome, change in confusion.items():
                    add_counts(merged, label, outcome, change)
            bucket.slice_counts = merged
            bucket.n_labeled = (bucket.n_labeled or 0) + self.labelled[start]
        counters.add(session, dataset_id, self.totals)


def _labeler(session: Session, dataset_id: int, config: DatasetConfig, ref: Reference) -> Any:
    stored = counters.counters_of(session, dataset_id)
    labels = {s for (name, s, _), _v in stored.items() if name == counters.SLICE_PREDICTIONS}
    return SliceLabeler(config, ref.slice_values, admitted_values(labels, config.slices))


def push_predictions(
    store: Store,
    settings: Settings,
    dataset: str,
    frame: Any,
    *,
    now: datetime | None = None,
    watermark: Watermark | None = None,
) -> PushResult:
    """Accept a batch of predictions (a DataFrame of the id, timestamp, prediction, slice and
    feature columns; the target column too when the label is already known).

    Raises
    ------
    InvalidInputError
        Unknown dataset; a missing or unknown column; an id, class, slice value or timestamp
        that cannot be stored. Nothing is written then.
    """
    config = configured(settings, dataset)
    reference = current_reference(store, config, dataset)
    features = list(reference.profiles)
    id_column = config.id_column
    assert id_column is not None
    ts_column = config.timestamp_column
    required = [id_column, config.prediction, *config.slices]
    if ts_column is not None:
        required.append(ts_column)
    _check_columns(frame, required, {*required, config.target, *features}, "prediction")
    if len(frame) == 0:
        _save_watermark(store, dataset, watermark)
        return PushResult(0, 0, 0)
    clock = (now or utcnow()).timestamp()
    keys = _texts(frame, id_column, ID_MAX)
    predictions = _texts(frame, config.prediction, VALUE_MAX)
    _classes(frame, config.prediction, predictions, reference)
    slices = {column: _texts(frame, column, VALUE_MAX) for column in config.slices}
    stamps = _timestamps(frame, ts_column, clock)
    labels: list[Any] = [None] * len(frame)
    if config.target in frame.columns:
        labels = _texts(frame, config.target, VALUE_MAX, required=False)
        _classes(frame, config.target, labels, reference)
    staged = _feature_batch(frame, features, reference, stamps)

    first: dict[str, int] = {}
    for index, key in enumerate(keys):
        first.setdefault(key, index)
    joined = (
        slice_state.join_slice_columns(list(slices), list(slices.values()))
        if slices
        else [""] * len(frame)
    )
    rows = [(key, stamps[i], predictions[i], joined[i]) for key, i in first.items()]
    lookback = duration_seconds(config.label_lookback)
    positive = reference.class_texts[0]
    with store.write() as session:
        dataset_id = dataset_row(session, dataset).id
        new = slice_state.insert_new_predictions(session, dataset_id, rows)
        accepted = rows if len(new) == len(rows) else [row for row in rows if row[0] in new]
        early: dict[str, tuple[str, float]] = {}
        if accepted and slice_state.has_early_labels(session, dataset_id):
            slice_state.load_batch_keys(session, [row[0] for row in accepted])
            early = slice_state.early_labels(session, dataset_id)
        counting = _Counting(_labeler(session, dataset_id, config, reference), _width(config))
        outcomes, joined_early = [], []
        for key, ts, prediction, _slices in accepted:
            index = first[key]
            label, label_ts = labels[index], ts
            waiting = early.get(key)
            if label is None and waiting is not None:
                label, label_ts = waiting
                joined_early.append(key)
            if label is None or label_ts - ts > lookback:
                continue
            outcome = _outcome(label, prediction, positive)
            outcomes.append({"key": key, "outcome": outcome, "label": label})
            values = {column: texts[index] for column, texts in slices.items()}
            counting.count(ts, values, outcome, withdraw=None)
        slice_state.set_outcomes(session, dataset_id, outcomes)
        slice_state.delete_early_labels(session, dataset_id, joined_early)
        counting.totals[(counters.PRODUCTION_ROWS, "", "")] += len(accepted)
        counting.write(session, dataset_id)
        if accepted:
            keep = [first[row[0]] for row in accepted]
            bucket_rows.stage(session, dataset_id, len(keep), ipc_stream(staged.take(keep)))
        if watermark is not None:
            save_watermark(session, dataset_id, *watermark)
    return PushResult(len(accepted), len(frame) - len(accepted), len(outcomes))


def push_labels(
    store: Store,
    settings: Settings,
    dataset: str,
    frame: Any,
    *,
    now: datetime | None = None,
    watermark: Watermark | None = None,
) -> PushResult:
    """Accept a batch of labels (a DataFrame of the id and target columns, and optionally the
    timestamp column; without it, a label is stamped with its arrival time).

    A label for a prediction not seen yet waits for it (up to the lookback). Within the batch,
    the last label of an id wins.
    """
    config = configured(settings, dataset)
    reference = current_reference(store, config, dataset)
    id_column = config.id_column
    assert id_column is not None
    known = {id_column, config.target}
    if config.timestamp_column is not None:
        known.add(config.timestamp_column)
    _check_columns(frame, [id_column, config.target], known, "label")
    if len(frame) == 0:
        _save_watermark(store, dataset, watermark)
        return PushResult(0, 0, 0)
    clock = (now or utcnow()).timestamp()
    keys = _texts(frame, id_column, ID_MAX)
    labels = _texts(frame, config.target, VALUE_MAX)
    _classes(frame, config.target, labels, reference)
    stamps = _timestamps(frame, config.timestamp_column, clock)
    last: dict[str, int] = {}
    for index, key in enumerate(keys):
        last[key] = index
    in_batch_repeats = len(frame) - len(last)
    lookback = duration_seconds(config.label_lookback)
    positive = reference.class_texts[0]
    with store.write() as session:
        dataset_id = dataset_row(session, dataset).id
        slice_state.load_batch_keys(session, list(last))
        found = slice_state.stored_predictions(session, dataset_id)
        counting = _Counting(_labeler(session, dataset_id, config, reference), _width(config))
        changes, waiting, duplicates, late = [], [], 0, 0
        for key, index in last.items():
            label, ts = labels[index], stamps[index]
            prediction = found.get(key)
            if prediction is None:
                waiting.append({"dataset_id": dataset_id, "key": key, "label": label, "ts": ts})
                continue
            if ts - prediction.ts > lookback:
                late += 1
                continue
            outcome = _outcome(label, prediction.prediction, positive)
            if prediction.outcome == outcome:
                duplicates += 1
                continue
            counting.count(
                prediction.ts,
                slice_state.split_slices(prediction.slices),
                outcome,
                withdraw=prediction.outcome,
            )
            changes.append({"key": key, "outcome": outcome, "label": label})
        slice_state.set_outcomes(session, dataset_id, changes)
        slice_state.save_early_labels(session, waiting)
        counting.write(session, dataset_id)
        if watermark is not None:
            save_watermark(session, dataset_id, *watermark)
    duplicates += in_batch_repeats
    return PushResult(len(frame) - duplicates - late, duplicates, len(changes))


def _save_watermark(store: Store, dataset: str, watermark: Watermark | None) -> None:
    if watermark is not None:
        with store.write() as session:
            save_watermark(session, dataset_row(session, dataset).id, *watermark)


def _width(config: DatasetConfig) -> int:
    return duration_seconds(config.window_bucket)


def _feature_batch(
    frame: Any, features: list[str], reference: Reference, stamps: list[float]
) -> Any:
    """The rows' timestamps and features as an Arrow table, numeric features as float64.

    A feature absent from the batch is staged as all missing: drift reports it (the feature
    broke upstream) rather than the push failing.
    """
    import numpy as np
    import pyarrow as pa

    from smote_monitor.drift import ColumnKind
    from smote_monitor.drift.columns import as_float_array

    columns: dict[str, Any] = {TS: pa.array(stamps, type=pa.float64())}
    for name in features:
        numeric = reference.profiles[name].kind is ColumnKind.NUMERIC
        if name not in frame.columns:
            columns[name] = pa.nulls(len(frame), pa.float64() if numeric else pa.string())
        elif numeric:
            columns[name] = pa.array(as_float_array(frame[name], f"rows.{name}"))
        elif _numeric_categories(frame[name], reference.profiles[name].categories):
            # Integer codes profiled as categories (0, 1, 2 …) stay numbers: as text they would
            # equal no reference category, and every window would look fully drifted.
            columns[name] = pa.array(frame[name].to_numpy(), from_pandas=True)
        else:
            raw = frame[name]
            texts = key_texts(raw).where(raw.notna().to_numpy(), None)
            columns[name] = pa.array(np.asarray(texts, dtype=object), type=pa.string())
    return pa.table(columns)


def _numeric_categories(values: Any, categories: tuple[Any, ...]) -> bool:
    """Pushed numbers for a categorical feature whose reference categories are all numbers."""
    import pandas as pd

    return (
        pd.api.types.is_numeric_dtype(values.dtype)
        and not pd.api.types.is_bool_dtype(values.dtype)
        and bool(categories)
        and all(isinstance(c, int | float) and not isinstance(c, bool) for c in categories)
    )


def ipc_stream(table: Any) -> bytes:
    """An Arrow table as an IPC stream (what staged batches hold, and what the push route reads)."""
    import pyarrow as pa

    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def read_staged(payload: bytes) -> Any:
    """A staged batch back as a DataFrame (timestamps in :data:`TS`)."""
    import pyarrow as pa

    return pa.ipc.open_stream(payload).read_all().to_pandas()


__all__ = ["TS", "PushResult", "configured", "push_labels", "push_predictions", "read_staged"]
