"""Every method's value, verdict and the automatic choice equal Evidently 0.7's on the same data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from smote_monitor.drift import (
    ColumnKind,
    ProfileSettings,
    choose_method,
    feature_drift,
    profile_values,
)

RNG = np.random.default_rng(12345)
NUMERIC_METHODS = ["ks", "wasserstein", "psi", "jensenshannon", "kl_div", "hellinger"]
COUNT_METHODS = ["chisquare", "z", "psi", "jensenshannon", "kl_div", "hellinger"]


def _with_holes(values: np.ndarray) -> np.ndarray:
    out = values.astype(float).copy()
    out[::7] = np.nan
    out[3::11] = np.inf
    out[5::13] = -np.inf
    return out


def _bimodal(n: int, shift: float) -> np.ndarray:
    # Two far-apart clusters leave empty Sturges bins in the middle: exercises the zero fill.
    half = n // 2
    return np.concatenate([RNG.normal(0, 1, half), RNG.normal(100 + shift, 1, n - half)])


# name -> (reference, current, kind, methods to compare)
CASES: dict[str, tuple[np.ndarray, np.ndarray, ColumnKind, list[str]]] = {
    "normal_shifted": (
        RNG.normal(0, 1, 3000),
        RNG.normal(0.15, 1.1, 2500),
        ColumnKind.NUMERIC,
        NUMERIC_METHODS,
    ),
    "normal_same": (
        RNG.normal(5, 2, 800),
        RNG.normal(5, 2, 900),
        ColumnKind.NUMERIC,
        NUMERIC_METHODS,
    ),
    "tiny": (RNG.normal(0, 1, 5), RNG.normal(1, 1, 7), ColumnKind.NUMERIC, NUMERIC_METHODS),
    "nan_inf": (
        _with_holes(RNG.lognormal(0, 1, 2000)),
        _with_holes(RNG.lognormal(0.2, 1, 1500)),
        ColumnKind.NUMERIC,
        NUMERIC_METHODS,
    ),
    "empty_bins": (_bimodal(1500, 0), _bimodal(1200, 3), ColumnKind.NUMERIC, NUMERIC_METHODS),
    "ks_asymptotic": (
        RNG.normal(0, 1, 12000),
        RNG.normal(0.03, 1, 11000),
        ColumnKind.NUMERIC,
        ["ks", "wasserstein"],
    ),
    "wide_ints": (
        RNG.integers(0, 40, 3000),
        RNG.integers(3, 45, 2000),
        ColumnKind.NUMERIC,
        NUMERIC_METHODS,
    ),
    "few_ints_unseen": (
        RNG.integers(0, 8, 1500).astype(float),
        RNG.integers(2, 11, 1400).astype(float),
        ColumnKind.NUMERIC,
        [*NUMERIC_METHODS, "chisquare", "z"],
    ),
    "constant": (
        np.full(50, 3.0),
        np.full(40, 3.0),
        ColumnKind.NUMERIC,
        ["ks", "wasserstein", "z", "chisquare"],
    ),
    "two_values": (
        RNG.choice([0.0, 1.0], 700, p=[0.8, 0.2]),
        RNG.choice([0.0, 1.0], 600, p=[0.7, 0.3]),
        ColumnKind.NUMERIC,
        ["z", "chisquare", "jensenshannon", "psi", "kl_div"],
    ),
    "categories_unseen": (
        RNG.choice(np.array(["a", "b", "c", "d"], dtype=object), 2500, p=[0.4, 0.3, 0.2, 0.1]),
        RNG.choice(np.array(["a", "b", "c", "e"], dtype=object), 2000, p=[0.3, 0.3, 0.3, 0.1]),
        ColumnKind.CATEGORICAL,
        COUNT_METHODS,
    ),
    "categories_tiny": (
        np.array(["x", "y", "x"], dtype=object),
        np.array(["y", "y", "z", None], dtype=object),
        ColumnKind.CATEGORICAL,
        COUNT_METHODS,
    ),
    "categories_two": (
        np.array(["no"] * 90 + ["yes"] * 10, dtype=object),
        np.array(["no"] * 70 + ["yes"] * 30, dtype=object),
        ColumnKind.CATEGORICAL,
        COUNT_METHODS,
    ),
}


def _clean(values: np.ndarray) -> pd.Series:
    # Evidently's own cleaning in get_one_column_drift: ±inf become NaN, NaN are dropped.
    return pd.Series(values).replace([-np.inf, np.inf], np.nan).dropna()


def _evidently_result(evidently, method: str, ref: np.ndarray, cur: np.ndarray, kind: ColumnKind):
    column_type = (
        evidently.ColumnType.Numerical
        if kind is ColumnKind.NUMERIC
        else evidently.ColumnType.Categorical
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return evidently.tests[method](_clean(ref), _clean(cur), column_type, None)


def _ours(method: str | None, ref: np.ndarray, cur: np.ndarray, kind: ColumnKind):
    settings = ProfileSettings()
    return feature_drift(
        profile_values("x", ref, kind, settings), profile_values("x", cur, kind, settings), method
    )


@pytest.mark.parametrize(
    ("case", "method"), [(case, method) for case, spec in CASES.items() for method in spec[3]]
)
def test_value_and_verdict_equal_evidently(evidently, case: str, method: str) -> None:
    ref, cur, kind, _ = CASES[case]
    theirs = _evidently_result(evidently, method, ref, cur, kind)
    ours = _ours(method, ref, cur, kind)
    np.testing.assert_allclose(
        ours.value, float(theirs.drift_score), rtol=1e-9, atol=0, equal_nan=True
    )
    assert ours.drifted == bool(theirs.drifted)
    assert ours.threshold == theirs.actual_threshold
    assert ours.mode == "exact"


@pytest.mark.parametrize("case", list(CASES))
def test_automatic_choice_equals_evidently(evidently, case: str) -> None:
    ref, cur, kind, _ = CASES[case]
    column_type = (
        evidently.ColumnType.Numerical
        if kind is ColumnKind.NUMERIC
        else evidently.ColumnType.Categorical
    )
    theirs = evidently.get_stattest(_clean(ref), _clean(cur), column_type, None).name
    settings = ProfileSettings()
    ours = choose_method(
        profile_values("x", ref, kind, settings), profile_values("x", cur, kind, settings)
    )
    assert ours == theirs


@pytest.mark.parametrize(
    ("n_ref", "n_unique", "kind", "expected"),
    [
        (1000, 2, ColumnKind.NUMERIC, "z"),
        (1000, 5, ColumnKind.NUMERIC, "chisquare"),
        (1000, 6, ColumnKind.NUMERIC, "ks"),
        (1001, 5, ColumnKind.NUMERIC, "jensenshannon"),
        (1001, 6, ColumnKind.NUMERIC, "wasserstein"),
        (1000, 2, ColumnKind.CATEGORICAL, "z"),
        (1000, 3, ColumnKind.CATEGORICAL, "chisquare"),
        (1001, 2, ColumnKind.CATEGORICAL, "jensenshannon"),
    ],
)
def test_automatic_choice_boundaries(
    evidently, n_ref: int, n_unique: int, kind: ColumnKind, expected: str
) -> None:
    ref = np.arange(n_ref) % n_unique
    cur = np.arange(300) % n_unique
    if kind is ColumnKind.CATEGORICAL:
        ref, cur = ref.astype(str).astype(object), cur.astype(str).astype(object)
    else:
        ref, cur = ref.astype(float), cur.astype(float)
    column_type = (
        evidently.ColumnType.Numerical
        if kind is ColumnKind.NUMERIC
        else evidently.ColumnType.Categorical
    )
    assert evidently.get_stattest(_clean(ref), _clean(cur), column_type, None).name == expected
    assert _ours(None, ref, cur, kind).method == expected


def test_data_drift_preset_end_to_end() -> None:
    """The whole preset (its type inference, cleaning and choice) agrees with compute_drift."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    from smote_monitor.drift import WindowAccumulator, build_profiles, compute_drift

    rng = np.random.default_rng(7)
    n = 1500
    ref = pd.DataFrame(
        {
            "amount": _with_holes(rng.lognormal(3, 1, n)),
            "score": rng.normal(0, 1, n),
            "hour": rng.integers(0, 24, n),
            "tier": rng.integers(0, 3, n),
            "region": rng.choice(np.array(["eu", "us", "apac"], dtype=object), n),
        }
    )
    cur = pd.DataFrame(
        {
            "amount": _with_holes(rng.lognormal(3.3, 1, n)),
            "score": rng.normal(0.02, 1, n),
            "hour": rng.integers(2, 24, n),
            "tier": rng.integers(0, 3, n),
            "region": rng.choice(np.array(["eu", "us", "latam"], dtype=object), n),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = Report([DataDriftPreset()]).run(cur, ref)
    theirs = {
        m["config"]["column"]: float(m["value"])
        for m in snapshot.dict()["metrics"]
        if "column" in m["config"]
    }
    reference = build_profiles(ref)
    result = compute_drift(
        reference, WindowAccumulator.for_reference(reference).update(cur).profiles
    )
    ours = {r.feature: r.value for r in result.features}
    assert set(ours) == set(theirs)
    for name, value in theirs.items():
        np.testing.assert_allclose(ours[name], value, rtol=1e-9, atol=0, err_msg=name)
