"""``observe_run`` of a training set held as Dask collections: what a run records of its data,
counted partition by partition on the workers and merged, equal to what the in-memory path
records of the same rows computed.

- Lengths and class counts: each partition's on its worker (``class_counts`` of the partition),
  the counts tree-reduced by summing; the client receives one length per partition and one
  dict of counts.
- ``n_synthetic``: each partition's :func:`~smote_monitor.tracking.resampling.row_hashes` on
  its worker, and the rows of ``X_after`` absent from ``X_before`` found by a hash join: the
  hashes of ``X_before`` are shuffled by value, made distinct within each of their partitions
  (so across the frame), and ``X_after``'s are left-merged with them. Hashes cross between
  workers, never to the client, which receives one count.
- Feature schema: from the frames' meta, without reading a row.
- Reference profiles: :func:`~smote_monitor.evaluation.partitioned.profiles_on_dask`, with the
  choices of :func:`~smote_monitor.drift.reference.training_profiles` (it is that function,
  handed another builder), including ``profile_error`` for a set that cannot be profiled.
- Leakage: the validation set is small and held in memory (a Dask one is computed); its row
  hashes go to the workers, which send back only the ones they find among the training rows —
  at most as many as the validation set has rows.

Dask is an optional extra: this module imports it and is imported only when an input is a Dask
collection (see :func:`~smote_monitor.tracking.resampling.dask_inputs`).
"""

from __future__ import annotations

import functools
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from smote_monitor.config import DatasetConfig
from smote_monitor.drift.reference import Profiles, training_profiles
from smote_monitor.errors import InvalidInputError
from smote_monitor.evaluation.partitioned import compute_on, profiles_on_dask, tree_reduce
from smote_monitor.records import LeakageResult
from smote_monitor.tracking.leakage import columns_differ, leakage_finding
from smote_monitor.tracking.resampling import (
    class_counts,
    feature_schema,
    resampling_fields,
    row_hashes,
    synthetic_count,
)

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client

HASH = "row_hash"
"""The column of a frame of row hashes."""
_SEEN = "seen"


def resolve_client(client: Client | None) -> Client:
    """``client``, else the one running in this process (``distributed.get_client()``)."""
    if client is not None:
        return client
    expected = "a distributed.Client (or one running) for Dask inputs"
    try:
        from distributed import get_client
    except ImportError as exc:  # dask without distributed
        raise InvalidInputError("client", None, expected) from exc
    try:
        return get_client()
    except ValueError as exc:  # "No global client found and no address provided"
        raise InvalidInputError("client", None, expected) from exc


def describe_resampling(
    client: Client,
    *,
    X_before: dd.DataFrame,
    y_before: dd.Series,
    X_after: dd.DataFrame,
    y_after: dd.Series,
    params: dict[str, Any],
    variant: str,
) -> dict[str, Any]:
    """:func:`~smote_monitor.tracking.resampling.describe_resampling` (without a sampler's
    report: ``observe_run`` has none) of Dask collections, counted on ``client``'s cluster.

    Raises
    ------
    InvalidInputError
        An ``X`` that is not a ``dask.dataframe.DataFrame`` or a ``y`` that is not a
        ``dask.dataframe.Series``; a ``y`` whose length differs from its ``X``'s (naming the
        first partition where they differ when both have as many partitions).
    DistributedJobError
        A task's workers kept dying.
    """
    _check_types(X_before=X_before, y_before=y_before, X_after=X_after, y_after=y_after)
    (n_x_before, n_y_before, before), (n_x_after, n_y_after, after) = compute_on(
        client, [_lengths_and_counts(X_before, y_before), _lengths_and_counts(X_after, y_after)]
    )
    _check_lengths("X_before", n_x_before, "y_before", n_y_before)
    _check_lengths("X_after", n_x_after, "y_after", n_y_after)
    (unseen,) = compute_on(client, [_unseen_rows(X_before, X_after)])
    return resampling_fields(
        variant=variant,
        params=params,
        class_counts_before=before,
        class_counts_after=after,
        n_synthetic=synthetic_count(sum(n_y_before), sum(n_y_after), int(unseen)),
        schema=feature_schema(X_before._meta),
    )


def run_profiles(
    client: Client,
    X_real: dd.DataFrame,
    X_augmented: dd.DataFrame,
    schema: list[dict[str, str]],
    config: DatasetConfig,
) -> tuple[Profiles | None, str | None]:
    """:func:`~smote_monitor.drift.reference.training_profiles` of Dask DataFrames: the same
    function, each split profiled by ``profiles_on_dask``."""
    build = functools.partial(profiles_on_dask, client=client)
    return training_profiles(X_real, X_augmented, schema, config, build=build)


def in_memory(client: Client | None, X_val: Any, y_val: Any) -> tuple[Any, Any]:
    """Validation data as pandas: Dask collections among them computed (validation sets are
    small), on ``client`` when given, the others as they are."""
    import dask

    values = [X_val, y_val]
    lazy = [i for i, value in enumerate(values) if dask.is_dask_collection(value)]
    given = [values[i] for i in lazy]
    done = compute_on(client, given) if client is not None else list(dask.compute(*given))
    for i, value in zip(lazy, done, strict=True):
        values[i] = value
    return values[0], values[1]


