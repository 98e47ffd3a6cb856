"""Windows past one machine: a window's partitions folded on Dask workers, merged, stored.

Each partition (a production file, or a partition of a ``dask.dataframe.DataFrame``) is folded
on a worker into the accumulators :func:`~smote_monitor.evaluation.window.evaluate_batches`
keeps — drift profiles, slice counts, row counts — by the same code, batch by batch. The
partial windows are tree-reduced with their ``merge``, in partition order, so what reaches the
client is one merged window: bounded by the profile settings and the slice caps, never rows.
It is stored by the same function as a window folded in one process, so the record is the
one ``evaluate`` writes.

Exact mode gives the values of one process whatever the partitioning: exact profiles hold
integer counts of distinct values, categories keep their order of arrival because parts merge
left to right, and slice counts are integers. One case needs a second pass: a slice column that
is not a profiled categorical admits values first come, first served up to
``max_slice_values``; when the window holds more, which values got a slice depends on the
order of rows, which partitions cannot see. Each part therefore also sends the first
``max_slice_values`` values of such columns in order; when the merged counts show a column
overflowed, the slice counts are folded again with those values fixed — the ones one process
would have admitted. Sketch mode differs from one process only in the last bits of each
feature's mean and variance (merged pairwise): its histograms are the same.

Labels that arrive apart from the predictions (``evaluate --labels``) are read once on the
client, scattered to every worker once, and joined into each partition's batches by id
(:func:`~smote_monitor.sources.labels.with_labels`, as one process joins them) before they are
folded.

Dask is an optional extra (``smote-monitor[dask]``): this module imports it, nothing else in
the package does at import time.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import pickle
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from smote_monitor.config import DatasetConfig, Settings
from smote_monitor.drift import FeatureProfile, WindowAccumulator
from smote_monitor.drift.profile import ProfileSettings
from smote_monitor.errors import DistributedJobError, InvalidInputError
from smote_monitor.evaluation.window import (
    WindowResult,
    _batches,
    _Window,
    start_window,
    store_window,
)
from smote_monitor.slices.values import key_texts, slice_value
from smote_monitor.sources.files import FORMATS, SOURCE, production_batches, production_files
from smote_monitor.sources.labels import with_labels
from smote_monitor.store import Store

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client, LocalCluster

    from smote_monitor.drift import ColumnKind

log = logging.getLogger(__name__)

LOCAL = "local"
"""``--dask local``: a LocalCluster of one single-threaded worker process per core."""
#: Parts merged by one task of the tree reduction.
SPLIT_EVERY = 8
#: Seconds to wait for a scheduler named by address.
CONNECT_TIMEOUT = 30
#: Seconds a job waits on a cluster left without any worker before it fails (an autoscaled
#: cluster may take minutes to add one).
NO_WORKERS_TIMEOUT = 300.0
#: Seconds between two looks at whether a running job's cluster still has workers.
WORKER_POLL_SECONDS = 5.0
#: Thread pools of numeric libraries, pinned to one thread in each worker process so workers
#: sharing a machine do not fight over its cores.
PINNED_THREADS = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}
#: glibc's allocator in each worker process of a cluster we start. Dask's nanny sets
#: ``MALLOC_TRIM_THRESHOLD_=65536`` (``distributed.nanny.pre-spawn-environ``) so workers hand
#: freed memory back to the system at once; a fold allocates and frees each batch's arrays, so
#: the heap was shrunk and faulted in again batch after batch, and a partition's fold took 1.4x
#: as long as in a plain process (1.36 s against 0.93-0.97 s a partition, 20 features x 500,000
#: rows, ``benchmarks/bench_dask.py``'s files). Keeping 64 MiB at the top of the heap when
#: trimming keeps Dask's trimming above that and the fold's speed.
WORKER_MALLOC = {"MALLOC_TOP_PAD_": str(64 << 20)}


@dataclass(frozen=True)
class _Plan:
    """What every partition's task needs to fold it: small, sent once per worker."""

    dataset: str
    config: DatasetConfig
    class_keys: list[str]
    reference: dict[str, FeatureProfile]
    columns: tuple[str, ...]
    """Columns every partition must have (the first file's, or the frame's)."""
    known_slices: dict[str, list[Any]] | None = None

    def window(self) -> _Window:
        return _Window(
            self.dataset,
            self.config,
            self.class_keys,
            self.reference,
            workers=1,  # one thread per worker: the cluster's processes are the parallelism
            known_slices=self.known_slices,
        )


