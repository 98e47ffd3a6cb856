"""Synthetic rows are where the provenance says, and neighbours are the true nearest ones."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import smote_core as sc
from smote_core import _neighbors

from ._data import blobs


def k_nearest_bound(X: np.ndarray, parent: np.ndarray, pool: np.ndarray, k: int) -> np.ndarray:
    """k-th smallest distance from each parent to the pool rows (the parent itself excluded)."""
    d = np.sqrt(((X[parent][:, None, :] - X[pool][None, :, :]) ** 2).sum(axis=2))
    d[parent[:, None] == pool[None, :]] = np.inf
    return np.sort(d, axis=1)[:, k - 1]


@pytest.mark.parametrize("n_features", [2, 12])  # k-d tree and brute force
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "make",
    [
        lambda: sc.SMOTE(k_neighbors=4, random_state=3),
        lambda: sc.ADASYN(n_neighbors=4, random_state=3),
        lambda: sc.BorderlineSMOTE(k_neighbors=4, random_state=3),
        lambda: sc.SMOTENC([0], k_neighbors=4, random_state=3),
    ],
    ids=["SMOTE", "ADASYN", "Borderline-1", "SMOTENC"],
)
def test_synthetic_rows_lie_on_recorded_segment_to_a_k_nearest_neighbour(make, dtype, n_features):
    X, y = blobs((150, 45, 30), n_features=n_features, seed=4)
    X = X.astype(dtype)
    sampler = make()
    if isinstance(sampler, sc.SMOTENC):
        X[:, 0] = np.round(X[:, 0])  # one categorical feature
    X_res, y_res = sampler.fit_resample(X, y)
    prov = sampler.provenance_
    assert len(prov) == len(y_res) - len(y) > 0
    np.testing.assert_array_equal(prov.row, np.arange(len(y), len(y_res)))
    assert np.all((prov.gap >= 0) & (prov.gap < 1))
    # Same class for parent, neighbour and synthetic row.
    np.testing.assert_array_equal(y[prov.parent], y_res[prov.row])
    np.testing.assert_array_equal(y[prov.neighbor], y[prov.parent])
    cont = slice(1, None) if isinstance(sampler, sc.SMOTENC) else slice(None)
    Xc = X[:, cont].astype(np.float64)
    expected = Xc[prov.parent] + prov.gap[:, None] * (Xc[prov.neighbor] - Xc[prov.parent])
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(X_res[prov.row][:, cont].astype(np.float64), expected, atol=tol)
    if isinstance(sampler, sc.SMOTENC):
        return  # its neighbours use the categorical distance, checked in test_smotenc
    for label in np.unique(y_res[prov.row]):
        sel = y_res[prov.row] == label
        pool = np.flatnonzero(y == label)
        bound = k_nearest_bound(X.astype(np.float64), prov.parent[sel], pool, 4)
        dist = np.linalg.norm(
            X[prov.neighbor[sel]].astype(np.float64) - X[prov.parent[sel]].astype(np.float64),
            axis=1,
        )
        assert np.all(dist <= bound * (1 + 1e-5) + 1e-9)
        np.testing.assert_allclose(prov.distance[sel], dist, rtol=1e-5)


def test_borderline_parents_are_danger_rows():
    X, y = blobs((200, 60), n_features=4, seed=8)
    sampler = sc.BorderlineSMOTE(m_neighbors=10, random_state=0)
    sampler.fit_resample(X, y)
    danger = sampler.in_danger_indices_[1]
    assert set(sampler.provenance_.parent.tolist()) <= set(danger.tolist())
    d = np.linalg.norm(X[danger][:, None] - X[None], axis=2)
    d[np.arange(len(danger)), danger] = np.inf
    nn = np.argsort(d, axis=1, kind="stable")[:, :10]
    n_other = (y[nn] != 1).sum(axis=1)
    assert np.all((n_other >= 5) & (n_other < 10))


def test_borderline2_steps_towards_other_classes_stay_on_own_side():
    X, y = blobs((200, 60), n_features=4, seed=8)
    sampler = sc.BorderlineSMOTE(kind="borderline-2", random_state=0)
    sampler.fit_resample(X, y)
    prov = sampler.provenance_
    other = y[prov.neighbor] != y[prov.parent]
    assert other.any()
    assert np.all(prov.gap[other] < 0.5)


def brute(X, k, query_index):
    d = np.sqrt(((X[query_index][:, None, :] - X[None, :, :]) ** 2).sum(axis=2))
    d[np.arange(len(query_index)), query_index] = np.inf
    return np.sort(d, axis=1)[:, :k]


@settings(max_examples=40, deadline=None)
@given(
    X=arrays(
        np.float64,
        st.tuples(st.integers(12, 60), st.integers(1, 6)),
        elements=st.floats(-100, 100, allow_nan=False, width=32),
    ),
    k=st.integers(1, 5),
    algorithm=st.sampled_from(["kd_tree", "brute"]),
)
def test_kneighbors_distances_equal_brute_force(X, k, algorithm):
    idx = np.arange(0, X.shape[0], 2)
    dist, ind = _neighbors.kneighbors(X, k, query_index=idx, algorithm=algorithm)
    np.testing.assert_allclose(dist, brute(X, k, idx), rtol=1e-9, atol=1e-9)
    assert not np.any(ind == idx[:, None])
    np.testing.assert_allclose(
        np.linalg.norm(X[ind] - X[idx][:, None, :], axis=2), dist, rtol=1e-9, atol=1e-9
    )


def test_bounded_candidate_path_matches_brute_force(monkeypatch):
    # Small blocks force the bound-then-scan path on a small problem.
    monkeypatch.setattr(_neighbors, "COL_BLOCK", 64)
    monkeypatch.setattr(_neighbors, "QUERY_BLOCK", 32)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(700, 15))
    X[100:110] = X[5]  # exact duplicates
    idx = np.arange(0, 700, 3)
    dist, ind = _neighbors.kneighbors(X, 6, query_index=idx, algorithm="brute")
    np.testing.assert_allclose(dist, brute(X, 6, idx), rtol=1e-9, atol=1e-12)
    assert not np.any(ind == idx[:, None])


@pytest.mark.parametrize("workers", [1, 2])
def test_few_external_queries_against_many_rows(monkeypatch, workers):
    # The near-duplicate shape: float64 screening, fit rows split over the workers.
    monkeypatch.setattr(_neighbors, "COL_BLOCK", 64)
    monkeypatch.setattr(_neighbors, "n_threads", lambda: workers)
    monkeypatch.setattr(_neighbors, "SERIAL_MAX_WORK", 0)  # threads even on a small problem
    rng = np.random.default_rng(2)
    X = rng.normal(size=(3000, 9)) + 50.0
    Q = np.vstack([X[:5], rng.normal(size=(35, 9)) + 50.0])
    dist, ind = _neighbors.kneighbors(X, 3, X_query=Q, algorithm="brute")
    full = np.sqrt(((Q[:, None, :] - X[None, :, :]) ** 2).sum(axis=2))
    np.testing.assert_allclose(dist, np.sort(full, axis=1)[:, :3], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(ind[:5, 0], np.arange(5))


def test_external_queries_keep_zero_distances():
    X = np.arange(20, dtype=float).reshape(10, 2)
    dist, ind = _neighbors.kneighbors(X, 1, X_query=X[[3, 7]], algorithm="brute")
    np.testing.assert_array_equal(ind[:, 0], [3, 7])
    np.testing.assert_array_equal(dist[:, 0], [0.0, 0.0])


def _full_knn(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Every row's k nearest other rows by a full float64 distance matrix, ties by index."""
    d = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(d, np.inf)
    ind = np.lexsort((np.broadcast_to(np.arange(len(X)), d.shape), d), axis=1)[:, :k]
    return np.take_along_axis(d, ind, axis=1), ind


