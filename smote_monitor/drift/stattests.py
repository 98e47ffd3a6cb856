"""Drift methods with Evidently 0.7's definitions, computed on feature profiles.

Each method reads two :class:`FeatureProfile` (reference, current) and returns its value and
the mode that produced it. The table :data:`METHODS` holds each method's default threshold and
the direction of its verdict; :func:`choose_method` reproduces Evidently's automatic choice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from scipy.spatial import distance

from smote_monitor.drift.columns import ColumnKind
from smote_monitor.drift.profile import FeatureProfile, Mode
from smote_monitor.drift.sketch import common_grid
from smote_monitor.errors import InvalidInputError

# Evidently switches from tests to distances above this many reference rows.
SMALL_REFERENCE_ROWS = 1000
# Numeric features with at most this many distinct values (both sides) count as discrete.
DISCRETE_MAX_UNIQUE = 5
# Numeric features with more distinct reference values than this are binned (Sturges).
BIN_ABOVE_UNIQUE = 20
# scipy's ks_2samp computes exact p-values up to this sample size, asymptotic ones above.
KS_EXACT_MAX_N = 10_000


@dataclass(frozen=True)
class Method:
    """A drift method: its default threshold and how a value compares to it.

    Attributes
    ----------
    name : str
    threshold : float
        Evidently's default.
    is_p_value : bool
        Drift when the value is small (a p-value) rather than large (a distance).
    inclusive : bool
        Whether equality with the threshold counts as drift.
    compute : callable
        ``(reference, current) -> (value, mode)``.
    kinds : frozenset of ColumnKind
        Column kinds the method accepts (``ks`` and ``wasserstein`` need an order).
    needs_counts : bool
        Whether it needs every value's exact count, which a sketched profile no longer has.
    """

    name: str
    threshold: float
    is_p_value: bool
    inclusive: bool
    compute: Callable[[FeatureProfile, FeatureProfile], tuple[float, Mode]]
    kinds: frozenset[ColumnKind] = frozenset(ColumnKind)
    needs_counts: bool = False

    def accepts(self, kind: ColumnKind) -> bool:
        """Whether the method is defined on features of this kind."""
        return kind in self.kinds

    def drifted(self, value: float, threshold: float) -> bool:
        """Evidently's verdict for ``value`` against ``threshold`` (False for NaN)."""
        if self.is_p_value:
            return bool(value <= threshold) if self.inclusive else bool(value < threshold)
        return bool(value >= threshold)


def _mode(*profiles: FeatureProfile) -> Mode:
    return "sketch" if any(p.mode == "sketch" for p in profiles) else "exact"


def _exact(p: FeatureProfile) -> tuple[np.ndarray, np.ndarray]:
    assert p.values is not None and p.counts is not None
    return p.values, p.counts


