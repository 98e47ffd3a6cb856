"""Exact k-nearest-neighbour search, chosen by the shape of the data.

Two exact back ends:

* a k-d tree (:class:`scipy.spatial.cKDTree`, queried on every core) for few features, where it
  prunes well;
* a blocked brute force for many features: squared distances as ``||b||² − 2 a·b`` (the ``||a||²``
  term does not change a row's ordering) through BLAS, on blocks small enough to stay in cache,
  query blocks spread over every core. Instead of partially sorting every block, each query row
  first gets an upper bound on its k-th distance from a strided subset of the fit rows; the full
  scan then keeps only entries below that bound, so the final selection sorts a few hundred
  candidates per row instead of every fit row.

The distances of the selected pairs are recomputed directly as ``||a − b||``, so they carry no
cancellation error from the expanded formula.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["CategoricalTerm", "kneighbors", "n_threads"]

# Up to this many features a k-d tree prunes well; beyond it brute force through BLAS wins
# (issue 3: cKDTree took 756 s where brute force took 31 s on 100k x 20 Gaussian points).
KDTREE_MAX_FEATURES = 8
# One distance block is QUERY_BLOCK x COL_BLOCK float64 = 8 MiB: big enough for BLAS, small
# enough to stay near the cores instead of streaming through DRAM.
QUERY_BLOCK = 256
COL_BLOCK = 2048


def bound_sample_size(n_fit: int, k: int) -> int:
    """Fit rows used to bound each query row's k-th distance before the full scan.

    Partitioning the sample costs ~S per row, sorting the surviving candidates ~k·n/S times a
    larger constant; ~3·sqrt(k·n) balances the two (measured), capped at a quarter of n.
    """
    return int(min(n_fit // 4, max(4 * k, 3 * np.sqrt(k * n_fit))))


def n_threads() -> int:
    """Return the number of cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class CategoricalTerm:
    """Squared-distance term for categorical features (SMOTENC).

    Each mismatching category adds ``weight`` to the squared Euclidean distance of the
    continuous part, without one-hot encoding anything.

    Parameters
    ----------
    query_codes : ndarray of shape (n_query, n_categorical)
        Integer category codes of the query rows.
    fit_codes : ndarray of shape (n_fit, n_categorical)
        Integer category codes of the fit rows.
    weight : float
        Squared distance of one mismatch.
    """

    query_codes: NDArray[np.intp]
    fit_codes: NDArray[np.intp]
    weight: float

    def block(self, rows: slice, cols: slice | NDArray[np.intp]) -> NDArray[np.float64]:
        """Return the term between query rows ``rows`` and fit rows ``cols``."""
        q = self.query_codes[rows]
        f = self.fit_codes[cols]
        mism = np.zeros((q.shape[0], f.shape[0]), dtype=np.float64)
        for j in range(q.shape[1]):
            mism += q[:, j, None] != f[None, :, j]
        mism *= self.weight
        return mism

    def pairs(self, ind: NDArray[np.intp], rows: slice) -> NDArray[np.float64]:
        """Return the term between each query row in ``rows`` and its fit rows ``ind``."""
        q = self.query_codes[rows]
        mism = (self.fit_codes[ind] != q[:, None, :]).sum(axis=2)
        return mism * self.weight