def _self_case(kind: str) -> np.ndarray:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(900, 11))
    if kind == "duplicates":
        X[100:130] = X[7]  # ties: the nearest ones must come back by row index
    elif kind == "outliers":
        X[::37] *= 40.0  # far rows: bounds spread, so blocks compare per column
    elif kind == "offset":
        X += 1e4  # large norms: the float32 screen's slack must still cover rounding
    return X


@pytest.mark.parametrize("kind", ["gaussian", "duplicates", "outliers", "offset"])
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("spread", [0.0, np.inf], ids=["per-column", "scalar"])
def test_self_search_equals_a_full_distance_matrix(monkeypatch, kind, workers, spread):
    from smote_core import _self_neighbors

    monkeypatch.setattr(_self_neighbors, "BLOCK", 64)  # many block pairs on a small problem
    # Every block compares against each column's bound, or every one against its largest.
    monkeypatch.setattr(_self_neighbors, "SCALAR_SPREAD", spread)
    monkeypatch.setattr(_self_neighbors, "n_threads", lambda: workers)
    monkeypatch.setattr(_self_neighbors, "SERIAL_MAX_WORK", 0)  # threads even on 900 rows
    X = _self_case(kind)
    dist, ind = _self_neighbors.self_kneighbors(X, 5)
    want_dist, want_ind = _full_knn(X, 5)
    np.testing.assert_allclose(dist, want_dist, rtol=1e-9, atol=1e-9)
    if kind != "offset":  # at 1e4 the float64 distances themselves tie differently
        np.testing.assert_array_equal(ind, want_ind)
    assert not np.any(ind == np.arange(len(X))[:, None])


