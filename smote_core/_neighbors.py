"""Exact k-nearest-neighbour search, chosen by the shape of the data.

Two exact back ends:

* a k-d tree (:class:`scipy.spatial.cKDTree`, queried on every core) for up to 8 features,
  where it prunes well;
* a blocked brute force for more features. Each query row first gets an upper bound on its
  k-th distance from evenly spaced fit rows; then blocks of ``||b||² − 2 a·b`` (the ``||a||²``
  row constant does not change the ordering) come from one float32 GEMM each on centred data,
  and only entries under the bound plus a rounding slack survive. Blocks are small enough to
  stay in a core's cache, and query blocks are spread over every core with BLAS pinned to one
  thread per worker.

Survivors within the slack of each row's k-th screened value are measured again exactly, in
float64 as ``||a − b||``, and ranked (ties by row index). The slack is far above float32's
rounding of the screening formula, so the result is the float64 exact k-NN, not an
approximation.
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
# One screening block is QUERY_BLOCK x COL_BLOCK float32 = 512 KiB: it stays in a core's L2
# (fastest of the shapes measured here, 64..1024 x 256..4096, on a 20-feature GEMM).
QUERY_BLOCK = 256
COL_BLOCK = 512


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

    def pair_rows(self, fit: NDArray[np.intp], query: NDArray[np.intp]) -> NDArray[np.float64]:
        """Return the term between query row ``query[i]`` and fit row ``fit[i]``, for each i."""
        mism = np.count_nonzero(self.fit_codes[fit] != self.query_codes[query], axis=1)
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
    # Many queries: screening runs in float32 (twice the GEMM throughput) on centred data,
    # built once. A few queries against many fit rows (the near-duplicate check): float64
    # straight from X_fit, as converting it would cost more passes over memory than the GEMM.
    # Either way every surviving candidate is then measured exactly in float64, and the slack
    # is far above the screening's rounding, so the result is the exact float64 k-NN.
    direct = n_query < 2 * QUERY_BLOCK
    centre = np.zeros(X_fit.shape[1]) if direct else X_fit.mean(axis=0, dtype=np.float64)
    fit_sq = np.zeros(n_fit, dtype=np.float64)
    for rows in _blocks(n_fit, 65536):
        c = X_fit[rows] - centre if not direct else X_fit[rows]
        fit_sq[rows] = np.einsum("ij,ij->i", c, c, dtype=np.float64)
    q_c = X_query - centre
    query_sq = np.einsum("ij,ij->i", q_c, q_c, dtype=np.float64)
    screen = np.float64 if direct else np.float32
    # [-2a, 1] · [b, ||b||²] = ||b||² − 2 a·b: one GEMM gives a row-shifted squared distance.
    query_aug = np.empty((n_query, X_query.shape[1] + 1), dtype=screen)
    query_aug[:, :-1] = -2.0 * q_c
    query_aug[:, -1] = 1.0
    query_m2 = np.ascontiguousarray(query_aug[:, :-1])
    del q_c
    fit_aug = None if direct else _augment(X_fit, centre, fit_sq)
    slack = 1e-5 * (query_sq + float(fit_sq.max(initial=0.0))) + 1e-12
    # With self excluded, the bound must leave one more candidate: the row itself.
    want = k + (0 if own is None else 1)
    ind = np.empty((n_query, k), dtype=np.intp)
    dist = np.empty((n_query, k), dtype=np.float64)
    workers = n_threads()
    query_block = QUERY_BLOCK

    def distances(
        rows: slice, cols: slice | NDArray[np.intp], out: NDArray[np.floating] | None = None
    ) -> NDArray[np.floating]:
        if fit_aug is not None:
            d = np.matmul(query_aug[rows], fit_aug[cols].T, out=out)
        else:
            d = np.matmul(query_m2[rows], X_fit[cols].T.astype(np.float64, copy=False), out=out)
            d += fit_sq[cols]
        if categorical is not None:
            # Row constants matter once another term is added.
            d += query_sq[rows, None].astype(d.dtype)
            d += categorical.block(rows, cols).astype(d.dtype)
        return d

    def col_block_for(n_rows: int) -> int:
        # Keep the block area constant: a few query rows get wider blocks, so the per-block
        # Python overhead stays small next to the GEMM.
        return max(COL_BLOCK, QUERY_BLOCK * COL_BLOCK // n_rows)

    def bound_for(rows: slice) -> NDArray[np.floating]:
        sample = np.linspace(0, n_fit - 1, bound_sample_size(n_fit, want)).astype(np.intp)
        bound = np.partition(distances(rows, sample), want - 1, axis=1)[:, want - 1]
        return bound + 2 * slack[rows]

    Candidates = tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.floating]]

    def scan(rows: slice, span: slice, bound: NDArray[np.floating]) -> Candidates:
        """Entries of fit rows ``span`` under each query row's bound."""
        n_rows = rows.stop - rows.start
        col_block = col_block_for(n_rows)
        mask = np.empty((n_rows, col_block), dtype=bool)
        # Reused per block: a fresh 512 KiB result each time costs an mmap and page faults.
        buf = np.empty((n_rows, col_block), dtype=screen)
        # The bound as a full block in the screen dtype: comparing against a broadcast column
        # measured 2-3x slower, and a float64 bound against float32 values 5-6x slower. The
        # cast rounds up, so no entry under the float64 bound is lost.
        limit: NDArray[np.floating] = bound.astype(screen)
        low = limit < bound
        limit[low] = np.nextafter(limit[low], np.inf)
        limits = np.empty_like(buf)
        limits[...] = limit[:, None]
        r_parts, c_parts, v_parts = [], [], []
        for part in _blocks(span.stop - span.start, col_block):
            cols = slice(span.start + part.start, span.start + part.stop)
            full = cols.stop - cols.start == col_block
            d = distances(rows, cols, buf if full else None)
            m = mask[:, : d.shape[1]]
            np.less_equal(d, limits[:, : d.shape[1]], out=m)
            flat = _flat_true(m)
            rr, cc = np.divmod(flat, d.shape[1])
            r_parts.append(rr)
            c_parts.append(cc + cols.start)
            v_parts.append(d.ravel()[flat])
        return np.concatenate(r_parts), np.concatenate(c_parts), np.concatenate(v_parts)

    def finish(rows: slice, parts: list[Candidates]) -> None:
        r = np.concatenate([p[0] for p in parts])
        c = np.concatenate([p[1] for p in parts])
        v = np.concatenate([p[2] for p in parts])
        if own is not None:
            v[c == own[rows][r]] = np.inf
        ind[rows], dist[rows] = _finish(r, c, v, rows, k, slack, X_fit, X_query, categorical)

    def run(rows: slice) -> None:
        n_rows = rows.stop - rows.start
        if n_fit <= 2 * col_block_for(n_rows):
            d = distances(rows, slice(0, n_fit))
            if own is not None:
                d[np.arange(n_rows), own[rows]] = np.inf
            bound = np.partition(d, k - 1, axis=1)[:, k - 1] + 2 * slack[rows]
            r, c = np.nonzero(d <= bound[:, None])
            finish(rows, [(r, c, d[r, c])])
        else:
            finish(rows, [scan(rows, slice(0, n_fit), bound_for(rows))])

    blocks = list(_blocks(n_query, query_block))
    # One BLAS thread per worker: OpenBLAS's own threading on these thin GEMMs was measured
    # 2-4x slower than one single-threaded GEMM per core.
    with threadpool_limits(limits=1, user_api="blas"):
        if len(blocks) == 1 and workers > 1 and n_fit > 2 * workers * col_block_for(n_query):
            # One block of queries against many fit rows: split the fit rows instead.
            rows = blocks[0]
            bound = bound_for(rows)
            spans = [
                slice(int(lo), int(hi))
                for lo, hi in zip(
                    np.linspace(0, n_fit, workers + 1)[:-1],
                    np.linspace(0, n_fit, workers + 1)[1:],
                    strict=True,
                )
            ]
            with ThreadPoolExecutor(workers) as pool:
                parts = list(pool.map(lambda span: scan(rows, span, bound), spans))
            finish(rows, parts)
        elif min(workers, len(blocks)) > 1:
            with ThreadPoolExecutor(min(workers, len(blocks))) as pool:
                list(pool.map(run, blocks))
        else:
            for rows in blocks:
                run(rows)
    return dist, ind