@dataclass
class _Part:
    """A window folded from consecutive partitions."""

    window: _Window
    first_seen: dict[str, list[str]]
    """Each slice column's first ``max_slice_values`` labelled values, in order of arrival."""
    sizes: list[int] = field(default_factory=list)
    """Bytes of each partition's part as it left its worker (pickled)."""

    def merge(self, later: _Part) -> _Part:
        cap = self.window.config.max_slice_values
        seen = {}
        for column, values in self.first_seen.items():
            known = set(values)
            seen[column] = [*values, *(v for v in later.first_seen[column] if v not in known)]
            seen[column] = seen[column][:cap]
        return _Part(self.window.merge(later.window), seen, self.sizes + later.sizes)


def _fold(
    plan: _Plan, batches: Iterable[pd.DataFrame], where: str, labels: pd.Series | None
) -> _Part:
    """Fold one partition's batches, each joined to ``labels`` when given, checking each has
    the declared columns."""
    window = plan.window()
    config = plan.config
    cap = config.max_slice_values
    # Only columns whose values are not fixed admit values in order of arrival (see _run).
    fixed = plan.known_slices or {}
    first_seen: dict[str, list[str]] = {c: [] for c in config.slices if c not in fixed}
    for batch in batches:
        batch.attrs.setdefault(SOURCE, where)  # a file's batches name it already
        if labels is not None:
            # As one process joins them: a batch lacking the id column is refused by name.
            assert config.id_column is not None  # checked on the client (_run)
            (batch,) = with_labels([batch], labels, config.id_column, config.target)
        missing = [name for name in plan.columns if name not in batch.columns]
        if missing:
            raise InvalidInputError(
                f"production.{missing[0]}",
                where,
                f"a column of every partition (the window's columns: {len(plan.columns)}, "
                "as in its first partition)",
            )
        window.add(batch)
        if not first_seen or window.sli_error is not None or config.target not in batch.columns:
            continue
        labelled = batch[config.target].notna()
        for column, seen in first_seen.items():
            if len(seen) < cap:
                known = set(seen)
                for text in key_texts(batch.loc[labelled, column]).unique():
                    value = slice_value(text)
                    if value not in known and len(seen) < cap:
                        known.add(value)
                        seen.append(value)
    # The reference stays behind: the client has it, and it may be the largest thing here.
    window.reference = {}
    part = _Part(window, first_seen)
    part.sizes = [len(pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL))]
    return part


def _fold_file(plan: _Plan, file: str, labels: pd.Series | None = None) -> _Part:
    return _fold(plan, production_batches(file), file, labels)


def _fold_frame(
    plan: _Plan, frame: pd.DataFrame, index: int, labels: pd.Series | None = None
) -> _Part:
    return _fold(plan, _batches(frame), f"partition {index}", labels)


def _merge(*parts: _Part) -> _Part:
    out = parts[0]
    for part in parts[1:]:
        out = out.merge(part)
    return out


def _reduce(client: Client, leaves: Sequence[Any]) -> _Part:
    """Tree-reduce delayed parts (in order) on the cluster; only the root comes back."""
    part: _Part = _reduce_values(client, leaves, _merge)
    return part


