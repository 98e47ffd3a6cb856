"""Input kinds in, the same kinds out; estimator shape; reproducibility; a light import."""

from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import smote_core as sc

from ._data import blobs

SAMPLERS = [
    sc.SMOTE,
    sc.BorderlineSMOTE,
    sc.ADASYN,
    sc.SMOTENC,
    sc.SMOTETomek,
    sc.SMOTEENN,
    sc.TomekLinks,
    sc.EditedNearestNeighbours,
]


def make(cls, **kw):
    return cls([0], **kw) if cls is sc.SMOTENC else cls(**kw)


@pytest.mark.parametrize("cls", SAMPLERS)
def test_constraint_keys_equal_init_signature(cls):
    params = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    assert list(cls._parameter_constraints) == params


@pytest.mark.parametrize("cls", SAMPLERS)
def test_init_only_stores_parameters(cls):
    sig = inspect.signature(cls.__init__)
    bogus = {p: object() for p in sig.parameters if p != "self"}
    sampler = cls(**bogus)  # no validation in __init__
    assert sampler.get_params() == bogus
    assert not [a for a in vars(sampler) if a.endswith("_")]


def test_all_exports():
    assert sorted(sc.__all__) == sorted(
        [c.__name__ for c in SAMPLERS]
        + ["InvalidParameterError", "Provenance", "ResampleReport"]
        # the measurement helpers smote_monitor shares, so a run is measured one way
        + ["Measure", "jsonable", "schema_hash"]
    )
    for name in sc.__all__:
        assert getattr(sc, name).__module__.startswith("smote_core.")


