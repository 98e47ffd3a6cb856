"""One window of production rows evaluated now: drift of its features against the reference
run's real training profiles and, for the rows that carry a label, confusion counts and SLIs per
slice. Fed in batches so memory does not grow with the window; stored as one evaluation.

A feature that broke upstream is what a drift monitor exists to report, so it never stops the
evaluation: a reference feature absent from a batch (method ``missing``) or without one finite
value in the window (method ``empty``) is stored flagged as drifted and counted in the drift
share. A slice or prediction column missing is different — the SLIs cannot be computed — so
the drift is stored without slices and :class:`SlicesNotScoredError` says so.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from smote_monitor.config import DatasetConfig, Settings
from smote_monitor.conventions import DRIFT_EMPTY, DRIFT_MISSING
from smote_monitor.drift import (
    DatasetDrift,
    FeatureProfile,
    WindowAccumulator,
    compute_drift,
)
from smote_monitor.drift.reference import REAL
from smote_monitor.errors import InvalidInputError
from smote_monitor.evaluation.reference import (
    classes_of,
    reference_profiles,
    reference_slice_values,
)
from smote_monitor.records import utcnow
from smote_monitor.slices import SliceCounts, SliceMetrics, count_batch, slice_metrics
from smote_monitor.sources.files import DEFAULT_BATCH_ROWS, SOURCE
from smote_monitor.store import Store
from smote_monitor.store.evaluations import DASK, LOCAL, PRODUCTION, add_evaluation
from smote_monitor.store.models import Run

log = logging.getLogger(__name__)


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
    missing_features: dict[str, str | None]
    """Reference features absent from the window → the first file lacking them (if known)."""
    partitions: int | None = None
    """Partitions folded on Dask and merged (:mod:`~smote_monitor.evaluation.partitioned`);
    ``None`` when the window was folded in this process."""
    part_bytes: tuple[int, ...] = ()
    """Size of each partition's accumulators as they left its worker (pickled bytes)."""

    def problems(self) -> list[str]:
        """One plain sentence per feature flagged broken, in reference order."""
        out = []
        for r in self.drift.features:
            if r.method == DRIFT_MISSING:
                source = self.missing_features.get(r.feature)
                where = f" ({source})" if source else ""
                out.append(
                    f"feature {r.feature}: column missing from production{where} — "
                    "flagged as drifted"
                )
            elif r.method == DRIFT_EMPTY:
                out.append(
                    f"feature {r.feature}: no finite value in {self.n_rows:,} production rows "
                    "(all NaN/inf/missing) — flagged as drifted"
                )
        return out

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
            "problems": self.problems(),
            "engine": LOCAL if self.partitions is None else DASK,
            "partitions": self.partitions,
        }


class SlicesNotScoredError(InvalidInputError):
    """A slice or prediction column is missing: the window's drift was stored (``result``), its
    slice SLIs were not."""

    def __init__(self, cause: InvalidInputError, result: WindowResult) -> None:
        super().__init__(
            cause.field,
            cause.value,
            f"{cause.expected}; drift was stored as evaluation {result.evaluation_id}, slice "
            "SLIs were not",
        )
        self.result = result