def _run(
    store: Store,
    settings: Settings,
    dataset: str,
    client: Client,
    columns: Sequence[str],
    leaves: Callable[[_Plan, Any], list[Any]],
    window: str,
    now: datetime | None,
    labels: pd.Series | None,
) -> WindowResult:
    if labels is not None and settings.dataset(dataset).id_column is None:
        raise InvalidInputError("id_column", None, "the dataset's id column, to join the labels")
    reference_run, blank = start_window(store, settings, dataset)
    # The labels travel once to every worker, for both passes; each task gets a reference.
    shared = None if labels is None else client.scatter(labels, broadcast=True)
    try:
        part, partitions = _fold_all(client, blank, columns, leaves, shared)
    finally:
        if shared is not None:
            shared.release()
    part.window.reference = blank.reference
    return store_window(
        store,
        settings,
        reference_run,
        part.window,
        window=window,
        now=now,
        partitions=partitions,
        part_bytes=tuple(part.sizes),
    )


def _fold_all(
    client: Client,
    blank: _Window,
    columns: Sequence[str],
    leaves: Callable[[_Plan, Any], list[Any]],
    labels: Any,
) -> tuple[_Part, int]:
    """Every partition folded and merged (twice when a slice column overflowed, see the module
    docstring); the merged part and how many partitions there were."""
    dataset = blank.dataset
    plan = _Plan(
        dataset,
        blank.config,
        blank.class_keys,
        blank.reference,
        tuple(columns),
        known_slices={c: sorted(blank.counts.values[c]) for c in blank.counts.fixed},
    )
    parts = leaves(plan, labels)
    if not parts:
        raise InvalidInputError("production", "0 partitions", "at least one partition")
    part = _reduce(client, parts)
    overflowed = {
        column: values
        for column, values in part.first_seen.items()
        if column not in blank.counts.fixed and part.window.counts.folded_rows[column] > 0
    }
    if overflowed and part.window.sli_error is None:
        # One process admits a non-profiled slice column's values first come, first served:
        # fix the ones it would have admitted and count the slices again.
        log.info(
            "%s: slice columns %s exceed max_slice_values; counting their slices again with the "
            "values one process admits first",
            dataset,
            ", ".join(sorted(overflowed)),
        )
        refold = _Plan(
            dataset,
            plan.config,
            plan.class_keys,
            plan.reference,
            plan.columns,
            known_slices={**(plan.known_slices or {}), **overflowed},
        )
        again = _reduce(client, leaves(refold, labels))
        part.window.counts = again.window.counts
        part.sizes += again.sizes
    return part, len(parts)


def evaluate_frame_on_dask(
    store: Store,
    settings: Settings,
    dataset: str,
    frame: dd.DataFrame,
    client: Client,
    *,
    window: str = "adhoc",
    now: datetime | None = None,
    labels: pd.Series | None = None,
) -> WindowResult:
    """:func:`~smote_monitor.evaluation.window.evaluate_batches` of a Dask DataFrame, folded
    partition by partition on ``client``'s cluster and stored as one evaluation.

    Every partition must have the frame's columns: a partition lacking one is an
    :class:`InvalidInputError` naming it, and nothing is stored. Columns the frame itself lacks
    behave as in one process (a missing feature is flagged drifted; a missing slice column
    stores the drift without slices and raises ``SlicesNotScoredError``).

    ``labels`` (:func:`~smote_monitor.sources.labels.read_labels` of a labels file: label by
    id) replace the target column, joined by the dataset's ``id_column`` as
    :func:`~smote_monitor.sources.labels.with_labels` joins them in one process; they are sent
    to each worker once. A partition lacking the id column is an :class:`InvalidInputError`
    naming it, and nothing is stored.

    Raises
    ------
    DistributedJobError
        A task's worker died more than ``RETRIES`` times. Nothing is stored.
    """
    columns = [str(c) for c in frame.columns]

    def leaves(plan: _Plan, labels: Any) -> list[Any]:
        from dask import delayed

        shared = delayed(plan, pure=True)  # one key: sent once to each worker, not per task
        return [
            delayed(_fold_frame, pure=True)(shared, part, index, labels)
            for index, part in enumerate(frame.to_delayed())
        ]

    return _run(store, settings, dataset, client, columns, leaves, window, now, labels)