def test_import_is_light():
    code = (
        "import sys, smote_core; "
        "print(sorted(m for m in ('pandas', 'scipy', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_first_fit_on_many_features_does_not_import_scipy_spatial():
    # Importing scipy.spatial takes ~0.45 s: a one-off fit of 2,000 x 10 rows would pay it
    # for a k-d tree that saves a millisecond. It is used once imported for another reason.
    code = (
        "import sys, numpy as np, smote_core; "
        "rng = np.random.default_rng(0); X = rng.normal(size=(2000, 10)); "
        "y = (rng.random(2000) < 0.1).astype(int); "
        "smote_core.SMOTE(random_state=0).fit_resample(X, y); "
        "print('scipy.spatial' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("cls", [sc.SMOTE, sc.BorderlineSMOTE, sc.ADASYN, sc.SMOTETomek])
def test_dataframe_roundtrip_keeps_columns_dtypes_and_resets_index(cls):
    X, y = blobs((80, 30), seed=3)
    frame = pd.DataFrame(
        {
            "f32": X[:, 0].astype(np.float32),
            "f64": X[:, 1],
            "count": np.round(X[:, 2] * 10).astype(np.int64),
        },
        index=np.arange(1000, 1110),
    )
    y_s = pd.Series(y, name="label", index=frame.index)
    X_res, y_res = cls(random_state=0).fit_resample(frame, y_s)
    assert list(X_res.columns) == ["f32", "f64", "count"]
    assert X_res.dtypes.to_dict() == frame.dtypes.to_dict()
    assert X_res.index.equals(pd.RangeIndex(len(X_res)))
    assert y_res.index.equals(pd.RangeIndex(len(y_res)))
    assert y_res.name == "label" and y_res.dtype == y_s.dtype


def test_integer_columns_are_rounded_not_truncated():
    # Minority values differ row to row and are far apart, so synthetic values land between
    # integers: truncating them, or writing a row's value into another row, changes the output.
    X = pd.DataFrame({"a": [0] * 20 + [3, 17, 40, 91, 150], "b": np.arange(25.0) % 20})
    y = np.array([0] * 20 + [1] * 5)
    sampler = sc.SMOTE(k_neighbors=2, random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    prov = sampler.provenance_
    a = X["a"].to_numpy(dtype=float)
    exact = a[prov.parent] + prov.gap * (a[prov.neighbor] - a[prov.parent])
    expected = np.rint(exact)
    # The data tells rounding from truncation, and the synthetic rows from each other.
    assert len(prov) == 15
    assert (np.trunc(exact) != expected).sum() >= 5
    assert np.unique(expected).shape[0] > len(prov) // 2
    assert X_res["a"].dtype == np.int64
    np.testing.assert_array_equal(X_res["a"].to_numpy()[prov.row], expected)


@pytest.mark.parametrize(
    "y_kind",
    ["Int64", "string", "category", "object-str", "numpy-str", "bool"],
)
def test_label_types(y_kind):
    X, y = blobs((60, 25), seed=5)
    labels = {
        "Int64": pd.Series(y + 10, dtype="Int64", name="t"),
        "string": pd.Series(np.where(y == 1, "fraud", "ok"), dtype="string", name="t"),
        "category": pd.Series(pd.Categorical(np.where(y == 1, "b", "a")), name="t"),
        "object-str": pd.Series(np.where(y == 1, "fraud", "ok").astype(object), name="t"),
        "numpy-str": np.where(y == 1, "fraud", "ok"),
        "bool": y.astype(bool),
    }[y_kind]
    _, y_res = sc.SMOTE(random_state=0).fit_resample(X, labels)
    values = pd.Series(np.asarray(y_res, dtype=object)).value_counts()
    assert sorted(values.tolist()) == [60, 60]
    if isinstance(labels, pd.Series):
        assert isinstance(y_res, pd.Series) and y_res.dtype == labels.dtype and y_res.name == "t"
    else:
        assert y_res.dtype == labels.dtype
    np.testing.assert_array_equal(np.asarray(y_res)[:85], np.asarray(labels))


@pytest.mark.parametrize("cls", [sc.SMOTE, sc.BorderlineSMOTE, sc.ADASYN, sc.SMOTEENN])
def test_float32_stays_float32(cls):
    X, y = blobs((80, 30), seed=3)
    X_res, _ = cls(random_state=0).fit_resample(X.astype(np.float32), y)
    assert X_res.dtype == np.float32


@pytest.mark.parametrize("cls", [sc.SMOTE, sc.BorderlineSMOTE, sc.ADASYN, sc.SMOTENC, sc.SMOTEENN])
def test_same_seed_same_output_and_generator_reproducible(cls):
    X, y = blobs((90, 30, 20), seed=6)
    a = make(cls, random_state=11).fit_resample(X, y)
    b = make(cls, random_state=11).fit_resample(X, y)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    g1 = make(cls, random_state=np.random.default_rng(4)).fit_resample(X, y)
    g2 = make(cls, random_state=np.random.default_rng(4)).fit_resample(X, y)
    np.testing.assert_array_equal(g1[0], g2[0])
    c = make(cls, random_state=12).fit_resample(X, y)
    assert c[0].shape != a[0].shape or not np.array_equal(c[0], a[0])


def test_random_state_none_draws_fresh_entropy():
    X, y = blobs((90, 30), seed=6)
    a, _ = sc.SMOTE().fit_resample(X, y)
    b, _ = sc.SMOTE().fit_resample(X, y)
    assert not np.array_equal(a, b)


def test_list_input_gives_arrays():
    X, y = blobs((40, 12), seed=1)
    X_res, y_res = sc.SMOTE(random_state=0).fit_resample(X.tolist(), y.tolist())
    assert isinstance(X_res, np.ndarray) and isinstance(y_res, np.ndarray)
    assert np.bincount(y_res).tolist() == [40, 40]


def test_smotenc_keeps_category_dtype_and_votes_existing_categories():
    rng = np.random.default_rng(0)
    X, y = blobs((80, 25), seed=2)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["shop"] = pd.Categorical(
        rng.choice(["x", "y", "z"], 105), categories=["x", "y", "z", "w"]
    )
    X_res, _ = sc.SMOTENC("auto", random_state=0).fit_resample(frame, y)
    assert X_res["shop"].dtype == frame["shop"].dtype
    assert set(X_res["shop"]) <= {"x", "y", "z"}
