"""The ``/metrics`` collector: every family of the catalog, built at scrape time from the store.

:class:`StoreCollector` keeps no metric objects: each scrape reads the store in one read session
(a handful of set-based queries, none per dataset, window or slice) and yields exactly the
families of :data:`smote_monitor.conventions.CATALOG`, in its order — a family with nothing to
report is still yielded, empty, so ``# HELP``/``# TYPE`` never come and go.

What each family reports, and the choices made:

- **Run gauges** describe the dataset's latest *succeeded* run (newest ``finished_at``): the run
  that produced a training set, whether or not it passed its gate. A run that errored has no
  ratio, gap or gate to show; it is counted in ``smote_runs_total{outcome="error"}`` and leaves
  the gauges on the last run that has them. ``smote_run_info`` names that run (``run_id`` is the
  store's run id, the one ``/api/v1/runs/{id}/report`` takes). A value the run did not record
  (``None``) is left out rather than exported as 0.
- ``smote_run_in_progress`` is 1 while any run of the dataset is ``running``, else 0, for every
  dataset that has runs.
- ``smote_runs_total{outcome}`` is counted from the runs table: ``passed`` / ``gate_failed`` are
  the succeeded runs by gate (no gate recorded counts as passed), ``error`` is every failed attempt
  — ``attempts`` of a failed run, ``attempts - 1`` of any other (a run retried to success keeps its
  failures counted). Runs are never deleted and a succeeded run is never replaced, so the three
  only grow, on any replica, across restarts. Every outcome is exported, 0 when none.
- **Drift gauges** (``smote_feature_drift_score{feature,method}``,
  ``smote_feature_drift_detected``, ``smote_dataset_drift_share``) come from the latest
  production evaluation of the dataset's *first configured window* (``windows[0]``, ``1h`` by
  default): one drift verdict per feature, so the series are the same whatever the number of
  windows. Configure the window alerts should see first.
- ``smote_synthetic_shift_score`` is the ``synthetic_shift`` evaluation of the run the run
  gauges describe.
- **Slice gauges** come from the latest production evaluation of every *configured* window (a
  window removed from the config stops being exported). A rate whose denominator was 0 is stored
  as NULL and is left out, never exported as NaN: PromQL comparisons with NaN are always false,
  so an absent series is the honest "no data" (``absent()`` sees it, an alert does not fire on
  it). Slice labels arrive already folded at ingestion (a column's values beyond its
  ``max_slice_values`` share the fold bucket, :data:`~smote_monitor.conventions.SLICE_OTHER`).
- **Store counters** (the ``counters`` table) are exported as they are:
  ``smote_slice_predictions_total`` (every confusion outcome of a slice, 0 for one not seen yet,
  so a first increment is not lost to ``rate()``), ``smote_production_rows_total``,
  ``smote_production_labeled_rows_total``, ``smote_production_files_quarantined_total``. They
  only ever add, so they never decrease across restarts or replicas. A corrected label is
  counted under its new outcome and never withdrawn from the old one (so after a correction the
  outcomes sum to more than the labelled rows); ``smote_slice_label_corrections_total`` counts
  the corrections, so ``rate()`` of the outcomes minus the corrections is the labelled rate.
- ``smote_drift_last_evaluation_timestamp_seconds`` is the newest production evaluation of the
  dataset, any window.
- **Job metrics** come from ``job_stats``: the histogram's buckets are the stored cumulative counts
  per bound of :data:`~smote_monitor.conventions.JOB_DURATION_BUCKETS` (``+Inf`` = runs).
- ``smote_monitor_build_info{version}`` is always 1; ``smote_monitor_store_up`` is 1 when this
  scrape read the store. When it could not (store down, schema behind, any database error), the
  scrape still answers: build info, ``store_up`` 0, the process's own series-dropped counter, and
  nothing read from the store — no stale value is exported as if current.

**Cost.** A scrape is about ten statements whatever the number of datasets, windows, slices or
features. Evaluations accumulate (one per window and cycle), so the current ones are found among
the recent ones (``evaluated_at`` index, a horizon of three evaluation cycles, at least an hour);
only a dataset with a configured window missing there has its whole history ranked.

**Series cap.** Beyond ``max_series`` series in one scrape, whole series are left out, lowest
priority first: feature-level drift (score, verdict and synthetic shift of a feature together),
then slice SLI gauges (the seven gauges of a slice and window together), then slice counters, then
dataset-level series; the monitor's own series are never dropped. Within a level, each dataset's
``all`` slice goes first and datasets take turns, so a big dataset cannot crowd out the others,
and the same series survive from one scrape to the next. The series left out are counted in
``smote_monitor_series_dropped_total{reason="series_cap"}``, kept by the collector for the life
of the process (monotonic); like any process counter it restarts at 0 with the process, which
``rate()``/``increase()`` read as a counter reset.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from smote_monitor import conventions as c
from smote_monitor._version import __version__
from smote_monitor.config import DatasetConfig, Settings, duration_seconds
from smote_monitor.conventions import MetricSpec, MetricType
from smote_monitor.errors import SmoteMonitorError
from smote_monitor.records import RunStatus
from smote_monitor.store import Store
from smote_monitor.store.counters import (
    FILES_QUARANTINED,
    LABEL_CORRECTIONS,
    PRODUCTION_LABELED_ROWS,
    PRODUCTION_ROWS,
    SLICE_PREDICTIONS,
)
from smote_monitor.store.evaluations import PRODUCTION, SYNTHETIC_SHIFT
from smote_monitor.store.models import (
    Counter,
    Dataset,
    DriftResultRow,
    Evaluation,
    JobStat,
    Run,
    RunMetric,
    SliceResultRow,
)

log = logging.getLogger(__name__)


_COUNTER_FAMILIES = {
    PRODUCTION_ROWS: c.PRODUCTION_ROWS,
    PRODUCTION_LABELED_ROWS: c.PRODUCTION_LABELED_ROWS,
    LABEL_CORRECTIONS: c.SLICE_LABEL_CORRECTIONS,
    FILES_QUARANTINED: c.PRODUCTION_FILES_QUARANTINED,
}

# Run gauges: family -> column of the latest run (booleans become 1/0, datetimes Unix seconds).
_RUN_GAUGES: tuple[tuple[MetricSpec, str], ...] = (
    (c.RUN_SYNTHETIC_RATIO, "synthetic_ratio"),
    (c.RUN_SAMPLES_GENERATED, "n_synthetic"),
    (c.RUN_VALIDATION_GAP, "validation_gap"),
    (c.RUN_GATE_PASSED, "gate_passed"),
    (c.RUN_DURATION_SECONDS, "duration_seconds"),
    (c.RUN_PEAK_MEMORY_BYTES, "peak_memory_bytes"),
    (c.RUN_LAST_TIMESTAMP_SECONDS, "finished_at"),
    (c.RUN_SYNTHETIC_NEAR_DUPLICATE_RATIO, "near_duplicate_ratio"),
    (c.RUN_LEAKAGE_SUSPECTED, "leakage_suspected"),
)
_RUN_COLUMNS = tuple(getattr(Run, column) for _, column in _RUN_GAUGES)

# Slice gauges: family -> column of slice_results.
_SLICE_GAUGES: tuple[tuple[MetricSpec, str], ...] = (
    (c.SLICE_RECALL, "recall"),
    (c.SLICE_PRECISION, "precision"),
    (c.SLICE_F1, "f1"),
    (c.SLICE_FALSE_POSITIVE_RATE, "false_positive_rate"),
    (c.SLICE_RECALL_LOWER, "recall_lower"),
    (c.SLICE_RECALL_UPPER, "recall_upper"),
    (c.SLICE_SUPPORT, "support"),
)
_SLICE_COLUMNS = tuple(getattr(SliceResultRow, column) for _, column in _SLICE_GAUGES)

# The series cap's priority: a family's level and the labels that make one droppable unit.
# Lower levels are dropped first; level 0 is never dropped.
_NEVER_DROPPED = 0
_LEVELS: dict[str, tuple[int, tuple[str, ...]]] = {
    **{
        spec.name: (1, (c.LABEL_DATASET, c.LABEL_FEATURE))
        for spec in (c.FEATURE_DRIFT_SCORE, c.FEATURE_DRIFT_DETECTED, c.SYNTHETIC_SHIFT_SCORE)
    },
    **{
        spec.name: (2, (c.LABEL_DATASET, c.LABEL_SLICE, c.LABEL_WINDOW))
        for spec, _ in _SLICE_GAUGES
    },
    c.SLICE_PREDICTIONS.name: (3, (c.LABEL_DATASET, c.LABEL_SLICE)),
    **{
        spec.name: (_NEVER_DROPPED, spec.labels)
        for spec in (
            c.MONITOR_BUILD_INFO,
            c.MONITOR_STORE_UP,
            c.MONITOR_JOB_DURATION_SECONDS,
            c.MONITOR_JOB_FAILURES,
            c.MONITOR_JOB_LAST_SUCCESS_TIMESTAMP_SECONDS,
            c.MONITOR_SERIES_DROPPED,
        )
    },
}
_DATASET_LEVEL = (4, (c.LABEL_DATASET,))
"""Every other family: one dataset's run, drift-share, timestamp and production series."""