def evaluate_files_on_dask(
    store: Store,
    settings: Settings,
    dataset: str,
    path: str | os.PathLike[str],
    client: Client,
    *,
    window: str = "adhoc",
    now: datetime | None = None,
    labels: pd.Series | None = None,
) -> WindowResult:
    """``smote-monitor evaluate -p PATH --dask``: each file a partition, read on a worker.

    Files are read as ``evaluate`` reads them (:func:`~smote_monitor.sources.production_batches`,
    batch by batch). Every file must have the first file's columns; one lacking a column is an
    :class:`InvalidInputError` naming the file and column, and nothing is stored. A URL
    (``s3://…``) is read with ``dask.dataframe.read_parquet`` (its filesystem package, e.g.
    s3fs, installed) and evaluated as a frame.

    ``labels`` (``evaluate -p PATH --labels L --dask``) are joined into every file's batches as
    :func:`evaluate_frame_on_dask` joins them; a file lacking the id column is an
    :class:`InvalidInputError` naming it, and nothing is stored.
    """
    text = os.fspath(path)
    if "://" in text:
        import dask.dataframe as dd

        return evaluate_frame_on_dask(
            store,
            settings,
            dataset,
            dd.read_parquet(text),
            client,
            window=window,
            now=now,
            labels=labels,
        )
    files = [str(f) for f in production_files(text)]
    columns = _columns_of(files[0])

    def leaves(plan: _Plan, labels: Any) -> list[Any]:
        from dask import delayed

        shared = delayed(plan, pure=True)  # one key: sent once to each worker, not per task
        return [delayed(_fold_file, pure=True)(shared, file, labels) for file in files]

    return _run(store, settings, dataset, client, columns, leaves, window, now, labels)


def _columns_of(file: str) -> list[str]:
    if FORMATS.get(os.path.splitext(file)[1].lower()) == "parquet":
        import pyarrow.parquet as pq

        # The footer's schema, as a file's batches show it: no row group is read on the client.
        with pq.ParquetFile(file) as parquet:
            return [str(c) for c in parquet.schema_arrow.empty_table().to_pandas().columns]
    first: Iterator[pd.DataFrame] = production_batches(file, batch_rows=1)
    try:
        return [str(c) for c in next(first).columns]
    finally:
        close = getattr(first, "close", None)
        if close is not None:
            close()


def local_cluster(n_workers: int | None = None) -> LocalCluster:
    """A started :class:`distributed.LocalCluster` of ``n_workers`` (default: one per core)
    worker processes of one thread each, numeric thread pools pinned to one thread and the
    allocator set as :data:`WORKER_MALLOC`. Close it (it is a context manager)."""
    import dask.config
    from distributed import LocalCluster

    # Each nanny reads its pre-spawn environment once, when the cluster starts it.
    spawn = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_MALLOC.items()}
    with dask.config.set(spawn):
        return LocalCluster(
            n_workers=n_workers if n_workers is not None else os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env=PINNED_THREADS,
        )


@contextlib.contextmanager
def connect(scheduler: str, *, timeout: float = CONNECT_TIMEOUT) -> Iterator[Client]:
    """A client of the Dask scheduler at ``scheduler`` (``tcp://host:8786``), or of a new
    :func:`local_cluster` when it is ``"local"``.

    Raises
    ------
    DistributedJobError
        The scheduler cannot be reached within ``timeout`` seconds.
    """
    from distributed import Client

    if scheduler == LOCAL:
        with local_cluster() as cluster, Client(cluster) as client:
            yield client
        return
    if not scheduler or "://" not in scheduler:
        raise InvalidInputError(
            "dask", scheduler, "a scheduler address such as tcp://host:8786, or 'local'"
        )
    try:
        client = Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise DistributedJobError(
            f"dask: cannot reach the scheduler at {scheduler} ({exc}); nothing was stored"
        ) from exc
    with client:
        yield client


