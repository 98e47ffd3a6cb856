"""Exact radius test: which query rows have some fit row within a distance.

The near-duplicate check asks only this of each sampled synthetic row, so it needs no k-NN
bound. Every answer is decided by measuring a candidate pair exactly, in float64, as
``||a − b||`` — the expression the k-NN search ranks by — so a row is within ``r`` here exactly
when its nearest distance there is ``<= r``. Candidates come from

* a k-d tree, up to ``KD_TREE_MAX_ROWS`` fit rows and once :mod:`scipy.spatial` is imported
  (by a k-NN search on up to 8 features, or by the caller; importing it takes ~0.45 s, more
  than it saves a one-off fit): the radius is tiny (1 % of a typical pair distance by
  default), so a query visits a leaf or two, and building the tree costs less than comparing
  every pair;
* otherwise blocks of ``||b||² − 2 a·b`` from one float32 GEMM each (centred on the queries'
  mean, as in :mod:`._neighbors`), compared against ``r² − ||a||²`` plus the screening slack.

Small searches run in the calling thread: starting workers and pinning BLAS for them cost
more than a 10k x 20 search itself. Larger ones split the fit rows over every core.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

from ._screening import (
    SERIAL_MAX_WORK,
    blas_one_thread,
    blocks,
    n_threads,
    round_up,
    true_positions,
)

__all__ = ["any_within"]

#: Up to this many fit rows a k-d tree proposes the candidates: on 10k x 20 Gaussian rows
#: building it (1.1 ms) and querying 200 rows (0.1 ms) beat GEMM blocks (2.9 ms); from about
#: 20k rows the build costs more than the blocks (measured up to 100 features).
KD_TREE_MAX_ROWS = 15_000
#: Fit rows converted and screened at once; a 256 x 1,024 float32 block (1 MiB) stays in L2.
FIT_BLOCK = 1024
QUERY_BLOCK = 256


def any_within(
    X_fit: NDArray[np.floating], X_query: NDArray[np.floating], radius: float
) -> NDArray[np.bool_]:
    """Return, for each query row, whether some fit row lies at distance ``<= radius``.

    Parameters
    ----------
    X_fit : ndarray of shape (n_fit, n_features)
    X_query : ndarray of shape (n_query, n_features)
    radius : float
        Non-negative; ``inf`` holds every row.

    Returns
    -------
    ndarray of shape (n_query,) of bool
    """
    X_fit = np.ascontiguousarray(X_fit)
    X_query = np.ascontiguousarray(X_query)
    n_fit, n_query = X_fit.shape[0], X_query.shape[0]
    found = np.zeros(n_query, dtype=bool)
    if n_fit == 0 or n_query == 0:
        return found
    if np.isinf(radius):
        found[:] = True
        return found
    if n_fit <= KD_TREE_MAX_ROWS and _tree_loaded():
        return _tree_within(X_fit, X_query, radius)
    return _screened_within(X_fit, X_query, radius)


def _tree_loaded() -> bool:
    return "scipy.spatial" in sys.modules


def _exact(
    X_fit: NDArray[np.floating],
    X_query: NDArray[np.floating],
    fit: NDArray[np.intp],
    query: NDArray[np.intp],
) -> NDArray[np.float64]:
    """``||X_query[query] − X_fit[fit]||`` pair by pair, as the k-NN search measures it."""
    diff = X_fit[fit] - X_query[query]
    return np.sqrt(np.einsum("ij,ij->i", diff, diff, dtype=np.float64))


def _tree_within(
    X_fit: NDArray[np.floating], X_query: NDArray[np.floating], radius: float
) -> NDArray[np.bool_]:
    from scipy.spatial import cKDTree

    found = np.zeros(X_query.shape[0], dtype=bool)
    # A sliding-midpoint tree builds in half the time of a balanced one here.
    tree = cKDTree(X_fit, balanced_tree=False, compact_nodes=False)
    # The tree's arithmetic may differ from ours in the last bits, and it keeps distances
    # strictly under its bound: a slightly larger (and positive) bound proposes each row's
    # nearest fit row whenever ours could be within the radius.
    bound = max(radius * (1.0 + 1e-6), 1e-150)
    dist, ind = tree.query(X_query, k=1, distance_upper_bound=bound, workers=1)
    cand = np.flatnonzero(np.isfinite(dist))
    if cand.size == 0:
        return found
    ok = _exact(X_fit, X_query, ind[cand].astype(np.intp), cand) <= radius
    found[cand[ok]] = True
    # The tree's nearest is just over the radius by our measure: another row might be just
    # under it. These rows (distance within 1e-6 of the radius) are searched exactly.
    unsure = cand[~ok]
    if unsure.size:
        found[unsure] = _screened_within(X_fit, X_query[unsure], radius)
    return found


def _screened_within(
    X_fit: NDArray[np.floating], X_query: NDArray[np.floating], radius: float
) -> NDArray[np.bool_]:
    n_fit, n_query = X_fit.shape[0], X_query.shape[0]
    found = np.zeros(n_query, dtype=bool)
    centre = X_query.mean(axis=0, dtype=np.float64)
    q_c = X_query - centre
    query_sq = np.einsum("ij,ij->i", q_c, q_c, dtype=np.float64)
    # [-2a, 1] · [b, ||b||²] = ||b||² − 2 a·b: the squared distance less the row constant.
    query_aug = np.empty((n_query, X_query.shape[1] + 1), dtype=np.float32)
    query_aug[:, :-1] = -2.0 * q_c
    query_aug[:, -1] = 1.0
    del q_c
    # A relative margin on r² covers its rounding and that of the final square root.
    r2 = radius * radius * (1.0 + 1e-9)

    def screen(span: slice) -> list[tuple[NDArray[np.intp], NDArray[np.intp]]]:
        hits = []
        for part in blocks(span.stop - span.start, FIT_BLOCK):
            cols = slice(span.start + part.start, span.start + part.stop)
            c = X_fit[cols] - centre
            sq = np.einsum("ij,ij->i", c, c, dtype=np.float64)
            block = np.empty((c.shape[0], c.shape[1] + 1), dtype=np.float32)
            block[:, :-1] = c
            block[:, -1] = sq
            # Far above float32's rounding of the formula (see _neighbors): nothing is lost.
            slack = 1e-5 * (query_sq + float(sq.max())) + 1e-12
            limit = round_up(r2 - query_sq + 2 * slack, np.float32)
            for rows in blocks(n_query, QUERY_BLOCK):
                mask = query_aug[rows] @ block.T <= limit[rows, None]
                # Hits are rare: a vectorised any() first (np.nonzero of an all-False
                # 256 x 1,024 mask measured 100x slower).
                if mask.any():
                    r, j = np.divmod(true_positions(mask), mask.shape[1])
                    hits.append((r + rows.start, j + cols.start))
        return hits

    workers = n_threads()
    # One BLAS thread per worker, and in the calling thread too: OpenBLAS's own threads on
    # these thin GEMMs were measured slower than one (see _neighbors), far slower on a busy
    # machine.
    with blas_one_thread():
        if workers > 1 and n_query * n_fit * X_fit.shape[1] > SERIAL_MAX_WORK:
            edges = np.linspace(0, n_fit, workers + 1).astype(np.intp)
            spans = [slice(int(a), int(b)) for a, b in pairwise(edges)]
            with ThreadPoolExecutor(workers) as pool:
                hits = [h for part in pool.map(screen, spans) for h in part]
        else:
            hits = screen(slice(0, n_fit))
    if hits:
        r = np.concatenate([h[0] for h in hits])
        j = np.concatenate([h[1] for h in hits])
        found[r[_exact(X_fit, X_query, j, r) <= radius]] = True
    return found
