"""Exact k-NN of a set of rows among themselves, each block pair computed once for both sides.

SMOTE and ADASYN need every row's nearest neighbours within its class. The squared distances
are symmetric, so a GEMM block of rows I against rows J serves I's search and J's: half the
GEMMs, comparisons and mask scans of a one-sided search, which spend nearly all of its time
writing and reading those blocks.

Each row first gets an upper bound on its k-th distance from a sample (:func:`sample_bound`);
rows are then ordered by bound, so for blocks I < J every bound of J is at least every bound of
I and the entries either side needs are exactly those under J's bounds (one comparison). Only
candidates of row blocks not yet complete are held; a row block is measured exactly
(:func:`exact_top_k`) as soon as its last block pair is screened.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from ._screening import (
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

__all__ = ["BLOCK", "self_kneighbors"]

#: Rows per block; a 512 x 512 float32 block (1 MiB) stays in a core's L2 (fastest measured).
BLOCK = 512
#: A block whose bounds spread less than this (relative) is screened against its largest
#: bound, one scalar comparison; wider ones against each column's own bound.
SCALAR_SPREAD = 0.02

T = TypeVar("T")
R = TypeVar("R")
Candidates = tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.float32]]


def self_kneighbors(
    X: NDArray[np.floating], k: int
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """The ``k`` nearest other rows of every row of ``X`` (Euclidean, exact, ties by index).

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
    k : int
        ``1 <= k < n``; a row never returns itself, though its duplicates count.

    Returns
    -------
    distances, indices : ndarray of shape (n, k)
    """
    n, n_features = X.shape
    centre = X.mean(axis=0, dtype=np.float64)
    # [c, ||c||², 1] · [-2c', 1, ||c'||²] = ||c − c'||²: one GEMM gives the squared distance.
    left = np.empty((n, n_features + 2), dtype=np.float32)
    right = np.empty((n, n_features + 2), dtype=np.float32)
    sq = np.empty(n, dtype=np.float64)
    for rows in blocks(n, 65536):
        c = X[rows] - centre
        sq[rows] = np.einsum("ij,ij->i", c, c, dtype=np.float64)
        left[rows, :n_features] = c
        right[rows, :n_features] = -2.0 * c
    left[:, n_features] = sq
    left[:, n_features + 1] = 1.0
    right[:, n_features] = 1.0
    right[:, n_features + 1] = sq
    # Far above float32's rounding of the formula (see _neighbors), so nothing is lost.
    slack = 1e-5 * (sq + float(sq.max(initial=0.0))) + 1e-12
    want = k + 1  # the sample may hold the row itself
    sample_right = np.ascontiguousarray(right[bound_sample(n, want)])

    def to_sample(rows: slice, cols: slice) -> NDArray[np.float32]:
        return np.matmul(left[rows], sample_right[cols].T)

    def bound_of(rows: slice) -> NDArray[np.float64]:
        return sample_bound(to_sample, rows, sample_right.shape[0], want)

    workers = n_threads() if n * n * n_features > SERIAL_MAX_WORK else 1
    with blas_one_thread():
        bound = np.concatenate(_map(workers, bound_of, list(blocks(n, 4096))))
    bound += 2 * slack
    order = np.argsort(bound, kind="stable")
    left, right = left[order], right[order]
    limit = round_up(bound[order], np.float32)
    slack_sorted = slack[order]
    X_sorted = X[order]
    spans = list(blocks(n, BLOCK))
    n_blocks = len(spans)
    scalar = [_scalar_limit(limit[s]) for s in spans]
    pending: list[list[Candidates]] = [[] for _ in range(n_blocks)]
    screened_pairs = [0] * n_blocks
    lock = threading.Lock()
    ind = np.empty((n, k), dtype=np.intp)
    dist = np.empty((n, k), dtype=np.float64)

    def finish(jb: int) -> None:
        parts, pending[jb] = pending[jb], []
        rows = spans[jb]
        r = np.concatenate([p[0] for p in parts])
        c = order[np.concatenate([p[1] for p in parts])]
        v = np.concatenate([p[2] for p in parts])
        # Fit rows in input order: ties break by the caller's row index.
        i, d = exact_top_k(r, c, v, rows, k, slack_sorted, X, X_sorted)
        ind[order[rows]] = i
        dist[order[rows]] = d

    def add(jb: int, parts: list[Candidates]) -> None:
        """Hand row block jb the candidates of one block row; finish it after its last."""
        with lock:
            pending[jb].extend(parts)
            screened_pairs[jb] += 1
            done = screened_pairs[jb] == jb + 1
        if done:
            finish(jb)

    def row_block(ib: int) -> None:
        rows_i = spans[ib]
        left_i = left[rows_i]
        limit_i = limit[rows_i]
        buf = np.empty((left_i.shape[0], BLOCK), dtype=np.float32)
        mask = np.empty((left_i.shape[0], BLOCK), dtype=bool)
        mine: list[Candidates] = []
        for jb in range(ib, n_blocks):
            cols = spans[jb]
            width = cols.stop - cols.start
            d = np.matmul(left_i, right[cols].T, out=buf if width == BLOCK else None)
            m = mask.reshape(-1)[: mask.shape[0] * width].reshape(-1, width)  # contiguous
            # ib < jb: every bound of jb is >= every bound of ib (sorted), so an entry either
            # side needs is under jb's bound; jb's own limits are exact, its largest is cheaper.
            # The diagonal block serves ib alone, each pair twice: its largest bound covers it.
            top = limit_i.max() if jb == ib else scalar[jb]
            if top is not None:
                np.less_equal(d, top, out=m)
            else:
                np.less_equal(d, limit[cols][None, :], out=m)
            flat = true_positions(m)
            rr, cc = np.divmod(flat, width)
            v = d.ravel()[flat]
            own = v <= limit_i[rr]
            if jb == ib:
                own &= rr != cc
            mine.append(_part(rr[own], cc[own] + cols.start, v[own]))
            if jb != ib:
                theirs = v <= limit[cols.start + cc]
                add(jb, [_part(cc[theirs], rr[theirs] + rows_i.start, v[theirs])])
        add(ib, mine)

    with blas_one_thread():
        _map(workers, row_block, list(range(n_blocks)))
    return dist, ind


def _map(workers: int, fn: Callable[[T], R], items: list[T]) -> list[R]:
    """``fn`` over ``items``, on ``workers`` threads when there are several of both."""
    if min(workers, len(items)) < 2:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


def _scalar_limit(limits: NDArray[np.float32]) -> float | None:
    """The block's largest bound when its bounds are close enough to share it, else None."""
    top, low = float(limits.max()), float(limits.min())
    return top if top - low <= SCALAR_SPREAD * abs(top) else None


def _part(
    rows: NDArray[np.intp], cols: NDArray[np.intp], values: NDArray[np.floating]
) -> Candidates:
    # Candidates wait for their row block in compact types: 12 bytes each.
    return rows.astype(np.int32), cols.astype(np.int32), values.astype(np.float32, copy=False)
