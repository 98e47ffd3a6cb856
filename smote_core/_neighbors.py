"""Exact k-nearest-neighbour search, chosen by the shape of the data.

Two exact back ends:

* a k-d tree (:class:`scipy.spatial.cKDTree`, queried on every core) for up to 8 features,
  where it prunes well;
* a blocked brute force for more features: a set of rows among themselves (SMOTE's and
  ADASYN's within-class search) goes to :mod:`._self_neighbors`, which computes each block
  pair once for both sides; other queries are searched here. Each query row first gets an
  upper bound on its k-th distance from evenly spaced fit rows; then blocks of
  ``||b||² − 2 a·b`` (the ``||a||²`` row constant does not change the ordering) come from
  one float32 GEMM each on centred data, and only entries under the bound plus a rounding
  slack survive. Blocks are small enough to stay in a core's cache, and query blocks are
  spread over every core with BLAS pinned to one thread per worker (searches under
  ``SERIAL_MAX_WORK`` multiply-adds run in the calling thread).

Survivors within the slack of each row's k-th screened value are measured again exactly, in
float64 as ``||a − b||``, and ranked (ties by row index). The slack is far above float32's
rounding of the screening formula, so the result is the float64 exact k-NN, not an
approximation.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ._screening import (
    BOUND_GROUPS_PER_NEIGHBOR,
    SERIAL_MAX_WORK,
    blas_one_thread,
    blocks,
    bound_sample,
    exact_top_k,
    n_threads,
    round_up,
    sample_bound,
    true_positions,
)
from ._self_neighbors import BLOCK as SELF_BLOCK
from ._self_neighbors import self_kneighbors

__all__ = ["CategoricalTerm", "kneighbors", "n_threads"]

# Up to this many features a k-d tree prunes well; beyond it brute force through BLAS wins
# (issue 3: cKDTree took 756 s where brute force took 31 s on 100k x 20 Gaussian points).
KDTREE_MAX_FEATURES = 8
#: Neighbours returned (queries x k) up to which the k-d tree is queried in one thread.
KDTREE_SERIAL_MAX_HITS = 25_000
# One screening block is QUERY_BLOCK x COL_BLOCK float32 = 512 KiB: it stays in a core's L2
# (fastest of the shapes measured here, 64..1024 x 256..4096, on a 20-feature GEMM). Query
# blocks may grow to twice QUERY_BLOCK rows so that every worker gets the same number of equal
# blocks: 1,000 queries as 2 x 500 rows ran in 0.09 s against 4 x 256 rows' 0.126 s on 2 cores.
QUERY_BLOCK = 256
COL_BLOCK = 512


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
    among_themselves = query_index is None and own is not None and categorical is None
    if among_themselves and X_fit.shape[0] > 2 * SELF_BLOCK:
        return self_kneighbors(X_fit, k)
    return _brute(X_fit, np.ascontiguousarray(X_query), k, own, categorical)


def _kd_tree(
    X_fit: NDArray[np.floating], X_query: NDArray[np.floating], k: int, own: NDArray[np.intp] | None
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    from scipy.spatial import cKDTree

    extra = 0 if own is None else 1
    # scipy starts its threads on every call: for a few thousand queries that costs more than
    # the second core saves (200 rows x 4 features: 0.33 ms on every core, 0.16 ms on one).
    workers = -1 if X_query.shape[0] * (k + extra) > KDTREE_SERIAL_MAX_HITS else 1
    dist, ind = cKDTree(X_fit).query(X_query, k=k + extra, workers=workers)
    dist = np.asarray(dist, dtype=np.float64).reshape(len(X_query), k + extra)
    ind = np.asarray(ind, dtype=np.intp).reshape(len(X_query), k + extra)
    if own is None:
        return dist, ind
    drop = ind == own[:, None]
    # A row crowded out of its own result by exact duplicates loses its farthest hit instead.
    drop[~drop.any(axis=1), -1] = True
    keep = ~drop
    return dist[keep].reshape(-1, k), ind[keep].reshape(-1, k)


def _brute(
    X_fit: NDArray[np.floating],
    X_query: NDArray[np.floating],
    k: int,
    own: NDArray[np.intp] | None,
    categorical: CategoricalTerm | None,
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    n_fit, n_query = X_fit.shape[0], X_query.shape[0]
    # Screening runs in float32 (twice the GEMM throughput of float64) on centred data. Many
    # queries: the fit rows are converted once. A few queries against many fit rows (a small
    # minority's search over all of X): each block is converted as it is screened, since
    # converting all of X_fit would cost more passes over memory than the GEMM, and the
    # queries' mean is the centre (fit rows near the queries, the only ones that matter, are
    # centred well by it).
    # Every surviving candidate is then measured exactly in float64, and the slack is far
    # above the screening's rounding, so the result is the exact float64 k-NN.
    direct = n_query < 2 * QUERY_BLOCK
    centre = (X_query if direct else X_fit).mean(axis=0, dtype=np.float64)
    if direct:
        fit_aug, fit_sq = None, _squared_norms(X_fit, centre)
    else:
        fit_aug, fit_sq = _augment(X_fit, centre)
    q_c = X_query - centre
    query_sq = np.einsum("ij,ij->i", q_c, q_c, dtype=np.float64)
    # [-2a, 1] · [b, ||b||²] = ||b||² − 2 a·b: one GEMM gives a row-shifted squared distance.
    query_aug = np.empty((n_query, X_query.shape[1] + 1), dtype=np.float32)
    query_aug[:, :-1] = -2.0 * q_c
    query_aug[:, -1] = 1.0
    del q_c
    largest = float(fit_sq.max(initial=0.0))
    if categorical is not None:
        # The category term joins the screened sum (and its rounding) once added.
        largest += categorical.weight * categorical.fit_codes.shape[1] + float(query_sq.max())
    slack = 1e-5 * (query_sq + largest) + 1e-12
    # With self excluded, the bound must leave one more candidate: the row itself.
    want = k + (0 if own is None else 1)
    ind = np.empty((n_query, k), dtype=np.intp)
    dist = np.empty((n_query, k), dtype=np.float64)
    workers = n_threads() if n_query * n_fit * X_fit.shape[1] > SERIAL_MAX_WORK else 1
    # In one thread, fewer and larger blocks (a 512 x 512 block still fits L2): each block's
    # exact step has a fixed cost, 0.1 ms here.
    query_block = QUERY_BLOCK if workers > 1 else 2 * QUERY_BLOCK
    if not direct:  # a few queries are better served by splitting the fit rows (below)
        per_worker = -(-n_query // (workers * 2 * QUERY_BLOCK))
        query_block = -(-n_query // (workers * per_worker))

    def distances(
        rows: slice, cols: slice | NDArray[np.intp], out: NDArray[np.floating] | None = None
    ) -> NDArray[np.floating]:
        block = (
            fit_aug[cols] if fit_aug is not None else _augment(X_fit[cols], centre, fit_sq[cols])[0]
        )
        d = np.matmul(query_aug[rows], block.T, out=out)
        if categorical is not None:
            # Row constants matter once another term is added.
            d += query_sq[rows, None].astype(d.dtype)
            d += categorical.block(rows, cols).astype(d.dtype)
        return d

    def col_block_for(n_rows: int) -> int:
        # Keep the block area constant: a few query rows get wider blocks, so the per-block
        # Python overhead stays small next to the GEMM.
        return max(COL_BLOCK, QUERY_BLOCK * COL_BLOCK // n_rows)

    sample = bound_sample(n_fit, want)

    def to_sample(rows: slice, cols: slice) -> NDArray[np.floating]:
        return distances(rows, sample[cols])

    def bound_for(rows: slice) -> NDArray[np.floating]:
        return sample_bound(to_sample, rows, sample.shape[0], want) + 2 * slack[rows]

    Candidates = tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.floating]]

    def scan(rows: slice, span: slice, bound: NDArray[np.floating]) -> Candidates:
        """Entries of fit rows ``span`` under each query row's bound."""
        n_rows = rows.stop - rows.start
        col_block = col_block_for(n_rows)
        mask = np.empty((n_rows, col_block), dtype=bool)
        # Reused per block: a fresh 512 KiB result each time costs an mmap and page faults.
        buf = np.empty((n_rows, col_block), dtype=np.float32)
        # The bound as a full float32 block: comparing against a broadcast column
        # measured 2-3x slower, and a float64 bound against float32 values 5-6x slower. The
        # cast rounds up, so no entry under the float64 bound is lost.
        limit = round_up(bound, np.float32)
        limits = np.empty_like(buf)
        limits[...] = limit[:, None]
        r_parts, c_parts, v_parts = [], [], []
        for part in blocks(span.stop - span.start, col_block):
            cols = slice(span.start + part.start, span.start + part.stop)
            full = cols.stop - cols.start == col_block
            d = distances(rows, cols, buf if full else None)
            m = mask.reshape(-1)[: d.size].reshape(d.shape)  # contiguous, for the word scan
            np.less_equal(d, limits[:, : d.shape[1]], out=m)
            flat = true_positions(m)
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
        extra = None if categorical is None else categorical.pair_rows
        ind[rows], dist[rows] = exact_top_k(r, c, v, rows, k, slack, X_fit, X_query, extra)

    def run(rows: slice) -> None:
        n_rows = rows.stop - rows.start
        if n_fit <= 2 * col_block_for(n_rows):
            d = distances(rows, slice(0, n_fit))
            if own is not None:
                d[np.arange(n_rows), own[rows]] = np.inf
            bound = group_bound(d, k) + 2 * slack[rows]
            mask = d <= bound[:, None]
            flat = true_positions(mask)
            r, c = np.divmod(flat, n_fit)
            finish(rows, [(r, c, d.ravel()[flat])])
        else:
            finish(rows, [scan(rows, slice(0, n_fit), bound_for(rows))])

    query_blocks = list(blocks(n_query, query_block))
    # One BLAS thread per worker: OpenBLAS's own threading on these thin GEMMs was measured
    # 2-4x slower than one single-threaded GEMM per core.
    with blas_one_thread():
        if len(query_blocks) == 1 and workers > 1 and n_fit > 2 * workers * col_block_for(n_query):
            # One block of queries against many fit rows: split the fit rows instead.
            rows = query_blocks[0]
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
        elif min(workers, len(query_blocks)) > 1:
            with ThreadPoolExecutor(min(workers, len(query_blocks))) as pool:
                list(pool.map(run, query_blocks))
        else:
            for rows in query_blocks:
                run(rows)
    return dist, ind