def test_kneighbors_sends_a_set_among_itself_to_the_symmetric_search(monkeypatch):
    from smote_core import _self_neighbors

    calls = []
    real = _self_neighbors.self_kneighbors
    monkeypatch.setattr(
        _neighbors, "self_kneighbors", lambda X, k: calls.append(len(X)) or real(X, k)
    )
    X = np.random.default_rng(1).normal(size=(3000, 12))
    dist, _ = _neighbors.kneighbors(X, 3)
    assert calls == [3000]
    one_sided, _ = _neighbors.kneighbors(X, 3, query_index=np.arange(3000))
    np.testing.assert_allclose(dist, one_sided, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    X=arrays(
        np.float64,
        st.tuples(st.integers(40, 300), st.integers(9, 14)),
        elements=st.floats(-100, 100, allow_nan=False, width=32),
    ),
    k=st.integers(1, 6),
)
def test_self_search_distances_equal_brute_force(X, k):
    from smote_core import _self_neighbors

    old = _self_neighbors.BLOCK
    _self_neighbors.BLOCK = 16
    try:
        dist, ind = _self_neighbors.self_kneighbors(X, k)
    finally:
        _self_neighbors.BLOCK = old
    want, _ = _full_knn(X, k)
    np.testing.assert_allclose(dist, want, rtol=1e-9, atol=1e-9)
    assert not np.any(ind == np.arange(len(X))[:, None])


class _NoPool:
    """Stands in for ThreadPoolExecutor where a small search must not start one."""

    def __init__(self, *args, **kwargs):
        raise AssertionError("a small input started a thread pool")


@pytest.mark.parametrize("shape", [(2000, 10), (10_000, 20)])
@pytest.mark.parametrize("share", [0.01, 0.1])
def test_small_fit_starts_no_thread_pool(monkeypatch, shape, share):
    # Starting workers (and pinning BLAS for them) cost more than a small search itself: a
    # 10k x 20 fit took twice imbalanced-learn's time. Below a size threshold all runs here.
    from smote_core import _base, _radius, _self_neighbors

    for module in (_neighbors, _self_neighbors, _base, _radius):
        monkeypatch.setattr(module, "ThreadPoolExecutor", _NoPool)
    rng = np.random.default_rng(0)
    X = rng.standard_normal(shape)
    y = (rng.random(shape[0]) < share).astype(int)
    sampler = sc.SMOTE(random_state=0)
    _, y_res = sampler.fit_resample(X, y)
    assert np.bincount(y_res)[0] == np.bincount(y_res)[1]
    assert sampler.report_.near_duplicate_sample_size > 0


def _radius_case(kind: str) -> tuple[np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(11)
    X = rng.normal(size=(1500, 13))
    Q = X[rng.integers(0, 1500, 300)] + rng.normal(scale=0.02, size=(300, 13))
    if kind == "duplicates":
        Q[:20] = X[:20]  # distance 0, inside any radius
    elif kind == "offset":
        X, Q = X + 1e4, Q + 1e4  # large norms: the float32 screen's slack must cover rounding
    elif kind == "float32":
        X, Q = X.astype(np.float32), Q.astype(np.float32)
    d = np.sqrt(((Q[:, None, :] - X[None, :, :]).astype(np.float64) ** 2).sum(axis=2)).min(axis=1)
    return X, Q, float(np.median(d))


@pytest.mark.parametrize("kind", ["gaussian", "duplicates", "offset", "float32"])
@pytest.mark.parametrize("path", ["kd-tree", "serial", "threads"])
def test_radius_search_equals_the_nearest_distance(monkeypatch, kind, path):
    # "Is some fit row within r?" must agree with the exact nearest distance, rows at exactly
    # r included, whether a k-d tree proposes the candidates or GEMM blocks screen them, in
    # one thread or split over two.
    from smote_core import _radius

    workers = 2 if path == "threads" else 1
    monkeypatch.setattr(_radius, "KD_TREE_MAX_ROWS", 10**9 if path == "kd-tree" else 0)
    monkeypatch.setattr(_radius, "_tree_loaded", lambda: True)
    monkeypatch.setattr(_radius, "SERIAL_MAX_WORK", 0 if workers > 1 else 10**12)
    monkeypatch.setattr(_radius, "n_threads", lambda: workers)
    monkeypatch.setattr(_radius, "FIT_BLOCK", 256)  # several blocks on a small problem
    X, Q, radius = _radius_case(kind)
    nearest, _ = _neighbors.kneighbors(X, 1, X_query=Q, algorithm="brute")
    just_under = float(np.nextafter(nearest[7, 0], 0.0))  # the tree proposes, we refuse
    for r in (0.0, radius, float(nearest[7, 0]), just_under, np.inf):
        np.testing.assert_array_equal(_radius.any_within(X, Q, r), nearest[:, 0] <= r)


def test_small_kd_tree_search_stays_in_the_calling_thread(monkeypatch):
    # scipy starts its worker threads on every query call; for a few hundred rows that cost
    # twice the query itself.
    import scipy.spatial

    seen = []
    real = scipy.spatial.cKDTree

    class Recording(real):
        def query(self, *args, **kwargs):
            seen.append(kwargs.get("workers", 1))
            return super().query(*args, **kwargs)

    monkeypatch.setattr(scipy.spatial, "cKDTree", Recording)
    X = np.random.default_rng(0).normal(size=(300, 4))
    _neighbors.kneighbors(X, 5, algorithm="kd_tree")
    big = np.random.default_rng(0).normal(size=(20_000, 4))
    _neighbors.kneighbors(big, 5, algorithm="kd_tree")
    assert seen == [1, -1]
