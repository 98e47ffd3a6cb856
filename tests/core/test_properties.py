"""Property tests: strategy resolution and the SMOTE math on generated data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from imblearn.utils import check_sampling_strategy

import smote_core as sc
from smote_core._strategy import resolve_cleaning, resolve_over_sampling

class_counts = st.lists(st.integers(6, 60), min_size=2, max_size=5)


def label_array(counts):
    return np.concatenate([np.full(n, i) for i, n in enumerate(counts)])


@settings(max_examples=60, deadline=None)
@given(
    counts=class_counts,
    strategy=st.sampled_from(["auto", "minority", "not minority", "not majority", "all"]),
)
def test_string_strategies_match_imblearn(counts, strategy):
    y = label_array(counts)
    classes, n = np.unique(y, return_counts=True)
    ours = resolve_over_sampling(strategy, y, classes, n)
    theirs = check_sampling_strategy(strategy, y, "over-sampling")
    assert ours == {int(k): int(v) for k, v in theirs.items()}


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(6, 60), min_size=2, max_size=2), alpha=st.floats(0.01, 1.0))
def test_float_strategy_matches_imblearn(counts, alpha):
    y = label_array(counts)
    classes, n = np.unique(y, return_counts=True)
    try:
        theirs = check_sampling_strategy(alpha, y, "over-sampling")
    except ValueError:
        with pytest.raises(ValueError, match="it would generate no row"):
            resolve_over_sampling(alpha, y, classes, n)
        return
    ours = resolve_over_sampling(alpha, y, classes, n)
    assert ours == {int(k): int(v) for k, v in theirs.items()}


@settings(max_examples=60, deadline=None)
@given(counts=class_counts, data=st.data())
def test_dict_strategy_matches_imblearn(counts, data):
    y = label_array(counts)
    classes, n = np.unique(y, return_counts=True)
    keys = data.draw(st.lists(st.sampled_from(range(len(counts))), min_size=1, unique=True))
    wanted = {k: counts[k] + data.draw(st.integers(0, 50)) for k in keys}
    ours = resolve_over_sampling(wanted, y, classes, n)
    theirs = check_sampling_strategy(wanted, y, "over-sampling")
    assert ours == {int(k): int(v) for k, v in theirs.items()}


@settings(max_examples=40, deadline=None)
@given(
    counts=class_counts,
    strategy=st.sampled_from(["auto", "majority", "not minority", "not majority", "all"]),
)
def test_cleaning_strategies_match_imblearn(counts, strategy):
    y = label_array(counts)
    classes, n = np.unique(y, return_counts=True)
    ours = resolve_cleaning(strategy, y, classes, n)
    theirs = check_sampling_strategy(strategy, y, "clean-sampling")
    assert ours == sorted(int(k) for k in theirs)


@settings(max_examples=30, deadline=None)
@given(
    counts=st.lists(st.integers(6, 40), min_size=2, max_size=4),
    n_features=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(1, 5),
    scale=st.sampled_from([1e-3, 1.0, 1e4]),
    offset=st.sampled_from([0.0, 1e5]),
)
def test_smote_rows_lie_in_class_hull_and_counts_follow_strategy(
    counts, n_features, seed, k, scale, offset
):
    rng = np.random.default_rng(seed)
    y = label_array(counts)
    X = rng.normal(size=(len(y), n_features)) * scale + offset + y[:, None]
    assume(len(np.unique(X, axis=0)) == len(X))
    sampler = sc.SMOTE(k_neighbors=k, random_state=seed)
    X_res, y_res = sampler.fit_resample(X, y)
    np.testing.assert_array_equal(X_res[: len(y)], X)
    assert np.bincount(y_res).tolist() == [max(counts)] * len(counts)
    prov = sampler.provenance_
    for label in range(len(counts)):
        rows = X_res[len(y) :][y_res[len(y) :] == label]
        own = X[y == label]
        tol = 1e-9 * (abs(offset) + scale)
        assert np.all(rows >= own.min(axis=0) - tol) and np.all(rows <= own.max(axis=0) + tol)
    # Provenance reproduces each synthetic row, and the synthetic block is sorted by label.
    expected = X[prov.parent] + prov.gap[:, None] * (X[prov.neighbor] - X[prov.parent])
    np.testing.assert_allclose(X_res[prov.row], expected, rtol=1e-12, atol=1e-12 * abs(offset))
    assert np.all(np.diff(y_res[len(y) :]) >= 0)
    # The neighbour distance is an exact k-NN distance within the class.
    d = np.linalg.norm(X[prov.neighbor] - X[prov.parent], axis=1)
    np.testing.assert_allclose(prov.distance, d, rtol=1e-6, atol=1e-9 * scale)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_same_seed_identical_bits(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, 5))
    y = (rng.random(120) < 0.25).astype(int)
    assume(2 * 6 <= y.sum() <= 100)
    a = sc.BorderlineSMOTE(random_state=seed, kind="borderline-2").fit_resample(X, y)
    b = sc.BorderlineSMOTE(random_state=seed, kind="borderline-2").fit_resample(X, y)
    assert a[0].tobytes() == b[0].tobytes()