def _augment(
    X: NDArray[np.floating], centre: NDArray[np.float64], sq: NDArray[np.float64]
) -> NDArray[np.float32]:
    out = np.empty((X.shape[0], X.shape[1] + 1), dtype=np.float32)
    for rows in _blocks(X.shape[0], 65536):
        out[rows, :-1] = X[rows] - centre
    out[:, -1] = sq
    return out


def _flat_true(mask: NDArray[np.bool_]) -> NDArray[np.intp]:
    """Flat positions of True in a C-contiguous mask where True is rare.

    Scanning the mask as 8-byte words is 8x fewer elements than ``np.flatnonzero``; only the
    few non-zero words are expanded.
    """
    size = mask.size
    if size % 8:
        return np.flatnonzero(mask)
    # ``!= 0`` is vectorised; nonzero() of a bool array is faster than of a uint64 one.
    words = np.flatnonzero(mask.reshape(-1).view(np.uint64) != 0)
    if words.size == 0:
        return words
    cells = (words[:, None] * 8 + np.arange(8)[None, :]).ravel()
    return cells[mask.reshape(-1)[cells]]


def _finish(
    r: NDArray[np.intp],
    c: NDArray[np.intp],
    v: NDArray[np.floating],
    rows: slice,
    k: int,
    slack: NDArray[np.float64],
    X_fit: NDArray[np.floating],
    X_query: NDArray[np.floating],
    categorical: CategoricalTerm | None,
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """From screened candidates (row r, column c, screening value v), the exact top k per row."""
    n_rows = rows.stop - rows.start
    # Candidates into a padded (row, slot) table; a stable radix sort on the small row ids.
    order = np.argsort(r.astype(np.uint16), kind="stable")
    r, c, v = r[order], c[order], v[order]
    counts = np.bincount(r, minlength=n_rows)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    slot = np.arange(r.shape[0]) - starts[r]
    width = int(counts.max())
    values = np.full((n_rows, width), np.inf, dtype=v.dtype)
    values[r, slot] = v
    cols = np.zeros((n_rows, width), dtype=np.intp)
    cols[r, slot] = c
    kth = np.partition(values, k - 1, axis=1)[:, k - 1]
    if not np.all(np.isfinite(kth)):  # pragma: no cover - the bound holds by construction
        raise RuntimeError("k-NN screening kept fewer than k candidates; please report this.")
    # Everything within twice the screening slack of the k-th screened value may be among
    # the exact top k; only those are measured in float64.
    keep = values <= (kth + 2 * slack[rows])[:, None]
    kr, ks = np.nonzero(keep)
    kc = cols[kr, ks]
    diff = X_fit[kc] - X_query[rows.start + kr]
    exact_1d = np.einsum("ij,ij->i", diff, diff, dtype=np.float64)
    if categorical is not None:
        exact_1d += categorical.pair_rows(kc, rows.start + kr)
    n_keep = np.bincount(kr, minlength=n_rows)
    kstarts = np.concatenate(([0], np.cumsum(n_keep)[:-1]))
    kslot = np.arange(kr.shape[0]) - kstarts[kr]
    width = int(n_keep.max())
    exact = np.full((n_rows, width), np.inf)
    exact[kr, kslot] = exact_1d
    cand = np.zeros((n_rows, width), dtype=np.intp)
    cand[kr, kslot] = kc
    pick = np.lexsort((cand, exact), axis=1)[:, :k]
    return np.take_along_axis(cand, pick, axis=1), np.sqrt(np.take_along_axis(exact, pick, axis=1))