def _level(spec: MetricSpec) -> tuple[int, tuple[str, ...]]:
    return _LEVELS.get(spec.name, _DATASET_LEVEL)


@dataclass(frozen=True, slots=True)
class _Histogram:
    buckets: list[tuple[str, float]]
    sum: float


@dataclass
class _Samples:
    """The series of one scrape, per family: labels -> value (or histogram)."""

    by_family: dict[str, dict[tuple[str, ...], float | _Histogram]] = field(
        default_factory=lambda: defaultdict(dict)
    )

    def add(self, spec: MetricSpec, labels: Iterable[str], value: Any) -> None:
        """Add one series; a value that is missing or not a finite number is left out."""
        number = _number(value)
        if number is not None:
            self.by_family[spec.name][tuple(labels)] = number

    def add_histogram(self, spec: MetricSpec, labels: Iterable[str], value: _Histogram) -> None:
        self.by_family[spec.name][tuple(labels)] = value


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _series_count(value: float | _Histogram) -> int:
    # A histogram is one series per bucket, plus _sum and _count.
    return len(value.buckets) + 2 if isinstance(value, _Histogram) else 1


class StoreCollector(Collector):
    """Every metric of the catalog, read from ``store`` at scrape time.

    Parameters
    ----------
    store : Store
    settings : Settings
        The datasets' configured windows (which evaluations are current).
    max_series : int, optional
        Series one scrape exports at most; default ``settings.max_series``.
    version : str, optional
        ``smote_monitor_build_info{version}``.

    Examples
    --------
    >>> from prometheus_client import CollectorRegistry, generate_latest
    >>> registry = CollectorRegistry()
    >>> registry.register(StoreCollector(store, settings))  # doctest: +SKIP
    >>> generate_latest(registry)  # doctest: +SKIP
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        max_series: int | None = None,
        version: str = __version__,
    ) -> None:
        self.store = store
        self.settings = settings
        self.max_series = settings.max_series if max_series is None else max_series
        if self.max_series < 1:
            raise ValueError(f"max_series: got {self.max_series}; expected an int >= 1")
        self.version = version
        self._lock = threading.Lock()
        self._series_dropped = 0
        self._store_up = True
        self._last_dropped = 0

    def describe(self) -> list[Metric]:
        # Registering must not query the store; the registry accepts an empty description.
        return []

    def collect(self) -> Iterator[Metric]:
        # Everything is read and built before the first family is yielded, so a failure can't
        # leave a scrape half-written.
        try:
            with self.store.read() as session:
                _one_snapshot(session)
                samples = read_samples(session, self.settings)
            up = True
        except (SmoteMonitorError, SQLAlchemyError) as exc:
            samples, up = _Samples(), False
            error = exc
        samples.add(c.MONITOR_BUILD_INFO, (self.version,), 1)
        samples.add(c.MONITOR_STORE_UP, (), 1 if up else 0)
        samples.add(c.MONITOR_SERIES_DROPPED, (c.REASON_SERIES_CAP,), 0)  # its place in the cap
        dropped = _apply_cap(samples, self.max_series)
        with self._lock:
            self._series_dropped += dropped
            total_dropped = self._series_dropped
            # Say what changed, once, not every scrape (Prometheus scrapes every few seconds).
            was_up, self._store_up = self._store_up, up
            dropped_before, self._last_dropped = self._last_dropped, dropped
        if not up:
            (log.warning if was_up else log.debug)(
                "/metrics: the store could not be read, exporting store_up 0: %s", error
            )
        elif not was_up:
            log.info("/metrics: the store can be read again")
        if dropped != dropped_before:
            log.warning(
                "/metrics: %d series over the cap of %d left out (max_series)",
                dropped,
                self.max_series,
            )
        samples.add(c.MONITOR_SERIES_DROPPED, (c.REASON_SERIES_CAP,), total_dropped)
        yield from _families(samples)


def _families(samples: _Samples) -> Iterator[Metric]:
    for spec in c.CATALOG:
        series = sorted(samples.by_family.get(spec.name, {}).items())
        labels = list(spec.labels)
        if spec.type is MetricType.HISTOGRAM:
            histogram = HistogramMetricFamily(spec.name, spec.help, labels=labels)
            for values, h in series:
                assert isinstance(h, _Histogram)
                histogram.add_metric(list(values), h.buckets, h.sum)
            yield histogram
            continue
        family: GaugeMetricFamily | CounterMetricFamily
        if spec.type is MetricType.COUNTER:
            family = CounterMetricFamily(spec.name, spec.help, labels=labels)
        else:
            family = GaugeMetricFamily(spec.name, spec.help, labels=labels)
        for values, value in series:
            assert not isinstance(value, _Histogram)
            family.add_metric(list(values), value)
        yield family


def _apply_cap(samples: _Samples, max_series: int) -> int:
    """Leave out the lowest-priority series beyond ``max_series``; return how many."""
    total = sum(
        _series_count(value) for series in samples.by_family.values() for value in series.values()
    )
    if total <= max_series:
        return 0
    units: dict[int, dict[tuple[str, ...], list[tuple[str, tuple[str, ...]]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    sizes: dict[tuple[int, tuple[str, ...]], int] = defaultdict(int)
    budget = max_series
    for spec in c.CATALOG:
        level, unit_labels = _level(spec)
        positions = [spec.labels.index(name) for name in unit_labels]
        for labels, value in samples.by_family.get(spec.name, {}).items():
            if level == _NEVER_DROPPED:
                budget -= _series_count(value)
                continue
            unit = tuple(labels[i] for i in positions)
            units[level][unit].append((spec.name, labels))
            sizes[level, unit] += _series_count(value)
    dropped = 0
    full = False
    for level in sorted(units, reverse=True):
        for unit in _fair_order(units[level]):
            size = sizes[level, unit]
            if not full and size <= budget:
                budget -= size
                continue
            full = True  # a strict priority order: nothing after the first unit that did not fit
            for name, labels in units[level][unit]:
                del samples.by_family[name][labels]
            dropped += size
    return dropped


def _fair_order(units: Iterable[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Units (first label the dataset) in keeping order: each dataset's ``all`` slice first,
    the datasets taking turns."""
    per_dataset: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for unit in units:
        per_dataset[unit[0]].append(unit)
    ranked: list[tuple[tuple[int, str], tuple[str, ...]]] = []
    for dataset, members in per_dataset.items():
        members.sort(key=lambda u: (c.SLICE_ALL not in u[1:], u))
        ranked.extend(((rank, dataset), unit) for rank, unit in enumerate(members))
    return [unit for _, unit in sorted(ranked)]