def _aligned_exact(
    ref: FeatureProfile, cur: FeatureProfile
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union of distinct values and both sides' counts on it."""
    rv, rc = _exact(ref)
    cv, cc = _exact(cur)
    union = sorted_union(rv, cv)
    r = np.zeros(union.size, dtype=np.float64)
    c = np.zeros(union.size, dtype=np.float64)
    r[np.searchsorted(union, rv)] = rc
    c[np.searchsorted(union, cv)] = cc
    return union, r, c


def sorted_union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distinct values of two sorted arrays, sorted.

    A stable sort of two concatenated sorted runs is a linear merge (timsort finds the runs),
    several times faster than ``numpy.union1d``'s general sort at a million values.
    """
    merged = np.concatenate([a, b])
    merged.sort(kind="stable")
    if merged.size == 0:
        return merged
    keep = np.empty(merged.size, dtype=bool)
    keep[0] = True
    np.not_equal(merged[1:], merged[:-1], out=keep[1:])
    return merged[keep]


def _grid(
    ref: FeatureProfile, cur: FeatureProfile
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    exponents = [p.sketch.exponent for p in (ref, cur) if p.sketch is not None]
    exponent = max(exponents) if exponents else None
    return common_grid(ref.histogram(exponent), cur.histogram(exponent))


def ks(ref: FeatureProfile, cur: FeatureProfile) -> tuple[float, Mode]:
    """p-value of the two-sided two-sample Kolmogorov-Smirnov test (scipy's ``ks_2samp``)."""
    n1, n2 = ref.n, cur.n
    mode = _mode(ref, cur)
    if mode == "exact" and max(n1, n2) <= KS_EXACT_MAX_N:
        # Small samples: scipy's exact path needs the samples; expanding them is cheap here.
        rv, rc = _exact(ref)
        cv, cc = _exact(cur)
        return float(stats.ks_2samp(np.repeat(rv, rc), np.repeat(cv, cc)).pvalue), mode
    if mode == "exact":
        _, r, c = _aligned_exact(ref, cur)
    else:
        _, _, r, c = _grid(ref, cur)
    d = float(np.max(np.abs(np.cumsum(r) / n1 - np.cumsum(c) / n2)))
    # Smirnov's asymptotic law, as scipy uses above 10,000 rows (a sketch exists only past the
    # exact cap, so sketched samples this small need a cap below 10,000 and get this law too).
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    return float(np.clip(stats.kstwo.sf(d, np.round(en)), 0, 1)), mode


def wasserstein(ref: FeatureProfile, cur: FeatureProfile) -> tuple[float, Mode]:
    """First Wasserstein distance divided by ``max(population std of reference, 0.001)``."""
    norm = max(ref.std, 0.001)
    mode = _mode(ref, cur)
    if mode == "exact":
        union, r, c = _aligned_exact(ref, cur)
        gap = np.abs(np.cumsum(r)[:-1] / ref.n - np.cumsum(c)[:-1] / cur.n)
        return float(np.sum(gap * np.diff(union))) / norm, mode
    width, _, r, c = _grid(ref, cur)
    # Piecewise-linear CDFs (mass uniform inside each bin); integrate |F - G| bin by bin.
    d = np.concatenate([[0.0], np.cumsum(r) / ref.n - np.cumsum(c) / cur.n])
    d0, d1 = d[:-1], d[1:]
    same_sign = d0 * d1 >= 0
    a0, a1 = np.abs(d0), np.abs(d1)
    with np.errstate(invalid="ignore", divide="ignore"):
        crossing = (d0 * d0 + d1 * d1) / (2 * (a0 + a1))
    area = np.where(same_sign, (a0 + a1) / 2, np.nan_to_num(crossing))
    return float(np.sum(area)) * width / norm, mode


def sturges_edges(n: int, first: float, last: float, integer: bool) -> np.ndarray:
    """``numpy.histogram_bin_edges(x, "sturges")`` from ``x``'s size, min, max and integer-ness."""
    if first == last:
        first, last = first - 0.5, last + 0.5
    width = (last - first) / (np.log2(n) + 1.0)
    if integer and width < 1:
        width = 1
    n_bins = int(np.ceil((last - first) / width)) if width else 1
    return np.linspace(first, last, n_bins + 1, endpoint=True)


def binned_shares(ref: FeatureProfile, cur: FeatureProfile) -> tuple[np.ndarray, np.ndarray, Mode]:
    """Reference and current shares per bucket, as Evidently's ``get_binned_data`` (unfilled).

    Numeric features with more than 20 distinct reference values use Sturges bins over both
    samples; other features one bucket per value of the union.
    """
    mode = _mode(ref, cur)
    if ref.kind is ColumnKind.NUMERIC and (ref.n_unique is None or ref.n_unique > BIN_ABOVE_UNIQUE):
        edges = sturges_edges(
            ref.n + cur.n,
            min(ref.minimum, cur.minimum),
            max(ref.maximum, cur.maximum),
            ref.integer and cur.integer,
        )
        return _counts_in(ref, edges) / ref.n, _counts_in(cur, edges) / cur.n, mode
    keys, r, c = _bucket_counts(ref, cur)
    del keys
    return r / ref.n, c / cur.n, mode


def _counts_in(p: FeatureProfile, edges: np.ndarray) -> np.ndarray:
    if p.sketch is None:
        values, counts = _exact(p)
        return np.histogram(values, edges, weights=counts)[0]
    fine = p.sketch
    # Occupied bins need not be contiguous; spread each bin's count on its own interval.
    cum = np.concatenate([[0.0], np.cumsum(fine.counts, dtype=np.float64)])
    lo = fine.index.astype(np.float64) * fine.width
    hi = lo + fine.width
    xs = np.concatenate([lo, hi])
    order = np.argsort(xs, kind="stable")
    ys = np.concatenate([cum[:-1], cum[1:]])
    at = np.interp(edges, xs[order], ys[order])
    at[0], at[-1] = 0.0, cum[-1]
    return np.diff(at)


def _bucket_counts(
    ref: FeatureProfile, cur: FeatureProfile
) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """One bucket per distinct value of the union; counts of both sides."""
    if ref.kind is ColumnKind.CATEGORICAL:
        rmap = dict(
            zip(ref.categories, (ref.counts if ref.counts is not None else []), strict=True)
        )
        cmap = dict(
            zip(cur.categories, (cur.counts if cur.counts is not None else []), strict=True)
        )
        keys = list(dict.fromkeys([*ref.categories, *cur.categories]))
        r = np.array([rmap.get(k, 0) for k in keys], dtype=np.float64)
        c = np.array([cmap.get(k, 0) for k in keys], dtype=np.float64)
        return keys, r, c
    if cur.sketch is None:
        union, r, c = _aligned_exact(ref, cur)
        return list(union), r, c
    # Few reference values but a sketched window: a value's share is its fine bin's share and
    # the rest of the window is one unseen bucket (exact for Jensen-Shannon, whose terms for
    # buckets absent from the reference add linearly).
    rv, rc = _exact(ref)
    sk = cur.sketch
    pos = np.searchsorted(sk.index, np.floor(np.ldexp(rv, -sk.exponent)).astype(np.int64))
    pos = np.minimum(pos, sk.index.size - 1)
    hit = sk.index[pos] == np.floor(np.ldexp(rv, -sk.exponent))
    c = np.where(hit, sk.counts[pos], 0).astype(np.float64)
    rest = cur.n - c.sum()
    return (
        [*rv.tolist(), "<unseen>"],
        np.append(rc.astype(np.float64), 0.0),
        np.append(c, max(rest, 0.0)),
    )


def fill_empty(shares: np.ndarray) -> np.ndarray:
    """Evidently's fill of empty buckets: smallest non-zero share / 1e6 if ≤ 1e-4, else 1e-4."""
    out = shares.astype(np.float64, copy=True)
    nonzero = out[out != 0]
    smallest = float(nonzero.min()) if nonzero.size else math.nan
    out[out == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return out


def psi(ref: FeatureProfile, cur: FeatureProfile) -> tuple[float, Mode]:
    """Population stability index ``Σ (r − c) · ln(r / c)`` on filled shares."""
    r, c, mode = binned_shares(ref, cur)
    r, c = fill_empty(r), fill_empty(c)
    return float(np.sum((r - c) * np.log(r / c))), mode


def kl_div(ref: FeatureProfile, cur: FeatureProfile) -> tuple[float, Mode]:
    """Kullback-Leibler divergence (scipy's ``entropy``, which renormalises) on filled shares."""
    r, c, mode = binned_shares(ref, cur)
    return float(stats.entropy(fill_empty(r), fill_empty(c))), mode


def jensenshannon(ref: FeatureProfile, cur: FeatureProfile) -> tuple[float, Mode]:
    """Jensen-Shannon distance (scipy, natural log) on the unfilled shares."""
    r, c, mode = binned_shares(ref, cur)
    return float(distance.jensenshannon(r, c)), mode


def chisquare(ref: FeatureProfile, cur: FeatureProfile) -> tuple[float, Mode]:
    """p-value of Pearson's chi-square test, expected = reference counts × n_cur / n_ref."""
    _, r, c = _bucket_counts(ref, cur)
    expected = r * (cur.n / ref.n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(stats.chisquare(c, expected).pvalue), "exact"


def z(ref: FeatureProfile, cur: FeatureProfile) -> tuple[float, Mode]:
    """p-value of the two-proportion z-test: share of rows not equal to the smallest value."""
    keys, r, c = _bucket_counts(ref, cur)
    if np.count_nonzero(r) == 1 and np.count_nonzero(c) == 1 and np.array_equal(r > 0, c > 0):
        return 1.0, "exact"
    try:
        first = keys.index(sorted(keys)[0])
    except TypeError as exc:
        raise InvalidInputError(
            f"features.{ref.name}", keys[:3], "values of one comparable type"
        ) from exc
    n1, n2 = float(ref.n), float(cur.n)
    p1 = (n1 - r[first]) / n1
    p2 = (n2 - c[first]) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - stats.norm.cdf(np.abs(stat)))), "exact"


def hellinger(ref: FeatureProfile, cur: FeatureProfile) -> tuple[float, Mode]:
    """Hellinger distance; numeric features use Sturges bins over the distinct values of both."""
    mode = _mode(ref, cur)
    if ref.kind is ColumnKind.CATEGORICAL:
        _, r, c = _bucket_counts(ref, cur)
        total = float(np.cumsum(np.sqrt((r / ref.n) * (c / cur.n)))[-1])
    else:
        if mode == "exact":
            union, _, _ = _aligned_exact(ref, cur)
            n_keys, first, last = union.size, float(union[0]), float(union[-1])
        else:
            n_keys = _sketch_distinct(ref, cur)
            first, last = min(ref.minimum, cur.minimum), max(ref.maximum, cur.maximum)
        edges = sturges_edges(n_keys, first, last, ref.integer and cur.integer)
        db = np.diff(edges)
        h1 = _counts_in(ref, edges)
        h2 = _counts_in(cur, edges)
        h1 = h1 / db / h1.sum()
        h2 = h2 / db / h2.sum()
        bin_width = (edges.max() - edges.min()) / (len(edges) - 1)
        # Sequential sum, as Evidently's loop: the result is sensitive near total == 1.
        total = float(np.cumsum(np.sqrt(h1 * h2) * bin_width)[-1])
    return math.sqrt(1 - float(np.clip(total, 0, 1))), mode


def _sketch_distinct(ref: FeatureProfile, cur: FeatureProfile) -> int:
    """Distinct values over both sides when a sketch hides them (Hellinger's bin count uses it).

    For whole numbers on a grid of width ≤ 1 no two of them share a bin, so the occupied bins
    are the exact distinct count. Otherwise the count is unknown past the exact cap and every
    row distinct (true of continuous data) is the estimate; Sturges bins grow with its log2,
    so an overestimate by a factor f adds about log2(f) bins.
    """
    width, _, r, c = _grid(ref, cur)
    if ref.integral and cur.integral and width <= 1:
        return int(np.count_nonzero((r + c) > 0))
    return ref.n + cur.n


_NUMERIC = frozenset({ColumnKind.NUMERIC})

#: Every method by its table name, with Evidently's default thresholds.
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("ks", 0.05, is_p_value=True, inclusive=True, compute=ks, kinds=_NUMERIC),
        Method(
            "wasserstein",
            0.1,
            is_p_value=False,
            inclusive=True,
            compute=wasserstein,
            kinds=_NUMERIC,
        ),
        Method("psi", 0.1, is_p_value=False, inclusive=True, compute=psi),
        Method("jensenshannon", 0.1, is_p_value=False, inclusive=True, compute=jensenshannon),
        Method(
            "chisquare",
            0.05,
            is_p_value=True,
            inclusive=False,
            compute=chisquare,
            needs_counts=True,
        ),
        Method("z", 0.05, is_p_value=True, inclusive=False, compute=z, needs_counts=True),
        Method("kl_div", 0.1, is_p_value=False, inclusive=True, compute=kl_div),
        Method("hellinger", 0.1, is_p_value=False, inclusive=True, compute=hellinger),
    )
}


