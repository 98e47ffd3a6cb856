"""Sketch mode stays close to exact mode; profiles and accumulators merge associatively."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smote_monitor.drift import (
    ColumnKind,
    DyadicHistogram,
    FeatureProfile,
    ProfileSettings,
    WindowAccumulator,
    build_profiles,
    compute_drift,
    feature_drift,
    profile_values,
)

SKETCH = ProfileSettings(exact_cap=1000)
EXACT = ProfileSettings(exact_cap=10**6)
RNG = np.random.default_rng(99)
N = 40_000

DISTRIBUTIONS = {
    "normal_small_shift": (RNG.normal(0, 1, N), RNG.normal(0.05, 1, N)),
    "normal_big_shift": (RNG.normal(50, 3, N), RNG.normal(51.5, 3, N)),
    "lognormal": (RNG.lognormal(0, 0.5, N), RNG.lognormal(0.3, 0.5, N)),
    "uniform_same": (RNG.uniform(0, 1, N), RNG.uniform(0, 1, N)),
    "ints_wide": (RNG.integers(0, 5000, N).astype(float), RNG.integers(200, 5200, N).astype(float)),
}


def _exact_and_sketched(case: str, method: str):
    ref, cur = DISTRIBUTIONS[case]
    exact_ref = profile_values("x", ref, ColumnKind.NUMERIC, EXACT)
    exact = feature_drift(exact_ref, profile_values("x", cur, ColumnKind.NUMERIC, EXACT), method)
    sketch_ref = profile_values("x", ref, ColumnKind.NUMERIC, SKETCH)
    window = WindowAccumulator.for_reference({"x": sketch_ref})
    for part in np.array_split(cur, 7):
        window.update({"x": part})
    sketched = feature_drift(sketch_ref, window.profiles["x"], method)
    assert exact.mode == "exact"
    assert sketched.mode == "sketch"
    return exact, sketched


@pytest.mark.parametrize("method", ["wasserstein", "psi", "jensenshannon", "kl_div", "hellinger"])
@pytest.mark.parametrize("case", list(DISTRIBUTIONS))
def test_sketch_within_001_of_exact_with_same_verdict(case: str, method: str) -> None:
    exact, sketched = _exact_and_sketched(case, method)
    assert abs(sketched.value - exact.value) <= 0.01
    assert sketched.drifted == exact.drifted


@pytest.mark.parametrize("case", list(DISTRIBUTIONS))
def test_sketch_ks_p_value_close_with_same_verdict(case: str) -> None:
    # The KS statistic read at bin edges is low by at most one fine bin's share; the p-value's
    # slope amplifies that, so p-values get a looser bound than the distances (see sketch.py).
    exact, sketched = _exact_and_sketched(case, "ks")
    assert abs(sketched.value - exact.value) <= 0.03
    assert sketched.drifted == exact.drifted


def test_batched_window_equals_one_shot_window() -> None:
    ref, cur = DISTRIBUTIONS["lognormal"]
    for cfg in (SKETCH, EXACT):
        reference = {"x": profile_values("x", ref, ColumnKind.NUMERIC, cfg)}
        one = WindowAccumulator.for_reference(reference).update({"x": cur}).profiles["x"]
        many = WindowAccumulator.for_reference(reference)
        for part in np.array_split(cur, 13):
            many.update({"x": part})
        assert (
            feature_drift(reference["x"], one).value
            == feature_drift(reference["x"], many.profiles["x"]).value
        )
        assert many.profiles["x"].n == one.n == cur.size


def _profiles_equal(a: FeatureProfile, b: FeatureProfile) -> bool:
    # Counts must match exactly; the mean and m2 are float sums whose rounding depends on grouping.
    if a.kind is ColumnKind.CATEGORICAL:
        return a.to_dict() == b.to_dict()
    same = (a.n, a.n_missing, a.minimum, a.maximum, _counts(a)) == (
        b.n,
        b.n_missing,
        b.minimum,
        b.maximum,
        _counts(b),
    )
    return same and np.isclose(a.mean, b.mean, rtol=1e-12) and np.isclose(a.m2, b.m2, rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    parts=st.lists(
        st.lists(
            st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), min_size=0, max_size=60
        ),
        min_size=3,
        max_size=3,
    ),
    cap=st.sampled_from([1000, 10**6]),
)
def test_profile_merge_is_associative_and_commutative(parts: list[list[float]], cap: int) -> None:
    # Integer-valued moments keep the float sums exact, so the comparison can be strict.
    cfg = ProfileSettings(exact_cap=cap, max_bins=16)
    a, b, c = (
        profile_values("x", np.round(p), ColumnKind.NUMERIC, cfg, grid_exponent=0) for p in parts
    )
    left = a.merge(b).merge(c)
    right = a.merge(b.merge(c))
    assert left.n == right.n
    assert _counts(left) == _counts(right)
    assert _counts(a.merge(b)) == _counts(b.merge(a))


def _counts(p: FeatureProfile) -> object:
    if p.sketch is not None:
        return ("sketch", p.sketch.exponent, p.sketch.index.tolist(), p.sketch.counts.tolist())
    assert p.values is not None and p.counts is not None
    return ("exact", p.values.tolist(), p.counts.tolist())


@settings(max_examples=60, deadline=None)
@given(
    parts=st.lists(
        st.lists(st.integers(-(10**6), 10**6), min_size=0, max_size=80), min_size=3, max_size=3
    ),
    max_bins=st.integers(16, 40),
    exponents=st.lists(st.integers(-2, 6), min_size=3, max_size=3),
)
def test_histogram_merge_is_associative_with_coarsening(
    parts: list[list[int]], max_bins: int, exponents: list[int]
) -> None:
    a, b, c = (
        DyadicHistogram.from_values(np.asarray(p, float), e, max_bins)
        for p, e in zip(parts, exponents, strict=True)
    )
    left = a.merge(b, max_bins).merge(c, max_bins)
    right = a.merge(b.merge(c, max_bins), max_bins)
    assert left.exponent == right.exponent
    assert left.index.tolist() == right.index.tolist()
    assert left.counts.tolist() == right.counts.tolist()
    assert left.total == sum(len(p) for p in parts)
    assert left.index.size <= max_bins


def test_categorical_merge_is_associative() -> None:
    chunks = [np.array(list(s), dtype=object) for s in ("aab", "bcx", "xxa")]
    a, b, c = (profile_values("c", ch, ColumnKind.CATEGORICAL) for ch in chunks)
    left, right = a.merge(b).merge(c), a.merge(b.merge(c))
    assert (
        dict(zip(left.categories, left.counts.tolist(), strict=True))
        == dict(zip(right.categories, right.counts.tolist(), strict=True))
        == {"a": 3, "b": 2, "c": 1, "x": 3}
    )


def test_accumulator_merge_equals_feeding_everything() -> None:
    rng = np.random.default_rng(3)
    frame = {"x": rng.normal(size=3000), "c": rng.choice(np.array(["p", "q"], dtype=object), 3000)}
    reference = build_profiles(frame, settings=SKETCH)
    halves = [{k: v[:1700] for k, v in frame.items()}, {k: v[1700:] for k, v in frame.items()}]
    left = WindowAccumulator.for_reference(reference).update(halves[0])
    right = WindowAccumulator.for_reference(reference).update(halves[1])
    whole = WindowAccumulator.for_reference(reference).update(frame)
    merged = left.merge(right)
    assert merged.rows == whole.rows == 3000
    for name in frame:
        assert _profiles_equal(merged.profiles[name], whole.profiles[name])


def test_profiles_round_trip_through_json() -> None:
    rng = np.random.default_rng(5)
    frame = {
        "x": np.append(rng.normal(size=2000), [np.nan, np.inf]),
        "k": np.append(rng.integers(0, 4, 2000), [1, 2]),
        "c": np.array(["u", "v", None, "w"] * 500 + ["u", "v"], dtype=object),
    }
    for cfg in (SKETCH, EXACT):
        profiles = build_profiles(frame, settings=cfg)
        restored = {
            n: FeatureProfile.from_dict(json.loads(json.dumps(p.to_dict())))
            for n, p in profiles.items()
        }
        for name in frame:
            assert _profiles_equal(restored[name], profiles[name])
        assert compute_drift(profiles, restored).share == 0.0
    assert profiles["x"].n_missing == 2
    assert profiles["c"].n_missing == 500
    window = WindowAccumulator.for_reference(profiles).update(frame)
    assert (
        WindowAccumulator.from_dict(json.loads(json.dumps(window.to_dict()))).to_dict()
        == window.to_dict()
    )


def test_sketch_memory_is_bounded_by_max_bins() -> None:
    cfg = ProfileSettings(exact_cap=1000, max_bins=256)
    reference = {
        "x": profile_values(
            "x", np.random.default_rng(1).standard_cauchy(20_000), ColumnKind.NUMERIC, cfg
        )
    }
    window = WindowAccumulator.for_reference(reference)
    for seed in range(5):
        window.update({"x": np.random.default_rng(seed).standard_cauchy(20_000)})
    sketch = window.profiles["x"].sketch
    assert sketch is not None
    assert sketch.index.size <= 256
    assert sketch.total == 100_000


@pytest.mark.parametrize("method", ["chisquare", "z"])
def test_a_count_method_on_a_sketched_feature_names_the_methods_that_work(method: str) -> None:
    from smote_monitor.errors import InvalidInputError

    ref, cur = DISTRIBUTIONS["normal_small_shift"]
    sketch_ref = profile_values("x", ref, ColumnKind.NUMERIC, SKETCH)
    sketch_cur = profile_values("x", cur, ColumnKind.NUMERIC, SKETCH)
    with pytest.raises(InvalidInputError) as info:
        feature_drift(sketch_ref, sketch_cur, method)
    message = str(info.value)
    # feature_drift's parameter is `method`; compute_drift's is `methods`, keyed by feature.
    assert message.startswith(f"method: got '{method}'; expected a method that works on")
    assert "(ks, wasserstein, psi, jensenshannon, kl_div, hellinger)" in message
    with pytest.raises(InvalidInputError, match=rf"^methods\.x: got '{method}'; expected a met"):
        compute_drift({"x": sketch_ref}, {"x": sketch_cur}, methods={"x": method})


@pytest.mark.parametrize("distinct", [300, 700])
def test_merged_exact_profiles_equal_profiling_all_values_at_once(distinct: int) -> None:
    # Two exact parts overlapping in values; with 700 distinct each the union passes the cap
    # (1000) and the merge turns it into the sketch profiling everything at once gives.
    cfg = ProfileSettings(exact_cap=1000, max_bins=1 << 12)
    rng = np.random.default_rng(distinct)
    grid = -6
    # Half of b's values are a's: the union holds 1.5 × distinct values.
    a_values = rng.permutation(np.repeat(np.arange(distinct) * 0.01 - 2, 3))
    b_values = rng.permutation(np.repeat(np.arange(distinct // 2, distinct * 3 // 2) * 0.01 - 2, 2))
    a, b = (profile_values("x", v, ColumnKind.NUMERIC, cfg, grid) for v in (a_values, b_values))
    assert a.mode == b.mode == "exact"
    whole = profile_values("x", np.concatenate([a_values, b_values]), ColumnKind.NUMERIC, cfg, grid)
    assert _counts(a.merge(b)) == _counts(whole) == _counts(b.merge(a))
    assert whole.mode == ("exact" if distinct == 300 else "sketch")