def _clean(value: Any) -> Any:
    """NaN → None, so the JSON output is valid JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _batches(frame: Any, rows: int = DEFAULT_BATCH_ROWS) -> Iterator[Any]:
    for start in range(0, len(frame), rows):
        yield frame.iloc[start : start + rows]


class _Window:
    """What an evaluation keeps of a window while its batches stream by: fixed-size
    accumulators (feature profiles, confusion counts per slice) and row counts.

    Two windows of the same dataset and reference merge (:meth:`merge`), so a window can be
    folded in parts — partitions on Dask workers — and the parts combined. ``class_keys`` are
    the reference run's class labels (``run.class_counts_before``), kept instead of the run so
    a window can travel to another process. ``known_slices`` fix slice columns' own values
    (default: those :func:`reference_slice_values` fixes).
    """

    def __init__(
        self,
        dataset: str,
        config: DatasetConfig,
        class_keys: list[str],
        reference: dict[str, FeatureProfile],
        *,
        workers: int | None = None,
        known_slices: dict[str, list[Any]] | None = None,
    ) -> None:
        self.dataset = dataset
        self.config = config
        self.class_keys = class_keys
        self.reference = reference
        self.profiles = WindowAccumulator.for_reference(
            reference, workers=workers, settings=config.drift.profile_settings()
        )
        self.counts = SliceCounts(
            config.slices,
            max_values=config.max_slice_values,
            known_values=reference_slice_values(config, reference)
            if known_slices is None
            else known_slices,
        )
        self.classes: tuple[Any, Any] | None = None
        self.missing_features: dict[str, str | None] = {}
        self.sli_error: InvalidInputError | None = None
        self.n_rows = 0
        self.n_labeled = 0

    def add(self, batch: Any) -> None:
        """Check one batch and fold it into the accumulators."""
        lost = {
            name
            for name in self.reference
            if name not in batch.columns and name not in self.missing_features
        }
        if lost:
            # A feature absent from part of the window is flagged for the whole window.
            self.missing_features.update(dict.fromkeys(sorted(lost), batch.attrs.get(SOURCE)))
            self.profiles = self.profiles.without(lost)
        # Slices are part of the dataset's contract, labelled or not: a window lacking one
        # would otherwise pass until its first label arrives.
        for name in self.config.slices:
            if name not in batch.columns and self.sli_error is None:
                self.sli_error = InvalidInputError(
                    f"production.{name}",
                    batch.attrs.get(SOURCE),
                    f"a column of every production file (a slice column of dataset {self.dataset})",
                )
        # Feeding the batch itself (not batch[features]) spares a copy of every feature column.
        self.profiles.update(batch)
        self.n_rows += len(batch)
        config = self.config
        if self.sli_error is not None or config.target not in batch.columns:
            return
        labelled = batch[config.target].notna()
        if not labelled.any():
            return
        if config.prediction not in batch.columns:
            self.sli_error = InvalidInputError(
                "prediction",
                config.prediction,
                "a column of the production data (labelled "
                "rows need the model's prediction to be scored)",
            )
            return
        if self.classes is None:
            self.classes = classes_of(config, self.class_keys)
        rows = batch if labelled.all() else batch[labelled]
        self.counts.apply(
            count_batch(rows, config.slices, config.target, config.prediction, *self.classes)
        )
        self.n_labeled += len(rows)

    def merge(self, later: _Window) -> _Window:
        """This window followed by ``later`` (rows of both; order kept where it matters: the
        first file lacking a feature, the first slice error, categories in order of arrival)."""
        out = copy.copy(self)
        lost = set(self.missing_features) | set(later.missing_features)
        mine = self.profiles.without(lost - set(self.missing_features))
        theirs = later.profiles.without(lost - set(later.missing_features))
        out.profiles = mine.merge(theirs)
        out.counts = self.counts.merge(later.counts)
        out.missing_features = {**later.missing_features, **self.missing_features}
        out.sli_error = self.sli_error if self.sli_error is not None else later.sli_error
        out.classes = self.classes if self.classes is not None else later.classes
        out.n_rows = self.n_rows + later.n_rows
        out.n_labeled = self.n_labeled + later.n_labeled
        return out


def start_window(
    store: Store, settings: Settings, dataset: str, **options: Any
) -> tuple[Run, _Window]:
    """The reference run of the dataset's next window and an empty window against it."""
    config = settings.dataset(dataset)
    reference_run, reference = reference_profiles(store, dataset, REAL)
    window = _Window(dataset, config, list(reference_run.class_counts_before), reference, **options)
    return reference_run, window


def store_window(
    store: Store,
    settings: Settings,
    reference_run: Run,
    scored: _Window,
    *,
    window: str = "adhoc",
    now: datetime | None = None,
    partitions: int | None = None,
    part_bytes: tuple[int, ...] = (),
) -> WindowResult:
    """Drift and slice SLIs of a folded window, stored as one evaluation (one transaction).

    ``partitions`` (a window folded on Dask) is stored with it, engine ``dask``; without it the
    evaluation's engine is ``local``.

    Raises as :func:`evaluate_batches` does, after its last batch.
    """
    dataset, config, reference = scored.dataset, scored.config, scored.reference
    if scored.n_rows == 0:
        raise InvalidInputError("production", "0 rows", "at least one production row")
    drift = compute_drift(reference, scored.profiles.profiles, flag_unusable=True)
    counts = scored.counts
    if scored.sli_error is not None:
        scored.n_labeled = 0
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
            partitions=partitions,
        )
        evaluation_id = evaluation.id
    log.info(
        "evaluated %s window %s%s: %d rows, drift share %.2f, %d labelled",
        dataset,
        window,
        "" if partitions is None else f" on Dask ({partitions} partitions)",
        scored.n_rows,
        drift.share,
        scored.n_labeled,
    )
    result = WindowResult(
        evaluation_id,
        dataset,
        window,
        reference_run.id,
        scored.n_rows,
        scored.n_labeled,
        drift,
        slices,
        dict(counts.folded_rows) if scored.sli_error is None else {},
        dict(scored.missing_features),
        partitions,
        part_bytes,
    )
    for problem in result.problems():
        log.warning("%s %s: %s", dataset, window, problem)
    if scored.sli_error is not None:
        raise SlicesNotScoredError(scored.sli_error, result)
    return result


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
    SlicesNotScoredError
        A configured slice column (labelled rows or not) or, for labelled rows, the prediction
        column missing from a batch (naming its file when it came from one). The drift is
        stored then, without slices; the error carries the :class:`WindowResult`.
    InvalidInputError
        No succeeded run, or the newest one has no profiles; a label or prediction outside the
        two classes; no rows. Nothing is stored then.

    A reference feature missing from a batch or empty after dropping NaN/inf is no error: it
    is stored flagged drifted (see the module docstring and :meth:`WindowResult.problems`).
    """
    reference_run, scored = start_window(store, settings, dataset)
    for batch in batches:
        scored.add(batch)
    return store_window(store, settings, reference_run, scored, window=window, now=now)


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