def group_bound(d: NDArray[np.floating], k: int) -> NDArray[np.floating]:
    """An upper bound on the ``k``-th smallest value of each row of ``d``.

    Column ``j`` belongs to group ``j % G`` of ``G = 4·k`` (a last partial run of columns left
    out): the ``k``-th smallest of the G group minima is attained by ``k`` distinct entries, so
    it bounds the row's ``k``-th smallest from above, nearly as tightly when G ≫ k. The minima
    are a running ``np.minimum`` over runs of G columns; ``np.partition`` of every entry
    measured 3-4x slower on a 500 x 1,000 block.
    """
    groups = BOUND_GROUPS_PER_NEIGHBOR * k
    runs = d.shape[1] // groups
    if runs < 2:
        return np.partition(d, k - 1, axis=1)[:, k - 1]
    low = d[:, :groups].copy()
    for t in range(1, runs):
        np.minimum(low, d[:, t * groups : (t + 1) * groups], out=low)
    return np.partition(low, k - 1, axis=1)[:, k - 1]


def _squared_norms(X: NDArray[np.floating], centre: NDArray[np.float64]) -> NDArray[np.float64]:
    """``||x − centre||²`` of every row, in float64."""
    sq = np.empty(X.shape[0], dtype=np.float64)
    for rows in blocks(X.shape[0], 65536):
        c = X[rows] - centre
        sq[rows] = np.einsum("ij,ij->i", c, c, dtype=np.float64)
    return sq


def _augment(
    X: NDArray[np.floating], centre: NDArray[np.float64], sq: NDArray[np.float64] | None = None
) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    """Rows ``[x − centre, ||x − centre||²]`` in float32, and the float64 norms.

    Norms not given are computed in the same pass over X as the centred rows.
    """
    out = np.empty((X.shape[0], X.shape[1] + 1), dtype=np.float32)
    norms = np.empty(X.shape[0], dtype=np.float64) if sq is None else sq
    for rows in blocks(X.shape[0], 65536):
        c = X[rows] - centre
        out[rows, :-1] = c
        if sq is None:
            norms[rows] = np.einsum("ij,ij->i", c, c, dtype=np.float64)
    out[:, -1] = norms
    return out, norms
