"""Bad input is rejected with an error naming it; synthetic shift; column kinds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smote_monitor.drift import (
    ColumnKind,
    ProfileSettings,
    WindowAccumulator,
    build_profiles,
    compute_drift,
    infer_kind,
    resolve_kinds,
    synthetic_shift,
)
from smote_monitor.errors import InvalidInputError

RNG = np.random.default_rng(2)
FRAME = pd.DataFrame(
    {
        "amount": RNG.lognormal(3, 1, 500),
        "hour": RNG.integers(0, 24, 500),
        "tier": RNG.integers(0, 3, 500),
        "region": RNG.choice(np.array(["eu", "us"], dtype=object), 500),
    }
)


def test_kinds_follow_evidently_inference_unless_configured() -> None:
    assert resolve_kinds(FRAME) == {
        "amount": ColumnKind.NUMERIC,
        "hour": ColumnKind.NUMERIC,
        "tier": ColumnKind.CATEGORICAL,
        "region": ColumnKind.CATEGORICAL,
    }
    configured = resolve_kinds(FRAME, categorical=["hour"], numeric=["tier"])
    assert configured["hour"] is ColumnKind.CATEGORICAL
    assert configured["tier"] is ColumnKind.NUMERIC
    assert infer_kind(pd.Series([True, False])) is ColumnKind.CATEGORICAL
    assert infer_kind(np.arange(11)) is ColumnKind.NUMERIC
    assert infer_kind(np.arange(10)) is ColumnKind.CATEGORICAL


def test_unknown_feature_is_named() -> None:
    with pytest.raises(
        InvalidInputError, match=r"features\.merchant: got 'merchant'; expected a column"
    ):
        build_profiles(FRAME, features=["amount", "merchant"])


def test_column_declared_both_ways_is_named() -> None:
    with pytest.raises(InvalidInputError, match=r"categorical\.hour"):
        resolve_kinds(FRAME, categorical=["hour"], numeric=["hour"])


def test_all_nan_reference_column_is_named() -> None:
    frame = FRAME.assign(amount=[np.nan] * 250 + [np.inf] * 250)
    with pytest.raises(
        InvalidInputError, match=r"features\.amount: got '500 rows, all NaN/inf/missing'"
    ):
        build_profiles(frame)


def test_all_nan_current_column_is_named_and_nothing_is_returned() -> None:
    reference = build_profiles(FRAME)
    window = WindowAccumulator.for_reference(reference).update(FRAME.assign(hour=np.nan))
    with pytest.raises(
        InvalidInputError, match=r"current\.hour: got '500 rows, all NaN/inf/missing'"
    ):
        compute_drift(reference, window.profiles)


def test_batch_missing_a_feature_leaves_accumulator_unchanged() -> None:
    reference = build_profiles(FRAME)
    window = WindowAccumulator.for_reference(reference).update(FRAME)
    before = window.to_dict()
    with pytest.raises(InvalidInputError, match=r"batch\.region"):
        window.update(FRAME.drop(columns=["region"]))
    bad = FRAME.assign(amount=["x"] * 500)
    with pytest.raises(InvalidInputError, match=r"amount: got \['x', 'x', 'x'\]; expected numeric"):
        window.update(bad)
    assert window.to_dict() == before


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"methods": {"nope": "ks"}}, r"methods\.nope: got 'nope'; expected a profiled feature"),
        (
            {"methods": {"amount": "t_test"}},
            r"methods\.amount: got 't_test'; expected one of ks, wasserstein",
        ),
        ({"thresholds": {"ghost": 0.2}}, r"thresholds\.ghost"),
        ({"drift_share": 0.0}, r"drift_share: got 0\.0; expected a share in \(0, 1\]"),
    ],
)
def test_bad_overrides_are_named(kwargs: dict, match: str) -> None:
    reference = build_profiles(FRAME)
    with pytest.raises(InvalidInputError, match=match):
        compute_drift(reference, reference, **kwargs)


def test_current_missing_a_feature_is_named() -> None:
    reference = build_profiles(FRAME)
    current = {k: v for k, v in reference.items() if k != "tier"}
    with pytest.raises(InvalidInputError, match=r"current\.tier"):
        compute_drift(reference, current)


def test_count_methods_refuse_sketched_numeric() -> None:
    big = pd.DataFrame({"x": RNG.normal(size=5000)})
    reference = build_profiles(big, settings=ProfileSettings(exact_cap=1000))
    with pytest.raises(InvalidInputError, match=r"methods\.x: got 'chisquare'"):
        compute_drift(reference, reference, methods={"x": "chisquare"})


def test_settings_are_validated() -> None:
    with pytest.raises(
        InvalidInputError, match=r"settings\.exact_cap: got 10; expected an int >= 1000"
    ):
        ProfileSettings(exact_cap=10)


def test_synthetic_shift_scores_the_feature_smote_moved() -> None:
    real = FRAME.copy()
    # Synthetic minority rows concentrated at high amounts: amount shifts, region does not.
    synthetic = pd.DataFrame(
        {
            "amount": RNG.lognormal(5, 0.3, 300),
            "hour": RNG.integers(0, 24, 300),
            "tier": RNG.integers(0, 3, 300),
            "region": RNG.choice(np.array(["eu", "us"], dtype=object), 300),
        }
    )
    augmented = pd.concat([real, synthetic], ignore_index=True)
    kinds = {"categorical": ["tier", "region"]}
    result = synthetic_shift(build_profiles(real, **kinds), build_profiles(augmented, **kinds))
    by_feature = {r.feature: r for r in result.features}
    assert by_feature["amount"].method == "ks"
    assert by_feature["amount"].drifted
    assert not by_feature["region"].drifted
    assert by_feature["amount"].n_current == 800
    assert 0 < result.share < 1


def test_engine_never_imports_evidently() -> None:
    # Evidently takes seconds to import; the daemon's hot path must not pay for it.
    import subprocess
    import sys

    code = (
        "import sys, smote_monitor.drift, smote_monitor.slices; "
        "print(any(m == 'evidently' or m.startswith('evidently.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("method", ["ks", "wasserstein"])
def test_a_numeric_only_method_on_a_categorical_feature_is_named(method: str) -> None:
    reference = build_profiles(FRAME)
    with pytest.raises(
        InvalidInputError,
        match=rf"^methods\.region: got '{method}'; expected a method for categorical features "
        rf"\({method} accepts numeric\)$",
    ):
        compute_drift(reference, reference, methods={"region": method})


def test_flag_unusable_reports_a_missing_or_empty_feature_as_drifted_in_the_share() -> None:
    from smote_monitor.conventions import DRIFT_EMPTY, DRIFT_MISSING

    reference = build_profiles(FRAME)
    window = WindowAccumulator.for_reference(reference).update(FRAME.assign(hour=np.nan))
    current = {k: v for k, v in window.profiles.items() if k != "tier"}
    drift = compute_drift(reference, current, flag_unusable=True)
    by_feature = {r.feature: r for r in drift.features}
    assert [r.feature for r in drift.features] == list(reference)
    missing, empty = by_feature["tier"], by_feature["hour"]
    assert (missing.method, missing.drifted, missing.n_current) == (DRIFT_MISSING, True, 0)
    assert (empty.method, empty.drifted, empty.n_current) == (DRIFT_EMPTY, True, 0)
    assert np.isnan(missing.value) and np.isnan(empty.value) and np.isnan(empty.threshold)
    assert empty.n_reference == reference["hour"].n
    assert not by_feature["amount"].drifted and not by_feature["region"].drifted
    assert drift.share == 0.5 and drift.drifted
    # The strict default of library callers is unchanged: the same profiles raise.
    with pytest.raises(InvalidInputError, match=r"current\.hour: got '500 rows, all NaN"):
        compute_drift(reference, window.profiles)