# --- Reading the store ---------------------------------------------------------------------------


def _one_snapshot(session: Session) -> None:
    """Make every query of the session see the same state of the store.

    SQLite's read transaction is a snapshot already; PostgreSQL's default (read committed) gives
    each statement its own, so a run inserted between two queries could name a dataset the first
    query did not see.
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )


def read_samples(session: Session, settings: Settings, *, now: datetime | None = None) -> _Samples:
    """Every series the store holds, from a handful of set-based queries in ``session``."""
    samples = _Samples()
    names = dict(session.execute(select(Dataset.id, Dataset.name)).all())
    latest_runs = _runs(session, samples, names)
    configs = {name: settings.dataset(name) for name in names.values()}
    _evaluations(session, samples, names, configs, latest_runs, now or datetime.now(UTC))
    _counters(session, samples, names)
    _jobs(session, samples)
    return samples


class _LatestRun(NamedTuple):
    id: int
    finished_at: datetime


def _runs(session: Session, samples: _Samples, names: Mapping[int, str]) -> dict[int, _LatestRun]:
    """Run gauges and counts; returns the latest succeeded run of each dataset id."""
    rank = (
        func.row_number()
        .over(partition_by=Run.dataset_id, order_by=(Run.finished_at.desc(), Run.id.desc()))
        .label("rank")
    )
    ranked = (
        select(
            Run.id,
            Run.dataset_id,
            Run.variant,
            Run.neighbor_distance_quantiles,
            *_RUN_COLUMNS,
            rank,
        )
        .where(Run.status == RunStatus.SUCCEEDED.value)
        .subquery()
    )
    latest_query = select(ranked).where(ranked.c.rank == 1)
    latest: dict[int, _LatestRun] = {}
    for row in session.execute(latest_query).mappings():
        dataset = names[row["dataset_id"]]
        latest[row["dataset_id"]] = _LatestRun(row["id"], row["finished_at"])
        for spec, column in _RUN_GAUGES:
            samples.add(spec, (dataset,), row[column])
        samples.add(c.RUN_INFO, (dataset, str(row["id"]), row["variant"] or ""), 1)
        for quantile, value in (row["neighbor_distance_quantiles"] or {}).items():
            samples.add(c.RUN_NEIGHBOR_DISTANCE, (dataset, str(quantile)), value)

    if latest:
        metrics = select(
            RunMetric.run_id, RunMetric.split, RunMetric.metric, RunMetric.value
        ).where(RunMetric.run_id.in_([run.id for run in latest.values()]))
        dataset_of_run = {run.id: names[d] for d, run in latest.items()}
        for run_id, split, metric, value in session.execute(metrics):
            samples.add(c.RUN_VALIDATION_METRIC, (dataset_of_run[run_id], split, metric), value)

    counts = select(
        Run.dataset_id, Run.status, Run.gate_passed, func.count(), func.sum(Run.attempts)
    ).group_by(Run.dataset_id, Run.status, Run.gate_passed)
    outcomes: dict[str, dict[str, int]] = {}
    running: dict[str, int] = {}
    for dataset_id, status, gate_passed, n, attempts in session.execute(counts):
        dataset = names[dataset_id]
        totals = outcomes.setdefault(dataset, dict.fromkeys(c.RUN_OUTCOMES, 0))
        running.setdefault(dataset, 0)
        attempts = int(attempts or 0)
        if status == RunStatus.FAILED.value:
            totals[c.OUTCOME_ERROR] += attempts
            continue
        # Every attempt before the one a run is in (or ended with) failed.
        totals[c.OUTCOME_ERROR] += attempts - n
        if status == RunStatus.RUNNING.value:
            running[dataset] = 1
        elif gate_passed is False:
            totals[c.OUTCOME_GATE_FAILED] += n
        else:
            totals[c.OUTCOME_PASSED] += n
    for dataset, totals in outcomes.items():
        for outcome, value in totals.items():
            samples.add(c.RUNS, (dataset, outcome), value)
        samples.add(c.RUN_IN_PROGRESS, (dataset,), running[dataset])
    return latest


def _evaluations(
    session: Session,
    samples: _Samples,
    names: Mapping[int, str],
    configs: Mapping[str, DatasetConfig],
    latest_runs: Mapping[int, _LatestRun],
    now: datetime,
) -> None:
    """Drift, synthetic shift and slice gauges of the current evaluations."""
    current = _latest_production(session, configs, names, now)
    drift_of: dict[int, str] = {}  # evaluation id -> dataset, of the first window's evaluation
    slices_of: dict[int, tuple[str, str]] = {}  # evaluation id -> (dataset, window)
    last_evaluated: dict[str, datetime] = {}
    for eid, dataset_id, window, evaluated_at, drift_share in current:
        dataset = names[dataset_id]
        if dataset not in last_evaluated or evaluated_at > last_evaluated[dataset]:
            last_evaluated[dataset] = evaluated_at
        configured = configs[dataset].windows
        if window not in configured:
            continue
        slices_of[eid] = (dataset, window)
        if configured and window == configured[0]:
            drift_of[eid] = dataset
            samples.add(c.DATASET_DRIFT_SHARE, (dataset,), drift_share)
    for dataset, evaluated_at in last_evaluated.items():
        samples.add(c.DRIFT_LAST_EVALUATION_TIMESTAMP_SECONDS, (dataset,), evaluated_at)

    shift_of = _shift_evaluations(session, names, latest_runs)
    if drift_of or shift_of:
        drift = select(
            DriftResultRow.evaluation_id,
            DriftResultRow.feature,
            DriftResultRow.method,
            DriftResultRow.value,
            DriftResultRow.drifted,
        ).where(DriftResultRow.evaluation_id.in_([*drift_of, *shift_of]))
        for eid, feature, method, value, drifted in session.execute(drift):
            if eid in drift_of:
                dataset = drift_of[eid]
                samples.add(c.FEATURE_DRIFT_SCORE, (dataset, feature, method), value)
                samples.add(c.FEATURE_DRIFT_DETECTED, (dataset, feature), drifted)
            else:
                samples.add(c.SYNTHETIC_SHIFT_SCORE, (shift_of[eid], feature, method), value)

    if slices_of:
        slices = select(SliceResultRow.evaluation_id, SliceResultRow.slice, *_SLICE_COLUMNS).where(
            SliceResultRow.evaluation_id.in_(slices_of)
        )
        for eid, label, *values in session.execute(slices):
            dataset, window = slices_of[eid]
            for (spec, _), value in zip(_SLICE_GAUGES, values, strict=True):
                samples.add(spec, (dataset, label, window), value)


def _shift_evaluations(
    session: Session, names: Mapping[int, str], latest_runs: Mapping[int, _LatestRun]
) -> dict[int, str]:
    """The synthetic-shift evaluation of each dataset's latest run: evaluation id -> dataset.

    ``persist_run`` stamps a run's shift with the run's finish time, so matching it lets the
    query walk the ``evaluated_at`` index instead of every evaluation stored (``reference_run_id``
    has no index); a run whose shift is stamped otherwise is looked up among its dataset's rows.
    """
    dataset_of_run = {run.id: dataset_id for dataset_id, run in latest_runs.items()}
    found: dict[int, str] = {}
    if not latest_runs:
        return found

    def look_up(*where: ColumnElement[bool]) -> None:
        query = select(Evaluation.id, Evaluation.reference_run_id).where(
            Evaluation.kind == SYNTHETIC_SHIFT, *where
        )
        for eid, run_id in session.execute(query.order_by(Evaluation.id)):
            if run_id in dataset_of_run:
                found[eid] = names[dataset_of_run[run_id]]
                seen.add(run_id)

    seen: set[int] = set()
    look_up(
        Evaluation.evaluated_at.in_({run.finished_at for run in latest_runs.values()}),
        Evaluation.reference_run_id.in_(sorted(dataset_of_run)),
    )
    missing = sorted(set(dataset_of_run) - seen)
    if missing:
        look_up(
            Evaluation.dataset_id.in_(sorted({dataset_of_run[r] for r in missing})),
            Evaluation.reference_run_id.in_(missing),
        )
    return found


_CurrentRow = tuple[int, int, str, datetime, float | None]
"""(evaluation id, dataset id, window, evaluated_at, drift_share)."""


def _latest_production(
    session: Session, configs: Mapping[str, DatasetConfig], names: Mapping[int, str], now: datetime
) -> list[_CurrentRow]:
    """The latest production evaluation of every (dataset, window) in the store.

    Evaluations accumulate (one per window and cycle), so ranking all of them would make every
    scrape slower than the last. The current ones are recent: rank those found by the
    ``evaluated_at`` index since a horizon of a few evaluation cycles, and rank the whole history
    only of datasets with a configured window missing from them (a dataset not evaluated for a
    while, or never).
    """
    every = [duration_seconds(config.evaluate_every) for config in configs.values()]
    horizon = timedelta(seconds=max([_MIN_HORIZON_SECONDS, *(3 * e for e in every)]))
    recent = _ranked_production(session, Evaluation.evaluated_at >= now - horizon)
    found = {(dataset_id, window) for _, dataset_id, window, _, _ in recent}
    stale = {
        dataset_id
        for dataset_id, name in names.items()
        if any((dataset_id, window) not in found for window in configs[name].windows)
    }
    if not stale:
        return recent
    older = _ranked_production(session, Evaluation.dataset_id.in_(sorted(stale)))
    return [row for row in recent if row[1] not in stale] + older


_MIN_HORIZON_SECONDS = 3600


def _ranked_production(session: Session, where: ColumnElement[bool]) -> list[_CurrentRow]:
    rank = (
        func.row_number()
        .over(
            partition_by=(Evaluation.dataset_id, Evaluation.window),
            order_by=(Evaluation.evaluated_at.desc(), Evaluation.id.desc()),
        )
        .label("rank")
    )
    ranked = (
        select(
            Evaluation.id,
            Evaluation.dataset_id,
            Evaluation.window,
            Evaluation.evaluated_at,
            Evaluation.drift_share,
            rank,
        )
        .where(Evaluation.kind == PRODUCTION, where)
        .subquery()
    )
    query = select(
        ranked.c.id,
        ranked.c.dataset_id,
        ranked.c.window,
        ranked.c.evaluated_at,
        ranked.c.drift_share,
    ).where(ranked.c.rank == 1)
    return [tuple(row) for row in session.execute(query)]


def _counters(session: Session, samples: _Samples, names: Mapping[int, str]) -> None:
    query = select(Counter.dataset_id, Counter.name, Counter.slice, Counter.outcome, Counter.value)
    query = query.where(Counter.name.in_([SLICE_PREDICTIONS, *_COUNTER_FAMILIES]))
    confusion: dict[tuple[str, str], dict[str, int]] = {}
    for dataset_id, name, label, outcome, value in session.execute(query):
        dataset = names[dataset_id]
        if name == SLICE_PREDICTIONS:
            if outcome in c.CONFUSION_OUTCOMES:
                per_outcome = confusion.setdefault(
                    (dataset, label), dict.fromkeys(c.CONFUSION_OUTCOMES, 0)
                )
                per_outcome[outcome] = value
        else:
            samples.add(_COUNTER_FAMILIES[name], (dataset,), value)
    for (dataset, label), per_outcome in confusion.items():
        for outcome, value in per_outcome.items():
            samples.add(c.SLICE_PREDICTIONS, (dataset, label, outcome), value)


def _jobs(session: Session, samples: _Samples) -> None:
    query = select(
        JobStat.job,
        JobStat.runs,
        JobStat.failures,
        JobStat.last_success_at,
        JobStat.duration_sum,
        JobStat.duration_buckets,
    )
    bounds = [_bound(b) for b in c.JOB_DURATION_BUCKETS]
    for job, runs, failures, last_success_at, duration_sum, stored in session.execute(query):
        counts = list(stored or [])
        if len(counts) != len(bounds):
            # Stored under other bounds: the total stays right, the bucket split is unknown.
            log.warning(
                "job_stats of %r has %d buckets, the catalog %d: exporting only +Inf",
                job,
                len(counts),
                len(bounds),
            )
            counts, job_bounds = [], []
        else:
            job_bounds = bounds
        buckets = [(b, float(n)) for b, n in zip(job_bounds, counts, strict=True)]
        buckets.append(("+Inf", float(runs)))
        samples.add_histogram(
            c.MONITOR_JOB_DURATION_SECONDS, (job,), _Histogram(buckets, float(duration_sum))
        )
        samples.add(c.MONITOR_JOB_FAILURES, (job,), failures)
        samples.add(c.MONITOR_JOB_LAST_SUCCESS_TIMESTAMP_SECONDS, (job,), last_success_at)


def _bound(value: float) -> str:
    # Spelled as client_python's own histograms spell them ("1.0", "2.5").
    return floatToGoString(value)
