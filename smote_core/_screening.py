"""Pieces both brute-force k-NN searches share: bound, screen, exact top k.

A search screens blocks of cheap (float32 GEMM) squared distances against a per-row upper
bound on the k-th distance, then measures the few survivors again exactly in float64
(:func:`exact_top_k`), so the result is the float64 exact k-NN, not an approximation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BOUND_GROUPS_PER_NEIGHBOR",
    "SERIAL_MAX_WORK",
    "blas_one_thread",
    "blocks",
    "bound_sample",
    "exact_top_k",
    "n_threads",
    "round_up",
    "sample_bound",
    "true_positions",
]

#: Sample groups per wanted neighbour in :func:`sample_bound`.
BOUND_GROUPS_PER_NEIGHBOR = 4
#: Sample columns screened at once in :func:`sample_bound` (a 128-row block stays in L2).
BOUND_COLUMNS = 2048
BOUND_ROWS = 128
#: Multiply-adds (queries x fit rows x features) up to which a search runs in the calling
#: thread: starting workers and pinning BLAS for them cost more than a second core saves on
#: such a search (a 10k x 20 SMOTE fit spent over half its time there, twice
#: imbalanced-learn's whole fit).
SERIAL_MAX_WORK = 50_000_000


def blas_one_thread() -> AbstractContextManager[Any]:
    """Pin BLAS to one thread while worker threads each run their own GEMMs.

    The controller is built once: building it scans the loaded libraries (0.16 ms a call).
    Libraries loaded after the first call are not pinned; numpy's BLAS, the one these GEMMs
    use, is loaded with numpy.
    """
    return _blas_controller().limit(limits=1, user_api="blas")


@cache
def _blas_controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def n_threads() -> int:
    """Return the number of cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def blocks(n: int, size: int) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` covering ``range(n)``."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def bound_sample(n_fit: int, want: int) -> NDArray[np.intp]:
    """Evenly spread fit rows that bound each query row's ``want``-th distance.

    Rows come grouped for :func:`sample_bound`: column ``j`` of the returned order belongs to
    group ``j % groups``. Screening the sample costs ~S per query row and leaves ~want·n/S
    survivors to measure exactly, at a larger cost each; S ≈ 12·sqrt(want·n) balanced the two
    (measured on 40k and 100k Gaussian rows), capped at a quarter of n.
    """
    groups = BOUND_GROUPS_PER_NEIGHBOR * want
    size = int(min(n_fit // 4, max(4 * groups, 12 * np.sqrt(want * n_fit))))
    size = max(groups, size // groups * groups)
    return np.linspace(0, n_fit - 1, size).astype(np.intp)


def sample_bound(
    distances: Callable[[slice, slice], NDArray[np.floating]],
    rows: slice,
    n_sample: int,
    want: int,
) -> NDArray[np.float64]:
    """An upper bound on the ``want``-th smallest screened value of each row in ``rows``.

    ``distances(rows, cols)`` screens query rows against sample columns ``cols`` (positions in
    :func:`bound_sample`'s order). The sample splits into ``G = 4·want`` interleaved groups;
    the ``want``-th smallest of the G group minima is attained by ``want`` distinct rows, so
    it bounds the ``want``-th smallest value from above, and with G ≫ want it is nearly as
    tight as the sample's own ``want``-th value. A minimum is a cheap reduction, where
    ``np.partition`` of the whole sample measured 7.6 ns per entry (over 10x the GEMM).
    """
    groups = BOUND_GROUPS_PER_NEIGHBOR * want
    out = np.empty(rows.stop - rows.start, dtype=np.float64)
    step = max(groups, BOUND_COLUMNS // groups * groups)
    for sub in blocks(rows.stop - rows.start, BOUND_ROWS):
        part = slice(rows.start + sub.start, rows.start + sub.stop)
        low: NDArray[np.floating] | None = None
        for cols in blocks(n_sample, step):
            d = distances(part, cols)
            mins = d.reshape(d.shape[0], -1, groups).min(axis=1)
            low = mins if low is None else np.minimum(low, mins, out=low)
        assert low is not None
        out[sub] = np.partition(low, want - 1, axis=1)[:, want - 1]
    return out


def round_up(values: NDArray[np.floating], dtype: type[np.floating]) -> NDArray[np.floating]:
    """``values`` in ``dtype``, rounded up, so no entry under a float64 bound is lost."""
    cast: NDArray[np.floating] = values.astype(dtype)
    low = cast < values
    cast[low] = np.nextafter(cast[low], np.inf)
    return cast


def true_positions(mask: NDArray[np.bool_]) -> NDArray[np.intp]:
    """Flat positions of True in a C-contiguous mask where True is rare.

    Scanning the mask as 8-byte words is 8x fewer elements than ``np.flatnonzero``; only the
    few non-zero words are expanded. Past ~3 % non-zero words (~0.4 % True) expanding costs
    more than ``np.flatnonzero`` itself (measured on 512 x 512 masks), which then runs.
    """
    flat = mask.reshape(-1)
    if flat.size % 8 or not flat.flags.c_contiguous:
        return np.flatnonzero(flat)
    words = np.flatnonzero(flat.view(np.uint64) != 0)
    if words.size * 256 > flat.size:
        return np.flatnonzero(flat)
    if words.size == 0:
        return words
    cells = (words[:, None] * 8 + np.arange(8)[None, :]).ravel()
    return cells[flat[cells]]


def exact_top_k(
    r: NDArray[np.integer],
    c: NDArray[np.intp],
    v: NDArray[np.floating],
    rows: slice,
    k: int,
    slack: NDArray[np.float64],
    X_fit: NDArray[np.floating],
    X_query: NDArray[np.floating],
    extra: Callable[[NDArray[np.intp], NDArray[np.intp]], NDArray[np.float64]] | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """From screened candidates, the exact top ``k`` of each row in ``rows``.

    Parameters
    ----------
    r, c, v : ndarray of shape (n_candidates,)
        Row within ``rows``, fit row and screening value of each candidate; every row needs
        at least ``k`` candidates.
    slack : ndarray of shape (n_query,)
        Bound on the screening error of each query row.
    extra : callable, optional
        ``extra(fit, query)`` adds a squared-distance term per pair (SMOTENC's categories).

    Returns
    -------
    indices, distances : ndarray of shape (n_rows, k)
        Ascending by exact float64 distance, ties by fit row.
    """
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
    if extra is not None:
        exact_1d += extra(kc, rows.start + kr)
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