def profiles_on_dask(
    frame: dd.DataFrame,
    client: Client,
    *,
    features: list[str] | None = None,
    categorical: list[str] | None = None,
    numeric: list[str] | None = None,
    settings: ProfileSettings | None = None,
) -> dict[str, FeatureProfile]:
    """:func:`~smote_monitor.drift.build_profiles` of a training set held as a Dask DataFrame:
    each partition profiled on a worker, the profiles tree-reduced with their ``merge``.

    Two passes over the partitions: the first decides what one process decides from the
    whole frame — the kind of each integer column left to inference (categorical up to 10
    distinct values), and each numeric column's standard deviation, which picks its sketch
    grid — and sends back only those; the second profiles. Exact profiles equal
    ``build_profiles(frame.compute())`` (values, counts, categories in order of arrival); only
    ``mean`` and ``m2`` may differ in their last bits, and no drift method reads them in exact
    mode.

    Raises
    ------
    InvalidInputError
        As :func:`~smote_monitor.drift.build_profiles`: an unknown feature; a column empty after
        dropping NaN and ±inf.
    """
    from dataclasses import replace

    from dask import delayed

    from smote_monitor.drift import ColumnKind, resolve_kinds
    from smote_monitor.drift.columns import INT_CATEGORICAL_MAX_UNIQUE
    from smote_monitor.drift.sketch import exponent_for

    settings = settings or ProfileSettings()
    meta = frame._meta
    resolve_kinds(meta, features, categorical, numeric)  # unknown or doubly declared columns
    chosen = list(meta.columns if features is None else features)
    declared = set(categorical or ()) | set(numeric or ())
    counted = [c for c in chosen if c not in declared and _is_integer(meta[c].dtype)]
    parts = frame.to_delayed()
    scans = [delayed(_scan, pure=True)(p, chosen, counted) for p in parts]
    scan = _reduce_values(client, scans, _merge_scans)
    kinds = resolve_kinds(meta, chosen, categorical, numeric)
    for name in counted:
        kinds[name] = (
            ColumnKind.CATEGORICAL
            if len(scan.distinct[name]) <= INT_CATEGORICAL_MAX_UNIQUE
            else ColumnKind.NUMERIC
        )
    grid = {
        name: exponent_for(
            math.sqrt(scan.moments[name][2] / scan.moments[name][0])
            if scan.moments[name][0]
            else math.nan,
            settings.resolution,
        )
        for name, kind in kinds.items()
        if kind is ColumnKind.NUMERIC
    }
    leaves = [delayed(_profile_part, pure=True)(p, kinds, settings, grid) for p in parts]
    merged = _reduce_values(client, leaves, _merge_accumulators)
    profiles = {}
    for name, profile in merged.profiles.items():
        if profile.n == 0:
            raise InvalidInputError(
                f"features.{name}",
                f"{profile.n_missing} rows, all NaN/inf/missing",
                "at least one value after dropping NaN and ±inf",
            )
        # One process leaves the grid unset (a sketch carries its own exponent).
        profiles[name] = replace(profile, grid_exponent=None)
    return profiles


@dataclass
class _Scan:
    distinct: dict[str, set[Any]]
    """Distinct values of integer columns, up to one past the categorical limit."""
    moments: dict[str, tuple[int, float, float]]
    """Finite values of numeric-typed columns: count, mean, sum of squared deviations."""


def _is_integer(dtype: Any) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_integer_dtype(dtype))


def _scan(frame: pd.DataFrame, columns: list[str], counted: list[str]) -> _Scan:
    import numpy as np
    import pandas as pd

    from smote_monitor.drift.columns import INT_CATEGORICAL_MAX_UNIQUE

    distinct = {
        c: set(frame[c].dropna().unique()[: INT_CATEGORICAL_MAX_UNIQUE + 1]) for c in counted
    }
    moments = {}
    for name in columns:
        dtype = frame[name].dtype
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            continue
        values = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
        values = values[np.isfinite(values)]
        mean = float(values.mean()) if values.size else 0.0
        moments[name] = (int(values.size), mean, float(np.dot(values - mean, values - mean)))
    return _Scan(distinct, moments)