def union_unique(ref: FeatureProfile, cur: FeatureProfile) -> int | None:
    """Distinct values over both sides, or ``None`` when a sketch hides it (then > exact cap)."""
    if ref.kind is ColumnKind.CATEGORICAL:
        return len(set(ref.categories) | set(cur.categories))
    if ref.mode == "sketch" or cur.mode == "sketch":
        return None
    return int(sorted_union(_exact(ref)[0], _exact(cur)[0]).size)


def choose_method(ref: FeatureProfile, cur: FeatureProfile) -> str:
    """Evidently's automatic choice of method for one feature.

    Small references (≤ 1000 rows): numeric with ≤ 5 distinct values → ``chisquare`` (> 2) or
    ``z``; numeric otherwise → ``ks``; categorical → ``chisquare`` (> 2 values) or ``z``.
    Larger references: numeric with ≤ 5 values or categorical → ``jensenshannon``; numeric
    otherwise → ``wasserstein``.
    """
    n_values = union_unique(ref, cur)
    few = n_values is not None and n_values <= DISCRETE_MAX_UNIQUE
    small = ref.n <= SMALL_REFERENCE_ROWS
    if ref.kind is ColumnKind.CATEGORICAL or few:
        if not small:
            return "jensenshannon"
        return "chisquare" if n_values is not None and n_values > 2 else "z"
    return "ks" if small else "wasserstein"