def kneighbors(
    X_fit: NDArray[np.floating],
    k: int,
    *,
    X_query: NDArray[np.floating] | None = None,
    query_index: NDArray[np.intp] | None = None,
    categorical: CategoricalTerm | None = None,
    algorithm: str = "auto",
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Find the ``k`` nearest fit rows of each query row (Euclidean, exact).

    Parameters
    ----------
    X_fit : ndarray of shape (n_fit, n_features)
        Rows searched.
    k : int
        Neighbours returned per query row.
    X_query : ndarray of shape (n_query, n_features), default=None
        Query rows. ``None`` queries the fit rows ``query_index`` (every fit row when that is
        ``None`` too); a fit row then never returns itself, though its duplicates still count.
    query_index : ndarray of shape (n_query,), default=None
        Positions in ``X_fit`` of the query rows when ``X_query`` is ``None``.
    categorical : CategoricalTerm, default=None
        Extra squared-distance term for categorical features; forces brute force.
    algorithm : {"auto", "kd_tree", "brute"}, default="auto"
        Back end; "auto" picks the k-d tree up to 8 features, brute force above.

    Returns
    -------
    distances : ndarray of shape (n_query, k)
        Ascending along each row.
    indices : ndarray of shape (n_query, k)
        Positions in ``X_fit``.
    """
    X_fit = np.ascontiguousarray(X_fit)
    own: NDArray[np.intp] | None = None
    if X_query is None:
        own = np.arange(X_fit.shape[0]) if query_index is None else np.asarray(query_index)
        X_query = X_fit[own]
    available = X_fit.shape[0] - (0 if own is None else 1)
    if not 1 <= k <= available:
        raise ValueError(f"Expected 1 <= k <= {available} (neighbours available), got k={k}.")
    if algorithm == "auto":
        few = categorical is None and X_fit.shape[1] <= KDTREE_MAX_FEATURES
        algorithm = "kd_tree" if few else "brute"
    if algorithm == "kd_tree":
        return _kd_tree(X_fit, np.ascontiguousarray(X_query), k, own)
    return _brute(X_fit, np.ascontiguousarray(X_query), k, own, categorical)


def _kd_tree(
    X_fit: NDArray[np.floating], X_query: NDArray[np.floating], k: int, own: NDArray[np.intp] | None
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    from scipy.spatial import cKDTree

    extra = 0 if own is None else 1
    dist, ind = cKDTree(X_fit).query(X_query, k=k + extra, workers=-1)
    dist = np.asarray(dist, dtype=np.float64).reshape(len(X_query), k + extra)
    ind = np.asarray(ind, dtype=np.intp).reshape(len(X_query), k + extra)
    if own is None:
        return dist, ind
    drop = ind == own[:, None]
    # A row crowded out of its own result by exact duplicates loses its farthest hit instead.
    drop[~drop.any(axis=1), -1] = True
    keep = ~drop
    return dist[keep].reshape(-1, k), ind[keep].reshape(-1, k)


def _blocks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _brute(
    X_fit: NDArray[np.floating],
    X_query: NDArray[np.floating],
    k: int,
    own: NDArray[np.intp] | None,
    categorical: CategoricalTerm | None,
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    from threadpoolctl import threadpool_limits

    n_fit, n_query = X_fit.shape[0], X_query.shape[0]
    fit_sq = np.einsum("ij,ij->i", X_fit, X_fit, dtype=np.float64)
    query_sq = np.einsum("ij,ij->i", X_query, X_query, dtype=np.float64)
    # -2a · b through BLAS, then + ||b||²; the ||a||² row constant only matters when another
    # term (categorical) is added. No augmented copy of X_fit: it may be the whole data set.
    query_m2 = np.multiply(X_query, -2.0, dtype=np.float64)
    # Two evaluations of one pair may differ by rounding of the expanded formula; this slack
    # keeps a bound from excluding the very entry it was read from.
    slack = 1e-9 * (float(fit_sq.max(initial=0.0)) + float(query_sq.max(initial=0.0)) + 1.0)
    # With self excluded, keep one more candidate: the row itself is dropped afterwards.
    want = k + (0 if own is None else 1)
    ind = np.empty((n_query, k), dtype=np.intp)
    workers = n_threads()
    # Few queries (a near-duplicate sample) still spread over every core.
    query_block = max(16, min(QUERY_BLOCK, -(-n_query // workers)))

    def distances(rows: slice, cols: slice | NDArray[np.intp]) -> NDArray[np.float64]:
        d = query_m2[rows] @ X_fit[cols].T.astype(np.float64, copy=False)
        d += fit_sq[cols]
        if categorical is not None:
            d += query_sq[rows, None]
            d += categorical.block(rows, cols)
        return d

    def drop_self(rows: slice, cand: NDArray[np.intp], n_keep: int) -> NDArray[np.intp]:
        if own is None:
            return cand[:, :n_keep]
        is_self = cand == own[rows, None]
        is_self[~is_self.any(axis=1), -1] = True
        return cand[~is_self].reshape(-1, n_keep)

    def run(rows: slice) -> None:
        n_rows = rows.stop - rows.start
        if n_fit <= 2 * COL_BLOCK:
            d = distances(rows, slice(0, n_fit))
            part = np.argpartition(d, want - 1, axis=1)[:, :want]
            ind[rows] = drop_self(rows, part, k)
            return
        sample = np.linspace(0, n_fit - 1, bound_sample_size(n_fit, want)).astype(np.intp)
        bound = np.partition(distances(rows, sample), want - 1, axis=1)[:, want - 1] + slack
        mask = np.empty((n_rows, COL_BLOCK), dtype=bool)
        r_parts, c_parts, v_parts = [], [], []
        for cols in _blocks(n_fit, COL_BLOCK):
            d = distances(rows, cols)
            m = mask[:, : d.shape[1]]
            np.less_equal(d, bound[:, None], out=m)
            flat = np.flatnonzero(m)
            r, c = np.divmod(flat, d.shape[1])
            r_parts.append(r)
            c_parts.append(c + cols.start)
            v_parts.append(d.ravel()[flat])
        r_all = np.concatenate(r_parts)
        c_all = np.concatenate(c_parts)
        order = np.lexsort((c_all, np.concatenate(v_parts), r_all))
        r_all, c_all = r_all[order], c_all[order]
        counts = np.bincount(r_all, minlength=n_rows)
        if counts.min() < want:  # pragma: no cover - the bound holds by construction
            raise RuntimeError("k-NN candidate bound excluded true neighbours; please report.")
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        ind[rows] = drop_self(rows, c_all[starts[:, None] + np.arange(want)[None, :]], k)

    blocks = list(_blocks(n_query, query_block))
    workers = min(workers, len(blocks))
    # One BLAS thread per worker: OpenBLAS's own threading on these thin GEMMs was measured
    # 2-4x slower than one single-threaded GEMM per core.
    with threadpool_limits(limits=1, user_api="blas"):
        if workers > 1:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(run, blocks))
        else:
            for rows in blocks:
                run(rows)
    dist = np.empty(ind.shape, dtype=np.float64)
    for rows in _blocks(n_query, 16384):
        diff = X_fit[ind[rows]] - X_query[rows][:, None, :]
        sq = np.einsum("ijk,ijk->ij", diff, diff, dtype=np.float64)
        if categorical is not None:
            sq += categorical.pairs(ind[rows], rows)
        dist[rows] = np.sqrt(sq)
    order = np.lexsort((ind, dist), axis=1)
    return np.take_along_axis(dist, order, axis=1), np.take_along_axis(ind, order, axis=1)