def _merge_scans(*scans: _Scan) -> _Scan:
    from smote_monitor.drift.columns import INT_CATEGORICAL_MAX_UNIQUE

    out = _Scan({k: set(v) for k, v in scans[0].distinct.items()}, dict(scans[0].moments))
    for scan in scans[1:]:
        for name, values in scan.distinct.items():
            union = out.distinct[name] | values
            out.distinct[name] = set(list(union)[: INT_CATEGORICAL_MAX_UNIQUE + 1])
        for name, (n_b, mean_b, m2_b) in scan.moments.items():
            n_a, mean_a, m2_a = out.moments.get(name, (0, 0.0, 0.0))
            n = n_a + n_b
            if n == 0:
                continue
            delta = mean_b - mean_a
            out.moments[name] = (
                n,
                mean_a + delta * n_b / n,
                m2_a + m2_b + delta * delta * n_a * n_b / n,
            )
    return out


def _profile_part(
    frame: pd.DataFrame,
    kinds: dict[str, ColumnKind],
    settings: ProfileSettings,
    grid: dict[str, int],
) -> WindowAccumulator:
    return WindowAccumulator(kinds, settings, grid=grid, workers=1).update(frame)


def _merge_accumulators(*parts: WindowAccumulator) -> WindowAccumulator:
    out = parts[0]
    for part in parts[1:]:
        out = out.merge(part)
    return out


def _reduce_values(client: Client, leaves: Sequence[Any], merge: Callable[..., Any]) -> Any:
    """Tree-reduce delayed values (in order) with ``merge`` on the cluster."""
    return compute_on(client, [tree_reduce(leaves, merge)])[0]


def tree_reduce(leaves: Sequence[Any], merge: Callable[..., Any]) -> Any:
    """The delayed tree reduction of ``leaves`` (in order) with ``merge``, ``SPLIT_EVERY``
    parts a task: nothing is computed yet."""
    from dask import delayed

    level = list(leaves)
    if not level:
        raise InvalidInputError("partitions", "0 partitions", "at least one partition")
    while len(level) > 1:
        level = [
            delayed(merge, pure=True)(*level[i : i + SPLIT_EVERY])
            for i in range(0, len(level), SPLIT_EVERY)
        ]
    return level[0]


def compute_on(client: Client, values: Sequence[Any]) -> list[Any]:
    """Compute Dask values on ``client``'s cluster; only their results come back.

    Raises
    ------
    DistributedJobError
        A task's workers kept dying: a task whose worker dies is run again on another worker,
        and past the scheduler's ``distributed.scheduler.allowed-failures`` deaths (default 3)
        the job fails. Or the cluster had no worker for :data:`NO_WORKERS_TIMEOUT` seconds
        while the job waited: the scheduler would hold its tasks until one joined, and the
        caller would wait without end.
    """
    from distributed import KilledWorker, wait

    if not values:
        return []
    limit = NO_WORKERS_TIMEOUT
    futures = client.compute(list(values))
    where = getattr(client.scheduler, "address", None) or "its scheduler"
    try:
        workerless_since: float | None = None
        while True:
            try:
                wait(futures, timeout=min(WORKER_POLL_SECONDS, limit))
                break
            except TimeoutError:
                pass
            if client.nthreads():
                workerless_since = None
                continue
            now = time.monotonic()
            if workerless_since is None:
                workerless_since = now
                log.warning(
                    "dask: the cluster at %s has no workers; waiting up to %g s for one",
                    where,
                    limit,
                )
            elif now - workerless_since >= limit:
                client.cancel(futures)
                raise DistributedJobError(
                    f"dask: the cluster at {where} has had no workers for "
                    f"{now - workerless_since:.0f} s; nothing was stored"
                )
        return list(client.gather(futures))
    except KilledWorker as exc:
        raise DistributedJobError(
            f"dask: workers kept dying while running a task ({exc}); nothing was stored"
        ) from exc
    finally:
        for future in futures:
            future.release()