def check_leakage(
    client: Client,
    X_real: dd.DataFrame,
    X_augmented: dd.DataFrame,
    counts_real: dict[str, int],
    counts_augmented: dict[str, int],
    X_val: Any,
    y_val: Any,
) -> LeakageResult:
    """:func:`~smote_monitor.tracking.leakage.check_leakage` with the training rows on Dask.

    A validation row equals a synthetic row when its hash is among ``X_augmented``'s and not
    among ``X_real``'s. Each partition keeps the validation hashes it holds, the hits are
    tree-reduced by union: the client receives at most as many hashes as the validation set
    has distinct rows, per split.
    """
    val_hashes = row_hashes(X_val)
    skipped = columns_differ(len(X_real.columns), np.shape(X_val)[1])
    if skipped is not None:
        equal_rows = np.zeros(len(val_hashes), dtype=bool)
    else:
        from dask import delayed

        wanted = delayed(np.unique(val_hashes), pure=True)  # one key, sent once per worker
        real_hits, augmented_hits = compute_on(
            client,
            [
                tree_reduce([delayed(_hits, pure=True)(p, wanted) for p in X.to_delayed()], _union)
                for X in (X_real, X_augmented)
            ],
        )
        equal_rows = np.isin(val_hashes, np.setdiff1d(augmented_hits, real_hits))
    return leakage_finding(equal_rows, skipped, counts_real, counts_augmented, y_val)


def _check_types(**inputs: Any) -> None:
    import dask.dataframe as dd

    for name, value in inputs.items():
        wanted, text = (
            (dd.DataFrame, "a dask.dataframe.DataFrame of shape (n_samples, n_features)")
            if name.startswith("X")
            else (dd.Series, "a dask.dataframe.Series of shape (n_samples,)")
        )
        if not isinstance(value, wanted):
            raise InvalidInputError(name, _type_name(value), text)


def _type_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def _check_lengths(name_x: str, n_x: list[int], name_y: str, n_y: list[int]) -> None:
    """The in-memory check (one label per row), told partition by partition when X and y are
    partitioned alike."""
    if sum(n_x) == sum(n_y):
        return
    total_x, total_y = sum(n_x), sum(n_y)
    if len(n_x) == len(n_y):
        i = next(i for i, (a, b) in enumerate(zip(n_x, n_y, strict=True)) if a != b)
        raise InvalidInputError(
            name_y,
            f"{total_y} labels ({n_y[i]} in partition {i})",
            f"{total_x} labels, one per row of {name_x} ({n_x[i]} in its partition {i})",
        )
    raise InvalidInputError(
        name_y, f"{total_y} labels", f"{total_x} labels, one per row of {name_x}"
    )


def _lengths_and_counts(X: dd.DataFrame, y: dd.Series) -> Any:
    """A delayed ``(rows of each partition of X, labels of each partition of y, class counts
    of y)``."""
    from dask import delayed

    labels = [delayed(_count_labels, pure=True)(p) for p in y.to_delayed()]
    return delayed(_facts, pure=True)(
        [delayed(len, pure=True)(p) for p in X.to_delayed()],
        [delayed(_first, pure=True)(c) for c in labels],
        tree_reduce([delayed(_second, pure=True)(c) for c in labels], _sum_counts),
    )


def _count_labels(y: pd.Series) -> tuple[int, Counter[str]]:
    return len(y), Counter(class_counts(y))


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def _second(pair: tuple[Any, Any]) -> Any:
    return pair[1]


def _sum_counts(*counts: Counter[str]) -> Counter[str]:
    total: Counter[str] = Counter()
    for part in counts:
        total.update(part)
    return total


def _facts(
    n_x: list[int], n_y: list[int], counts: Counter[str]
) -> tuple[list[int], list[int], dict[str, int]]:
    # Sorted as class_counts sorts them; Counter drops no zero here (every count is a row's).
    return n_x, n_y, dict(sorted(counts.items()))


def _hash_frame(part: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({HASH: row_hashes(part)})


def _hash_meta() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({HASH: np.array([], dtype=np.uint64)})


def _distinct(part: pd.DataFrame) -> pd.DataFrame:
    return part.drop_duplicates().assign(**{_SEEN: np.uint8(1)})


def _count_unseen(part: pd.DataFrame) -> pd.Series:
    import pandas as pd

    return pd.Series([int(part[_SEEN].isna().sum())], dtype=np.int64)


def _unseen_rows(X_before: dd.DataFrame, X_after: dd.DataFrame) -> Any:
    """A Dask scalar: rows of ``X_after`` whose row hash no row of ``X_before`` has, as
    ``np.isin(row_hashes(X_after), row_hashes(X_before), invert=True).sum()`` counts them.

    Equal hashes of ``X_before`` meet in one partition of the shuffle, so dropping duplicates
    per partition leaves each hash once in the frame, and the left merge gives every row of
    ``X_after`` one row: matched, or without ``seen``. No task holds more than a shuffle
    partition of hashes.
    """
    import pandas as pd

    meta = _hash_meta()
    before = X_before.map_partitions(_hash_frame, meta=meta)
    after = X_after.map_partitions(_hash_frame, meta=meta)
    known = before.shuffle(on=HASH, npartitions=max(X_before.npartitions, 1)).map_partitions(
        _distinct, meta=meta.assign(**{_SEEN: np.array([], dtype=np.uint8)})
    )
    joined = after.merge(known, on=HASH, how="left")
    return joined.map_partitions(_count_unseen, meta=pd.Series([], dtype=np.int64)).sum()


def _hits(part: pd.DataFrame, wanted: np.ndarray) -> np.ndarray:
    """The hashes of ``wanted`` that rows of this partition have."""
    return np.intersect1d(row_hashes(part), wanted)


def _union(*parts: np.ndarray) -> np.ndarray:
    return functools.reduce(np.union1d, parts)
